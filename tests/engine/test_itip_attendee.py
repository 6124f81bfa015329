"""The attendee-change rule and the cancellation rules of the iTIP engine,
on their own (issue 19 points 2, 4, 7; issue 16 point 2)."""

import datetime

import pytest

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import inbound
from radicale_scheduling.itip.attendee import attendee_change
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.facts import public_facts
from radicale_scheduling.itip.instances import instance_exists, missing_instances
from radicale_scheduling.itip.organizer import organizer_change

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
ALICE = frozenset({"mailto:alice@example.org"})
BOB, CAROL = "mailto:bob@example.org", "mailto:carol@example.org"
WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO\n"
NEW_YORK = ("BEGIN:VTIMEZONE\nTZID:America/New_York\nBEGIN:STANDARD\n"
            "DTSTART:19701101T020000\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\n"
            "TZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nEND:STANDARD\n"
            "BEGIN:DAYLIGHT\nDTSTART:19700308T020000\n"
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\nTZOFFSETFROM:-0500\n"
            "TZOFFSETTO:-0400\nEND:DAYLIGHT\nEND:VTIMEZONE\n")


def copy(body="DTSTART:20260105T100000Z\nDTEND:20260105T110000Z\n",
         extra="", bob="ATTENDEE;CN=Bob:" + BOB,
         carol="ATTENDEE;CN=Carol;PARTSTAT=ACCEPTED:" + CAROL,
         organizer="ORGANIZER;CN=Alice:mailto:alice@example.org",
         components="", timezones=""):
    """bob's copy of alice's meeting (or what his client sends)."""
    return ical.parse(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n%sBEGIN:VEVENT\n"
        "UID:m1\nDTSTAMP:20260101T000000Z\n%sSUMMARY:Planning\n%s\n%s\n%s\n"
        "%sEND:VEVENT\n%sEND:VCALENDAR\n" % (timezones, body, organizer, bob,
                                             carol, extra, components))


def accepted(**kwargs):
    kwargs.setdefault("bob", "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:" + BOB)
    return copy(**kwargs)


def reply_of(change):
    [message] = change.messages
    assert message.method == "REPLY" and message.recipient == \
        "mailto:alice@example.org"
    return message


def test_the_same_instants_in_other_words_are_the_same_meeting():
    plain = ical.components(copy())[0]
    zoned = ical.components(copy(
        body="DTSTART;TZID=America/New_York:20260105T050000\n"
             "DURATION:PT1H\n", timezones=NEW_YORK))[0]
    assert public_facts(plain) == public_facts(zoned)
    ordered = ical.components(copy(extra="RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO"
                                         "\n"))[0]
    shuffled = ical.components(copy(
        extra="RRULE:BYDAY=MO;INTERVAL=1;COUNT=4;FREQ=WEEKLY;WKST=MO\n"))[0]
    assert public_facts(ordered) == public_facts(shuffled)
    utc_until = ical.components(copy(
        extra="RRULE:FREQ=WEEKLY;UNTIL=20260126T100000Z\n"))[0]
    floating_until = ical.components(copy(
        extra="RRULE:FREQ=WEEKLY;UNTIL=20260126T100000\n"))[0]
    assert public_facts(utc_until) != public_facts(floating_until)
    moved = ical.components(copy(body="DTSTART:20260105T100000Z\n"
                                      "DTEND:20260105T113000Z\n"))[0]
    assert public_facts(plain) != public_facts(moved)


def test_cosmetic_lines_are_accepted_and_replaced_by_the_organizers():
    old = copy()
    sent = accepted(organizer="ORGANIZER;CN=\"A.\";EMAIL=alice@example.org:"
                              "MAILTO:Alice@Example.org",
                    carol="ATTENDEE;CN=C.;EMAIL=carol@example.org:" +
                    CAROL.upper().replace("MAILTO", "mailto"),
                    extra="X-CLIENT-THING:1\n")
    change = attendee_change(old, sent, BOB, NOW)
    reply = reply_of(change)
    assert ical.partstat(ical.attendee(ical.components(reply.calendar)[0],
                                       BOB)) == "ACCEPTED"
    stored = ical.components(change.stored)[0]
    assert str(ical.first(stored, "organizer").value) == \
        "mailto:alice@example.org"
    assert ical.param(ical.first(stored, "organizer"), "EMAIL") is None
    carol = ical.attendee(stored, CAROL)
    assert ical.param(carol, "CN") == "Carol" and \
        ical.partstat(carol) == "ACCEPTED"
    assert ical.text(stored, "x-client-thing") == "1"


@pytest.mark.parametrize("sent", [
    dict(carol="ATTENDEE;CN=Carol;PARTSTAT=DECLINED:" + CAROL),
    dict(carol=""),
    dict(extra="ATTENDEE:mailto:dan@example.org\n"),
    dict(organizer="ORGANIZER:" + BOB),
    dict(extra="LOCATION:Elsewhere\n"),
    dict(extra="STATUS:CANCELLED\n"),
    dict(body="DTSTART:20260105T100000Z\nDURATION:PT2H\n"),
])
def test_what_others_see_stays_the_organizers(sent):
    with pytest.raises(SchedulingError) as error:
        attendee_change(copy(), accepted(**sent), BOB, NOW)
    assert error.value.precondition == \
        "C:allowed-attendee-scheduling-object-change"


def test_the_form_of_until_stays_the_organizers():
    """dateutil writes UNTIL alike as UTC or floating time: the form is
    compared apart."""
    rule = "RRULE:FREQ=WEEKLY;UNTIL=20260126T100000%s\n"
    with pytest.raises(SchedulingError) as error:
        attendee_change(copy(extra=rule % "Z"), accepted(extra=rule % ""),
                        BOB, NOW)
    assert error.value.precondition == \
        "C:allowed-attendee-scheduling-object-change"
    assert attendee_change(copy(extra=rule % "Z"),
                           accepted(extra=rule % "Z"), BOB, NOW).messages


def test_another_attendees_line_without_partstat_states_no_answer():
    change = attendee_change(copy(), accepted(carol="ATTENDEE:" + CAROL),
                             BOB, NOW)
    stored = ical.components(change.stored)[0]
    assert ical.partstat(ical.attendee(stored, CAROL)) == "ACCEPTED"


def test_instances_of_a_series():
    master = ical.components(copy(extra=WEEKLY +
                                  "EXDATE:20260112T100000Z\n"))[0]
    at = datetime.datetime
    utc = datetime.timezone.utc
    assert instance_exists(master, at(2026, 1, 19, 10, tzinfo=utc))
    assert not instance_exists(master, at(2026, 1, 12, 10, tzinfo=utc))
    assert not instance_exists(master, at(2026, 1, 19, 11, tzinfo=utc))
    assert not instance_exists(master, at(2026, 2, 2, 10, tzinfo=utc))
    assert not instance_exists(ical.components(copy())[0],
                               at(2026, 1, 5, 10, tzinfo=utc))
    days = ical.components(copy(body="DTSTART;VALUE=DATE:20260105\n",
                                extra=WEEKLY))[0]
    assert instance_exists(days, datetime.date(2026, 1, 12))
    assert instance_exists(days, at(2026, 1, 12))
    assert not instance_exists(days, datetime.date(2026, 1, 13))
    endless = ical.components(copy(extra="RRULE:FREQ=DAILY\n"))[0]
    assert instance_exists(endless, at(2030, 6, 1, 10, tzinfo=utc))


OVERRIDE = ("BEGIN:VEVENT\nUID:m1\nRECURRENCE-ID:{rid}\nDTSTART:{rid}\n"
            "DURATION:PT1H\nSUMMARY:Planning\nORGANIZER;CN=Alice:mailto:"
            "alice@example.org\nATTENDEE;CN=Bob;PARTSTAT=DECLINED:" + BOB +
            "\nATTENDEE;CN=Carol;PARTSTAT=ACCEPTED:" + CAROL +
            "\nEND:VEVENT\n")


def test_an_attendee_declines_an_instance_but_adds_none():
    old = copy(extra=WEEKLY + "EXDATE:20260112T100000Z\n")
    declined = copy(extra=WEEKLY + "EXDATE:20260112T100000Z\n",
                    components=OVERRIDE.format(rid="20260119T100000Z"))
    reply = reply_of(attendee_change(old, declined, BOB, NOW))
    assert list(ical.by_rid(reply.calendar)) == ["20260119T100000Z"]
    for rid in ("20260112T100000Z", "20260120T100000Z", "20260202T100000Z"):
        with pytest.raises(SchedulingError):
            attendee_change(old, copy(
                extra=WEEKLY + "EXDATE:20260112T100000Z\n",
                components=OVERRIDE.format(rid=rid)), BOB, NOW)
    with pytest.raises(SchedulingError):
        attendee_change(copy(), copy(components=OVERRIDE.format(
            rid="20260105T100000Z")), BOB, NOW)
    with pytest.raises(SchedulingError):
        attendee_change(old, copy(extra=WEEKLY + "EXDATE:20260112T100000Z,"
                                  "20260113T100000Z\n"), BOB, NOW)
    # The same check for an answer received by mail.
    meeting = copy(extra=WEEKLY)
    reply = ical.parse("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n"
                       "METHOD:REPLY\n" + OVERRIDE.format(
                           rid="20260107T100000Z") + "END:VCALENDAR\n")
    assert missing_instances(meeting, reply) == ["20260107T100000Z"]
    assert inbound.apply_reply(reply, meeting, BOB) is None


def organizers(extra="", status=None):
    cal = copy(bob="ATTENDEE:" + BOB, carol="ATTENDEE:" + CAROL,
               organizer="ORGANIZER:mailto:alice@example.org", extra=extra)
    if status:
        comp = ical.components(cal)[0]
        ical.set_param(ical.attendee(comp, CAROL), "SCHEDULE-STATUS", status)
        ical.set_param(ical.attendee(comp, BOB), "SCHEDULE-STATUS", "1.2")
    return cal


def test_a_cancel_goes_only_to_whom_the_invitation_went():
    change = organizer_change(organizers(status="3.8"), None, ALICE, NOW)
    assert [(m.recipient, m.method) for m in change.messages] == [
        (BOB, "CANCEL")]


def test_status_cancelled_is_a_cancel_with_a_new_sequence():
    old = organizer_change(None, organizers(), ALICE, NOW).stored
    change = organizer_change(old, organizers(extra="STATUS:CANCELLED\n"),
                              ALICE, NOW)
    assert sorted((m.recipient, m.method) for m in change.messages) == [
        (BOB, "CANCEL"), (CAROL, "CANCEL")]
    comp = ical.components(change.messages[0].calendar)[0]
    assert ical.sequence(comp) == 1 and \
        ical.text(comp, "status") == "CANCELLED"


def test_a_meeting_made_again_replaces_the_cancelled_copy():
    first = organizer_change(None, organizers(extra="SEQUENCE:2\n"),
                             ALICE, NOW)
    [request] = [m for m in first.messages if m.recipient == BOB]
    mine = inbound.apply("REQUEST", request.calendar, None)
    later = NOW + datetime.timedelta(minutes=5)
    [cancel] = [m for m in organizer_change(first.stored, None, ALICE, later)
                .messages if m.recipient == BOB]
    cancelled = inbound.apply("CANCEL", cancel.calendar, mine)
    assert ical.text(ical.components(cancelled)[0], "status") == "CANCELLED"
    # A late copy of the old invitation does not bring it back ...
    assert inbound.apply("REQUEST", request.calendar, cancelled) is None
    # ... the meeting made again (SEQUENCE 0) does.
    again = organizer_change(None, organizers(), ALICE,
                             later + datetime.timedelta(minutes=1))
    [request] = [m for m in again.messages if m.recipient == BOB]
    revived = inbound.apply("REQUEST", request.calendar, cancelled)
    assert ical.text(ical.components(revived)[0], "status") is None


def test_the_status_of_someone_the_client_schedules_is_the_clients():
    """RFC 6638 s3.2.2.1 item 10."""
    client = "ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:dan@example.org\n"
    old = copy(extra=client)
    sent = accepted(extra=client.replace("CLIENT:", "CLIENT;"
                                         "SCHEDULE-STATUS=1.1:"))
    change = attendee_change(old, sent, BOB, NOW)
    dan = ical.attendee(ical.components(change.stored)[0],
                        "mailto:dan@example.org")
    assert ical.param(dan, "SCHEDULE-STATUS") == "1.1"
