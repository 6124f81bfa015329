"""Rooms and resources answer invitations on their own.

A principal whose calendar-user-type is ROOM or RESOURCE accepts a request
when the time is free in its calendars and declines it when it overlaps an
accepted booking, per instance for a recurring request (the instances that
clash get a declining override).  A family's car or a team's meeting room
then just works.  The answer is an ordinary attendee change of the room's
copy, so the REPLY it sends is the one ``itip.attendee`` makes.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, List, Optional, Tuple

from vobject.base import Component

from radicale_scheduling.itip import attendee, freebusy, tasks
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.organizer import Message
from radicale_scheduling.storage import busy

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage

AUTO_TYPES = tasks.NOT_ASSIGNABLE
#: Delivery status of a message handled (RFC 6638 s3.2.9).
DELIVERED = "1.2"
#: How far ahead the instances of an open-ended series are checked.
HORIZON = datetime.timedelta(days=366)
Instance = Tuple[Optional[str], object, datetime.datetime, datetime.datetime]


def _instances(copy: Component, now: datetime.datetime,
               budget: freebusy.Budget) -> List[Instance]:
    """(key, native start, start, end) of each requested instance."""
    utc = datetime.timezone.utc
    comps = ical.by_rid(copy)
    result: List[Instance] = []
    master = comps.get(None)
    if master is not None and ical.first(master, "dtstart") is not None:
        length = freebusy.duration(master)
        first = freebusy.to_utc(ical.required(master, "dtstart").value, utc)
        window_end = max(first, now) + HORIZON
        for start in freebusy.occurrence_starts(master, first, window_end,
                                                utc, length, budget):
            key: Optional[str] = ical.value_key(start)
            if key in comps:
                continue
            begin = freebusy.to_utc(start, utc)
            result.append((key, start, begin, begin + length))
    for key, comp in comps.items():
        if key is None or ical.first(comp, "dtstart") is None:
            continue
        if (ical.text(comp, "status") or "").upper() == "CANCELLED":
            continue
        begin = freebusy.to_utc(ical.required(comp, "dtstart").value, utc)
        result.append((key, None, begin, begin + freebusy.duration(comp)))
    return result


def is_task(message: Message) -> bool:
    return any(tasks.is_task(c) for c in ical.components(message.calendar))


def refuse_task(message: Message, replies: Optional[List[Message]]) -> str:
    """A room or resource does no work: a task assigned to it is declined
    at once (RFC 5546 s3.4.3), and nothing lands in its calendar or inbox;
    other task messages (updates, cancellations) are dropped."""
    if message.method == "REQUEST" and replies is not None:
        replies.extend(attendee.removal(
            message.calendar, message.recipient,
            datetime.datetime.now(datetime.timezone.utc)))
    return DELIVERED


def answer(storage: Storage, user: str, me: str, copy: Component,
           now: datetime.datetime) -> List[Message]:
    """Answer for the room in ``copy`` (changed in place); the REPLY."""
    if storage.directory.principal(user).cutype not in AUTO_TYPES:
        return []
    comps = ical.by_rid(copy)
    waiting = [c for c in comps.values() if ical.attendee(c, me) is not None
               and ical.partstat(ical.attendee(c, me)) == "NEEDS-ACTION"]
    if not waiting:
        return []
    before = ical.clone(copy)
    budget = freebusy.Budget(storage.settings.freebusy_max_occurrences)
    try:
        instances = _instances(copy, now, budget)
        if not instances:
            return []
        start = min(i[2] for i in instances)
        end = max(i[3] for i in instances)
        taken = [p for p in busy.busy_time(storage, user, start, end, budget,
                                           skip_uid=ical.text(
                                               waiting[0], "uid"))
                 if p[2] == freebusy.BUSY]
    except freebusy.TooManyOccurrences:
        taken, instances = [], []
        decline_all = True
    else:
        decline_all = False
    clashes = {key for key, _native, begin, finish in instances
               if any(a < finish and b > begin for a, b, _ in taken)}
    master = comps.get(None)
    master_keys = [i[0] for i in instances if i[1] is not None]
    series_declined = decline_all or (master is not None and master_keys and
                                      all(k in clashes for k in master_keys))
    for key, comp in comps.items():
        line = ical.attendee(comp, me)
        if line is None or ical.partstat(line) != "NEEDS-ACTION":
            continue
        declined = series_declined if key is None else \
            (decline_all or key in clashes)
        ical.set_param(line, "PARTSTAT", "DECLINED" if declined
                       else "ACCEPTED")
        ical.set_param(line, "RSVP", None)
    if master is not None and not series_declined:
        for key, native, _begin, _end in instances:
            if native is None or key not in clashes:
                continue
            override = ical.derived_instance(master, native)
            copy.add(override)
            ical.set_param(ical.attendee(override, me), "PARTSTAT",
                           "DECLINED")
    return attendee.attendee_change(before, copy, me, now).messages
