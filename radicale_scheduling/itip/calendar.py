"""Reading and shaping iCalendar objects over vobject, the objects
Radicale's items carry: nothing is parsed twice.  Pure."""

from __future__ import annotations

import datetime
import hashlib
import re
from typing import Dict, Iterator, List, Optional, Set, Tuple

import vobject
from vobject.base import Component, ContentLine

from radicale_scheduling.itip import address as addr
from radicale_scheduling.itip.errors import InvalidCalendar
from radicale_scheduling.itip.text import (
    BAD_PARAM_CHARS,
    SCHEDULE_TAG,
    printable,
)

#: Components that carry ORGANIZER and ATTENDEE (RFC 5546 s1.4).
SCHEDULABLE = ("VEVENT", "VTODO", "VJOURNAL")
#: Parameters that belong to CalDAV scheduling and never travel in iTIP
#: messages (RFC 6638 s7).
SERVER_PARAMS = ("SCHEDULE-AGENT", "SCHEDULE-STATUS", "SCHEDULE-FORCE-SEND")
#: An attendee's participation as the server recorded it from their answers:
#: what a tag-matched PUT (RFC 6638 s3.2.10.1) takes from the stored copy.
PARTICIPATION_PARAMS = ("PARTSTAT", "RSVP", "SCHEDULE-STATUS")


#: In a calendar-user address not even HTAB (it becomes a mail header).
_BAD_ADDRESS_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: iana-token / x-name (RFC 5545 s3.1).
_TOKEN = re.compile(r"[A-Za-z0-9-]+")
#: Parameters whose value is one of a list (RFC 5545 s3.2, RFC 6638 s7):
#: the defined values, or an iana-token or x-name.
ENUMERATED_PARAMS = ("CUTYPE", "ROLE", "PARTSTAT", "RSVP", "RELTYPE", "FBTYPE",
                     "RANGE", "RELATED", "SCHEDULE-AGENT",
                     "SCHEDULE-FORCE-SEND")
#: Parameters whose values are calendar-user addresses (RFC 5545 s3.2).
ADDRESS_PARAMS = ("DELEGATED-TO", "DELEGATED-FROM", "MEMBER", "SENT-BY")


def check_values(cal: Component) -> None:
    """Refuse parameter values and addresses others would see damaged
    (RFC 5545 s3.2 param-value, enumerated parameters take a token; s3.3.3
    cal-address is a URI): no copy, inbox message or mail may carry a line
    break, a control character or a value that ends its parameter."""
    for comp in components(cal):
        for line in comp.lines():
            name = line.name.upper()
            for key, values in line.params.items():
                for value in values:
                    value = str(value)
                    if BAD_PARAM_CHARS.search(value):
                        raise InvalidCalendar(
                            "%s: parameter %s holds a control character, "
                            "line break or double quote: %r (RFC 5545 "
                            "section 3.2)" % (name, key, printable(value)))
                    if key in ENUMERATED_PARAMS and \
                            not _TOKEN.fullmatch(value):
                        raise InvalidCalendar(
                            "%s: %s=%r is none of its defined values nor an "
                            "iana-token or x-name (RFC 5545 section 3.2)"
                            % (name, key, printable(value)))
                    if key in ADDRESS_PARAMS and \
                            _BAD_ADDRESS_CHARS.search(value):
                        raise InvalidCalendar(
                            "%s: %s holds a control character or line "
                            "break: %r" % (name, key, printable(value)))
            if name in ("ORGANIZER", "ATTENDEE") and \
                    _BAD_ADDRESS_CHARS.search(str(line.value)):
                raise InvalidCalendar(
                    "%s %r holds a control character or line break; a "
                    "calendar-user address is a URI (RFC 5545 section "
                    "3.3.3)" % (name, printable(str(line.value))))


def parse(text: str) -> Component:
    try:
        cal = vobject.readOne(text)
    except Exception as e:  # vobject raises many kinds
        raise InvalidCalendar("not valid iCalendar: %s" % e) from e
    if cal.name != "VCALENDAR":
        raise InvalidCalendar("not a VCALENDAR object")
    return cal


def clone(cal: Component) -> Component:
    return cal.duplicate(cal)


def components(cal: Optional[Component]) -> List[Component]:
    if cal is None:
        return []
    return [c for c in cal.getChildren() if c.name in SCHEDULABLE]


def value_key(value: object) -> str:
    """A comparable text for a date, date-time (UTC if zoned) or other."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            return value.astimezone(datetime.timezone.utc).strftime(
                "%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    if isinstance(value, datetime.date):
        return value.strftime("%Y%m%d")
    return str(value)


def rid(comp: Component) -> Optional[str]:
    """The instance a component stands for: None for the master."""
    line = comp.contents.get("recurrence-id")
    return value_key(line[0].value) if line else None


def by_rid(cal: Optional[Component]) -> Dict[Optional[str], Component]:
    return {rid(c): c for c in components(cal)}


def lines(comp: Component, name: str) -> List[ContentLine]:
    return comp.contents.get(name.lower(), [])


def first(comp: Component, name: str) -> Optional[ContentLine]:
    found = lines(comp, name)
    return found[0] if found else None


def required(comp: Component, name: str) -> ContentLine:
    """``first`` of a property the component was checked to have."""
    line = first(comp, name)
    if line is None:
        raise ValueError("%s without %s" % (comp.name, name.upper()))
    return line


def text(comp: Component, name: str) -> Optional[str]:
    line = first(comp, name)
    return None if line is None else str(line.value)


def param(line: ContentLine, name: str) -> Optional[str]:
    values = line.params.get(name.upper())
    return values[0] if values else None


def set_param(line: ContentLine, name: str, value: Optional[str]) -> None:
    if value is None:
        line.params.pop(name.upper(), None)
    else:
        line.params[name.upper()] = [value]




def address(line: ContentLine) -> str:
    return addr.normalize(str(line.value))


def organizer(comp: Component) -> Optional[str]:
    line = first(comp, "organizer")
    return None if line is None else address(line)


def organizers(cal: Optional[Component]) -> Set[str]:
    return {x for x in map(organizer, components(cal)) if x is not None}


def cancelled(comp: Optional[Component]) -> bool:
    return comp is not None and \
        (text(comp, "status") or "").upper() == "CANCELLED"


def attendees(comp: Component) -> List[ContentLine]:
    return lines(comp, "attendee")


#: A client's missing name written out as CN text; never shown.
PLACEHOLDER_NAMES = frozenset(("None", "null"))


def person_name(line: Optional[ContentLine]) -> str:
    """A person's CN, "" for none or a client's placeholder."""
    name = (param(line, "CN") or "") if line is not None else ""
    return "" if name.strip() in PLACEHOLDER_NAMES else name


def drop_placeholder_names(cal: Optional[Component]) -> bool:
    """Remove placeholder CNs (``CN=None``) from ORGANIZER and ATTENDEE
    lines; True when anything was removed."""
    changed = False
    for comp in components(cal):
        for line in lines(comp, "organizer") + attendees(comp):
            if param(line, "CN") is not None and not person_name(line):
                set_param(line, "CN", None)
                changed = True
    return changed


def attendee(comp: Component, who: str) -> Optional[ContentLine]:
    for line in attendees(comp):
        if address(line) == who:
            return line
    return None


def required_attendee(comp: Component, who: str) -> ContentLine:
    """``attendee`` where ``who`` was checked to be one."""
    line = attendee(comp, who)
    if line is None:
        raise ValueError("%s is no ATTENDEE" % who)
    return line


def agent(line: ContentLine) -> str:
    return (param(line, "SCHEDULE-AGENT") or "SERVER").upper()


def partstat(line: ContentLine) -> str:
    return (param(line, "PARTSTAT") or "NEEDS-ACTION").upper()


def sequence(comp: Optional[Component]) -> int:
    if comp is None:
        return 0
    try:
        return int(text(comp, "sequence") or 0)
    except ValueError:
        return 0


def drop(comp: Component, *names: str) -> None:
    """Remove every property or component of these names."""
    for name in names:
        for line in list(lines(comp, name)):
            comp.remove(line)


def set_single(comp: Component, name: str, value: object) -> ContentLine:
    """Set a single-valued property, replacing any previous one."""
    drop(comp, name)
    line = comp.add(name.lower())
    line.value = value
    return line


def utc_now_stamp(now: datetime.datetime) -> datetime.datetime:
    return now.astimezone(datetime.timezone.utc).replace(microsecond=0)


def new_calendar(source: Component, method: Optional[str]) -> Component:
    """A VCALENDAR with the source's VERSION/PRODID and time zones."""
    cal = vobject.iCalendar()
    if method:
        cal.add("method").value = method
    for tz in source.contents.get("vtimezone", []):
        cal.add(tz.duplicate(tz))
    return cal


def add_component(cal: Component, comp: Component) -> Component:
    copy = comp.duplicate(comp)
    cal.add(copy)
    return copy


def strip_server_params(comp: Component) -> None:
    for line in attendees(comp) + lines(comp, "organizer"):
        for name in SERVER_PARAMS:
            line.params.pop(name, None)


def remove_alarms(comp: Component) -> None:
    drop(comp, "valarm")


def remove_private(cal: Component) -> None:
    """Drop the schedule tag property wherever a client put it."""
    for comp in [cal] + list(cal.components()):
        drop(comp, SCHEDULE_TAG)


def most_attendees_per_instance(cal: Optional[Component]) -> int:
    """The largest number of ATTENDEEs on one instance (UID and
    RECURRENCE-ID) of the object (RFC 4791 s5.2.9)."""
    counts: Dict[Tuple[Optional[str], Optional[str]], int] = {}
    for comp in components(cal):
        key = (text(comp, "uid"), rid(comp))
        counts[key] = counts.get(key, 0) + len(attendees(comp))
    return max(counts.values(), default=0)


def digest(*parts: object) -> str:
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()


def iter_instances_keys(comps: Dict[Optional[str], Component]
                        ) -> Iterator[Optional[str]]:
    yield from sorted(comps, key=lambda k: "" if k is None else k)


