"""COUNTER, DECLINECOUNTER and REFRESH in the engine, on their own (RFC
5546 s3.2.6-s3.2.8, s6.1.6)."""

import datetime

import pytest

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import counter
from radicale_scheduling.itip.errors import SchedulingError

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
ALICE = "mailto:alice@example.org"
BOB = "mailto:bob@example.org"
CAROL = "mailto:carol@example.org"


def calendar(method, body):
    return ical.parse(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:%s\r\n"
        "%sEND:VCALENDAR\r\n" % (method, body))


def event(*lines):
    return "BEGIN:VEVENT\r\n%s\r\nEND:VEVENT\r\n" % "\r\n".join(lines)


COUNTER = event("UID:m1", "DTSTAMP:20260102T000000Z",
                "DTSTART:20260106T140000Z", "DTEND:20260106T150000Z",
                "ORGANIZER:" + ALICE,
                "ATTENDEE;PARTSTAT=ACCEPTED;SCHEDULE-STATUS=2.0:" + BOB)


def test_a_counter_is_read_with_its_sender_candidates():
    message = counter.read(calendar("COUNTER", COUNTER))
    assert (message.method, message.uid, message.organizer,
            message.attendees) == ("COUNTER", "m1", ALICE, [BOB])
    outgoing = message.message(ALICE, BOB)
    assert (outgoing.method, outgoing.recipient, outgoing.sender) == (
        "COUNTER", ALICE, BOB)
    assert "SCHEDULE-STATUS" not in outgoing.serialize()
    assert "METHOD:COUNTER" in outgoing.serialize()


@pytest.mark.parametrize("method, body", [
    ("PUBLISH", COUNTER),
    ("COUNTER", COUNTER.replace("DTSTART:20260106T140000Z\r\n", "")),
    ("COUNTER", COUNTER.replace("ORGANIZER:%s\r\n" % ALICE, "")),
    ("COUNTER", COUNTER + COUNTER.replace("UID:m1", "UID:m2")),
    ("COUNTER", "BEGIN:VFREEBUSY\r\nUID:f\r\nEND:VFREEBUSY\r\n"),
    ("REFRESH", event("UID:m1", "ORGANIZER:" + ALICE, "ATTENDEE:" + BOB,
                      "ATTENDEE:" + CAROL)),
    ("DECLINECOUNTER", event("UID:m1", "ORGANIZER:" + ALICE)),
])
def test_malformed_messages_are_refused(method, body):
    with pytest.raises(SchedulingError) as e:
        counter.read(calendar(method, body))
    assert e.value.precondition == "C:valid-scheduling-message"
    assert e.value.status == 400


def test_refresh_answer_is_the_current_view_of_that_attendee():
    meeting = ical.parse(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + event(
            "UID:m1", "DTSTAMP:20260101T000000Z", "SEQUENCE:3",
            "DTSTART:20260105T100000Z", "DURATION:PT1H", "SUMMARY:Now",
            "ORGANIZER:" + ALICE,
            "ATTENDEE;PARTSTAT=ACCEPTED;SCHEDULE-STATUS=2.0:" + BOB,
            "ATTENDEE:" + CAROL) + "END:VCALENDAR\r\n")
    stored = meeting  # the organizer's copy, with a recorded answer
    assert counter.is_attendee(stored, BOB)
    assert not counter.is_attendee(stored, "mailto:eve@example.org")
    assert counter.organizes(stored, ALICE)
    assert not counter.organizes(stored, BOB)
    answer = counter.refresh_answer(stored, BOB, ALICE, NOW)
    assert (answer.method, answer.recipient, answer.sender) == (
        "REQUEST", BOB, ALICE)
    comp = ical.components(answer.calendar)[0]
    assert ical.text(comp, "summary") == "Now"
    assert ical.sequence(comp) == 3
    assert "SCHEDULE-STATUS" not in answer.serialize()
    assert counter.refresh_answer(stored, "mailto:eve@example.org", ALICE,
                                  NOW) is None
