"""The attendee's side of iTIP: what an attendee may change, and the REPLY
their change sends to the organizer (RFC 6638 s3.2.2, RFC 5546 s3.2.3).

``attendee_change`` compares the stored copy with the one the attendee's
client wants to store.  What others see of the meeting stays the
organizer's (see ``public_facts``): every change RFC 6638 s3.2.2.1 allows
passes, and so does whatever concerns the attendee alone; a change of
participation (own PARTSTAT, an instance declined through an override or
an EXDATE, a task's progress) yields a REPLY with exactly the affected
instances.  Nothing else (alarms, X- properties, an answer saved again)
sends anything.
``removal`` is the REPLY an attendee's deletion sends.  Pure: no I/O.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from dateutil import rrule as du_rrule
from vobject.base import Component
from vobject.icalendar import utc

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import delegation, tasks
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.organizer import Body, Message, check_same_organizer


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


def _refuse(reason: str) -> SchedulingError:
    return SchedulingError("C:allowed-attendee-scheduling-object-change",
                           reason + " Only the organizer can change that "
                           "(RFC 6638 section 3.2.2.1); if this copy is "
                           "older than the stored one, read it again.")


# -- what the organizer and the other attendees see ---------------------------
#
# The rule Apple's server and Cyrus apply: an attendee's save is refused only
# when it would change what others see of the meeting.  Those facts are
# compared as meaning, not text (instants, not time zones; RRULE parts in any
# order; addresses in any case), so that what real clients send back after
# "Accept" (another CN or EMAIL= on other lines, reordered properties,
# another VTIMEZONE, their own X- properties) passes.  Everything else is the
# attendee's, except other people's lines, which the stored copy takes from
# the organizer's version.

_TEXTS = ("SUMMARY", "DESCRIPTION", "LOCATION")


_EPOCHS = (datetime.datetime(2000, 1, 1, tzinfo=utc),
           datetime.datetime(2000, 1, 1))


def _rule(value: object) -> str:
    """An RRULE as dateutil writes it back: part order, case and defaults
    (INTERVAL=1, WKST=MO) do not matter.  DTSTART is compared apart."""
    for start in _EPOCHS:  # UNTIL in UTC needs a zoned start, else not
        try:
            text = str(du_rrule.rrulestr(str(value), dtstart=start))
            return text.partition("\n")[2]
        except (ValueError, TypeError, OverflowError):
            continue
    return str(value).upper()


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


def _compare(before: Component, comp: Component, me: str) -> None:
    old_facts, new_facts = public_facts(before), public_facts(comp)
    for name, value in old_facts.items():
        if new_facts[name] != value:
            raise _refuse("An attendee cannot change %s of the meeting."
                          % _FACT_NAMES[name])
    status = ical.text(comp, "status")
    if status is not None and status.upper() != (
            ical.text(before, "status") or "").upper() and \
            not tasks.status_change_allowed(before, comp):
        raise _refuse("An attendee cannot change the STATUS of the meeting "
                      "(a task's progress excepted).")
    mine, known_mine = ical.attendee(comp, me), ical.attendee(before, me)
    if mine is not None and known_mine is not None:
        for name in ("DELEGATED-TO", "DELEGATED-FROM"):
            if set(delegation.addresses(mine, name)) != set(
                    delegation.addresses(known_mine, name)):
                raise _refuse("Delegating takes PARTSTAT=DELEGATED and the "
                              "delegate's line (RFC 5546 section 4.2.5).")
    # Another attendee's answer is theirs: a value stated differently is
    # an attempt to answer for them; a line without PARTSTAT states none.
    for line in ical.attendees(comp):
        who = ical.address(line)
        known = ical.attendee(before, who)
        if who == me or known is None or ical.param(line, "PARTSTAT") is None:
            continue
        if ical.partstat(line) != ical.partstat(known):
            raise _refuse("An attendee can answer only for themselves, not "
                          "for %s." % who)


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
    for key, comp in _rekeyed(ical.by_rid(message), master).items():
        if key is None or key in comps:
            continue
        if not instance_exists(master, _rid(comp)):
            missing.append(key)
    return missing


def _rid(comp: Component) -> object:
    line = ical.first(comp, "recurrence-id")
    return None if line is None else line.value


def _rekeyed(comps: Dict[Optional[str], Component],
             master: Optional[Component]) -> Dict[Optional[str], Component]:
    """Overrides keyed as the organizer's series names its instances."""
    result: Dict[Optional[str], Component] = {}
    for key, comp in comps.items():
        line = ical.first(comp, "recurrence-id")
        if key is not None and line is not None:
            key = ical.value_key(series_value(master, line.value))
        result[key] = comp
    return result


def _exdates(master: Optional[Component], series: Optional[Component]
             ) -> Dict[str, object]:
    return {ical.value_key(series_value(series, v)): v
            for v in ical.exdates(master).values()}


def _check_allowed(old: Component, new: Component, me: str) -> None:
    """Refuse what would change the meeting for others (see above)."""
    old_comps = ical.by_rid(old)
    old_master = old_comps.get(None)
    new_comps = _rekeyed(ical.by_rid(new), old_master)
    new_master = new_comps.get(None)
    if (old_master is None) != (new_master is None):
        raise _refuse("The series itself cannot be added or removed.")
    old_ex = _exdates(old_master, old_master)
    new_ex = _exdates(new_master, old_master)
    if set(old_ex) - set(new_ex):
        raise _refuse("Instances cannot be brought back.")
    for day, value in new_ex.items():
        if day not in old_ex and day not in old_comps and \
                not instance_exists(old_master, value):
            raise _refuse("There is no instance %s to decline." % day)
    for key, comp in new_comps.items():
        before = old_comps.get(key)
        if before is None:
            value = _rid(comp)
            if key is None or not instance_exists(old_master, value):
                raise _refuse("The meeting has no instance %s; an attendee "
                              "cannot add one." % key)
            before = ical.derived_instance(old_master,
                                           series_value(old_master, value))
        _compare(before, comp, me)


def _organizers_version(old: Component, new: Component, me: str,
                        keep: Set[str]) -> None:
    """The stored copy shows the organizer's ORGANIZER line and the other
    attendees' lines as the organizer wrote them (whatever CN or EMAIL the
    client put there), the organizer's SEQUENCE and (but for a task's
    progress) STATUS, and every instance the organizer has: a client
    that drops an override it did not decline gets it back."""
    old_comps = ical.by_rid(old)
    old_master = old_comps.get(None)
    new_comps = _rekeyed(ical.by_rid(new), old_master)
    for key, comp in new_comps.items():
        line = ical.first(comp, "recurrence-id")
        if line is not None:
            value = series_value(old_master, line.value)
            if type(value) is not type(line.value):
                # The instance as the series names it (a date of a series
                # of dates), so that the organizer's copy can match it.
                ical.set_single(comp, "recurrence-id", value)
        before = old_comps.get(key)
        if before is None and old_master is not None:
            before = ical.derived_instance(old_master, series_value(
                old_master, _rid(comp)))
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
                for line in list(ical.lines(comp, "status")):
                    comp.remove(line)
            elif ical.text(comp, "status") != str(status.value):
                ical.set_single(comp, "status", status.value)
    excluded = set(_exdates(new_comps.get(None), old_master))
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
    _organizers_version(old, new, me, delegates)
    stamp = ical.utc_now_stamp(now).astimezone(utc)
    old_comps = ical.by_rid(old)
    new_comps = _rekeyed(ical.by_rid(new), old_comps.get(None))
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
        old_ex = _exdates(old_comps.get(None), old_comps.get(None))
        for key, value in _exdates(new_master, old_comps.get(None)).items():
            if key not in old_ex:
                declined = old_comps.get(key) or ical.derived_instance(
                    old_comps[None], series_value(old_comps[None], value))
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

