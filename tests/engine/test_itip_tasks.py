"""Assigned tasks in the iTIP engine, on their own (no Radicale, no I/O).

RFC 5546 s3.4 (VTODO methods), s3.4.3 and s4.5.4/s4.5.5 (an assignee's
REPLY with PARTSTAT, PERCENT-COMPLETE, COMPLETED), RFC 6638 s3.2.2.1
(what the assignee may change), RFC 5545 s3.8.1.8 (PERCENT-COMPLETE).
"""

import datetime

import pytest

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import inbound, instances, tasks
from radicale_scheduling.itip.attendee import attendee_change
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.organizer import organizer_change

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
ALICE = frozenset({"mailto:alice@example.org"})
BOB, CAROL = "mailto:bob@example.org", "mailto:carol@example.org"


def todo(*attendees, extra="", due="20260110T170000Z"):
    lines = "".join("ATTENDEE%s\n" % a if a.startswith(";")
                    else "ATTENDEE:%s\n" % a for a in attendees)
    return ical.parse(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VTODO\n"
        "UID:t1\nDTSTAMP:20260101T000000Z\nDTSTART:20260105T100000Z\n"
        "DUE:%s\nSUMMARY:Write the report\nPRIORITY:1\n"
        "ORGANIZER:mailto:alice@example.org\n%s%sEND:VTODO\nEND:VCALENDAR\n"
        % (due, lines, extra))


def edit(cal, who=None, partstat=None, **props):
    """The assignee's client editing their copy."""
    cal = ical.clone(cal)
    comp = ical.components(cal)[0]
    if partstat is not None:
        ical.set_param(ical.attendee(comp, who), "PARTSTAT", partstat)
    for name, value in props.items():
        name = name.replace("_", "-")
        if value is None:
            for line in list(ical.lines(comp, name)):
                comp.remove(line)
        else:
            ical.set_single(comp, name, value)
    return cal


def reply_of(change):
    [message] = change.messages
    assert message.method == "REPLY"
    return ical.components(message.calendar)[0]


def test_a_task_is_assigned_like_a_meeting():
    change = organizer_change(None, todo(BOB, CAROL), ALICE, NOW)
    assert sorted((m.recipient, m.method) for m in change.messages) == [
        (BOB, "REQUEST"), (CAROL, "REQUEST")]
    [comp] = ical.components(change.messages[0].calendar)
    assert comp.name == "VTODO"
    assert ical.text(comp, "due") is not None


def test_progress_sends_a_reply_with_partstat_percent_and_status():
    copy = todo(BOB)
    change = attendee_change(copy, edit(copy, BOB, "IN-PROCESS",
                                        percent_complete="50",
                                        status="IN-PROCESS"), BOB, NOW)
    answer = reply_of(change)
    assert ical.partstat(ical.attendee(answer, BOB)) == "IN-PROCESS"
    assert ical.text(answer, "percent-complete") == "50"
    assert ical.text(answer, "status") == "IN-PROCESS"
    assert ical.text(answer, "summary") == "Write the report"


@pytest.mark.parametrize("props, implied", [
    ({"status": "COMPLETED", "completed": NOW, "percent_complete": "100"},
     "COMPLETED"),
    ({"percent_complete": "100"}, "COMPLETED"),
    ({"percent_complete": "30"}, "IN-PROCESS"),
    ({"status": "IN-PROCESS"}, "IN-PROCESS"),
])
def test_progress_alone_implies_the_partstat(props, implied):
    """Clients marking a task done leave the ATTENDEE alone; the server
    records what the progress says, in the copy and the REPLY."""
    copy = todo(";PARTSTAT=ACCEPTED:" + BOB)
    change = attendee_change(copy, edit(copy, **props), BOB, NOW)
    assert ical.partstat(ical.attendee(reply_of(change), BOB)) == implied
    stored = ical.components(change.stored)[0]
    assert ical.partstat(ical.attendee(stored, BOB)) == implied


def test_reopening_a_completed_task():
    done = todo(";PARTSTAT=COMPLETED:" + BOB,
                extra="STATUS:COMPLETED\nPERCENT-COMPLETE:100\n"
                      "COMPLETED:20260106T090000Z\n")
    change = attendee_change(done, edit(done, status="NEEDS-ACTION",
                                        percent_complete=None,
                                        completed=None), BOB, NOW)
    answer = reply_of(change)
    assert ical.partstat(ical.attendee(answer, BOB)) == "ACCEPTED"
    assert ical.first(answer, "completed") is None


def test_an_explicit_partstat_wins_over_the_implied_one():
    copy = todo(BOB)
    change = attendee_change(copy, edit(copy, BOB, "TENTATIVE",
                                        percent_complete="10"), BOB, NOW)
    assert ical.partstat(ical.attendee(reply_of(change), BOB)) == \
        "TENTATIVE"


def test_the_assignee_may_not_cancel_or_change_the_task():
    copy = todo(BOB)
    with pytest.raises(SchedulingError) as error:
        attendee_change(copy, edit(copy, status="CANCELLED"), BOB, NOW)
    assert error.value.precondition == \
        "C:allowed-attendee-scheduling-object-change"
    with pytest.raises(SchedulingError):
        attendee_change(copy, edit(copy, due="20260120T170000Z"), BOB, NOW)
    cancelled = todo(BOB, extra="STATUS:CANCELLED\n")
    with pytest.raises(SchedulingError):
        attendee_change(cancelled, edit(cancelled, status="IN-PROCESS"),
                        BOB, NOW)


def test_unchanged_progress_and_alarms_send_nothing():
    copy = todo(";PARTSTAT=IN-PROCESS:" + BOB,
                extra="PERCENT-COMPLETE:40\nSTATUS:IN-PROCESS\n")
    again = edit(copy, x_apple_sort_order="3")
    again.vtodo.add("valarm").add("action").value = "DISPLAY"
    assert attendee_change(copy, again, BOB, NOW).messages == []


def organizer_copy(*attendees, extra=""):
    return todo(*attendees, extra=extra)


def reply(who, partstat, **props):
    lines = "".join("%s:%s\n" % (k.replace("_", "-").upper(), v)
                    for k, v in props.items())
    return ical.parse(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nMETHOD:REPLY\n"
        "BEGIN:VTODO\nUID:t1\nDTSTAMP:20260107T080000Z\n"
        "ORGANIZER:mailto:alice@example.org\n"
        "ATTENDEE;PARTSTAT=%s:%s\n%sEND:VTODO\nEND:VCALENDAR\n"
        % (partstat, who, lines))


def task_state(cal):
    comp = ical.components(cal)[0]
    completed = ical.first(comp, "completed")
    return (ical.text(comp, "status"), ical.text(comp, "percent-complete"),
            None if completed is None else ical.value_key(completed.value))


def test_one_assignee_the_task_follows_them():
    stored = organizer_copy(BOB)
    stored = inbound.apply_reply(reply(BOB, "IN-PROCESS",
                                       percent_complete=50), stored, BOB)
    assert task_state(stored) == ("IN-PROCESS", "50", None)
    line = ical.attendee(ical.components(stored)[0], BOB)
    assert ical.partstat(line) == "IN-PROCESS"
    assert ical.param(line, "SCHEDULE-STATUS") == "2.0"
    stored = inbound.apply_reply(reply(
        BOB, "COMPLETED", percent_complete=100,
        completed="20260107T075900Z"), stored, BOB)
    assert task_state(stored) == ("COMPLETED", "100", "20260107T075900Z")
    # Reopened: back to work.
    stored = inbound.apply_reply(reply(BOB, "IN-PROCESS",
                                       percent_complete=90), stored, BOB)
    assert task_state(stored) == ("IN-PROCESS", "90", None)


def test_completed_without_a_time_takes_the_replys_stamp():
    stored = inbound.apply_reply(reply(BOB, "COMPLETED"),
                                 organizer_copy(BOB), BOB)
    assert task_state(stored) == ("COMPLETED", "100", "20260107T080000Z")


def test_several_assignees_complete_together():
    stored = organizer_copy(BOB, CAROL, extra="PERCENT-COMPLETE:40\n")
    stored = inbound.apply_reply(reply(BOB, "IN-PROCESS",
                                       percent_complete=75), stored, BOB)
    # bob's 75 is his part (RFC 5545 s3.8.1.8): the organizer's own
    # estimate stays, the task is under way.
    assert task_state(stored) == ("IN-PROCESS", "40", None)
    stored = inbound.apply_reply(reply(CAROL, "COMPLETED"), stored, CAROL)
    assert task_state(stored) == ("IN-PROCESS", "40", None)
    stored = inbound.apply_reply(reply(BOB, "COMPLETED",
                                       completed="20260107T070000Z"),
                                 stored, BOB)
    assert task_state(stored) == ("COMPLETED", "100", "20260107T070000Z")
    comp = ical.components(stored)[0]
    assert [ical.partstat(x) for x in ical.attendees(comp)] == [
        "COMPLETED", "COMPLETED"]
    # carol reopens hers: the task is not done any more.
    stored = inbound.apply_reply(reply(CAROL, "IN-PROCESS"), stored, CAROL)
    assert task_state(stored) == ("IN-PROCESS", None, None)


def test_a_declined_assignee_does_not_hold_the_task_up():
    stored = organizer_copy(BOB, CAROL)
    stored = inbound.apply_reply(reply(CAROL, "DECLINED"), stored, CAROL)
    assert task_state(stored) == (None, None, None)
    stored = inbound.apply_reply(reply(BOB, "COMPLETED"), stored, BOB)
    assert task_state(stored)[0:2] == ("COMPLETED", "100")


def test_a_cancelled_task_is_left_alone():
    stored = organizer_copy(BOB, extra="STATUS:CANCELLED\n")
    stored = inbound.apply_reply(reply(BOB, "COMPLETED"), stored, BOB)
    assert task_state(stored) == ("CANCELLED", None, None)


def test_a_new_due_date_keeps_work_done_but_asks_again():
    old = todo(";PARTSTAT=COMPLETED:" + BOB, ";PARTSTAT=ACCEPTED:" + CAROL)
    new = todo(";PARTSTAT=COMPLETED:" + BOB, ";PARTSTAT=ACCEPTED:" + CAROL,
               due="20260120T170000Z")
    change = organizer_change(old, new, ALICE, NOW)
    comp = ical.components(change.stored)[0]
    assert ical.partstat(ical.attendee(comp, BOB)) == "COMPLETED"
    assert ical.partstat(ical.attendee(comp, CAROL)) == "NEEDS-ACTION"
    assert ical.text(comp, "sequence") == "1"
    assert sorted(m.recipient for m in change.messages
                  if m.method == "REQUEST" and not m.quiet) == [BOB, CAROL]


def test_an_update_keeps_the_assignees_own_progress():
    mine = todo(";PARTSTAT=IN-PROCESS:" + BOB, CAROL,
                extra="PERCENT-COMPLETE:60\nSTATUS:IN-PROCESS\n")
    update = todo(";PARTSTAT=IN-PROCESS:" + BOB, CAROL,
                  extra="DESCRIPTION:more\nPERCENT-COMPLETE:10\n")
    result = inbound.apply("REQUEST", update, mine, BOB)
    comp = ical.components(result)[0]
    assert ical.text(comp, "description") == "more"
    assert (ical.text(comp, "percent-complete"), tasks.status(comp)) == (
        "60", "IN-PROCESS")
    # The organizer asking again (PARTSTAT reset) takes their values.
    reset = ical.clone(update)
    ical.set_param(ical.attendee(reset.vtodo, BOB), "PARTSTAT",
                   "NEEDS-ACTION")
    ical.set_single(reset.vtodo, "sequence", "1")
    comp = ical.components(inbound.apply("REQUEST", reset, mine, BOB))[0]
    assert ical.text(comp, "percent-complete") == "10"


def test_recurring_task_one_instance_done():
    series = todo(";PARTSTAT=ACCEPTED:" + BOB,
                  extra="RRULE:FREQ=WEEKLY;COUNT=4\n")
    mine = ical.clone(series)
    instance = instances.derived(mine.vtodo, datetime.datetime(
        2026, 1, 12, 10, tzinfo=datetime.timezone.utc))
    ical.set_single(instance, "status", "COMPLETED")
    ical.set_single(instance, "percent-complete", "100")
    mine.add(instance)
    change = attendee_change(series, mine, BOB, NOW)
    answer = reply_of(change)
    assert ical.rid(answer) == "20260112T100000Z"
    assert ical.partstat(ical.attendee(answer, BOB)) == "COMPLETED"
    assert ical.value_key(answer.due.value) == "20260117T170000Z"
    stored = inbound.apply_reply(change.messages[0].calendar, series, BOB)
    comps = ical.by_rid(stored)
    assert tasks.status(comps["20260112T100000Z"]) == "COMPLETED"
    assert tasks.status(comps[None]) == ""


def test_a_client_raising_sequence_does_not_outrun_the_organizer():
    copy = todo(BOB, extra="SEQUENCE:2\n")
    change = attendee_change(copy, edit(copy, BOB, "ACCEPTED",
                                        sequence="3"), BOB, NOW)
    assert ical.sequence(ical.components(change.stored)[0]) == 2
    assert ical.sequence(reply_of(change)) == 2
