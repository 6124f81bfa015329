"""The transport interface: how a scheduling message reaches its recipient.

A transport listens on one event, "send this message", as in sabre/dav's
scheduling plugin: local delivery (RFC 6638 s4.1; rooms and resources
answer there on their own) and iMIP by mail (RFC 6047).  The dispatcher
gives each message to the first transport that handles its recipient.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, Tuple

from radicale_scheduling.itip import status as st
from radicale_scheduling.itip.message import Message


class Outcome(NamedTuple):
    """``follow_ups``: (local user, message) the recipient's side sends in
    consequence (a room's answer, a re-invited delegator)."""

    status: st.Status
    follow_ups: Tuple[Tuple[str, Message], ...] = ()


class Transport(Protocol):
    def handles(self, recipient: str) -> bool: ...

    def deliver(self, sender_user: str, message: Message) -> Outcome: ...
