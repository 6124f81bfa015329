"""An iTIP message for one recipient and its body; bodies built once for
all recipients who see the same, and the CANCEL of an instance."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional

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
        ical.drop(copy, SCHEDULE_TAG)
    return Body(cal)


def message(method: str, recipient: str, sender: str, body: Body
            ) -> Message:
    uids = [ical.text(c, "uid") for c in ical.components(body.calendar)]
    return Message(method, recipient, sender, body, next(
        (u for u in reversed(uids) if u), ""))


class Bodies:
    """Builds message bodies, once per distinct content."""

    def __init__(self, source: Component, stamp: datetime.datetime) -> None:
        self.source, self.stamp = source, stamp
        self._cache: Dict[tuple, Body] = {}

    def message(self, method: str, recipient: str, sender: str,
                comps: List[Component], shareable: bool = True) -> Message:
        key = (method, tuple(id(c) for c in comps))
        shared = self._cache.get(key) if shareable else None
        if shared is None:
            shared = body(method, self.source, comps, self.stamp)
            if shareable:
                self._cache[key] = shared
        return message(method, recipient, sender, shared)


def cancel_component(comp: Component, recipient: str,
                     instance: Optional[object]) -> Component:
    """A CANCEL component (RFC 5546 s3.2.5): the instance, or everything."""
    cancel = comp.duplicate(comp)
    if instance is not None:
        ical.drop(cancel, "rrule", "rdate", "exdate", "recurrence-id",
                  "dtstart", "dtend", "duration", "due")
        ical.set_single(cancel, "recurrence-id", instance)
        ical.set_single(cancel, "dtstart", instance)
    # Only the organizer and the attendee the message is for.
    for line in list(ical.attendees(cancel)):
        if ical.address(line) != recipient:
            cancel.remove(line)
    ical.set_single(cancel, "status", "CANCELLED")
    return cancel
