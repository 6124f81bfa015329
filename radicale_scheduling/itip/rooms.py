"""Rooms and resources answer invitations on their own: accept when the
time is free, decline a clash, per instance for a series.  The answer is
an ordinary attendee change of the room's copy (its REPLY is the one
``itip.attendee`` makes).  Pure: the busy time comes from the caller."""

from __future__ import annotations

import datetime
from typing import Callable, List, NamedTuple, Optional, Tuple

from vobject.base import Component

from radicale_scheduling.itip import attendee, freebusy, recurrence, tasks
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.instances import derived
from radicale_scheduling.itip.message import Message

AUTO_TYPES = tasks.NOT_ASSIGNABLE
#: How far ahead the instances of an open-ended series are checked.
HORIZON = datetime.timedelta(days=366)
UTC = datetime.timezone.utc
Instance = Tuple[Optional[str], object, datetime.datetime, datetime.datetime]
#: The room's busy periods in [start, end), its copy of UID left out.
BusyTime = Callable[[datetime.datetime, datetime.datetime, str,
                     recurrence.Budget], List[freebusy.Period]]


class Room(NamedTuple):
    """What a room's answer needs: its busy time, and how many instances
    one answer may expand (scheduling_freebusy_max_occurrences)."""

    busy: BusyTime
    max_occurrences: int


def _instances(copy: Component, now: datetime.datetime,
               budget: recurrence.Budget) -> List[Instance]:
    """(key, native start or None for an override, start, end)."""
    comps = ical.by_rid(copy)
    result: List[Instance] = []
    master = comps.get(None)
    if master is not None and ical.first(master, "dtstart") is not None:
        first = recurrence.to_utc(ical.required(master, "dtstart").value, UTC)
        for native, begin, end in recurrence.occurrences(
                master, first, max(first, now) + HORIZON, UTC, budget):
            key: Optional[str] = ical.value_key(native)
            if key not in comps:
                result.append((key, native, begin, end))
    for key, comp in comps.items():
        if key is None or ical.first(comp, "dtstart") is None or \
                ical.cancelled(comp):
            continue
        begin = recurrence.to_utc(ical.required(comp, "dtstart").value, UTC)
        result.append((key, None, begin, begin + recurrence.duration(comp)))
    return result


def is_task(message: Message) -> bool:
    return any(tasks.is_task(c) for c in ical.components(message.calendar))


def refuse_task(message: Message, now: datetime.datetime) -> List[Message]:
    """A room does no work: a task assigned to it is declined at once (RFC
    5546 s3.4.3); other task messages (updates, cancellations) are
    dropped.  Nothing lands in its calendar or inbox."""
    if message.method != "REQUEST":
        return []
    return attendee.removal(message.calendar, message.recipient, now)


def answer(copy: Component, me: str, now: datetime.datetime, room: Room
           ) -> List[Message]:
    """Answer for the room ``me`` in ``copy`` (changed in place); the
    REPLY, or nothing when no instance waits for an answer."""
    comps = ical.by_rid(copy)
    waiting = [c for c in comps.values() if ical.attendee(c, me) is not None
               and ical.partstat(ical.attendee(c, me)) == "NEEDS-ACTION"]
    if not waiting:
        return []
    before = ical.clone(copy)
    budget = recurrence.Budget(room.max_occurrences)
    try:
        instances = _instances(copy, now, budget)
        if not instances:
            return []
        taken = [p for p in room.busy(min(i[2] for i in instances),
                                 max(i[3] for i in instances),
                                 ical.text(waiting[0], "uid") or "", budget)
                 if p[2] == freebusy.BUSY]
        decline_all = False
    except recurrence.TooManyOccurrences:
        taken, instances, decline_all = [], [], True
    clashes = {key for key, _native, begin, finish in instances
               if any(a < finish and b > begin for a, b, _ in taken)}
    master = comps.get(None)
    master_keys = [i[0] for i in instances if i[1] is not None]
    series_declined = decline_all or (master is not None and bool(
        master_keys) and all(k in clashes for k in master_keys))
    for key, comp in comps.items():
        line = ical.attendee(comp, me)
        if line is None or ical.partstat(line) != "NEEDS-ACTION":
            continue
        declined = series_declined if key is None else \
            (decline_all or key in clashes)
        ical.set_param(line, "PARTSTAT",
                       "DECLINED" if declined else "ACCEPTED")
        ical.set_param(line, "RSVP", None)
    if master is not None and not series_declined:
        for key, native, _begin, _end in instances:
            if native is not None and key in clashes:
                override = derived(master, native)
                copy.add(override)
                ical.set_param(ical.required_attendee(override, me),
                               "PARTSTAT", "DECLINED")
    return attendee.attendee_change(before, copy, me, now).messages
