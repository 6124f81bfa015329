"""The organizer's side of iTIP (RFC 6638 s3.2.1, RFC 5546 s3.2): the
object to store and one message per attendee who must hear of a change.
Pure; ``now`` is passed in."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from vobject.base import Component
from vobject.icalendar import utc

from radicale_scheduling.itip import address, instances, revision
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.instances import stale_overrides, view
from radicale_scheduling.itip.message import Bodies, Message, cancel_component


@dataclass
class OrganizerChange:
    stored: Optional[Component]  # what to store (None: removed)
    messages: List[Message] = field(default_factory=list)
    #: Attendees (by address) the server tries to deliver to; these get
    #: a SCHEDULE-STATUS once delivery is known (RFC 6638 s3.2.9).
    attempted: Set[str] = field(default_factory=set)


def is_organizer_object(cal: Optional[Component],
                        addresses: FrozenSet[str]) -> bool:
    """RFC 6638 s3.1: ORGANIZER is the owner, and someone is invited."""
    organizers = ical.organizers(cal)
    return len(organizers) == 1 and not organizers - addresses and any(
        ical.address(line) not in organizers
        for c in ical.components(cal) for line in ical.attendees(c))


def check_same_organizer(cal: Component) -> None:
    """RFC 6638 s3.2.4.2."""
    organizers = ical.organizers(cal)
    if len(organizers) > 1:
        raise SchedulingError(
            "C:same-organizer-in-all-components",
            "All components of a scheduling object must have the same "
            "ORGANIZER (found %s)." % ", ".join(sorted(map(str, organizers))))


# -- the change --------------------------------------------------------------

def organizer_change(old: Optional[Component], new: Optional[Component],
                     organizer_addresses: FrozenSet[str],
                     now: datetime.datetime) -> OrganizerChange:
    """What the organizer's change of ``old`` (None: none stored) into
    ``new`` (None: removed) means for every attendee; SchedulingError for
    a change an organizer may not make (RFC 6638 s3.2.4)."""
    stamp = ical.utc_now_stamp(now).astimezone(utc)
    if new is not None:
        check_same_organizer(new)
        new = ical.clone(new)
        revision.check_changes(old, new, organizer_addresses)
        forced = revision.take_force_send(new)
        revision.reset_on_reschedule(old, new, organizer_addresses)
        revision.bump_sequence(old, new)
        for comp in ical.components(new):
            if ical.first(comp, "dtstamp") is None:
                ical.set_single(comp, "dtstamp", stamp)
    else:
        forced = set()
    source = new if new is not None else old
    assert source is not None
    organizer: str = next(iter(ical.organizers(source) - {""}), "")
    change = OrganizerChange(new)
    bodies = Bodies(source, stamp)
    recipients = _attendee_addresses(old) | _attendee_addresses(new)
    recipients.discard(organizer)
    recipients -= organizer_addresses
    # Expanded once, not once per attendee.
    old_stale = stale_overrides(ical.by_rid(old))
    new_stale = stale_overrides(ical.by_rid(new))
    for who in sorted(recipients):
        old_view = view(old, who, old_stale)
        new_view = view(new, who, new_stale) if new is not None else {}
        messages = _messages_for(who, organizer, old_view, new_view, bodies,
                                 who in forced)
        if _never_delivered(old, who):
            # A CANCEL goes only to whom the invitation went.
            messages = [m for m in messages if m.method != "CANCEL"]
        change.messages.extend(messages)
        if new_view and any(not m.quiet for m in messages):
            change.attempted.add(who)
    # Attendees who got nothing this time keep the status they had.
    if new is not None and old is not None:
        revision.carry_schedule_status(old, new, change.attempted)
    return change


def _never_delivered(old: Optional[Component], who: str) -> bool:
    """Every invitation to ``who`` was refused (3.x: no such user, or
    "no authority", someone else's meeting with this UID)."""
    statuses = [ical.param(line, "SCHEDULE-STATUS") or ""
                for comp in ical.components(old)
                for line in ical.attendees(comp)
                if ical.address(line) == who]
    return bool(statuses) and all(x.startswith("3.") for x in statuses)


def _attendee_addresses(cal: Optional[Component]) -> Set[str]:
    return {ical.address(line) for comp in ical.components(cal)
            for line in ical.attendees(comp)}


def _messages_for(who: str, organizer: str,
                  old_view: Dict[Optional[str], Component],
                  new_view: Dict[Optional[str], Component],
                  bodies: Bodies, forced: bool) -> List[Message]:
    if not new_view:
        if not old_view:
            return []
        # Removed from the event: cancel what they had.
        had = [old_view[None]] if None in old_view else list(old_view.values())
        return [bodies.message("CANCEL", who, organizer,
                               [cancel_component(c, who, None) for c in had],
                               shareable=False)]
    messages: List[Message] = []
    whole = new_view.get(None)
    if whole is not None and ical.cancelled(whole):
        # STATUS:CANCELLED on the meeting is its cancellation (RFC 5546
        # s3.2.5): a CANCEL, with the raised SEQUENCE, not a REQUEST; and
        # nothing for whom it was never sent.
        if not old_view or ical.cancelled(old_view.get(None) or whole):
            return []
        return [bodies.message("CANCEL", who, organizer,
                               [cancel_component(whole, who, None)],
                               shareable=False)]
    # Instances taken away: an EXDATE added to the master they see, an
    # override they are no longer in, an override now cancelled.
    cancelled: List[Component] = []
    key: Optional[str]
    old_master, new_master = old_view.get(None), new_view.get(None)
    if old_master is not None and new_master is not None:
        old_ex = instances.excluded(old_master)
        new_ex = instances.excluded(new_master)
        for key, value in new_ex.items():
            if key not in old_ex and key not in old_view:
                cancelled.append(cancel_component(new_master, who, value))
    for key, comp in old_view.items():
        if key is None:
            continue
        now_comp = new_view.get(key)
        if now_comp is None and new_master is not None and \
                key not in instances.excluded(new_master):
            continue  # the override was dropped back into the series
        if now_comp is None:
            value = ical.required(comp, "recurrence-id").value
            cancelled.append(cancel_component(comp, who, value))
    for key, comp in new_view.items():
        if key is not None and ical.cancelled(comp) and not (
                key in old_view and ical.cancelled(old_view[key])):
            value = ical.required(comp, "recurrence-id").value
            cancelled.append(cancel_component(comp, who, value))
    if cancelled:
        if new_master is not None:
            # Each cancelled instance carries the series' new revision
            # (RFC 5546 s2.1.4), not the older one of a dropped override.
            for comp in cancelled:
                if ical.sequence(comp) < ical.sequence(new_master):
                    ical.set_single(comp, "sequence",
                                    str(ical.sequence(new_master)))
        messages.append(bodies.message("CANCEL", who, organizer, cancelled,
                                       shareable=False))
    # Everything else: a full REQUEST when anything they see changed,
    # beyond what the CANCELs above already tell.
    expected = _without_cancelled(old_view, new_view) if cancelled \
        else old_view
    if forced or not old_view or \
            _view_signature(expected, who) != _view_signature(new_view, who):
        comps = [new_view[key] for key in ical.iter_instances_keys(new_view)]
        request = bodies.message("REQUEST", who, organizer, comps)
        request.quiet = not forced and bool(old_view) and \
            _view_signature(_unremarkable(expected, who), who,
                            others=False) == \
            _view_signature(_unremarkable(new_view, who), who, others=False)
        messages.append(request)
    return messages


def _unremarkable(comps: Dict[Optional[str], Component], who: str
                  ) -> Dict[Optional[str], Component]:
    """The view without overrides that, for ``who``, say what the series
    says of that instance: an override made only to invite someone else
    to one instance (or to take them off it) is no news to ``who``."""
    master = comps.get(None)
    if master is None or len(comps) == 1:
        return comps
    result = dict(comps)
    for key, comp in comps.items():
        line = ical.first(comp, "recurrence-id") if key is not None else None
        if line is None or _own_partstat(comp, who) != \
                _own_partstat(master, who):
            continue
        derived = instances.derived(master, line.value)
        if _mine(comp, who) == _mine(derived, who):
            del result[key]
    return result


def _mine(comp: Component, who: str,
          dropped: Tuple[str, ...] = ("ATTENDEE", "EXDATE")) -> tuple:
    """A component as ``who`` compares it, ``dropped`` properties (other
    attendees' lines) left out."""
    return tuple(k for k in revision.signature(comp, ignore_partstat_of="*")
                 if k[0] not in dropped or
                 (k[0] == "ATTENDEE" and address.normalize(k[2]) == who))


def _without_cancelled(old_view: Dict[Optional[str], Component],
                       new_view: Dict[Optional[str], Component]
                       ) -> Dict[Optional[str], Component]:
    """The old view as it looks once the sent CANCELs are applied."""
    result = dict(old_view)
    new_master = new_view.get(None)
    if new_master is not None and None in result:
        master = result[None].duplicate(result[None])
        ical.drop(master, "exdate")
        for line in ical.lines(new_master, "exdate"):
            master.add("exdate").value = list(line.value) \
                if isinstance(line.value, list) else [line.value]
        # The CANCEL carries the new revision; applying it takes that too.
        ical.set_single(master, "sequence", str(ical.sequence(new_master)))
        result[None] = master
    for key in list(result):
        if key is not None and key not in new_view:
            del result[key]
    for key, comp in new_view.items():
        if key is not None and ical.cancelled(comp):
            result[key] = comp
    return result


def _view_signature(comps: Dict[Optional[str], Component], who: str,
                    others: bool = True) -> tuple:
    """What ``who`` sees of the meeting, to compare two versions: their own
    participation counts (a reset asks them again), the others' does not;
    ``others`` False leaves other attendees out (adding someone is no news
    to ``who``: as in SabreDAV, only their copy is refreshed, RFC 5546
    s2.1.4).  A higher SEQUENCE is a new revision they must have (s2.1.5)."""
    dropped = () if others else ("ATTENDEE",)
    return tuple((key, _mine(comps[key], who, dropped),
                  _own_partstat(comps[key], who), ical.sequence(comps[key]))
                 for key in ical.iter_instances_keys(comps))


def _own_partstat(comp: Component, who: str) -> str:
    line = ical.attendee(comp, who)
    return ical.partstat(line) if line is not None else ""


