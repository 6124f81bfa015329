"""The broker's two entry points, on their own (no Radicale, no I/O):
``parse_event`` (what a change of a stored object sends) and
``process_message`` (what a received message does to a copy, and what
the recipient's side sends in turn).
"""

import datetime

import pytest

from radicale_scheduling.itip import broker, freebusy, inbound, rooms
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import status as st
from radicale_scheduling.itip.errors import SchedulingError

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
ALICE, BOB, CAROL, ROOM = ("mailto:alice@example.org",
                           "mailto:bob@example.org",
                           "mailto:carol@example.org",
                           "mailto:room@example.org")
USERS = {ALICE: "alice", BOB: "bob", CAROL: "carol", ROOM: "room"}
user_of = USERS.get


def event(*attendees, organizer=ALICE, start="20260105T100000Z",
          extra=""):
    lines = "".join("ATTENDEE;PARTSTAT=%s:%s\r\n" % (state, who)
                    for who, state in attendees)
    return ical.parse(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT"
        "\r\nUID:m1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:%s\r\n"
        "DURATION:PT1H\r\nSUMMARY:Planning\r\nORGANIZER:%s\r\n%s%s"
        "END:VEVENT\r\nEND:VCALENDAR\r\n" % (start, organizer, lines, extra))


def partstat(cal, who):
    return ical.partstat(ical.required_attendee(ical.components(cal)[0],
                                                who))


def test_organizer_create_sends_requests_and_records_statuses():
    sending = broker.parse_event(
        None, event((BOB, "NEEDS-ACTION"), (CAROL, "NEEDS-ACTION")),
        frozenset({ALICE}), NOW)
    assert sending.role == broker.ORGANIZER and sending.created
    assert sorted((m.recipient, m.method) for m in sending.messages) == [
        (BOB, "REQUEST"), (CAROL, "REQUEST")]
    stored = sending.record({BOB: st.DELIVERED, CAROL: st.NO_ROUTE.code})
    comp = ical.components(stored)[0]
    assert ical.param(ical.attendee(comp, BOB), "SCHEDULE-STATUS") == "1.2"
    assert ical.param(ical.attendee(comp, CAROL),
                      "SCHEDULE-STATUS") == "5.2"


def test_no_scheduling_object_is_stored_as_sent():
    plain = ical.parse("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN"
                       "\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260105T10"
                       "0000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    sending = broker.parse_event(None, plain, frozenset({ALICE}), NOW)
    assert sending.role == "" and sending.stored is None
    assert not sending.messages


def test_organizer_removal_cancels_and_attendee_removal_declines():
    meeting = event((BOB, "ACCEPTED"))
    cancel = broker.parse_event(meeting, None, frozenset({ALICE}), NOW)
    assert [(m.recipient, m.method) for m in cancel.messages] == [
        (BOB, "CANCEL")]
    decline = broker.parse_event(meeting, None, frozenset({BOB}), NOW)
    assert [(m.recipient, m.method) for m in decline.messages] == [
        (ALICE, "REPLY")]
    assert partstat(decline.messages[0].calendar, BOB) == "DECLINED"
    quiet = broker.parse_event(meeting, None, frozenset({BOB}), NOW,
                               schedule_reply=False)
    assert not quiet.messages


def test_attendee_answer_sends_a_reply_and_refusals_raise():
    copy = event((BOB, "NEEDS-ACTION"))
    sending = broker.parse_event(copy, event((BOB, "ACCEPTED")),
                                 frozenset({BOB}), NOW)
    assert sending.role == broker.ATTENDEE
    assert [(m.recipient, m.method) for m in sending.messages] == [
        (ALICE, "REPLY")]
    stored = sending.record({ALICE: st.DELIVERED})
    line = ical.first(ical.components(stored)[0], "organizer")
    assert ical.param(line, "SCHEDULE-STATUS") == "1.2"
    with pytest.raises(SchedulingError) as refused:
        broker.parse_event(copy, event((BOB, "ACCEPTED"), organizer=CAROL),
                           frozenset({BOB}), NOW)
    assert refused.value.precondition == \
        "C:allowed-attendee-scheduling-object-change"
    with pytest.raises(SchedulingError) as bad:
        broker.parse_event(None, event((BOB, "NEEDS-ACTION"), extra=(
            "ATTENDEE;CN=\"x\x01\":mailto:dan@example.org\r\n")),
            frozenset({ALICE}), NOW)
    assert bad.value.status == 400


def test_an_attendee_copy_is_checked_against_the_organizers_view():
    sent = event((BOB, "NEEDS-ACTION"), start="20260106T100000Z")
    sending = broker.parse_event(
        None, event((BOB, "ACCEPTED"), start="20260106T100000Z"),
        frozenset({BOB}), NOW, organizers_view=lambda me: sent)
    assert sending.role == broker.ATTENDEE
    with pytest.raises(SchedulingError):
        broker.parse_event(None, event((BOB, "ACCEPTED"),
                                       start="20260106T100000Z"),
                           frozenset({BOB}), NOW,
                           organizers_view=lambda me: event(
                               (BOB, "NEEDS-ACTION"), start=
                               "20260107T100000Z"))


def _request(to, cal):
    sending = broker.parse_event(None, cal, frozenset({ALICE}), NOW)
    return next(m for m in sending.messages if m.recipient == to)


def test_a_new_invitation_is_the_message_text_without_method():
    request = _request(BOB, event((BOB, "NEEDS-ACTION")))
    result = broker.process_message(request, None, "bob", user_of, NOW)
    assert result.status == st.DELIVERED and result.inbox and result.retag
    assert result.copy is None and "METHOD:" not in result.text
    assert "UID:m1" in result.text


def test_another_organizer_cannot_replace_a_copy():
    request = _request(BOB, event((BOB, "NEEDS-ACTION")))
    mine = event((BOB, "ACCEPTED"), organizer=CAROL)
    result = broker.process_message(request, mine, "bob", user_of, NOW)
    assert result.status == st.NO_AUTHORITY
    assert result.copy is None and result.text is None and not result.inbox


def test_a_reply_follow_ups_update_the_other_local_attendees_quietly():
    meeting = event((BOB, "NEEDS-ACTION"), (CAROL, "NEEDS-ACTION"),
                    ("mailto:dan@elsewhere.example", "NEEDS-ACTION"))
    answer = broker.parse_event(
        event((BOB, "NEEDS-ACTION")), event((BOB, "ACCEPTED")),
        frozenset({BOB}), NOW).messages[0]
    result = broker.process_message(answer, meeting, "alice", user_of, NOW)
    assert partstat(result.copy, BOB) == "ACCEPTED"
    assert not result.retag and result.inbox
    assert [(m.method, m.recipient, m.quiet) for m in result.follow_ups] \
        == [("REPLY", CAROL, True)]
    # Carol's copy takes Bob's answer by a one-line text edit.
    carol = event((BOB, "NEEDS-ACTION"), (CAROL, "ACCEPTED")).serialize()
    updated = inbound.others_answer(result.follow_ups[0], carol)
    assert partstat(ical.parse(updated), BOB) == "ACCEPTED"
    assert partstat(ical.parse(updated), CAROL) == "ACCEPTED"
    # Only the organizer's own meeting takes a reply.
    refused = broker.process_message(answer, meeting, "carol", user_of, NOW)
    assert refused.status == st.NO_AUTHORITY and refused.copy is None


def test_a_room_accepts_when_free_and_declines_a_clash():
    request = _request(ROOM, event((ROOM, "NEEDS-ACTION")))
    free = rooms.Room(lambda start, end, uid, budget: [], 1000)
    result = broker.process_message(request, None, "room", user_of, NOW,
                                    free)
    assert partstat(result.copy, ROOM) == "ACCEPTED"
    [reply] = result.follow_ups
    assert (reply.method, reply.recipient) == ("REPLY", ALICE)
    taken = rooms.Room(lambda start, end, uid, budget: [
        (start, end, freebusy.BUSY)], 1000)
    result = broker.process_message(request, None, "room", user_of, NOW,
                                    taken)
    assert partstat(result.copy, ROOM) == "DECLINED"
