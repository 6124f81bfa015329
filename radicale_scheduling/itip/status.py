"""Delivery statuses: SCHEDULE-STATUS codes (RFC 6638 s3.2.9) and the
REQUEST-STATUS text of a schedule-response (RFC 5546 s3.6)."""

from __future__ import annotations

from typing import NamedTuple


class Status(NamedTuple):
    code: str
    text: str

    @property
    def ok(self) -> bool:
        """Delivered or on its way: the 1.x codes (2.0 for a POST answer)."""
        return self.code[0] in "12"

    def __str__(self) -> str:
        return "%s;%s" % (self.code, self.text)


PENDING = Status("1.0", "Pending")
SENT = Status("1.1", "Sent")
DELIVERED = Status("1.2", "Delivered")
SUCCESS = Status("2.0", "Success")
INVALID_USER = Status("3.7", "Invalid calendar user")
NO_AUTHORITY = Status("3.8", "No authority")
NOT_DELIVERED = Status("5.1", "Could not be delivered")
NO_ROUTE = Status("5.2", "Invalid calendar service")
NO_SUPPORT = Status("5.3", "No scheduling support for user")
