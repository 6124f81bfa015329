"""The attendee's side of iTIP: what an attendee may change, and the REPLY
their change sends to the organizer (RFC 6638 s3.2.2, RFC 5546 s3.2.3).

``attendee_change`` compares the stored copy with the one the attendee's
client wants to store.  Only the changes of RFC 6638 s3.2.2.1 are allowed
(plus a task's STATUS, see tasks.status_change_allowed); a change of
participation (own PARTSTAT, an instance declined through an override or
an EXDATE, a task's progress) yields a REPLY with exactly the affected
instances.  Nothing else (alarms, X- properties, an answer saved again)
sends anything.
``removal`` is the REPLY an attendee's deletion sends.  Pure: no I/O.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional, Tuple

from vobject.base import Component
from vobject.icalendar import utc

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import delegation, tasks
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.organizer import Body, Message, check_same_organizer

#: Properties an attendee may add, change or remove (s3.2.2.1 items 2-4, 9)
#: plus the clients' private X- properties.
ATTENDEE_PROPERTIES = {"TRANSP", "PERCENT-COMPLETE", "COMPLETED", "CREATED",
                       "DTSTAMP", "LAST-MODIFIED", "SEQUENCE"}


@dataclass
class AttendeeChange:
    stored: Optional[Component]
    messages: List[Message] = field(default_factory=list)


def my_address(cal: Optional[Component], addresses: FrozenSet[str]
               ) -> Optional[str]:
    """The owner's address among the attendees, if the object is an
    attendee scheduling object (RFC 6638 s3.1) handled by the server."""
    comps = ical.components(cal)
    organizers = {ical.organizer(c) for c in comps} - {None}
    if len(organizers) != 1 or organizers & addresses:
        return None
    for comp in comps:
        line = ical.first(comp, "organizer")
        if line is not None and ical.agent(line) != "SERVER":
            return None
    for comp in comps:
        for line in ical.attendees(comp):
            if ical.address(line) in addresses:
                return ical.address(line)
    return None


def _all_cancelled(cal: Optional[Component]) -> bool:
    comps = ical.components(cal)
    return bool(comps) and all(
        (ical.text(c, "status") or "").upper() == "CANCELLED" for c in comps)


def _comparable(comp: Component, me: str, ignore_status: bool = False
                ) -> tuple:
    keys = []
    for line in comp.lines():
        name = line.name.upper()
        if name in ATTENDEE_PROPERTIES or name.startswith("X-") or \
                name in ("EXDATE", "RECURRENCE-ID") or \
                (ignore_status and name == "STATUS"):
            continue
        ignore: Tuple[str, ...] = ical.SERVER_PARAMS
        if name == "ATTENDEE" and ical.address(line) == me:
            ignore = ignore + ("PARTSTAT", "RSVP")
        keys.append(ical._line_key(line, ignore))
    return tuple(sorted(keys))


def _refuse(reason: str) -> SchedulingError:
    return SchedulingError("C:allowed-attendee-scheduling-object-change",
                           reason + " Only the organizer can change that "
                           "(RFC 6638 section 3.2.2.1); if this copy is "
                           "older than the stored one, read it again.")


def _check_allowed(old: Component, new: Component, me: str) -> None:
    old_comps, new_comps = ical.by_rid(old), ical.by_rid(new)
    old_master, new_master = old_comps.get(None), new_comps.get(None)
    if (old_master is None) != (new_master is None):
        raise _refuse("The series itself cannot be added or removed.")
    if new_master is not None:
        removed = set(ical.exdates(old_master)) - set(ical.exdates(
            new_master))
        if removed:
            raise _refuse("Instances cannot be brought back.")
    excluded = set(ical.exdates(new_master)) if new_master is not None \
        else set()
    for key, comp in new_comps.items():
        before = old_comps.get(key)
        if before is None:
            if key is None or old_master is None:
                raise _refuse("Components cannot be added.")
            before = ical.derived_instance(
                old_master, ical.required(comp, "recurrence-id").value)
        ignore_status = tasks.status_change_allowed(before, comp)
        if _comparable(before, me, ignore_status) != \
                _comparable(comp, me, ignore_status):
            raise _refuse("The meeting's details (time, place, summary, "
                          "attendees, ...) were changed.")
    for key in old_comps:
        if key not in new_comps and key not in excluded:
            raise _refuse("An instance the organizer changed cannot be "
                          "dropped, only declined.")


def _my_partstat(comp: Optional[Component], me: str) -> Optional[str]:
    if comp is None:
        return None
    line = ical.attendee(comp, me)
    return ical.partstat(line) if line is not None else None


def _reply_component(comp: Component, me: str, partstat: str,
                     stamp: datetime.datetime) -> Component:
    """A REPLY component (RFC 5546 s3.2.3): who answers what, nothing more."""
    reply = comp.duplicate(comp)
    keep = {"UID", "DTSTAMP", "SEQUENCE", "ORGANIZER", "ATTENDEE",
            "RECURRENCE-ID", "DTSTART", "DTEND", "DURATION", "DUE",
            "SUMMARY", "COMPLETED", "PERCENT-COMPLETE"}
    if tasks.is_task(comp):
        keep.add("STATUS")  # the assignee's progress (RFC 5546 s3.4.3)
    for line in list(reply.lines()):
        name = line.name.upper()
        if name not in keep or (name == "ATTENDEE" and
                                ical.address(line) != me):
            reply.remove(line)
    for child in list(reply.getChildren()):
        if not hasattr(child, "value"):
            reply.remove(child)  # VALARM and other subcomponents
    line = ical.attendee(reply, me)
    if line is None:
        line = reply.add("attendee")
        line.value = me
    ical.set_param(line, "PARTSTAT", partstat)
    ical.set_param(line, "RSVP", None)
    ical.strip_server_params(reply)
    ical.set_single(reply, "dtstamp", stamp)
    return reply


def _reply(source: Component, me: str, organizer: str,
           comps: List[Component]) -> Message:
    cal = ical.new_calendar(source, "REPLY")
    for comp in comps:
        cal.add(comp)
    return Message("REPLY", organizer, me, Body(cal),
                   ical.text(comps[0], "uid") or "")


def _keep_revision(old_comps: dict, new_comps: dict) -> None:
    """SEQUENCE is the organizer's (RFC 5546 s2.1.4): a client's body read
    before the latest revision cannot take it back, or the REPLY would
    answer an older revision and be discarded (s2.1.5)."""
    for key, comp in new_comps.items():
        before = old_comps.get(key) or old_comps.get(None)
        if before is not None and ical.sequence(comp) < ical.sequence(before):
            ical.set_single(comp, "sequence", str(ical.sequence(before)))


def attendee_change(old: Component, new: Component, me: str,
                    now: datetime.datetime) -> AttendeeChange:
    """An attendee's PUT over their stored copy ``old`` (s3.2.2.3)."""
    check_same_organizer(new)
    # Delegation (RFC 5546 s4.2.5) adds a line the usual rules forbid.
    plain, delegates = delegation.split_delegation(old, new, me)
    _check_allowed(old, plain, me)
    stamp = ical.utc_now_stamp(now).astimezone(utc)
    old_comps, new_comps = ical.by_rid(old), ical.by_rid(new)
    _keep_revision(old_comps, new_comps)
    organizer = next(iter({ical.organizer(c) or "" for c in
                           ical.components(new)} - {""}))
    _keep_sequence(old_comps, new_comps)
    answers: List[Component] = []
    new_master = new_comps.get(None)
    for key in ical.iter_instances_keys(new_comps):
        comp = new_comps[key]
        before = old_comps.get(key) or old_comps.get(None)
        state = _my_partstat(comp, me)
        moved = tasks.is_task(comp) and \
            tasks.progress(comp) != tasks.progress(before)
        if moved and state is not None and state == _my_partstat(before, me):
            state = tasks.implied_partstat(comp, state)
            ical.set_param(ical.attendee(comp, me), "PARTSTAT", state)
        if state is not None and (moved or
                                  state != _my_partstat(before, me) or
                                  delegation.redelegated(before, comp, me)):
            answer = _reply_component(comp, me, state, stamp)
            delegation.add_delegates_to_reply(answer, comp, me)
            answers.append(answer)
    if new_master is not None:
        old_ex = ical.exdates(old_comps.get(None))
        for key, value in ical.exdates(new_master).items():
            if key not in old_ex:
                declined = old_comps.get(key) or ical.derived_instance(
                    old_comps[None], value)
                answers.append(_reply_component(declined, me, "DECLINED",
                                                stamp))
    change = AttendeeChange(new)
    if answers:
        change.messages.append(_reply(new, me, organizer, answers))
    for who in sorted(delegates):
        request = delegation.request_for(new, who, me, now)
        if request is not None:
            change.messages.append(request)
    return change


def _keep_sequence(old_comps: dict, new_comps: dict) -> None:
    """SEQUENCE is the organizer's revision (RFC 5546 s2.1.4): clients
    that raise it on every save (python-caldav does) would make the
    organizer's next update look outdated, so the copy keeps the
    organizer's value."""
    for key, comp in new_comps.items():
        before = old_comps.get(key) or old_comps.get(None)
        if before is None or ical.sequence(comp) == ical.sequence(before):
            continue
        line = ical.first(before, "sequence")
        if line is None:
            for extra in list(ical.lines(comp, "sequence")):
                comp.remove(extra)
        else:
            ical.set_single(comp, "sequence", line.value)


def removal(old: Component, me: str, now: datetime.datetime
            ) -> List[Message]:
    """An attendee deleting their copy declines it (s3.2.2.4, s8.1),
    unless the organizer already cancelled it."""
    if _all_cancelled(old):
        return []
    stamp = ical.utc_now_stamp(now).astimezone(utc)
    comps = ical.by_rid(old)
    organizer = next(iter({ical.organizer(c) for c in comps.values()}
                          - {None}), None)
    if organizer is None:
        return []
    chosen = [comps[None]] if None in comps else list(comps.values())
    answers = [_reply_component(c, me, "DECLINED", stamp) for c in chosen
               if ical.attendee(c, me) is not None]
    return [_reply(old, me, organizer, answers)] if answers else []


def set_organizer_status(stored: Component, status: str) -> None:
    """Delivery status of the reply, on ORGANIZER (RFC 6638 s3.2.9)."""
    for comp in ical.components(stored):
        for line in ical.lines(comp, "organizer"):
            ical.set_param(line, "SCHEDULE-STATUS", status)


def merge_other_attendees(current: Component, new: Component,
                          me: str) -> None:
    """If-Schedule-Tag-Match on an attendee copy (s3.2.10.1): the server's
    record of everyone else's participation wins over the client's."""
    current_comps = ical.by_rid(current)
    for key, comp in ical.by_rid(new).items():
        before = current_comps.get(key) or current_comps.get(None)
        if before is None:
            continue
        for line in ical.attendees(comp):
            who = ical.address(line)
            known = ical.attendee(before, who)
            if who == me or known is None:
                continue
            for name in ical.PARTICIPATION_PARAMS:
                ical.set_param(line, name, ical.param(known, name))

