"""Assigned tasks: the VTODO rules of iTIP (RFC 5546 s3.4).

A to-do adds progress to what the engine does for events: an assignee
reports it with PARTSTAT (RFC 5545 s3.2.12), PERCENT-COMPLETE and
COMPLETED, which RFC 6638 s3.2.2.1 (items 3, 4) lets them change; the
REPLY carries all three (RFC 5546 s3.4.3, s4.5.4/s4.5.5).  Pure."""

from __future__ import annotations

from typing import List, Optional, Tuple

from vobject.base import Component, ContentLine

from radicale_scheduling.itip import calendar as ical

#: Properties that say how far a to-do is (RFC 5545 s3.8.1.8, s3.8.2.1,
#: s3.8.1.11).
PROGRESS = ("PERCENT-COMPLETE", "COMPLETED", "STATUS")
#: PARTSTATs that report work done rather than an answer to the request.
WORKING = ("IN-PROCESS", "COMPLETED")
#: Task states an assignee may set in their copy; CANCELLED is the
#: organizer's (RFC 5546 s3.4.5).
ASSIGNEE_STATUSES = ("", "NEEDS-ACTION", "IN-PROCESS", "COMPLETED")
#: Calendar-user types that never take a task (a room does no work).
NOT_ASSIGNABLE = ("ROOM", "RESOURCE")


def is_task(comp: Optional[Component]) -> bool:
    return comp is not None and comp.name == "VTODO"


def status(comp: Component) -> str:
    return (ical.text(comp, "status") or "").upper()


def percent(comp: Component) -> Optional[int]:
    try:
        value = ical.text(comp, "percent-complete")
        return None if value is None else int(value)
    except ValueError:
        return None


def progress(comp: Optional[Component]) -> Tuple:
    """A comparable picture of the to-do's progress."""
    if comp is None:
        return ()
    completed = ical.first(comp, "completed")
    return (percent(comp), status(comp),
            None if completed is None else ical.value_key(completed.value))


def status_change_allowed(before: Component, comp: Component) -> bool:
    """RFC 6638 s3.2.2.1 lets an assignee set PERCENT-COMPLETE and
    COMPLETED; clients marking a task done also set STATUS (RFC 5545
    s3.8.1.11), so an assignee may move STATUS between NEEDS-ACTION,
    IN-PROCESS and COMPLETED.  Cancelling stays the organizer's."""
    return is_task(comp) and status(before) in ASSIGNEE_STATUSES and \
        status(comp) in ASSIGNEE_STATUSES


def implied_partstat(comp: Component, current: str) -> str:
    """The PARTSTAT the assignee's progress implies (RFC 5546 s4.5.5): a
    client marking a task done sets STATUS, COMPLETED or PERCENT-COMPLETE
    and leaves the ATTENDEE alone; COMPLETED, IN-PROCESS, ACCEPTED when
    reopened, else ``current``."""
    value = percent(comp)
    if status(comp) == "COMPLETED" or ical.first(comp, "completed") \
            is not None or value == 100:
        return "COMPLETED"
    if status(comp) == "IN-PROCESS" or (value is not None and
                                        0 < value < 100):
        return "IN-PROCESS"
    return "ACCEPTED" if current in WORKING else current


def keep_assignee_progress(comp: Component, before: Optional[Component],
                           me: Optional[str]) -> None:
    """An organizer's update keeps the assignee's own progress in their
    copy (RFC 5545 s3.8.1.8: with several assignees each one's
    PERCENT-COMPLETE is their part), unless the organizer asked them
    again (their PARTSTAT reset) or closed the task (COMPLETED or
    CANCELLED)."""
    if not is_task(comp) or before is None or me is None or \
            status(comp) in ("COMPLETED", "CANCELLED"):
        return
    mine, earlier = ical.attendee(comp, me), ical.attendee(before, me)
    if mine is None or earlier is None or \
            ical.partstat(mine) != ical.partstat(earlier):
        return
    _copy_progress(before, comp, PROGRESS)


def _copy_progress(source: Component, target: Component,
                   names: Tuple[str, ...]) -> None:
    for name in names:
        line = ical.first(source, name)
        if line is None:
            ical.drop(target, name)
        else:
            ical.set_single(target, name, line.value)


def assignees(comp: Component) -> List[ContentLine]:
    """The attendees a to-do is assigned to: everyone but the organizer
    and rooms or resources."""
    organizer = ical.organizer(comp)
    return [line for line in ical.attendees(comp)
            if ical.address(line) != organizer and
            (ical.param(line, "CUTYPE") or "").upper() not in NOT_ASSIGNABLE]


def follow_assignees(target: Component, answer: Component,
                     sender: Optional[str] = None) -> None:
    """The organizer's to-do after an assignee's REPLY (``target`` shows the
    new PARTSTAT); RFC 5546 s3.4.3 leaves the rule to the organizer.  One
    assignee (a delegate in the place of their delegator, s4.2.5): the task
    shows what they report, STATUS following their PARTSTAT.  Several: each
    PERCENT-COMPLETE is their part (RFC 5545 s3.8.1.8, RFC 5546 s4.5.6);
    the task is COMPLETED once everyone not declining completed, IN-PROCESS
    while work is under way, NEEDS-ACTION if all reopen.  A CANCELLED task
    is left alone."""
    if not is_task(target) or status(target) == "CANCELLED":
        return
    people = [x for x in assignees(target)
              if ical.partstat(x) != "DELEGATED"]
    if not people:
        return
    active = [ical.partstat(x) for x in people
              if ical.partstat(x) != "DECLINED"]
    single = len(people) == 1
    if single and not active:
        return  # declined: the organizer reassigns; the state stays
    if single and (sender is None or ical.address(people[0]) == sender):
        _copy_progress(answer, target, ("PERCENT-COMPLETE", "COMPLETED"))
    if active and all(state == "COMPLETED" for state in active):
        ical.set_single(target, "status", "COMPLETED")
        ical.set_single(target, "percent-complete", "100")
        if ical.first(target, "completed") is None or not single:
            when = ical.first(answer, "completed") or \
                ical.first(answer, "dtstamp")
            if when is not None:
                ical.set_single(target, "completed", when.value)
        return
    started = any(state in WORKING for state in active)
    if not started and status(target) not in WORKING:
        return
    ical.set_single(target, "status",
                    "IN-PROCESS" if started else "NEEDS-ACTION")
    if not single:
        ical.drop(target, "completed")
        if percent(target) == 100:
            ical.drop(target, "percent-complete")


def keeps_partstat_on_reschedule(comp: Component, line: ContentLine) -> bool:
    """RFC 6638 s3.2.8 resets answers when a meeting moves; for a to-do,
    work under way or done is a fact, not an answer to a time: a new DUE
    keeps IN-PROCESS and COMPLETED."""
    return is_task(comp) and ical.partstat(line) in WORKING
