"""The organizer side of the iTIP engine, on its own (no Radicale, no I/O).

RFC 6638 s3.2.1 (which method to whom), s3.2.5 (SEQUENCE, DTSTAMP),
s3.2.6 (instances per attendee), s3.2.8 (PARTSTAT reset), s7.1/s7.2
(SCHEDULE-AGENT, SCHEDULE-FORCE-SEND), RFC 5546 s3.2.2 and s3.2.5.
"""

import datetime

import pytest

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import instances
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.instances import view
from radicale_scheduling.itip.organizer import organizer_change

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
ALICE = frozenset({"mailto:alice@example.org"})
BOB, CAROL, DAN = ("mailto:bob@example.org", "mailto:carol@example.org",
                   "mailto:dan@example.org")


def event(*attendees, extra="", uid="m1", components=""):
    lines = "".join("ATTENDEE%s\n" % a if a.startswith(";")
                    else "ATTENDEE:%s\n" % a for a in attendees)
    return ical.parse(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\n"
        "UID:%s\nDTSTAMP:20260101T000000Z\nDTSTART:20260105T100000Z\n"
        "DTEND:20260105T110000Z\nSUMMARY:Planning\n"
        "ORGANIZER:mailto:alice@example.org\n"
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org\n%s%s"
        "END:VEVENT\n%sEND:VCALENDAR\n" % (uid, lines, extra, components))


def methods(change):
    return sorted((m.recipient, m.method) for m in change.messages)


def message(change, recipient, method):
    found = [m for m in change.messages
             if m.recipient == recipient and m.method == method]
    assert len(found) == 1, methods(change)
    return found[0]


def test_create_invites_every_attendee_but_the_organizer():
    change = organizer_change(None, event(BOB, CAROL), ALICE, NOW)
    assert methods(change) == [(BOB, "REQUEST"), (CAROL, "REQUEST")]
    assert change.attempted == {BOB, CAROL}
    request = message(change, BOB, "REQUEST").calendar
    assert ical.text(request, "method") == "REQUEST"
    comp = ical.components(request)[0]
    assert ical.value_key(comp.dtstamp.value) == "20260301T120000Z"
    assert ical.text(comp, "summary") == "Planning"


def test_rfc6638_b1_organizer_inviting_multiple_attendees():
    """RFC 6638 Appendix B.1: one REQUEST per attendee, not to Cyrus."""
    cal = ical.parse("""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example Corp.//CalDAV Client//EN
BEGIN:VEVENT
UID:9263504FD3AD
SEQUENCE:0
DTSTAMP:20090602T185254Z
DTSTART:20090602T160000Z
DTEND:20090602T170000Z
TRANSP:OPAQUE
SUMMARY:Lunch
ORGANIZER;CN="Cyrus Daboo":mailto:cyrus@example.com
ATTENDEE;CN="Cyrus Daboo";CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED:
 mailto:cyrus@example.com
ATTENDEE;CN="Wilfredo Sanchez Vega";CUTYPE=INDIVIDUAL;PARTSTAT
 =NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:wilfredo@
 example.com
ATTENDEE;CN="Bernard Desruisseaux";CUTYPE=INDIVIDUAL;PARTSTAT=
 NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:bernard@ex
 ample.net
ATTENDEE;CN="Mike Douglass";CUTYPE=INDIVIDUAL;PARTSTAT=NEEDS-A
 CTION;RSVP=TRUE:mailto:mike@example.org
END:VEVENT
END:VCALENDAR
""")
    change = organizer_change(None, cal, frozenset(
        {"mailto:cyrus@example.com"}), NOW)
    assert methods(change) == [("mailto:bernard@example.net", "REQUEST"),
                               ("mailto:mike@example.org", "REQUEST"),
                               ("mailto:wilfredo@example.com", "REQUEST")]
    request = message(change, "mailto:wilfredo@example.com", "REQUEST")
    comp = ical.components(request.calendar)[0]
    # The message carries the whole meeting as the organizer stored it.
    assert len(ical.attendees(comp)) == 4
    assert ical.text(comp, "sequence") == "0"


def test_schedule_agent_client_and_none_get_nothing():
    cal = event(";SCHEDULE-AGENT=CLIENT;SCHEDULE-STATUS=1.1:" + BOB,
                ";SCHEDULE-AGENT=NONE:" + CAROL, DAN)
    change = organizer_change(None, cal, ALICE, NOW)
    assert methods(change) == [(DAN, "REQUEST")]
    # The client's own status for a CLIENT attendee is left alone.
    bob = ical.attendee(ical.components(change.stored)[0], BOB)
    assert ical.param(bob, "SCHEDULE-STATUS") == "1.1"


def test_messages_carry_no_server_parameters_and_no_alarms():
    cal = event(";SCHEDULE-STATUS=1.2:" + BOB,
                extra="BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT5M\n"
                      "DESCRIPTION:x\nEND:VALARM\n")
    request = message(organizer_change(None, cal, ALICE, NOW), BOB,
                      "REQUEST").calendar
    text = request.serialize()
    assert "SCHEDULE-STATUS" not in text and "VALARM" not in text


def test_nothing_significant_sends_nothing():
    old = organizer_change(None, event(BOB, CAROL), ALICE, NOW).stored
    same = organizer_change(old, event(BOB, CAROL), ALICE, NOW)
    assert same.messages == []
    # An alarm, the organizer's own answer, a new DTSTAMP: still quiet.
    new = event(BOB, CAROL, extra="BEGIN:VALARM\nACTION:DISPLAY\n"
                "TRIGGER:-PT5M\nDESCRIPTION:x\nEND:VALARM\n")
    comp = ical.components(new)[0]
    ical.set_param(ical.attendee(comp, "mailto:alice@example.org"),
                   "PARTSTAT", "TENTATIVE")
    comp.dtstamp.value = NOW
    assert organizer_change(old, new, ALICE, NOW).messages == []


def test_adding_an_attendee_invites_them_and_updates_the_others():
    old = organizer_change(None, event(BOB), ALICE, NOW).stored
    change = organizer_change(old, event(BOB, CAROL), ALICE, NOW)
    assert methods(change) == [(BOB, "REQUEST"), (CAROL, "REQUEST")]


def test_removing_an_attendee_cancels_for_them():
    old = organizer_change(None, event(BOB, CAROL), ALICE, NOW).stored
    change = organizer_change(old, event(BOB), ALICE, NOW)
    assert methods(change) == [(BOB, "REQUEST"), (CAROL, "CANCEL")]
    cancel = ical.components(message(change, CAROL, "CANCEL").calendar)[0]
    assert ical.text(cancel, "status") == "CANCELLED"
    assert ical.first(cancel, "recurrence-id") is None
    assert [ical.address(a) for a in ical.attendees(cancel)] == [CAROL]


def test_delete_cancels_for_everyone():
    old = organizer_change(None, event(BOB, CAROL), ALICE, NOW).stored
    change = organizer_change(old, None, ALICE, NOW)
    assert methods(change) == [(BOB, "CANCEL"), (CAROL, "CANCEL")]
    assert change.stored is None


def test_reschedule_resets_partstat_and_bumps_sequence():
    first = event(BOB, CAROL, extra="SEQUENCE:2\n")
    old = organizer_change(None, first, ALICE, NOW).stored
    for line in ical.attendees(ical.components(old)[0]):
        if ical.address(line) == BOB:
            ical.set_param(line, "PARTSTAT", "ACCEPTED")  # bob's reply
    moved = event(";PARTSTAT=ACCEPTED:" + BOB, CAROL, extra="SEQUENCE:2\n")
    ical.components(moved)[0].dtstart.value = datetime.datetime(
        2026, 1, 6, 10, tzinfo=datetime.timezone.utc)
    change = organizer_change(old, moved, ALICE, NOW)
    comp = ical.components(change.stored)[0]
    assert ical.partstat(ical.attendee(comp, BOB)) == "NEEDS-ACTION"
    assert ical.param(ical.attendee(comp, BOB), "RSVP") == "TRUE"
    assert ical.partstat(ical.attendee(
        comp, "mailto:alice@example.org")) == "ACCEPTED"
    assert ical.text(comp, "sequence") == "3"
    request = ical.components(message(change, BOB, "REQUEST").calendar)[0]
    assert ical.partstat(ical.attendee(request, BOB)) == "NEEDS-ACTION"
    assert ical.text(request, "sequence") == "3"


def test_location_change_is_a_reschedule_summary_change_is_not():
    old = organizer_change(None, event(BOB), ALICE, NOW).stored
    ical.set_param(ical.attendee(ical.components(old)[0], BOB), "PARTSTAT",
                   "ACCEPTED")
    renamed = event(";PARTSTAT=ACCEPTED:" + BOB)
    ical.components(renamed)[0].summary.value = "Planning (room 2)"
    change = organizer_change(old, renamed, ALICE, NOW)
    assert methods(change) == [(BOB, "REQUEST")]
    comp = ical.components(change.stored)[0]
    assert ical.partstat(ical.attendee(comp, BOB)) == "ACCEPTED"
    moved = event(";PARTSTAT=ACCEPTED:" + BOB, extra="LOCATION:Room 2\n")
    comp = ical.components(organizer_change(old, moved, ALICE, NOW)
                           .stored)[0]
    assert ical.partstat(ical.attendee(comp, BOB)) == "NEEDS-ACTION"


def test_organizer_cannot_answer_for_an_attendee():
    # A new attendee written ACCEPTED is invited all the same, unanswered.
    change = organizer_change(None, event(";PARTSTAT=ACCEPTED:" + BOB), ALICE,
                              NOW)
    [message] = change.messages
    for cal in (change.stored, message.calendar):
        comp = ical.components(cal)[0]
        assert ical.partstat(ical.attendee(comp, BOB)) == "NEEDS-ACTION"
    # The state the server recorded from bob's reply may be sent back.
    old = organizer_change(None, event(BOB), ALICE, NOW).stored
    ical.set_param(ical.attendee(ical.components(old)[0], BOB), "PARTSTAT",
                   "DECLINED")
    organizer_change(old, event(";PARTSTAT=DECLINED:" + BOB), ALICE, NOW)
    with pytest.raises(SchedulingError) as error:
        organizer_change(old, event(";PARTSTAT=ACCEPTED:" + BOB), ALICE, NOW)
    assert error.value.precondition == \
        "C:allowed-organizer-scheduling-object-change"
    # SCHEDULE-AGENT=CLIENT attendees are the client's business.
    organizer_change(None, event(";SCHEDULE-AGENT=CLIENT;PARTSTAT=ACCEPTED:"
                                 + BOB), ALICE, NOW)


def test_same_organizer_in_all_components():
    cal = event(BOB, extra="RRULE:FREQ=DAILY;COUNT=3\n", components=(
        "BEGIN:VEVENT\nUID:m1\nRECURRENCE-ID:20260106T100000Z\n"
        "DTSTAMP:20260101T000000Z\nDTSTART:20260106T120000Z\n"
        "DTEND:20260106T130000Z\nORGANIZER:mailto:mallory@example.org\n"
        "ATTENDEE:%s\nEND:VEVENT\n" % BOB))
    with pytest.raises(SchedulingError) as error:
        organizer_change(None, cal, ALICE, NOW)
    assert error.value.precondition == "C:same-organizer-in-all-components"


def test_force_send_sends_and_is_not_stored():
    old = organizer_change(None, event(BOB, CAROL), ALICE, NOW).stored
    change = organizer_change(
        old, event(";SCHEDULE-FORCE-SEND=REQUEST:" + BOB, CAROL), ALICE, NOW)
    assert methods(change) == [(BOB, "REQUEST")]
    assert "SCHEDULE-FORCE-SEND" not in change.stored.serialize()


WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=4\n"


def override(rid, start, *attendees, extra=""):
    lines = "".join("ATTENDEE:%s\n" % a for a in attendees)
    return ("BEGIN:VEVENT\nUID:m1\nRECURRENCE-ID:%s\nDTSTAMP:20260101T000000Z"
            "\nDTSTART:%s\nDURATION:PT1H\nSUMMARY:Planning\n"
            "ORGANIZER:mailto:alice@example.org\n"
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org\n%s%s"
            "END:VEVENT\n" % (rid, start, lines, extra))


def test_exdate_added_cancels_that_instance_only():
    old = organizer_change(None, event(BOB, extra=WEEKLY), ALICE, NOW).stored
    new = event(BOB, extra=WEEKLY + "EXDATE:20260112T100000Z\n")
    change = organizer_change(old, new, ALICE, NOW)
    assert methods(change) == [(BOB, "CANCEL")]
    cancel = ical.components(message(change, BOB, "CANCEL").calendar)[0]
    assert ical.value_key(cancel.recurrence_id.value) == "20260112T100000Z"
    stored = ical.components(change.stored)[0]
    assert ical.text(stored, "sequence") == "1"


def test_cancelled_override_cancels_that_instance():
    old = organizer_change(None, event(BOB, extra=WEEKLY), ALICE, NOW).stored
    new = event(BOB, extra=WEEKLY, components=override(
        "20260119T100000Z", "20260119T100000Z", BOB,
        extra="STATUS:CANCELLED\n"))
    change = organizer_change(old, new, ALICE, NOW)
    assert methods(change) == [(BOB, "CANCEL")]
    cancel = ical.components(message(change, BOB, "CANCEL").calendar)[0]
    assert ical.value_key(cancel.recurrence_id.value) == "20260119T100000Z"


def test_attendee_of_one_instance_sees_only_that_instance():
    cal = event(BOB, extra=WEEKLY, components=override(
        "20260119T100000Z", "20260119T140000Z", BOB, CAROL))
    change = organizer_change(None, cal, ALICE, NOW)
    carol = ical.components(message(change, CAROL, "REQUEST").calendar)
    assert [ical.rid(c) for c in carol] == ["20260119T100000Z"]
    bob = ical.components(message(change, BOB, "REQUEST").calendar)
    assert sorted(str(ical.rid(c)) for c in bob) == ["20260119T100000Z",
                                                      "None"]


def test_attendee_left_out_of_one_instance_gets_an_exdate():
    cal = event(BOB, CAROL, extra=WEEKLY, components=override(
        "20260119T100000Z", "20260119T140000Z", BOB))
    carol_view = view(organizer_change(None, cal, ALICE, NOW).stored, CAROL)
    assert list(carol_view) == [None]
    assert list(instances.excluded(carol_view[None])) == ["20260119T100000Z"]
    change = organizer_change(None, cal, ALICE, NOW)
    carol = ical.components(message(change, CAROL, "REQUEST").calendar)
    assert [ical.rid(c) for c in carol] == [None]
    assert "EXDATE" in message(change, CAROL, "REQUEST").serialize()


def test_removed_from_one_instance_later_cancels_that_instance():
    old = organizer_change(None, event(BOB, CAROL, extra=WEEKLY), ALICE,
                           NOW).stored
    new = event(BOB, CAROL, extra=WEEKLY, components=override(
        "20260119T100000Z", "20260119T100000Z", BOB))
    change = organizer_change(old, new, ALICE, NOW)
    cancel = message(change, CAROL, "CANCEL").calendar
    assert [ical.rid(c) for c in ical.components(cancel)] == [
        "20260119T100000Z"]
    assert (CAROL, "REQUEST") not in methods(change)


def test_moving_one_instance_resets_that_instance_only():
    old = organizer_change(None, event(BOB, extra=WEEKLY), ALICE, NOW).stored
    ical.set_param(ical.attendee(ical.components(old)[0], BOB), "PARTSTAT",
                   "ACCEPTED")
    new = event(";PARTSTAT=ACCEPTED:" + BOB, extra=WEEKLY,
                components=override("20260119T100000Z", "20260119T150000Z",
                                    BOB).replace(
                    "ATTENDEE:mailto:bob", "ATTENDEE;PARTSTAT=ACCEPTED:"
                    "mailto:bob"))
    change = organizer_change(old, new, ALICE, NOW)
    comps = ical.by_rid(change.stored)
    assert ical.partstat(ical.attendee(comps[None], BOB)) == "ACCEPTED"
    assert ical.partstat(ical.attendee(comps["20260119T100000Z"], BOB)) == \
        "NEEDS-ACTION"
    assert methods(change) == [(BOB, "REQUEST")]


def test_floating_all_day_and_zoned_events_keep_their_time_zones():
    tz = ("BEGIN:VTIMEZONE\nTZID:Europe/Paris\nBEGIN:STANDARD\n"
          "DTSTART:19701025T030000\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\n"
          "TZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\nBEGIN:DAYLIGHT"
          "\nDTSTART:19700329T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\n"
          "TZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nEND:DAYLIGHT\nEND:VTIMEZONE\n")
    cal = ical.parse(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n" + tz +
        "BEGIN:VEVENT\nUID:z\nDTSTAMP:20260101T000000Z\n"
        "DTSTART;TZID=Europe/Paris:20260105T100000\nDURATION:PT1H\n"
        "ORGANIZER:mailto:alice@example.org\nATTENDEE:%s\nEND:VEVENT\n"
        "END:VCALENDAR\n" % BOB)
    text = message(organizer_change(None, cal, ALICE, NOW), BOB,
                   "REQUEST").serialize()
    assert "BEGIN:VTIMEZONE" in text and "TZID=Europe/Paris" in text
    for start in ("DTSTART;VALUE=DATE:20260105", "DTSTART:20260105T100000"):
        cal = ical.parse(
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\n"
            "UID:f\nDTSTAMP:20260101T000000Z\n%s\n"
            "ORGANIZER:mailto:alice@example.org\nATTENDEE:%s\nEND:VEVENT\n"
            "END:VCALENDAR\n" % (start, BOB))
        text = message(organizer_change(None, cal, ALICE, NOW), BOB,
                       "REQUEST").serialize()
        assert start in text
