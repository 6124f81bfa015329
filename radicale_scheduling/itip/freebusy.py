"""Busy time of a calendar user (RFC 5545 s3.6.4, RFC 5546 s3.3, RFC 7953).

``busy_periods`` turns stored calendar objects into busy periods inside a
window; ``merge`` joins them; ``reply`` writes the METHOD:REPLY VFREEBUSY
a free-busy request is answered with.  Only periods and FBTYPE leave this
module: never a summary, location, UID or attendee (RFC 6638 s11.4).
Recurrences are expanded inside the window only, and every expansion
counts against a budget so that no rule can run forever.  Pure: no I/O.
"""

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


_SHIFTABLE = {"DAILY": datetime.timedelta(days=1),
              "WEEKLY": datetime.timedelta(weeks=1),
              "HOURLY": datetime.timedelta(hours=1),
              "MINUTELY": datetime.timedelta(minutes=1),
              "SECONDLY": datetime.timedelta(seconds=1)}


def occurrence_starts(master: Component, window_start: datetime.datetime,
            window_end: datetime.datetime, tz: datetime.tzinfo,
            duration: datetime.timedelta, budget: Budget
            ) -> Iterator[datetime.datetime]:
    """Start times (native, as the rule yields them) that may overlap."""
    start = ical.required(master, "dtstart").value
    rules = ical.lines(master, "rrule")
    if not rules and not ical.lines(master, "rdate"):
        budget.spend()
        yield start
        return
    rule_text = str(rules[0].value) if len(rules) == 1 else ""
    parts = dict(p.split("=", 1) for p in rule_text.upper().split(";")
                 if "=" in p)
    if _interval(parts) is None:
        # RFC 5545 s3.3.10: INTERVAL is a positive integer.  Radicale
        # stores such a rule; dateutil repeats the start forever (0),
        # fails (negative) or overflows (huge).  Only DTSTART is certain.
        budget.spend()
        yield start
        return
    if rules and _never_matches(parts) and not ical.lines(master, "rdate"):
        # A rule with no date it could ever match (February 30): dateutil
        # would search every year up to 9999 for one, for each lookup.
        budget.spend()
        yield start
        return
    step = _SHIFTABLE.get(parts.get("FREQ", ""))
    try:
        ruleset = master.getrruleset(addRDate=True)
    except (ValueError, TypeError, OverflowError):
        budget.spend()
        yield start
        return
    native_start = start if isinstance(start, datetime.datetime) else \
        datetime.datetime.combine(start, datetime.time())
    if step is not None and "COUNT" not in parts and "BYSETPOS" not in parts \
            and not ical.lines(master, "rdate"):
        try:
            ruleset = _skip_ahead(master, ruleset, rule_text, parts, step,
                                  native_start, window_start, duration, tz)
        except (ValueError, OverflowError):
            pass  # walk from the start, within the budget
    occurrences = iter(ruleset)
    while True:
        try:
            occurrence = next(occurrences)
        except StopIteration:
            return
        except (ValueError, OverflowError):
            return  # dateutil cannot go on (out of range dates)
        budget.spend()
        if to_utc(occurrence, tz) >= window_end:
            return
        yield occurrence


#: The most days each month can have (February in leap years).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _never_matches(parts: dict) -> bool:
    """Does BYMONTH with BYMONTHDAY name only days that do not exist?

    RFC 5545 s3.3.10: such days are ignored, so the rule has no instance
    but DTSTART.
    """
    if "BYMONTHDAY" not in parts:
        return False
    try:
        days = [int(d) for d in parts["BYMONTHDAY"].split(",")]
        months = [int(m) for m in parts["BYMONTH"].split(",")] \
            if "BYMONTH" in parts else list(range(1, 13))
    except ValueError:
        return False
    return not any(1 <= month <= 12 and 1 <= abs(day) <= _MONTH_DAYS[
        month - 1] for month in months for day in days)


def _interval(parts: dict) -> Optional[int]:
    """INTERVAL of a rule, None when it is not a sane positive number."""
    try:
        value = int(parts.get("INTERVAL", "1") or 1)
    except ValueError:
        return None
    return value if 1 <= value <= 1000000 else None


def _skip_ahead(master: Component, ruleset, rule_text: str, parts: dict,
                step: datetime.timedelta, native_start: datetime.datetime,
                window_start: datetime.datetime,
                duration: datetime.timedelta, tz: datetime.tzinfo):
    """Skip ahead whole periods: a daily rule from 1990 does not walk
    13,000 days to reach this week."""
    interval = (_interval(parts) or 1) * step
    earliest = to_utc(native_start, tz)
    target = window_start - duration - interval
    if target <= earliest:
        return ruleset
    jumps = (target - earliest) // interval
    shifted = native_start + jumps * interval
    rule = du_rrule.rrulestr(rule_text, dtstart=shifted, ignoretz=False)
    ruleset = du_rrule.rruleset()
    ruleset.rrule(rule)
    for value in ical.exdates(master).values():
        if not isinstance(value, datetime.datetime):
            assert isinstance(value, datetime.date)
            value = datetime.datetime.combine(value, datetime.time())
        if (value.tzinfo is None) != (shifted.tzinfo is None):
            value = value.replace(tzinfo=shifted.tzinfo) \
                if value.tzinfo is None else \
                value.astimezone(shifted.tzinfo).replace(tzinfo=None)
        ruleset.exdate(value)
    return ruleset


def _component_periods(comps: List[Component], window_start, window_end,
                       tz, budget: Budget, me: FrozenSet[str]
                       ) -> Iterator[Period]:
    by_rid = {ical.rid(c): c for c in comps}
    master = by_rid.get(None)
    overridden = {key for key in by_rid if key is not None}
    if master is not None and ical.first(master, "dtstart") is not None:
        fbtype = _fbtype(master, me)
        length = duration(master)
        if length > datetime.timedelta(0):
            for start in occurrence_starts(master, window_start, window_end,
                                           tz, length, budget):
                if ical.value_key(start) in overridden:
                    continue
                begin = to_utc(start, tz)
                if fbtype and begin + length > window_start:
                    yield (max(begin, window_start),
                           min(begin + length, window_end), fbtype)
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


def _text_datetime(comp: Component, name: str, tz: datetime.tzinfo
                   ) -> Optional[datetime.datetime]:
    line = ical.first(comp, name)
    if line is None:
        return None
    value = line.value
    if isinstance(value, str):  # components vobject does not know
        value = vobject.icalendar.stringToDateTime(value)
    return to_utc(value, tz)


def _availability_periods(comp: Component, window_start, window_end, tz,
                          budget: Budget) -> Iterator[Period]:
    """RFC 7953: outside the AVAILABLE periods of a VAVAILABILITY (inside
    its own DTSTART/DTEND), the user is BUSY-UNAVAILABLE."""
    begin = _text_datetime(comp, "dtstart", tz) or window_start
    end = _text_datetime(comp, "dtend", tz) or window_end
    begin, end = max(begin, window_start), min(end, window_end)
    if begin >= end:
        return
    busytype = (ical.text(comp, "busytype") or UNAVAILABLE).upper()
    if busytype not in STRENGTH:
        busytype = UNAVAILABLE
    free: List[Tuple[datetime.datetime, datetime.datetime]] = []
    for available in comp.contents.get("available", []):
        start = _text_datetime(available, "dtstart", tz)
        finish = _text_datetime(available, "dtend", tz)
        if start is None or finish is None or finish <= start:
            continue
        length = finish - start
        rules = ical.lines(available, "rrule")
        starts: Iterable[datetime.datetime] = [start]
        if rules:
            text = str(rules[0].value)
            parts = dict(p.split("=", 1) for p in text.upper().split(";")
                         if "=" in p)
            try:
                if _interval(parts) is not None:
                    starts = du_rrule.rrulestr(text, dtstart=start)
            except (ValueError, TypeError, OverflowError):
                pass  # a broken rule: its first period only
        occurrences = iter(starts)
        while True:
            try:
                occurrence = next(occurrences)
            except (StopIteration, ValueError, OverflowError):
                break
            budget.spend()
            if occurrence >= end:
                break
            if occurrence + length > begin:
                free.append((occurrence, occurrence + length))
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
