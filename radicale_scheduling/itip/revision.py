"""Rules the organizer's stored object follows (RFC 6638 s3.2.1, s3.2.8,
s3.2.9, s3.2.10; RFC 5546 s2.1.4): who may set which answer, when
answers are asked again, SEQUENCE, SCHEDULE-STATUS."""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, Iterator, Optional, Set, Tuple

from vobject.base import Component, ContentLine

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import instances, tasks
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.text import SCHEDULE_TAG

#: Changes that concern nobody else (RFC 5546 s2.1.4).
INSIGNIFICANT = {"DTSTAMP", "LAST-MODIFIED", "CREATED", "SEQUENCE", "TRANSP",
                 SCHEDULE_TAG}
#: Changes that reschedule an instance (RFC 6638 s3.2.8; a new LOCATION
#: needs a new answer too).
RESCHEDULING = ("DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE",
                "LOCATION")


def _line_key(line: ContentLine, ignore_params: Iterable[str]) -> Tuple:
    value = line.value
    if isinstance(value, list):
        value = tuple(sorted(ical.value_key(v) for v in value))
    else:
        value = ical.value_key(value)
    params = tuple(sorted((k, tuple(v)) for k, v in line.params.items()
                          if k not in ignore_params
                          and not k.startswith("X-VOBJ")))
    return (line.name.upper(), params, value)


def signature(comp: Component, ignore_partstat_of: Optional[str] = "*",
              ) -> Tuple:
    """What a component says, minus what does not concern attendees;
    ``ignore_partstat_of``: "*" or an address whose PARTSTAT and RSVP
    do not count."""
    keys = []
    for line in comp.lines():
        name = line.name.upper()
        if name in INSIGNIFICANT or name.startswith("X-"):
            continue
        ignore: Tuple[str, ...] = ical.SERVER_PARAMS
        if name == "ATTENDEE" and (ignore_partstat_of == "*" or
                                   ical.address(line) == ignore_partstat_of):
            ignore = ical.SERVER_PARAMS + ("PARTSTAT", "RSVP")
        keys.append(_line_key(line, ignore))
    return tuple(sorted(keys))


def changed(old: Optional[Component], new: Optional[Component],
            names: Iterable[str]) -> bool:
    for name in names:
        old_keys = sorted(_line_key(x, ical.SERVER_PARAMS)
                          for x in ical.lines(old, name)) if old else []
        new_keys = sorted(_line_key(x, ical.SERVER_PARAMS)
                          for x in ical.lines(new, name)) if new else []
        if old_keys != new_keys:
            return True
    return False


def revisions(old: Optional[Component], new: Optional[Component]
              ) -> Iterator[Tuple[Component, Optional[Component]]]:
    """Each component of ``new`` with what it revises in ``old``: the same
    instance, else the series (an override made from it)."""
    old_comps = ical.by_rid(old)
    for key, comp in ical.by_rid(new).items():
        yield comp, old_comps[key] if key in old_comps else old_comps.get(None)


def _attendee_lines(old: Optional[Component], new: Component
                    ) -> Iterator[Tuple[ContentLine, Optional[ContentLine]]]:
    """Each ATTENDEE line of ``new`` with the same attendee's line in what
    it revises in ``old`` (None: a new attendee there)."""
    for comp, before in revisions(old, new):
        for line in ical.attendees(comp):
            yield line, None if before is None else \
                ical.attendee(before, ical.address(line))


def check_changes(old: Optional[Component], new: Component,
                  organizer_addresses: FrozenSet[str]) -> None:
    """RFC 6638 s3.2.1: the organizer may not answer for attendees.

    PARTSTAT of another attendee (SCHEDULE-AGENT=SERVER) may only be
    NEEDS-ACTION or what the server already recorded from their replies;
    a new attendee's is reset to NEEDS-ACTION.
    """
    for line, known in _attendee_lines(old, new):
        state = ical.partstat(line)
        if ical.address(line) in organizer_addresses or \
                ical.agent(line) != "SERVER" or state == "NEEDS-ACTION" or \
                (known is not None and ical.partstat(known) == state):
            continue
        if known is None:
            # A new attendee has not answered yet, whatever the
            # organizer's client wrote: the server owns that answer
            # (RFC 6638 s3.2.1; Apple's server resets it on create).
            ical.set_param(line, "PARTSTAT", "NEEDS-ACTION")
            continue
        raise SchedulingError(
            "C:allowed-organizer-scheduling-object-change",
            "The organizer cannot set the participation of %s to %s; "
            "only the attendee can answer (RFC 6638 section 3.2.1). If "
            "this copy was read before their answer, read it again, or "
            "save with If-Schedule-Tag-Match to keep the answers "
            "(section 3.2.10)." % (str(line.value), state))


def take_force_send(new: Component) -> Set[str]:
    """SCHEDULE-FORCE-SEND=REQUEST (s7.2): send, then forget the param."""
    forced = set()
    for comp in ical.components(new):
        for line in ical.attendees(comp):
            value = ical.param(line, "SCHEDULE-FORCE-SEND")
            if value is not None:
                if value.upper() == "REQUEST":
                    forced.add(ical.address(line))
                line.params.pop("SCHEDULE-FORCE-SEND", None)
    return forced


def _rescheduled(before: Optional[Component], comp: Component) -> bool:
    if before is None:
        return False
    if ical.rid(comp) is not None and ical.rid(before) is None:
        # A new override: moved if its start is not the instance's.
        start = ical.first(comp, "dtstart")
        instance = ical.first(comp, "recurrence-id")
        if start is not None and instance is not None and \
                ical.value_key(start.value) != ical.value_key(instance.value):
            return True
        return changed(before, comp, ("DTEND", "DURATION", "DUE",
                                           "LOCATION"))
    if changed(before, comp, RESCHEDULING):
        return True
    # EXDATEs removed reinstate instances.
    return bool(set(instances.excluded(before)) -
                set(instances.excluded(comp)))


def reset_on_reschedule(old: Optional[Component], new: Component,
                        organizer_addresses: FrozenSet[str]
                        ) -> None:
    """RFC 6638 s3.2.8: a rescheduled instance needs new answers."""
    for comp, before in revisions(old, new):
        if not _rescheduled(before, comp):
            continue
        for line in ical.attendees(comp):
            if ical.address(line) in organizer_addresses or \
                    ical.agent(line) != "SERVER" or \
                    tasks.keeps_partstat_on_reschedule(comp, line):
                continue
            ical.set_param(line, "PARTSTAT", "NEEDS-ACTION")
            ical.set_param(line, "RSVP", "TRUE")


_SEQUENCE_PROPERTIES = RESCHEDULING + ("EXDATE", "STATUS")


def bump_sequence(old: Optional[Component], new: Component) -> None:
    """RFC 5546 s2.1.4 / RFC 6638 s3.2.5: SEQUENCE grows with revisions."""
    for comp, before in revisions(old, new):
        if before is None:
            continue
        if ical.rid(comp) is not None and ical.rid(before) is None:
            significant = _rescheduled(before, comp) or ical.cancelled(comp)
        else:
            significant = changed(before, comp, _SEQUENCE_PROPERTIES)
        floor = ical.sequence(before)
        if significant and ical.sequence(comp) <= floor:
            ical.set_single(comp, "sequence", str(floor + 1))
        elif ical.sequence(comp) < floor:
            ical.set_single(comp, "sequence", str(floor))


def carry_schedule_status(old: Component, new: Component,
                          attempted: Set[str]) -> None:
    for line, known in _attendee_lines(old, new):
        status = ical.param(known, "SCHEDULE-STATUS") if known else None
        if status and ical.param(line, "SCHEDULE-STATUS") is None and \
                ical.address(line) not in attempted and \
                ical.agent(line) == "SERVER":
            ical.set_param(line, "SCHEDULE-STATUS", status)


def set_schedule_status(stored: Component, statuses: Dict[str, str]) -> None:
    """Write each attendee's delivery status (RFC 6638 s3.2.9, s7.3)."""
    for comp in ical.components(stored):
        for line in ical.attendees(comp):
            status = statuses.get(ical.address(line))
            if status is not None and ical.agent(line) == "SERVER":
                ical.set_param(line, "SCHEDULE-STATUS", status)


def merge_attendee_states(current: Component, new: Component,
                          owner_addresses: FrozenSet[str]) -> None:
    """If-Schedule-Tag-Match (RFC 6638 s3.2.10.1), on the organizer's copy
    or an attendee's: the client's object was based on the current tag,
    so the only changes since are answers the server recorded: everyone
    else's PARTSTAT, RSVP and SCHEDULE-STATUS win over the client's."""
    for line, known in _attendee_lines(current, new):
        if known is not None and ical.address(line) not in owner_addresses:
            for name in ical.PARTICIPATION_PARAMS:
                ical.set_param(line, name, ical.param(known, name))
