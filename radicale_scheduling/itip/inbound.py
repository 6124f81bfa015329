"""A received REQUEST, CANCEL (RFC 6638 s4.1, RFC 5546 s3.2) or REPLY
(s4.2) applied to the recipient's stored object: the new object, or None
when it changes nothing (outdated, nothing to cancel).  Pure."""

from __future__ import annotations

from typing import Callable, Dict, Optional, Set

from vobject.base import Component

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import delegation, instances, revision, tasks, text
from radicale_scheduling.itip.message import Message
from radicale_scheduling.itip.status import SUCCESS

#: What an attendee keeps of their own copy when the organizer updates it.
PERSONAL = ("valarm",)
PERSONAL_PROPERTIES = ("transp",)


def apply(method: str, message: Component, stored: Optional[Component],
          recipient: Optional[str] = None) -> Optional[Component]:
    """``recipient``: the attendee whose copy ``stored`` is, when known
    (their own progress on a to-do is kept, see tasks)."""
    method = method.upper()
    if method == "REQUEST":
        return _apply_request(message, stored, recipient)
    if method == "CANCEL":
        return _apply_cancel(message, stored)
    return None


def _outdated(incoming: Component, known: Optional[Component]) -> bool:
    """RFC 5546 s2.1.5: a lower SEQUENCE, or the same with older DTSTAMP."""
    if known is None:
        return False
    if ical.sequence(incoming) != ical.sequence(known):
        return ical.sequence(incoming) < ical.sequence(known)
    new_stamp, old_stamp = (ical.first(incoming, "dtstamp"),
                            ical.first(known, "dtstamp"))
    if new_stamp is None or old_stamp is None:
        return False
    return ical.value_key(new_stamp.value) < ical.value_key(old_stamp.value)


def _stamp(comp: Optional[Component]) -> str:
    line = ical.first(comp, "dtstamp") if comp is not None else None
    return "" if line is None else ical.value_key(line.value)


def _recreated(incoming: Dict[Optional[str], Component],
               known: Dict[Optional[str], Component]) -> bool:
    """The organizer deleted the meeting (the copy was cancelled) and made
    it again with the same UID, as a client's undo does: a new meeting,
    whatever its SEQUENCE.  A REQUEST older than the cancellation (an
    old mail arriving late) is not one."""
    if not known or not all(map(ical.cancelled, known.values())):
        return False
    if any(map(ical.cancelled, incoming.values())):
        return False
    stamp = max(_stamp(c) for c in known.values())
    return all(_stamp(c) >= stamp for c in incoming.values())


def _as_stored(message: Component) -> Component:
    cal = ical.clone(message)
    ical.drop(cal, "method")
    return cal


def _keep_personal(comp: Component, before: Optional[Component],
                   recipient: Optional[str] = None) -> None:
    if before is None:
        return
    tasks.keep_assignee_progress(comp, before, recipient)
    for name in PERSONAL:
        for child in before.contents.get(name, []):
            comp.add(child.duplicate(child))
    for name in PERSONAL_PROPERTIES:
        line = ical.first(before, name)
        if line is not None and ical.first(comp, name) is None:
            ical.set_single(comp, name, line.value)


def _apply_request(message: Component, stored: Optional[Component],
                   recipient: Optional[str] = None) -> Optional[Component]:
    incoming = ical.by_rid(message)
    if not incoming:
        return None
    known = ical.by_rid(stored)
    if _recreated(incoming, known):
        return _as_stored(message)
    fresh = {key: comp for key, comp in incoming.items()
             if not _outdated(comp, known.get(key) or known.get(None))}
    if not fresh:
        return None
    if stored is None or None in fresh:
        # A full update replaces what the attendee had, keeping their
        # alarms and transparency.
        result = _as_stored(message)
        comps = ical.by_rid(result)
        for key, comp in list(comps.items()):
            if key not in fresh and key in known:
                result.remove(comp)
                result.add(known[key].duplicate(known[key]))
            else:
                _keep_personal(comp, known.get(key), recipient)
        return result
    # Only some instances: replace or add those overrides.
    result = ical.clone(stored)
    current = ical.by_rid(result)
    for key, comp in fresh.items():
        if key in current:
            result.remove(current[key])
        copy = ical.add_component(result, comp)
        _keep_personal(copy, known.get(key), recipient)
    _add_timezones(result, message)
    return result


def _add_timezones(target: Component, source: Component) -> None:
    have = {ical.text(tz, "tzid") for tz in target.contents.get(
        "vtimezone", [])}
    for tz in source.contents.get("vtimezone", []):
        if ical.text(tz, "tzid") not in have:
            target.add(tz.duplicate(tz))


def _apply_cancel(message: Component, stored: Optional[Component]
                  ) -> Optional[Component]:
    if stored is None:
        return None
    incoming = ical.by_rid(message)
    if not incoming:
        return None
    result = ical.clone(stored)
    comps = ical.by_rid(result)
    if None in incoming:
        if _outdated(incoming[None], comps.get(None) or next(
                iter(comps.values()), None)):
            return None
        stamp = ical.first(incoming[None], "dtstamp")
        for comp in comps.values():
            ical.set_single(comp, "status", "CANCELLED")
            ical.set_single(comp, "sequence",
                            str(max(ical.sequence(comp),
                                    ical.sequence(incoming[None]))))
            if stamp is not None and _stamp(comp) < ical.value_key(
                    stamp.value):
                # When it was cancelled: a later REQUEST is a new meeting.
                ical.set_single(comp, "dtstamp", stamp.value)
        return result
    master = comps.get(None)
    changed = False
    for key, cancel in incoming.items():
        instance = ical.required(cancel, "recurrence-id").value
        override = comps.get(key)
        if master is not None:
            if override is not None:
                result.remove(override)
            if key not in instances.excluded(master):
                master.add("exdate").value = [instance]
            # The series' new revision (RFC 5546 s2.1.4: EXDATE raises
            # SEQUENCE), so that later answers are not taken as answers
            # to the older one.
            if ical.sequence(cancel) > ical.sequence(master):
                ical.set_single(master, "sequence",
                                str(ical.sequence(cancel)))
            changed = True
        elif override is not None:
            ical.set_single(override, "status", "CANCELLED")
            changed = True
    return result if changed else None


def _instance_component(cal: Component, comps: Dict[Optional[str],
                                                     Component],
                        key: str, reply: Component) -> Optional[Component]:
    """The organizer's component for an instance, made from the master
    when the organizer has no override for it yet."""
    if key in comps:
        return comps[key]
    master = comps.get(None)
    value = ical.required(reply, "recurrence-id").value
    if master is not None:
        value = instances.series_value(master, value)
    if master is None or not instances.instance_exists(master, value):
        return None  # nobody adds occurrences to the meeting by replying
    comp = instances.derived(master, value)
    cal.add(comp)
    comps[key] = comp
    return comp


def apply_reply(reply: Component, stored: Optional[Component], sender: str,
                record_status: bool = True) -> Optional[Component]:
    """An attendee's REPLY into the organizer's copy (RFC 6638 s4.2): only
    the sender's own entry changes, per instance where the reply is; it
    records REQUEST-STATUS as SCHEDULE-STATUS (2.0 when absent).  A reply
    to an older version changes nothing.  ``record_status`` False (another
    attendee's copy): only PARTSTAT moves."""
    if stored is None:
        return None
    result = ical.clone(stored)
    comps = ical.by_rid(result)
    changed = False
    for key, answer in ical.by_rid(reply).items():
        line = ical.attendee(answer, sender)
        if line is None:
            continue
        target = comps.get(key) if key is None else _instance_component(
            result, comps, key, answer) if record_status else comps.get(key)
        if target is None:
            continue
        if record_status and ical.sequence(answer) < ical.sequence(target):
            continue  # a reply to an older version of the meeting
        entry = ical.attendee(target, sender)
        if entry is None:
            continue  # nobody can add themselves by replying
        if record_status and delegation.apply_delegation(answer, target,
                                                         sender):
            entry = ical.attendee(target, sender)
        ical.set_param(entry, "PARTSTAT", ical.partstat(line))
        ical.set_param(entry, "RSVP", None)
        if record_status:
            tasks.follow_assignees(target, answer, sender)
            codes = [str(x.value).split(";", 1)[0] for x in
                     ical.lines(answer, "request-status")]
            ical.set_param(entry, "SCHEDULE-STATUS",
                           ",".join(codes) if codes else SUCCESS.code)
        changed = True
    return result if changed else None


#: The local user an address names, or None.
UserOf = Callable[[str], Optional[str]]


def organizers(cal: Optional[Component]) -> Set[str]:
    return ical.organizers(cal) - {""}


def same_organizer(stored: Component, message: Component,
                   user_of: UserOf) -> bool:
    """Is ``message`` from the organizer of ``stored``?  The same address,
    or addresses of one local user (who may switch between them)."""
    old, new = organizers(stored), organizers(message)
    if old == new:
        return bool(old)
    users = {user_of(a) for a in old | new}
    return bool(old) and bool(new) and len(users) == 1 and None not in users


def retag(old: Optional[Component], new: Component) -> bool:
    """RFC 6638 s3.2.10: an attendee's schedule tag changes with the
    organizer's real changes (a new revision included), not with others'
    participation."""
    if old is None:
        return True
    def sig(cal: Component) -> list:
        return sorted((revision.signature(c), ical.sequence(c))
                      for c in ical.components(cal))
    return sig(old) != sig(new)


def others_answer(message: Message, stored: str) -> Optional[str]:
    """A quiet REPLY into another attendee's ``stored`` text: only the
    sender's PARTSTAT moves; by text where that is one line
    (text.patch_partstat), else through the parsed object."""
    answers = ical.by_rid(message.calendar)
    if list(answers) == [None]:
        line = ical.attendee(answers[None], message.sender)
        if line is not None:
            patched = text.patch_partstat(stored, message.sender,
                                          ical.partstat(line))
            if patched is not None:
                return patched
    updated = apply_reply(message.calendar, ical.parse(stored),
                          message.sender, record_status=False)
    return updated.serialize() if updated is not None else None

