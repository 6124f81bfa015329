"""Why the server refuses a scheduling operation."""

from __future__ import annotations

from typing import Optional


class SchedulingError(Exception):
    """A refused scheduling operation: RFC precondition, reason, status.

    Raised before anything is written, so a refusal changes nothing.
    """

    def __init__(self, precondition: Optional[str], reason: str,
                 status: int = 403, href: Optional[str] = None) -> None:
        super().__init__(reason)
        self.precondition = precondition
        self.reason = reason
        self.status = status
        self.href = href


class InvalidCalendar(ValueError):
    """The object cannot be scheduled; the message says why."""
