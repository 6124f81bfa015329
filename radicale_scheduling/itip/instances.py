"""Instances of a recurring meeting: who sees which (RFC 6638 s3.2.6),
which overrides still name an instance (RFC 5545 s3.8.4.4), and whether
a RECURRENCE-ID names one.  Expansion is vobject's ruleset."""

from __future__ import annotations

import datetime
from typing import Dict, List, Optional, Set

from vobject.base import Component
from vobject.icalendar import utc

from radicale_scheduling.itip import calendar as ical


def view(cal: Optional[Component], who: str,
         stale: Optional[Set[str]] = None) -> Dict[Optional[str], Component]:
    """The instances ``who`` is invited to, as the components they see.

    ``stale``: the object's ``stale_overrides``, when the caller computed
    them once for all attendees.
    """
    comps = ical.by_rid(cal)
    if not comps:
        return {}
    for key in stale_overrides(comps) if stale is None else stale:
        comps.pop(key, None)
    invited = {key: comp for key, comp in comps.items()
               if _invited(comp, who)}
    master = comps.get(None)
    if None in invited and master is not None:
        # Overrides that leave the attendee out become EXDATEs of the
        # master they see.
        excluded = [comps[key] for key in comps
                    if key is not None and key not in invited]
        if excluded:
            master = master.duplicate(master)
            for override in excluded:
                value = ical.required(override, "recurrence-id").value
                master.add("exdate").value = [value]
            invited[None] = master
    return invited


def _as_instant(value: object) -> object:
    """A RECURRENCE-ID as the rule's expansion gives it (dates become
    midnight, as vobject expands all-day rules)."""
    if isinstance(value, datetime.date) and \
            not isinstance(value, datetime.datetime):
        return datetime.datetime(value.year, value.month, value.day)
    return value


#: Most instances of a series expanded to tell whether its overrides still
#: name instances (fifty years of a daily meeting); beyond, all are kept.
MAX_EXPANSION = 20000


def stale_overrides(comps: Dict[Optional[str], Component]) -> Set[str]:
    """Overrides that name no instance of the master's series any more (RFC
    5545 s3.8.4.4), after a new COUNT, UNTIL, start or no RRULE: dropped,
    as Apple's server does.  Compared by instant; EXDATEs do not count (an
    excluded instance is cancelled, not stale).  Whatever the expansion
    cannot decide (floating against zoned, a rule vobject cannot read,
    more than MAX_EXPANSION instances) is kept."""
    master = comps.get(None)
    overrides = [key for key in comps if key is not None]
    if master is None or not overrides:
        return set()
    start = ical.first(master, "dtstart")
    if start is None:
        return set()
    stale: Set[str] = set()
    try:
        if ical.lines(master, "rrule") or ical.lines(master, "rdate"):
            series = master.duplicate(master)
            ical.drop(series, "exdate", "exrule")
            rules = series.getrruleset(addRDate=True)
            first = _as_instant(start.value)
            wanted = {key: _as_instant(ical.required(comps[key],
                                                     "recurrence-id").value)
                      for key in overrides}
            last = max(wanted.values())  # type: ignore[type-var]
            seen = set()
            for count, occurrence in enumerate(rules):
                if count >= MAX_EXPANSION:
                    return set()  # undecided: keep them all
                if occurrence > last:
                    break
                seen.add(ical.value_key(occurrence))
            stale = {key for key, value in wanted.items()
                     if value != first and ical.value_key(value) not in seen}
        else:
            for key in overrides:
                value = ical.required(comps[key], "recurrence-id").value
                if ical.value_key(value) != ical.value_key(start.value):
                    stale.add(key)
    except Exception:  # vobject and dateutil raise many kinds
        return set()
    return stale


def _invited(comp: Component, who: str) -> bool:
    line = ical.attendee(comp, who)
    return line is not None and ical.agent(line) == "SERVER"


def series_value(master: Optional[Component], value: object) -> object:
    """An instance of a series of dates named by a date-time at midnight
    (or a floating one) is that date."""
    start = ical.first(master, "dtstart") if master is not None else None
    if start is not None and isinstance(value, datetime.datetime) and \
            not isinstance(start.value, datetime.datetime):
        return value.date()
    return value


def instance_exists(master: Optional[Component], value: object) -> bool:
    """Is ``value`` an instance of the series ``master`` describes (RRULE,
    RDATE, minus EXDATE)?  A one-off meeting has no instances to override
    (RFC 5545 s3.8.4.4)."""
    first = ical.first(master, "dtstart") if master is not None else None
    if master is None or first is None or not (
            ical.lines(master, "rrule") or ical.lines(master, "rdate")):
        return False
    try:
        rules = master.getrruleset(addRDate=True)
    except Exception:  # vobject raises many kinds on odd rules
        return False
    if rules is None:
        return False
    start = first.value
    value = series_value(master, value)
    width = datetime.timedelta(seconds=1)
    if isinstance(value, datetime.datetime):
        target = value
    elif isinstance(value, datetime.date):
        target = datetime.datetime.combine(value, datetime.time())
        if isinstance(start, datetime.datetime):
            width = datetime.timedelta(days=1)
    else:
        return False
    if isinstance(start, datetime.datetime) and start.tzinfo is not None:
        if target.tzinfo is None:
            zone = start.tzinfo
            localize = getattr(zone, "localize", None)
            target = localize(target) if localize else target.replace(
                tzinfo=zone)
    else:
        if target.tzinfo is not None and isinstance(start, datetime.datetime):
            target = target.astimezone(utc).replace(tzinfo=None)
        elif target.tzinfo is not None:
            target = target.replace(tzinfo=None)
    try:
        if width > datetime.timedelta(seconds=1):
            return bool(rules.between(target, target + width, inc=False)) or \
                bool(rules.between(target, target, inc=True))
        return bool(rules.between(target - width, target + width, inc=True))
    except (TypeError, ValueError, OverflowError):
        return False


def missing_instances(meeting: Component, message: Component) -> List[str]:
    """The RECURRENCE-IDs of ``message`` that name no instance of the
    organizer's ``meeting`` (RFC 5546 s3.2.3: a REPLY answers the
    instances the organizer sent)."""
    comps = ical.by_rid(meeting)
    master = comps.get(None)
    missing = []
    for key, comp in rekeyed(ical.by_rid(message), master).items():
        if key is None or key in comps:
            continue
        if not instance_exists(master, rid(comp)):
            missing.append(key)
    return missing


def rid(comp: Component) -> object:
    line = ical.first(comp, "recurrence-id")
    return None if line is None else line.value


def rekeyed(comps: Dict[Optional[str], Component],
             master: Optional[Component]) -> Dict[Optional[str], Component]:
    """Overrides keyed as the organizer's series names its instances."""
    result: Dict[Optional[str], Component] = {}
    for key, comp in comps.items():
        line = ical.first(comp, "recurrence-id")
        if key is not None and line is not None:
            key = ical.value_key(series_value(master, line.value))
        result[key] = comp
    return result


def derived(master: Component, instance: object) -> Component:
    """The instance of a series as the master describes it."""
    comp = master.duplicate(master)
    ical.drop(comp, "rrule", "rdate", "exdate", "exrule")
    start = ical.first(master, "dtstart")
    end = ical.first(master, "dtend") or ical.first(master, "due")
    if start is not None and end is not None and \
            isinstance(instance, type(start.value)):
        ical.required(comp, end.name).value = \
            instance + (end.value - start.value)
    ical.set_single(comp, "dtstart", instance)
    ical.set_single(comp, "recurrence-id", instance)
    return comp


def instance(master: Component, value: object) -> Component:
    """Instance ``value`` as the series describes it, named as it names
    its instances (a date of a series of dates)."""
    return derived(master, series_value(master, value))


def excluded(comp: Optional[Component]) -> Dict[str, object]:
    """EXDATE values of a component, by comparable key."""
    result: Dict[str, object] = {}
    if comp is None:
        return result
    for line in ical.lines(comp, "exdate"):
        values = line.value if isinstance(line.value, list) else [line.value]
        for value in values:
            result[ical.value_key(value)] = value
    return result


def exdates(master: Optional[Component], series: Optional[Component]
             ) -> Dict[str, object]:
    return {ical.value_key(series_value(series, v)): v
            for v in excluded(master).values()}
