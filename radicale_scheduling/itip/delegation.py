"""Delegation: an attendee sends someone else in their place (RFC 5546
s2.1.2, s3.2.2.3, s4.2.5-s4.2.7; RFC 6638 s3.2.2.1).

Kept narrow, so that it cannot invite arbitrary people to someone else's
meeting: one delegate per delegation, named in the delegator's own
DELEGATED-TO, not yet invited, and a new one only once every earlier one
declined (s4.2.7).  A delegate may delegate on by the same rule.  Pure."""

from __future__ import annotations

import datetime
from typing import Dict, List, Optional, Set, Tuple

from vobject.base import Component, ContentLine
from vobject.icalendar import utc

from radicale_scheduling.itip import address, message, revision
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.instances import view
from radicale_scheduling.itip.message import Message

DELEGATED = "DELEGATED"
#: Parameters a delegator may change on their own line besides PARTSTAT:
#: whom they delegated to, and NON-PARTICIPANT (s3.2.2.3).
OWN_PARAMS = ("DELEGATED-TO", "ROLE")


def addresses(line: ContentLine, name: str) -> List[str]:
    """The addresses in a DELEGATED-TO or DELEGATED-FROM parameter."""
    values = line.params.get(name, [])
    result = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip().strip('"')
            if part:
                result.append(address.normalize(part))
    return result


def delegated_to(line: Optional[ContentLine]) -> List[str]:
    return [] if line is None else addresses(line, "DELEGATED-TO")


def delegated_from(line: Optional[ContentLine]) -> List[str]:
    return [] if line is None else addresses(line, "DELEGATED-FROM")


def delegates_of(comp: Optional[Component], who: str) -> List[ContentLine]:
    """The ATTENDEE lines ``who`` delegated to in ``comp``."""
    if comp is None:
        return []
    return [line for line in ical.attendees(comp)
            if who in delegated_from(line)]


def _refuse(reason: str) -> SchedulingError:
    return SchedulingError(
        "C:allowed-attendee-scheduling-object-change",
        reason + " An attendee may delegate only to one person not yet "
        "invited, from their own line (RFC 5546 section 4.2.5).")


def _may_add_delegate(before: Optional[Component], who: str) -> bool:
    """A new delegate only when every earlier one declined (s4.2.7)."""
    return all(ical.partstat(line) == "DECLINED"
               for line in delegates_of(before, who))


def split_delegation(old: Component, new: Component, me: str
                     ) -> Tuple[Component, Set[str]]:
    """Check the delegation in an attendee's new copy (RFC 5546 s4.2.5): the
    copy without what delegation added, for the usual s3.2.2.1 checks, and
    the new delegates (set to NEEDS-ACTION in ``new``: a delegator cannot
    answer for them)."""
    normalized = ical.clone(new)
    old_comps = ical.by_rid(old)
    norm_comps = ical.by_rid(normalized)
    added: Set[str] = set()
    for key, comp in ical.by_rid(new).items():
        before = old_comps.get(key) or old_comps.get(None)
        norm = norm_comps[key]
        known = {ical.address(x) for x in ical.attendees(before)} \
            if before is not None else set()
        mine = ical.attendee(comp, me)
        fresh = [line for line in ical.attendees(comp)
                 if ical.address(line) not in known]
        if mine is None or ical.partstat(mine) != DELEGATED:
            # Attending again after delegating may drop DELEGATED-TO; any
            # added line is refused by the usual checks.
            old_mine = ical.attendee(before, me) if before is not None \
                else None
            if mine is not None and old_mine is not None and \
                    "DELEGATED-TO" not in mine.params and \
                    "DELEGATED-TO" in old_mine.params:
                ical.required_attendee(norm, me).params["DELEGATED-TO"] = list(
                    old_mine.params["DELEGATED-TO"])
            continue
        targets = delegated_to(mine)
        if len(targets) != 1:
            raise _refuse("DELEGATED needs exactly one DELEGATED-TO "
                          "address.")
        target = targets[0]
        if target == me or target == ical.organizer(comp):
            raise _refuse("Delegating to oneself or to the organizer "
                          "makes no sense.")
        existing = ical.attendee(before, target) if before is not None \
            else None
        if existing is not None and me not in delegated_from(existing):
            raise _refuse("%s is already invited." % target)
        if existing is None:
            line = ical.attendee(comp, target)
            if line is None:
                raise _refuse("The delegate %s needs an ATTENDEE line with "
                              "DELEGATED-FROM." % target)
            if delegated_from(line) != [me]:
                raise _refuse("The delegate's DELEGATED-FROM must be the "
                              "delegator, %s." % me)
            if not _may_add_delegate(before, me):
                raise _refuse("The meeting was already delegated to %s, "
                              "who has not declined." % ", ".join(
                                  ical.address(x) for x in
                                  delegates_of(before, me)))
            ical.set_param(line, "PARTSTAT", "NEEDS-ACTION")
            ical.set_param(line, "RSVP", "TRUE")
            added.add(target)
            norm_line = ical.attendee(norm, target)
            if norm_line is not None:
                norm.remove(norm_line)
        if len([x for x in fresh if ical.address(x) != target]) > 0:
            raise _refuse("Attendees cannot be added.")
        # The delegator's own line: DELEGATED-TO and ROLE as before.
        norm_mine = ical.required_attendee(norm, me)
        old_mine = ical.attendee(before, me) if before is not None else None
        for name in OWN_PARAMS:
            norm_mine.params.pop(name, None)
            if old_mine is not None and name in old_mine.params:
                norm_mine.params[name] = list(old_mine.params[name])
    return normalized, added


def redelegated(before: Optional[Component], comp: Component,
                me: str) -> bool:
    """The delegator named a new delegate without a new PARTSTAT (after
    the first delegate declined): that is news for the organizer too."""
    mine = ical.attendee(comp, me)
    if mine is None or ical.partstat(mine) != DELEGATED or before is None:
        return False
    return sorted(delegated_to(mine)) != sorted(
        delegated_to(ical.attendee(before, me)))


def add_delegates_to_reply(reply: Component, comp: Component,
                           me: str) -> None:
    """A delegator's REPLY carries the delegate's line (s4.2.5 B)."""
    mine = ical.attendee(reply, me)
    if mine is None or ical.partstat(mine) != DELEGATED:
        return
    for target in delegated_to(mine):
        line = ical.attendee(comp, target)
        if line is not None and me in delegated_from(line) and \
                ical.attendee(reply, target) is None:
            copy = reply.add("attendee")
            copy.value = line.value
            copy.params = {k: list(v) for k, v in line.params.items()
                           if k not in ical.SERVER_PARAMS}


def reply_lines_allowed(reply: Component, sender: str) -> Set[str]:
    """Addresses a REPLY from ``sender`` may carry: the sender, and the
    delegate they name in DELEGATED-TO with DELEGATED-FROM the sender."""
    allowed = {sender}
    for comp in ical.components(reply):
        mine = ical.attendee(comp, sender)
        if mine is None or ical.partstat(mine) != DELEGATED:
            continue
        for target in delegated_to(mine)[:1]:
            line = ical.attendee(comp, target)
            if line is not None and delegated_from(line) == [sender]:
                allowed.add(target)
    return allowed


def apply_delegation(answer: Component, target: Component,
                     sender: str) -> bool:
    """A delegator's REPLY into the organizer's copy (RFC 5546 s4.2.5): the
    delegator shows DELEGATED-TO, a new delegate is added (NEEDS-ACTION),
    only for a well-formed delegation (see the module); whether ``target``
    changed."""
    line = ical.attendee(answer, sender)
    entry = ical.attendee(target, sender)
    if line is None or entry is None or ical.partstat(line) != DELEGATED:
        return False
    targets = delegated_to(line)
    if len(targets) != 1:
        return False
    delegate = targets[0]
    proposed = ical.attendee(answer, delegate)
    if delegate in (sender, ical.organizer(target)) or proposed is None or \
            delegated_from(proposed) != [sender]:
        return False
    existing = ical.attendee(target, delegate)
    if existing is not None and sender not in delegated_from(existing):
        return False
    if existing is None and not _may_add_delegate(target, sender):
        return False
    entry.params["DELEGATED-TO"] = list(line.params["DELEGATED-TO"])
    if existing is None:
        added = target.add("attendee")
        added.value = proposed.value
        added.params = {k: list(v) for k, v in proposed.params.items()
                        if k in ("CN", "CUTYPE", "ROLE", "LANGUAGE",
                                 "DIR", "SENT-BY")}
        added.params["DELEGATED-FROM"] = [sender]
        ical.set_param(added, "PARTSTAT", "NEEDS-ACTION")
        ical.set_param(added, "RSVP", "TRUE")
    return True


def merge_delegates(current: Component, new: Component) -> None:
    """If-Schedule-Tag-Match on the organizer's copy (RFC 6638 s3.2.10):
    a delegation the server recorded from a REPLY is such a change the
    client could not know of.  A delegate whose delegator's line in the
    client's object does not name them is carried over, with the
    delegator's DELEGATED-TO; a client that knew of the delegate (the
    delegator's line names them) and left them out removed them."""
    for comp, before in revision.revisions(current, new):
        if before is None:
            continue
        for line in ical.attendees(before):
            sources = delegated_from(line)
            who = ical.address(line)
            if not sources or ical.attendee(comp, who) is not None:
                continue
            delegator = ical.attendee(comp, sources[0])
            if delegator is None or who in delegated_to(delegator):
                continue
            known = ical.attendee(before, sources[0])
            if known is not None and "DELEGATED-TO" in known.params:
                delegator.params["DELEGATED-TO"] = list(
                    known.params["DELEGATED-TO"])
            added = comp.add("attendee")
            added.value = line.value
            added.params = {k: list(v) for k, v in line.params.items()}


def delegators_to_tell(reply: Component, meeting: Component,
                       sender: str) -> Set[str]:
    """Delegators whose delegate ``sender`` just declined: the organizer
    MUST send them an updated REQUEST (RFC 5546 s4.2.5, s4.2.7)."""
    result: Set[str] = set()
    stored = ical.by_rid(meeting)
    for key, answer in ical.by_rid(reply).items():
        line = ical.attendee(answer, sender)
        if line is None or ical.partstat(line) != "DECLINED":
            continue
        comp = stored.get(key) or stored.get(None)
        entry = ical.attendee(comp, sender) if comp is not None else None
        for who in delegated_from(entry):
            delegator = ical.attendee(comp, who)
            if delegator is not None and ical.agent(delegator) == "SERVER":
                result.add(who)
    return result


def request_for(cal: Component, who: str, sender: str,
                now: datetime.datetime) -> Optional[Message]:
    """The meeting as a REQUEST for ``who``: the instances they are in
    (RFC 5546 s3.2.2)."""
    comps: Dict[Optional[str], Component] = view(cal, who)
    if not comps:
        return None
    stamp = ical.utc_now_stamp(now).astimezone(utc)
    return message.message("REQUEST", who, sender, message.body(
        "REQUEST", cal, [comps[k] for k in ical.iter_instances_keys(comps)],
        stamp))
