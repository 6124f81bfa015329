"""An iTIP message for one recipient, and its body."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Iterable, Optional

from vobject.base import Component

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.text import SCHEDULE_TAG


class Body:
    """A message body, shared by every recipient who sees the same thing
    (most often all of them): built and serialized once, not per
    attendee, so a meeting with N attendees costs O(N) and not O(N^2)."""

    def __init__(self, calendar: Component) -> None:
        self.calendar = calendar
        self._text: Optional[str] = None
        self.facts: Optional[tuple] = None  # set once by the storage side

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.calendar.serialize()
        return self._text


@dataclass
class Message:
    """One iTIP message for one recipient.  ``calendar`` may be shared with
    other messages: treat it as read-only."""

    method: str  # REQUEST, CANCEL, REPLY, ...
    recipient: str  # normalized calendar-user address
    sender: str  # the address it is sent as (ORGANIZER, or the attendee)
    body: Body
    uid: str
    #: An update that only keeps the recipient's copy current (someone
    #: else was added or removed): their copy changes, but no inbox
    #: message and no mail tell them (see ``_messages_for``).
    quiet: bool = False

    @property
    def calendar(self) -> Component:
        return self.body.calendar

    def serialize(self) -> str:
        return self.body.text


def body(method: str, source: Component, comps: Iterable[Component],
         stamp: datetime.datetime) -> Body:
    """The components as sent: no alarms, server parameters or schedule
    tag (RFC 6638 s7), stamped now, with the source's time zones."""
    cal = ical.new_calendar(source, method)
    for comp in comps:
        copy = ical.add_component(cal, comp)
        ical.strip_server_params(copy)
        ical.remove_alarms(copy)
        ical.set_single(copy, "dtstamp", stamp)
        for line in list(ical.lines(copy, SCHEDULE_TAG)):
            copy.remove(line)
    return Body(cal)


def message(method: str, recipient: str, sender: str, body: Body
            ) -> Message:
    uids = [ical.text(c, "uid") for c in ical.components(body.calendar)]
    return Message(method, recipient, sender, body, next(
        (u for u in reversed(uids) if u), ""))
