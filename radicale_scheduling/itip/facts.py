"""What everyone invited sees of a meeting, compared as meaning.

The rule Apple's server and Cyrus apply: an attendee's save is refused
only when it would change what others see (RFC 6638 s3.2.2.1).  Facts
compare as meaning, not text (instants, not time zones; RRULEs as
dateutil reads them; addresses in any case), so that what clients send
back after "Accept" (another CN, reordered properties, another VTIMEZONE,
their own X- properties) passes.
"""

from __future__ import annotations

import datetime
from typing import Dict, FrozenSet, Optional, Set, Tuple

from dateutil import rrule as du_rrule
from vobject.base import Component
from vobject.icalendar import utc

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import delegation, tasks
from radicale_scheduling.itip.errors import SchedulingError


def refuse(reason: str) -> SchedulingError:
    return SchedulingError("C:allowed-attendee-scheduling-object-change",
                           reason + " Only the organizer can change that "
                           "(RFC 6638 section 3.2.2.1); if this copy is "
                           "older than the stored one, read it again.")


_TEXTS = ("SUMMARY", "DESCRIPTION", "LOCATION")


_EPOCHS = (datetime.datetime(2000, 1, 1, tzinfo=utc),
           datetime.datetime(2000, 1, 1))


def _rule(value: object) -> Tuple[str, str]:
    """An RRULE as dateutil writes it back: part order, case and defaults
    (INTERVAL=1, WKST=MO) do not matter.  dateutil writes UNTIL alike as
    DATE, floating or UTC time, so its form is compared apart (RFC 5545
    s3.3.10 ties it to DTSTART's); DTSTART is compared apart too."""
    until = str(value).upper().partition("UNTIL=")[2].partition(";")[0]
    for start in _EPOCHS:  # UNTIL in UTC needs a zoned start, else not
        try:
            text = str(du_rrule.rrulestr(str(value), dtstart=start))
            return text.partition("\n")[2], until
        except (ValueError, TypeError, OverflowError):
            continue
    return str(value).upper(), until


def _values(comp: Component, name: str) -> FrozenSet[str]:
    result: Set[str] = set()
    for line in ical.lines(comp, name):
        values = line.value if isinstance(line.value, list) else [line.value]
        result.update(ical.value_key(v) for v in values)
    return frozenset(result)


def _span(comp: Component) -> Tuple[Optional[str], Optional[str]]:
    """Start and end as instants; an end given by DURATION, or left out
    (RFC 5545 s3.6.1: one day for a DATE, none for a DATE-TIME), is the
    same end written another way."""
    start = ical.first(comp, "dtstart")
    end = ical.first(comp, "dtend") or ical.first(comp, "due")
    if end is not None:
        end_value: object = end.value
    elif start is None:
        end_value = None
    else:
        duration = ical.first(comp, "duration")
        value = start.value
        if duration is not None and isinstance(duration.value,
                                               datetime.timedelta):
            end_value = value + duration.value
        elif duration is None and not isinstance(value, datetime.datetime) \
                and isinstance(value, datetime.date) and comp.name == "VEVENT":
            end_value = value + datetime.timedelta(days=1)
        else:
            end_value = value
    return (None if start is None else ical.value_key(start.value),
            None if end_value is None else ical.value_key(end_value))


def _text(comp: Component, name: str) -> str:
    value = ical.text(comp, name) or ""
    return value.replace("\r\n", "\n").strip()


def public_facts(comp: Component) -> Dict[str, object]:
    """What everyone invited sees of one instance (RFC 6638 s3.2.2.1
    leaves all of it to the organizer)."""
    facts: Dict[str, object] = {"time": _span(comp)}
    facts["RRULE"] = frozenset(_rule(x.value)
                               for x in ical.lines(comp, "rrule"))
    facts["RDATE"] = _values(comp, "rdate")
    for name in _TEXTS:
        facts[name] = _text(comp, name)
    facts["ORGANIZER"] = ical.organizer(comp)
    facts["ATTENDEE"] = frozenset(ical.address(x)
                                  for x in ical.attendees(comp))
    return facts


_FACT_NAMES = {"time": "the time", "RRULE": "the recurrence",
               "RDATE": "the recurrence", "SUMMARY": "the summary",
               "DESCRIPTION": "the description", "LOCATION": "the location",
               "ORGANIZER": "the organizer",
               "ATTENDEE": "the list of attendees"}


def compare(before: Component, comp: Component, me: str) -> None:
    old_facts, new_facts = public_facts(before), public_facts(comp)
    for name, value in old_facts.items():
        if new_facts[name] != value:
            raise refuse("An attendee cannot change %s of the meeting."
                          % _FACT_NAMES[name])
    status = ical.text(comp, "status")
    if status is not None and status.upper() != (
            ical.text(before, "status") or "").upper() and \
            not tasks.status_change_allowed(before, comp):
        raise refuse("An attendee cannot change the STATUS of the meeting "
                      "(a task's progress excepted).")
    mine, known_mine = ical.attendee(comp, me), ical.attendee(before, me)
    if mine is not None and known_mine is not None:
        for name in ("DELEGATED-TO", "DELEGATED-FROM"):
            if set(delegation.addresses(mine, name)) != set(
                    delegation.addresses(known_mine, name)):
                raise refuse("Delegating takes PARTSTAT=DELEGATED and the "
                              "delegate's line (RFC 5546 section 4.2.5).")
    # Another attendee's answer is theirs: a value stated differently is
    # an attempt to answer for them; a line without PARTSTAT states none.
    for line in ical.attendees(comp):
        who = ical.address(line)
        known = ical.attendee(before, who)
        if who == me or known is None or ical.param(line, "PARTSTAT") is None:
            continue
        if ical.partstat(line) != ical.partstat(known):
            raise refuse("An attendee can answer only for themselves, not "
                          "for %s." % who)
