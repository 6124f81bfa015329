"""How a scheduling message reaches its recipient.

A transport is a listener on one event, "send this message", as in
sabre/dav's scheduling plugin: local delivery (RFC 6638 s4.1), rooms and
resources that answer on their own, and iMIP by mail (RFC 6047).  The
dispatcher asks each transport in turn whether it handles a recipient.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, Tuple

from radicale_scheduling.itip.message import Message
from radicale_scheduling.itip.status import Status


class Outcome(NamedTuple):
    """What delivering one message did.

    ``follow_ups`` are messages the recipient's side sends in consequence
    (a room's answer, the organizer's server re-inviting a delegator), each
    with the local user who sends it; the dispatcher routes them within
    the same operation."""

    status: Status
    follow_ups: Tuple[Tuple[str, Message], ...] = ()


class Transport(Protocol):
    def handles(self, recipient: str) -> bool:
        """Does this transport deliver to ``recipient`` (an address)?"""

    def deliver(self, sender_user: str, message: Message) -> Outcome:
        """Deliver ``message`` from local user ``sender_user``."""
