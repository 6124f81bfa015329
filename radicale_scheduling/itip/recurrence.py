"""The one recurrence path (RFC 5545 s3.8.5): free-busy, availability and
rooms expand instances through vobject's ruleset here, in a window and
against a budget, so that no rule runs forever.  Pure."""

from __future__ import annotations

import datetime
from typing import Iterator, Optional, Tuple

from dateutil import rrule as du_rrule
from vobject.base import Component

from radicale_scheduling.itip import calendar as ical

UTC = datetime.timezone.utc

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
