"""Messages a user sends explicitly: COUNTER, DECLINECOUNTER, REFRESH
(RFC 5546 s3.2.6-s3.2.8, s3.4.6-s3.4.8).  They change no copy; checked
here are their shape, who may send them, and the answer to a REFRESH.
Pure."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import List, Optional

from vobject.base import Component

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import delegation
from radicale_scheduling.itip.errors import InvalidCalendar, SchedulingError
from radicale_scheduling.itip.message import Body, Message

COUNTER, DECLINECOUNTER, REFRESH = "COUNTER", "DECLINECOUNTER", "REFRESH"
EXPLICIT = (COUNTER, DECLINECOUNTER, REFRESH)
#: Who sends which (RFC 5546 s1.4): attendees counter and refresh.
FROM_ATTENDEE = (COUNTER, REFRESH)


def invalid(reason: str, status: int = 400) -> SchedulingError:
    return SchedulingError("C:valid-scheduling-message", reason, status)


@dataclass
class Explicit:
    """One explicit message, as read from its iCalendar object."""

    method: str
    uid: str
    organizer: str
    attendees: List[str]  # as listed, each once
    calendar: Component

    def message(self, recipient: str, sender: str) -> Message:
        return Message(self.method, recipient, sender, body(self.calendar),
                       self.uid)


def read(cal: Component) -> Explicit:
    """Check the shape RFC 5546 s3.2.6-s3.2.8 gives these methods."""
    method = (ical.text(cal, "method") or "").upper()
    if method not in EXPLICIT:
        raise invalid("Not a COUNTER, DECLINECOUNTER or REFRESH.")
    others = [c.name for c in cal.getChildren()
              if isinstance(c, Component) and c.name != "VTIMEZONE"
              and c.name not in ical.SCHEDULABLE]
    comps = ical.components(cal)
    if others or not comps:
        raise invalid("A %s holds VEVENT or VTODO components only." % method)
    uids = {ical.text(c, "uid") for c in comps}
    if len(uids) != 1 or None in uids:
        raise invalid("A %s is about one meeting: one UID." % method)
    try:
        ical.check_values(cal)
    except InvalidCalendar as e:
        raise invalid(str(e)) from e
    organizers = {ical.organizer(c) for c in comps}
    if len(organizers) != 1 or None in organizers:
        raise invalid("A %s names the meeting's ORGANIZER." % method)
    if method == COUNTER and any(ical.first(c, "dtstart") is None and
                                 ical.first(c, "due") is None
                                 for c in comps):
        raise invalid("A COUNTER proposes a time: DTSTART is required "
                      "(RFC 5546 section 3.2.7).")
    attendees: List[str] = []
    for comp in comps:
        for line in ical.attendees(comp):
            if ical.address(line) not in attendees:
                attendees.append(ical.address(line))
    if method == REFRESH and len(attendees) != 1:
        raise invalid("A REFRESH names exactly one ATTENDEE, the one asking "
                      "(RFC 5546 section 3.2.6).")
    if method == DECLINECOUNTER and not attendees:
        raise invalid("A DECLINECOUNTER names the ATTENDEE whose proposal "
                      "is declined (RFC 5546 section 3.2.8).")
    uid, organizer = next(iter(uids)), next(iter(organizers))
    assert uid is not None and organizer is not None  # checked above
    return Explicit(method, uid, organizer,
                    attendees, cal)


def body(cal: Component) -> Body:
    """The message as sent: no server parameters or schedule tag."""
    copy = ical.clone(cal)
    ical.remove_private(copy)
    for comp in ical.components(copy):
        ical.strip_server_params(comp)
    return Body(copy)


def is_attendee(meeting: Optional[Component], who: str) -> bool:
    """RFC 5546 s6.1.6: only attendees may counter or get a refresh."""
    return any(ical.attendee(c, who) is not None
               for c in ical.components(meeting))


def organizes(meeting: Optional[Component], organizer: str) -> bool:
    comps = ical.components(meeting)
    return bool(comps) and all(ical.organizer(c) == organizer for c in comps)


def refresh_answer(meeting: Component, who: str, organizer: str,
                   now: datetime.datetime) -> Optional[Message]:
    """The organizer's answer to a REFRESH (RFC 5546 s3.2.6): the latest
    version of what ``who`` is invited to, as a REQUEST."""
    return delegation.request_for(meeting, who, organizer, now)
