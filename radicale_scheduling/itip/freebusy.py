"""Busy time of a calendar user (RFC 5545 s3.6.4, RFC 5546 s3.3, RFC 7953).

Only periods and FBTYPE leave this module, never a summary, UID or
attendee (RFC 6638 s11.4).  Recurrences are expanded in the window only,
each instance against a budget, so that no rule runs forever.  Pure."""

from __future__ import annotations

import datetime
from typing import FrozenSet, Iterable, Iterator, List, Optional, Tuple

import vobject
from dateutil import rrule as du_rrule
from vobject.base import Component
from vobject.icalendar import utc

from radicale_scheduling.itip import calendar as ical

UTC = datetime.timezone.utc
BUSY, TENTATIVE, UNAVAILABLE = "BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"
#: When periods of several types overlap, the stronger one shows.
STRENGTH = {BUSY: 3, UNAVAILABLE: 2, TENTATIVE: 1}
Period = Tuple[datetime.datetime, datetime.datetime, str]


class TooManyOccurrences(Exception):
    """The expansion budget of a request is spent."""


class Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise TooManyOccurrences()


def to_utc(value: object, tz: datetime.tzinfo) -> datetime.datetime:
    """A DATE, floating or zoned DATE-TIME as UTC; dates and floating times
    are the recipient's local time (RFC 4791 s9.9)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time(),
                                         tzinfo=tz).astimezone(UTC)
    raise ValueError("not a date: %r" % (value,))


def duration(comp: Component) -> datetime.timedelta:
    start = ical.required(comp, "dtstart").value
    end = ical.first(comp, "dtend") or ical.first(comp, "due")
    if end is not None:
        if isinstance(end.value, datetime.datetime) != isinstance(
                start, datetime.datetime):
            return datetime.timedelta(0)
        if isinstance(start, datetime.datetime) and \
                (start.tzinfo is None) != (end.value.tzinfo is None):
            return datetime.timedelta(0)
        return end.value - start
    line = ical.first(comp, "duration")
    if line is not None:
        return line.value
    if not isinstance(start, datetime.datetime):
        return datetime.timedelta(days=1)
    return datetime.timedelta(0)


def _fbtype(comp: Component, me: FrozenSet[str] = frozenset()
            ) -> Optional[str]:
    """BUSY, BUSY-TENTATIVE, or None when the component takes no time.

    For a meeting the user (addresses ``me``) is invited to, their answer
    counts: declined takes no time, not yet answered or tentative is
    tentative (as Apple's server and Cyrus do).
    """
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


_STEPS = {du_rrule.DAILY: datetime.timedelta(days=1),
          du_rrule.WEEKLY: datetime.timedelta(weeks=1),
          du_rrule.HOURLY: datetime.timedelta(hours=1),
          du_rrule.MINUTELY: datetime.timedelta(minutes=1),
          du_rrule.SECONDLY: datetime.timedelta(seconds=1)}
#: The most days each month can have (February in leap years).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _never_matches(rule: du_rrule.rrule) -> bool:
    """BYMONTHDAY days no BYMONTH has (February 30): dateutil would search
    every year up to 9999 for one.  The parts are read from the parsed
    rule, as dateutil's own ``replace`` does."""
    parts = vars(rule)
    days = list(parts["_bymonthday"]) + [-d for d in parts["_bynmonthday"]]
    months = parts["_bymonth"] or range(1, 13)
    return bool(days) and not any(
        day <= _MONTH_DAYS[month - 1] for month in months for day in days)


def _skip_ahead(ruleset: du_rrule.rruleset, native: datetime.datetime,
                target: datetime.datetime, tz: datetime.tzinfo
                ) -> du_rrule.rruleset:
    """The series from just before ``target`` on, by whole periods: a
    daily rule from 1990 does not walk 13,000 days to reach this week.
    Only for one plain rule (no COUNT, BYSETPOS or RDATE)."""
    rules, exdates = vars(ruleset)["_rrule"], vars(ruleset)["_exdate"]
    if len(rules) != 1 or vars(ruleset)["_rdate"] or \
            vars(ruleset)["_exrule"]:
        return ruleset
    parts = vars(rules[0])
    step = _STEPS.get(parts["_freq"])
    if step is None or parts["_count"] is not None or parts["_bysetpos"]:
        return ruleset
    interval = parts["_interval"] * step
    jumps = (target - interval - to_utc(native, tz)) // interval
    if jumps <= 0:
        return ruleset
    shifted = du_rrule.rruleset()
    shifted.rrule(rules[0].replace(
        dtstart=parts["_dtstart"] + jumps * interval))
    for value in exdates:
        shifted.exdate(value)
    return shifted


def _ruleset(comp: Component) -> Optional[du_rrule.rruleset]:
    """vobject's ruleset of ``comp``; None where only DTSTART is certain:
    INTERVAL not a sane positive number (RFC 5545 s3.3.10; Radicale stores
    it, dateutil loops on it), a rule that never matches."""
    try:
        ruleset = comp.getrruleset(addRDate=True) \
            if hasattr(comp, "getrruleset") else None
    except (ValueError, TypeError, OverflowError):
        return None
    if ruleset is None:
        return None
    rules = vars(ruleset)["_rrule"]
    if any(not 1 <= vars(r)["_interval"] <= 1000000 for r in rules) or \
            not vars(ruleset)["_rdate"] and any(map(_never_matches, rules)):
        return None
    return ruleset


def occurrences(comp: Component, window_start: datetime.datetime,
                window_end: datetime.datetime, tz: datetime.tzinfo,
                budget: Budget
                ) -> Iterator[Tuple[object, datetime.datetime,
                                    datetime.datetime]]:
    """(native start, start, end) of each instance of ``comp`` (RRULE,
    RDATE, EXDATE as vobject's ruleset reads them) not over before the
    window, up to its end; the one expansion free-busy, availability and
    rooms share.  Each instance walked spends from ``budget``."""
    start = ical.required(comp, "dtstart").value
    length = duration(comp)
    ruleset = _ruleset(comp)
    if ruleset is None:
        budget.spend()
        begin = to_utc(start, tz)
        if begin < window_end and (begin + length > window_start or
                                   begin >= window_start):
            yield start, begin, begin + length
        return
    native = start if isinstance(start, datetime.datetime) else \
        datetime.datetime.combine(start, datetime.time())
    try:
        ruleset = _skip_ahead(ruleset, native, window_start - length, tz)
    except (ValueError, OverflowError):
        pass  # walk from the start, within the budget
    series = iter(ruleset)
    while True:
        try:
            occurrence = next(series)
        except (StopIteration, ValueError, OverflowError):
            return  # the end, or dates dateutil cannot reach
        budget.spend()
        begin = to_utc(occurrence, tz)
        if begin >= window_end:
            return
        if begin + length > window_start or begin >= window_start:
            yield occurrence, begin, begin + length


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
