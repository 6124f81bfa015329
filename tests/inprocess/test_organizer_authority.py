"""Who may be ORGANIZER and who hears of a cancellation (issue 19 points 4
and 7): over HTTP, asserting what each user's client sees."""

import pytest

from helpers import NS
from scheduling_helpers import (
    attendee_line,
    copies,
    copy,
    ics,
    inbox,
    methods,
    organize,
    put,
    unfold,
)

CAL = "/alice/calendar/"
USERS = ("alice", "bob", "carol")
WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=4\n"


@pytest.fixture
def invited(server):
    """alice invited bob and carol to m1."""
    return organize(server, ics("m1", "bob", "carol"), USERS)


def refused(response):
    assert response.status == 403, response.text
    assert response.xml.find("C:allowed-attendee-scheduling-object-change",
                             NS) is not None


def test_an_attendee_cannot_make_herself_organizer_of_a_new_object(invited):
    """bob deletes his copy, then saves the meeting's UID as his own
    meeting: refused, and nobody hears of it."""
    [(href, text)] = copies(invited, "bob", "m1")
    assert invited.request("DELETE", href, user="bob").status in (200, 204)
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    carol = copy(invited, "carol", "m1")
    mine = ics("m1", "alice", "carol", organizer="bob")
    refused(put(invited, "bob", "/bob/calendar/mine.ics", mine))
    assert invited.request("GET", "/bob/calendar/mine.ics",
                           user="bob").status == 404
    assert invited.request("GET", CAL + "m1.ics", user="alice").text == \
        organizer
    assert copy(invited, "carol", "m1") == carol
    assert methods(invited, "carol") == ["REQUEST"]


def test_an_attendee_cannot_name_someone_else_organizer(invited):
    """bob saves a new object with the meeting's UID naming carol as its
    organizer (and alice as an attendee): refused."""
    [(href, _)] = copies(invited, "bob", "m1")
    assert invited.request("DELETE", href, user="bob",
                           schedule_reply="F").status in (200, 204)
    other = ics("m1", "bob", "alice", organizer="carol")
    refused(put(invited, "bob", "/bob/calendar/other.ics", other))
    assert invited.request("GET", "/bob/calendar/other.ics",
                           user="bob").status == 404
    assert methods(invited, "alice") == []


def test_an_uninvited_user_cannot_join_a_meeting(server):
    """Party crash: bob saves a copy of alice's meeting naming himself."""
    organize(server, ics("m1", "carol"), USERS)
    assert server.mkcalendar("/bob/calendar/", user="bob").status == 201
    organizer = server.request("GET", CAL + "m1.ics", user="alice").text
    crash = ics("m1", "carol",
                "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org\n")
    refused(put(server, "bob", "/bob/calendar/m1.ics", crash))
    assert server.request("GET", "/bob/calendar/m1.ics",
                          user="bob").status == 404
    assert server.request("GET", CAL + "m1.ics", user="alice").text == \
        organizer
    assert methods(server, "alice") == []


def test_a_copy_saved_again_by_an_invited_attendee_answers(invited):
    """bob's client deletes and saves his copy anew (as moving it between
    calendars does): checked against alice's meeting, and his answer
    reaches her."""
    [(href, text)] = copies(invited, "bob", "m1")
    assert invited.request("DELETE", href, user="bob",
                           schedule_reply="F").status in (200, 204)
    again = unfold(text).replace("ATTENDEE;CN=bob:",
                                 "ATTENDEE;CN=bob;PARTSTAT=ACCEPTED:")
    response = put(invited, "bob", href, again)
    assert response.status == 201, response.text
    assert "PARTSTAT=ACCEPTED" in attendee_line(
        invited.request("GET", CAL + "m1.ics", user="alice").text, "bob")
    assert methods(invited, "alice") == ["REPLY"]
    # A new copy that changes the meeting is refused like an overwrite.
    assert invited.request("DELETE", href, user="bob",
                           schedule_reply="F").status in (200, 204)
    refused(put(invited, "bob", href, again.replace("SUMMARY:Planning",
                                                    "SUMMARY:Mine")))


def test_deleting_a_false_invitation_cancels_nothing(server):
    """bob's event names alice and carol for a UID alice organizes (each
    refused with 3.8); alice deletes her meeting; then bob deletes his
    event: no CANCEL reaches anyone who never got his invitation."""
    organize(server, ics("m1", "carol"), USERS)
    assert server.mkcalendar("/bob/calendar/", user="bob").status == 201
    fake = ics("m1", "alice", "carol", organizer="bob", summary="Fake")
    assert put(server, "bob", "/bob/calendar/fake.ics", fake).status == 201
    stored = unfold(server.request("GET", "/bob/calendar/fake.ics",
                                   user="bob").text)
    assert "SCHEDULE-STATUS=3.8" in attendee_line(stored, "alice")
    assert "SCHEDULE-STATUS=3.8" in attendee_line(stored, "carol")
    assert server.request("DELETE", CAL + "m1.ics",
                          user="alice").status in (200, 204)
    assert methods(server, "carol") == ["CANCEL", "REQUEST"]
    assert server.request("DELETE", "/bob/calendar/fake.ics",
                          user="bob").status in (200, 204)
    assert methods(server, "alice") == []
    assert methods(server, "carol") == ["CANCEL", "REQUEST"]
    assert "Fake" not in "".join(text for _, text in inbox(server, "carol"))


def test_status_cancelled_sends_a_cancel(invited):
    """RFC 5546 s3.2.5: the organizer cancelling by STATUS:CANCELLED."""
    response = put(invited, "alice", CAL + "m1.ics",
                   ics("m1", "bob", "carol", extra="STATUS:CANCELLED\n"))
    assert response.status in (201, 204)
    assert methods(invited, "bob") == ["CANCEL", "REQUEST"]
    [cancel] = [t for m, t in inbox(invited, "bob") if m == "CANCEL"]
    assert "SEQUENCE:1" in cancel
    bobs = copy(invited, "bob", "m1")
    assert "STATUS:CANCELLED" in bobs and "SEQUENCE:1" in bobs


def test_a_cancelled_instance_carries_the_new_revision(server):
    """alice moved the 12th, then drops it (EXDATE): the CANCEL carries the
    series' raised SEQUENCE, so bob's later answer still counts."""
    organize(server, ics("w", "bob", extra=WEEKLY), USERS, path=CAL + "w.ics")
    moved = ("BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID:20260112T100000Z\r\n"
             "DTSTAMP:20260101T000000Z\r\nDTSTART:20260112T140000Z\r\n"
             "DTEND:20260112T150000Z\r\nSUMMARY:Planning\r\n"
             "ORGANIZER;CN=alice:mailto:alice@example.org\r\n"
             "ATTENDEE;CN=bob:mailto:bob@example.org\r\nEND:VEVENT\r\n")
    assert put(server, "alice", CAL + "w.ics", ics(
        "w", "bob", extra=WEEKLY, components=moved)).status in (201, 204)
    # alice's client raises SEQUENCE itself on this save.
    assert put(server, "alice", CAL + "w.ics", ics(
        "w", "bob", extra=WEEKLY + "EXDATE:20260112T100000Z\nSEQUENCE:3\n"
    )).status in (201, 204)
    organizer = unfold(server.request("GET", CAL + "w.ics",
                                      user="alice").text)
    sequence = int(organizer.split("SEQUENCE:")[1].split("\r\n")[0])
    # bob's copy took the CANCEL's revision (on Radicale 3.1 the CANCEL of
    # one instance updates the copy without an inbox message).
    [(href, text)] = copies(server, "bob", "w")
    assert int(unfold(text).split("SEQUENCE:")[1].split("\r\n")[0]) >= \
        sequence
    # bob accepts the rest of the series: alice's copy shows it.
    assert put(server, "bob", href, unfold(text).replace(
        "ATTENDEE;CN=bob", "ATTENDEE;CN=bob;PARTSTAT=ACCEPTED")).status in (201, 204)
    assert "PARTSTAT=ACCEPTED" in attendee_line(
        server.request("GET", CAL + "w.ics", user="alice").text, "bob")


def test_a_meeting_made_again_after_its_deletion_is_delivered(invited):
    """A client's undo: alice deletes m1 and saves it again with the same
    UID; bob's copy is a live meeting again, not the cancelled one."""
    # The meeting had been moved once (SEQUENCE 1); the new one starts at 0.
    assert put(invited, "alice", CAL + "m1.ics", ics(
        "m1", "bob", "carol", start="20260105T120000Z",
        end="20260105T130000Z")).status in (201, 204)
    assert invited.request("DELETE", CAL + "m1.ics",
                           user="alice").status in (200, 204)
    assert "STATUS:CANCELLED" in copy(invited, "bob", "m1")
    assert put(invited, "alice", CAL + "m1.ics",
               ics("m1", "bob", "carol")).status == 201
    bobs = copy(invited, "bob", "m1")
    assert "STATUS:CANCELLED" not in bobs
    assert "SCHEDULE-STATUS=1.2" in attendee_line(
        invited.request("GET", CAL + "m1.ics", user="alice").text, "bob")
    # And bob's answer to it reaches alice.
    [(href, text)] = copies(invited, "bob", "m1")
    assert put(invited, "bob", href, unfold(text).replace(
        "ATTENDEE;CN=bob", "ATTENDEE;CN=bob;PARTSTAT=ACCEPTED")).status in (201, 204)
    assert "PARTSTAT=ACCEPTED" in attendee_line(
        invited.request("GET", CAL + "m1.ics", user="alice").text, "bob")
