"""The attendee's side of iTIP (RFC 6638 s3.2.2, RFC 5546 s3.2.3): what an
attendee may change (what others see stays the organizer's, see
``facts``), and the REPLY with exactly the instances whose participation
changed.  Alarms, X- properties, an answer saved again send nothing.
Pure."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional, Set

from vobject.base import Component
from vobject.icalendar import utc

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import delegation, facts, instances, tasks
from radicale_scheduling.itip.message import Body, Message
from radicale_scheduling.itip.organizer import check_same_organizer


@dataclass
class AttendeeChange:
    stored: Optional[Component]
    messages: List[Message] = field(default_factory=list)


def my_address(cal: Optional[Component], addresses: FrozenSet[str]
               ) -> Optional[str]:
    """The owner's address among the attendees, if the object is an
    attendee scheduling object (RFC 6638 s3.1) handled by the server."""
    comps = ical.components(cal)
    organizers = ical.organizers(cal)
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
    return bool(comps) and all(map(ical.cancelled, comps))


# -- what the organizer and the other attendees see ---------------------------
# What others see stays the organizer's (``facts``); everything else is the
# attendee's, but other people's lines, taken from the organizer's version.


def _check_allowed(old: Component, new: Component, me: str) -> None:
    """Refuse what would change the meeting for others (``facts``)."""
    old_comps = ical.by_rid(old)
    old_master = old_comps.get(None)
    new_comps = instances.rekeyed(ical.by_rid(new), old_master)
    new_master = new_comps.get(None)
    if (old_master is None) != (new_master is None):
        raise facts.refuse("The series itself cannot be added or removed.")
    old_ex = instances.exdates(old_master, old_master)
    new_ex = instances.exdates(new_master, old_master)
    if set(old_ex) - set(new_ex):
        raise facts.refuse("Instances cannot be brought back.")
    for day, value in new_ex.items():
        if day not in old_ex and day not in old_comps and \
                not instances.instance_exists(old_master, value):
            raise facts.refuse("There is no instance %s to decline." % day)
    for key, comp in new_comps.items():
        before = old_comps.get(key)
        if before is None:
            value = instances.rid(comp)
            if key is None or not instances.instance_exists(old_master, value):
                raise facts.refuse("The meeting has no instance %s; an "
                                   "attendee cannot add one." % key)
            before = instances.instance(old_master, value)
        facts.compare(before, comp, me)


def _organizers_version(old: Component, new: Component, me: str,
                        keep: Set[str]) -> None:
    """The stored copy shows the organizer's ORGANIZER line and the other
    attendees' lines as the organizer wrote them (whatever CN or EMAIL the
    client put there), the organizer's SEQUENCE and (but for a task's
    progress) STATUS, and every instance the organizer has: a client
    that drops an override it did not decline gets it back."""
    old_comps = ical.by_rid(old)
    old_master = old_comps.get(None)
    new_comps = instances.rekeyed(ical.by_rid(new), old_master)
    for key, comp in new_comps.items():
        line = ical.first(comp, "recurrence-id")
        if line is not None:
            value = instances.series_value(old_master, line.value)
            if type(value) is not type(line.value):
                # The instance as the series names it (a date of a series
                # of dates), so that the organizer's copy can match it.
                ical.set_single(comp, "recurrence-id", value)
        before = old_comps.get(key)
        if before is None and old_master is not None:
            before = instances.instance(old_master, instances.rid(comp))
        if before is None:
            continue
        for name in ("organizer", "attendee"):
            for line in ical.lines(comp, name):
                who = ical.address(line)
                known = ical.first(before, "organizer") if name == \
                    "organizer" else ical.attendee(before, who)
                if known is None or who == me or who in keep:
                    continue
                # s3.2.2.1 item 10: the status of someone the client
                # schedules itself (SCHEDULE-AGENT=CLIENT) is the client's.
                status = ical.param(line, "SCHEDULE-STATUS") \
                    if ical.agent(known) == "CLIENT" else None
                line.value = known.value
                line.params = {k: list(v) for k, v in known.params.items()}
                if status is not None:
                    ical.set_param(line, "SCHEDULE-STATUS", status)
        if not tasks.status_change_allowed(before, comp):
            status = ical.first(before, "status")
            if status is None:
                ical.drop(comp, "status")
            elif ical.text(comp, "status") != str(status.value):
                ical.set_single(comp, "status", status.value)
    excluded = set(instances.exdates(new_comps.get(None), old_master))
    for key, comp in old_comps.items():
        if key is not None and key not in new_comps and key not in excluded:
            new.add(comp.duplicate(comp))


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


def attendee_change(old: Component, new: Component, me: str,
                    now: datetime.datetime) -> AttendeeChange:
    """An attendee's PUT over their stored copy ``old`` (s3.2.2.3)."""
    check_same_organizer(new)
    # Delegation (RFC 5546 s4.2.5) adds a line the usual rules forbid.
    plain, delegates = delegation.split_delegation(old, new, me)
    _check_allowed(old, plain, me)
    _organizers_version(old, new, me, delegates)
    stamp = ical.utc_now_stamp(now).astimezone(utc)
    old_comps = ical.by_rid(old)
    new_comps = instances.rekeyed(ical.by_rid(new), old_comps.get(None))
    organizer = next(iter(ical.organizers(new) - {""}))
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
        old_master = old_comps.get(None)
        old_ex = instances.exdates(old_master, old_master)
        for key, value in instances.exdates(new_master, old_master).items():
            if key not in old_ex:
                declined = old_comps.get(key) or \
                    instances.instance(old_comps[None], value)
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
            ical.drop(comp, "sequence")
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
    organizer = next(iter(ical.organizers(old)), None)
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

