"""Busy time of a calendar user (RFC 5545 s3.6.4, RFC 5546 s3.3, RFC 7953).

Only periods and FBTYPE leave this module, never a summary, UID or
attendee (RFC 6638 s11.4).  Instances come from ``recurrence``.  Pure."""

from __future__ import annotations

import datetime
from typing import FrozenSet, Iterable, Iterator, List, Optional, Tuple

import vobject
from vobject.base import Component
from vobject.icalendar import utc

from radicale_scheduling.itip import calendar as ical

# http/outbox.py reads these here:
from radicale_scheduling.itip.recurrence import (
    UTC,
    Budget,
    duration,
    occurrences,
    to_utc,
)

BUSY, TENTATIVE, UNAVAILABLE = "BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"
#: When periods of several types overlap, the stronger one shows.
STRENGTH = {BUSY: 3, UNAVAILABLE: 2, TENTATIVE: 1}
Period = Tuple[datetime.datetime, datetime.datetime, str]


def _fbtype(comp: Component, me: FrozenSet[str] = frozenset()
            ) -> Optional[str]:
    """BUSY, BUSY-TENTATIVE, or None when the component takes no time.
    The user's (``me``) answer counts, as in Apple's server and Cyrus:
    declined takes no time, unanswered or tentative is tentative."""
    if (ical.text(comp, "transp") or "OPAQUE").upper() == "TRANSPARENT":
        return None
    status = (ical.text(comp, "status") or "").upper()
    if status == "CANCELLED":
        return None
    if me and (ical.organizer(comp) or "") not in me:
        for line in ical.attendees(comp):
            if ical.address(line) in me:
                state = ical.partstat(line)
                if state == "DECLINED":
                    return None
                if state in ("NEEDS-ACTION", "TENTATIVE"):
                    return TENTATIVE
                break
    return TENTATIVE if status == "TENTATIVE" else BUSY


def _component_periods(comps: List[Component], window_start, window_end,
                       tz, budget: Budget, me: FrozenSet[str]
                       ) -> Iterator[Period]:
    by_rid = {ical.rid(c): c for c in comps}
    master = by_rid.get(None)
    if master is not None and ical.first(master, "dtstart") is not None:
        fbtype = _fbtype(master, me)
        if duration(master) > datetime.timedelta(0):
            for start, begin, end in occurrences(master, window_start,
                                                 window_end, tz, budget):
                if fbtype and ical.value_key(start) not in by_rid:
                    yield (max(begin, window_start), min(end, window_end),
                           fbtype)
    for key, comp in by_rid.items():
        if key is None or ical.first(comp, "dtstart") is None:
            continue
        budget.spend()
        fbtype, length = _fbtype(comp, me), duration(comp)
        begin = to_utc(ical.required(comp, "dtstart").value, tz)
        if fbtype and length > datetime.timedelta(0) and \
                begin < window_end and begin + length > window_start:
            yield (max(begin, window_start),
                   min(begin + length, window_end), fbtype)


def _freebusy_periods(comp: Component, window_start, window_end,
                      budget: Budget) -> Iterator[Period]:
    """Stored VFREEBUSY components count too (RFC 4791 s7.10)."""
    for line in ical.lines(comp, "freebusy"):
        fbtype = (ical.param(line, "FBTYPE") or BUSY).upper()
        if fbtype == "FREE":
            continue
        values = line.value if isinstance(line.value, list) else [line.value]
        for start, end in values:
            budget.spend()
            if isinstance(end, datetime.timedelta):
                end = start + end
            begin, finish = to_utc(start, UTC), to_utc(end, UTC)
            if begin < window_end and finish > window_start:
                yield (max(begin, window_start), min(finish, window_end),
                       fbtype if fbtype in STRENGTH else BUSY)


def _availability_periods(comp: Component, window_start, window_end, tz,
                          budget: Budget) -> Iterator[Period]:
    """RFC 7953: outside the AVAILABLE periods of a VAVAILABILITY (inside
    its own DTSTART/DTEND), the user is BUSY-UNAVAILABLE."""
    begin, end = window_start, window_end
    if ical.first(comp, "dtstart") is not None:
        begin = max(begin, to_utc(ical.required(comp, "dtstart").value, tz))
    if ical.first(comp, "dtend") is not None:
        end = min(end, to_utc(ical.required(comp, "dtend").value, tz))
    if begin >= end:
        return
    busytype = (ical.text(comp, "busytype") or UNAVAILABLE).upper()
    if busytype not in STRENGTH:
        busytype = UNAVAILABLE
    free: List[Tuple[datetime.datetime, datetime.datetime]] = []
    for available in comp.contents.get("available", []):
        if ical.first(available, "dtstart") is None or \
                duration(available) <= datetime.timedelta(0):
            continue
        free.extend(x[1:] for x in occurrences(available, begin, end, tz,
                                               budget))
    cursor = begin
    for start, finish in sorted(free):
        if start > cursor:
            yield (cursor, min(start, end), busytype)
        cursor = max(cursor, finish)
        if cursor >= end:
            return
    if cursor < end:
        yield (cursor, end, busytype)


def busy_periods(cal: Component, window_start: datetime.datetime,
                 window_end: datetime.datetime, tz: datetime.tzinfo,
                 budget: Budget, me: FrozenSet[str] = frozenset()
                 ) -> List[Period]:
    """Busy periods of one stored object inside [window_start, window_end)."""
    result: List[Period] = []
    events = [c for c in cal.getChildren() if c.name == "VEVENT"]
    if events:
        uids: dict = {}
        for comp in events:
            uids.setdefault(ical.text(comp, "uid"), []).append(comp)
        for comps in uids.values():
            result.extend(_component_periods(comps, window_start, window_end,
                                             tz, budget, me))
    for comp in cal.getChildren():
        if comp.name == "VFREEBUSY":
            result.extend(_freebusy_periods(comp, window_start, window_end,
                                            budget))
        elif comp.name == "VAVAILABILITY":
            result.extend(_availability_periods(comp, window_start,
                                                window_end, tz, budget))
    return result


def merge(periods: Iterable[Period]) -> List[Period]:
    """Join overlapping periods; where types overlap the stronger wins.

    A sweep over the sorted boundaries: O(n log n) in the periods.
    """
    edges: List[Tuple[datetime.datetime, int, str]] = []
    for start, end, kind in periods:
        if start < end:
            edges.append((start, 1, kind))
            edges.append((end, -1, kind))
    edges.sort(key=lambda edge: edge[0])
    active = {kind: 0 for kind in STRENGTH}
    result: List[Period] = []
    current: Optional[str] = None
    since: Optional[datetime.datetime] = None
    index = 0
    while index < len(edges):
        moment = edges[index][0]
        while index < len(edges) and edges[index][0] == moment:
            active[edges[index][2]] += edges[index][1]
            index += 1
        strongest = max((k for k, n in active.items() if n > 0),
                        key=STRENGTH.__getitem__, default=None)
        if strongest == current:
            continue
        if current is not None and since is not None and since < moment:
            if result and result[-1][1] == since and result[-1][2] == current:
                result[-1] = (result[-1][0], moment, current)
            else:
                result.append((since, moment, current))
        current, since = strongest, moment
    return result


def reply(request: Component, attendee_line, periods: List[Period],
          now: datetime.datetime) -> Component:
    """The METHOD:REPLY VFREEBUSY for one recipient (RFC 5546 s3.3.3)."""
    cal = vobject.iCalendar()
    cal.add("method").value = "REPLY"
    vfb = cal.add("vfreebusy")
    for name in ("uid", "dtstart", "dtend", "organizer"):
        line = ical.first(request, name)
        if line is not None:
            copy = vfb.add(name)
            copy.value = line.value
            copy.params = {k: list(v) for k, v in line.params.items()
                           if k == "CN" or not k.startswith("X-")}
    vfb.add("dtstamp").value = ical.utc_now_stamp(now).astimezone(utc)
    attendee = vfb.add("attendee")
    attendee.value = attendee_line.value
    attendee.params = {k: list(v) for k, v in attendee_line.params.items()
                       if k == "CN"}
    for start, end, kind in periods:
        line = vfb.add("freebusy")
        line.value = [(start.astimezone(utc), end.astimezone(utc))]
        line.params["FBTYPE"] = [kind]
    return cal
