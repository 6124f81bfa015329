"""Organizer-side implicit scheduling over HTTP (RFC 6638 s3.2.1, s4.1,
s3.2.9, s3.2.10), with three users and a room."""

import pytest

from helpers import NS
from scheduling_helpers import attendee_line, copies, copy, ics, inbox, methods, put, unfold

CAL = "/alice/calendar/"


@pytest.fixture
def alice(server):
    """alice has her default calendar; bob, carol and room-1 exist."""
    for user in ("alice", "bob", "carol", "room-1"):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar(CAL).status == 201
    return server


def test_invitation_reaches_each_attendee_in_the_same_request(alice):
    response = put(alice, "alice", CAL + "m1.ics",
                   ics("m1", "bob", "carol", "room-1", "nobody",
                       "ATTENDEE:mailto:grandma@elsewhere.example\n"))
    assert response.status == 201
    for user in ("bob", "carol", "room-1"):
        assert methods(alice, user) == ["REQUEST"]
        line = attendee_line(copy(alice, user, "m1"), user)
        if user == "room-1":  # a room answers on its own
            assert "PARTSTAT=ACCEPTED" in line
        else:
            assert "PARTSTAT=NEEDS-ACTION" in line or "PARTSTAT" not in line
        # The copy lands in their default calendar.
        [(href, _)] = copies(alice, user, "m1")
        assert href.startswith("/%s/calendar/" % user)
    stored = alice.request("GET", CAL + "m1.ics", user="alice").text
    assert "SCHEDULE-STATUS=1.2" in attendee_line(stored, "bob")
    assert "PARTSTAT=ACCEPTED" in attendee_line(stored, "room-1")
    assert "SCHEDULE-STATUS=2.0" in attendee_line(stored, "room-1")
    # A typo in the server's own domain, and an address outside it.
    assert "SCHEDULE-STATUS=3.7" in attendee_line(stored, "nobody")
    assert "SCHEDULE-STATUS=5.2" in unfold(stored).split(
        "grandma@elsewhere.example")[0].rsplit("ATTENDEE", 1)[1]
    # The organizer's inbox has only the room's answer.
    assert methods(alice, "alice") == ["REPLY"]


def test_put_answers_with_schedule_tag_and_no_etag(alice):
    response = put(alice, "alice", CAL + "m1.ics", ics("m1", "bob"))
    assert response.status == 201
    assert "ETag" not in response.headers
    tag = response.headers["Schedule-Tag"]
    got = alice.request("GET", CAL + "m1.ics", user="alice")
    assert got.headers["Schedule-Tag"] == tag
    found = alice.propfind(CAL, "C:schedule-tag", "D:getetag", depth="1")
    element = found.responses()[CAL + "m1.ics"]
    assert element.find(".//C:schedule-tag", NS).text == tag
    report = alice.request(
        "REPORT", CAL, '<?xml version="1.0"?><C:calendar-multiget '
        'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>'
        '<C:schedule-tag/><D:getetag/></D:prop><D:href>%sm1.ics</D:href>'
        '</C:calendar-multiget>' % CAL, user="alice", depth="1")
    assert report.xml.find(".//C:schedule-tag", NS).text == tag
    # A new PUT changes it.
    again = put(alice, "alice", CAL + "m1.ics",
                ics("m1", "bob", summary="Planning 2"))
    assert again.status in (201, 204)
    assert again.headers["Schedule-Tag"] != tag


def test_if_schedule_tag_match_mismatch_is_412_and_changes_nothing(alice):
    response = put(alice, "alice", CAL + "m1.ics", ics("m1", "bob"))
    tag = response.headers["Schedule-Tag"]
    stale = put(alice, "alice", CAL + "m1.ics", ics("m1", "bob", "carol"),
                if_schedule_tag_match='"not-the-tag"')
    assert stale.status == 412
    assert methods(alice, "carol") == []
    assert methods(alice, "bob") == ["REQUEST"]
    delete = alice.request("DELETE", CAL + "m1.ics", user="alice",
                           if_schedule_tag_match='"nope"')
    assert delete.status == 412
    assert alice.request("GET", CAL + "m1.ics", user="alice").status == 200
    ok = put(alice, "alice", CAL + "m1.ics", ics("m1", "bob", "carol"),
             if_schedule_tag_match=tag)
    assert ok.status in (201, 204)


def test_adding_removing_rescheduling_and_deleting(alice):
    put(alice, "alice", CAL + "m1.ics", ics("m1", "bob"))
    # Add carol: she is invited, bob's copy learns of her (quietly: no
    # second inbox message for him).
    assert put(alice, "alice", CAL + "m1.ics",
               ics("m1", "bob", "carol")).status in (201, 204)
    assert methods(alice, "carol") == ["REQUEST"]
    assert methods(alice, "bob") == ["REQUEST"]
    assert attendee_line(copy(alice, "bob", "m1"), "carol") is not None
    # Remove bob: he gets a CANCEL and his copy is cancelled.
    assert put(alice, "alice", CAL + "m1.ics", ics("m1", "carol")).status in (
        201, 204)
    assert "CANCEL" in methods(alice, "bob")
    assert "STATUS:CANCELLED" in copy(alice, "bob", "m1")
    # Reschedule: carol's copy moves, SEQUENCE grows.
    assert put(alice, "alice", CAL + "m1.ics", ics(
        "m1", "carol", start="20260106T100000Z",
        end="20260106T110000Z")).status in (201, 204)
    carol = copy(alice, "carol", "m1")
    assert "DTSTART:20260106T100000Z" in carol
    assert "SEQUENCE:1" in carol
    stored = alice.request("GET", CAL + "m1.ics", user="alice").text
    assert "SEQUENCE:1" in stored
    # Delete: everyone still invited gets a CANCEL.  (carol's REQUESTs:
    # her invitation and the new time; bob leaving was no news to her.)
    assert alice.request("DELETE", CAL + "m1.ics", user="alice").status \
        == 200
    assert methods(alice, "carol") == ["CANCEL", "REQUEST", "REQUEST"]
    assert "STATUS:CANCELLED" in copy(alice, "carol", "m1")


WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=4\n"


def test_cancelling_one_instance(alice):
    put(alice, "alice", CAL + "w.ics", ics("w", "bob", extra=WEEKLY))
    response = put(alice, "alice", CAL + "w.ics", ics(
        "w", "bob", extra=WEEKLY + "EXDATE:20260112T100000Z\n"))
    assert response.status in (201, 204)
    assert "EXDATE:20260112T100000Z" in copy(alice, "bob", "w")
    messages = inbox(alice, "bob")
    assert [m for m, _ in messages] == ["CANCEL", "REQUEST"]
    assert "RECURRENCE-ID:20260112T100000Z" in messages[0][1]


def test_attendee_of_one_instance_gets_only_that_instance(alice):
    override = ("BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID:20260119T100000Z\r\n"
                "DTSTAMP:20260101T000000Z\r\nDTSTART:20260119T140000Z\r\n"
                "DTEND:20260119T150000Z\r\nSUMMARY:Planning with Carol\r\n"
                "ORGANIZER:mailto:alice@example.org\r\n"
                "ATTENDEE:mailto:bob@example.org\r\n"
                "ATTENDEE:mailto:carol@example.org\r\nEND:VEVENT\r\n")
    put(alice, "alice", CAL + "w.ics", ics("w", "bob", extra=WEEKLY,
                                           components=override))
    carol = copy(alice, "carol", "w")
    assert "RRULE" not in carol
    assert "RECURRENCE-ID:20260119T100000Z" in carol
    bob = copy(alice, "bob", "w")
    assert "RRULE" in bob and "RECURRENCE-ID" in bob


def test_a_new_attendee_marked_accepted_is_asked_all_the_same(alice):
    """Apple Calendar and others write the invitee ACCEPTED: the meeting is
    created and the server owns that answer (RFC 6638 s3.2.1)."""
    response = put(alice, "alice", CAL + "m1.ics", ics(
        "m1", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org\n"))
    assert response.status == 201
    assert methods(alice, "bob") == ["REQUEST"]
    assert "PARTSTAT=NEEDS-ACTION" in attendee_line(copy(alice, "bob", "m1"),
                                                    "bob")
    _, message = inbox(alice, "bob")[0]
    assert "PARTSTAT=NEEDS-ACTION" in attendee_line(message, "bob")
    stored = alice.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=NEEDS-ACTION" in attendee_line(stored, "bob")
    # Once invited, the organizer still cannot answer for bob.
    response = put(alice, "alice", CAL + "m1.ics", ics(
        "m1", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org\n",
        summary="Planning v2"))
    assert response.status == 403
    assert response.xml.find(
        "C:allowed-organizer-scheduling-object-change", NS) is not None
    assert alice.request("GET", CAL + "m1.ics", user="alice").text == stored
    assert methods(alice, "bob") == ["REQUEST"]


def test_refused_changes_store_nothing_and_deliver_nothing(alice):
    # Two organizers in one object.
    other = ("BEGIN:VEVENT\r\nUID:m2\r\nRECURRENCE-ID:20260112T100000Z\r\n"
             "DTSTAMP:20260101T000000Z\r\nDTSTART:20260112T100000Z\r\n"
             "ORGANIZER:mailto:carol@example.org\r\n"
             "ATTENDEE:mailto:bob@example.org\r\nEND:VEVENT\r\n")
    response = put(alice, "alice", CAL + "m2.ics", ics(
        "m2", "bob", extra=WEEKLY, components=other))
    assert response.status == 403
    assert response.xml.find("C:same-organizer-in-all-components", NS) \
        is not None
    # Malformed iCalendar.
    response = put(alice, "alice", CAL + "m3.ics", "BEGIN:VCALENDAR\r\nnope")
    assert response.status == 400
    for path in ("m2.ics", "m3.ics"):
        assert alice.request("GET", CAL + path, user="alice").status == 404
    assert methods(alice, "bob") == []


def test_same_uid_in_another_calendar_is_refused(alice):
    assert alice.mkcalendar("/alice/work/").status == 201
    put(alice, "alice", CAL + "m1.ics", ics("m1", "bob"))
    response = put(alice, "alice", "/alice/work/copy.ics", ics("m1", "carol"))
    assert response.status == 403
    error = response.xml.find("C:unique-scheduling-object-resource", NS)
    assert error.findtext("D:href", namespaces=NS) == CAL + "m1.ics"
    assert methods(alice, "carol") == []


def test_nobody_invites_as_someone_else(open_server):
    server = open_server  # rights let everyone write everywhere
    for user in ("alice", "bob", "carol"):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar(CAL).status == 201
    # bob writes alice's meeting into alice's calendar.
    response = put(server, "bob", CAL + "m1.ics", ics("m1", "carol"))
    assert response.status == 403
    assert response.xml.find("D:need-privileges", NS) is not None
    assert server.request("GET", CAL + "m1.ics", user="alice").status == 404
    # bob puts an event "organized" by alice into his own calendar.
    assert server.mkcalendar("/bob/cal/", user="bob").status == 201
    response = put(server, "bob", "/bob/cal/m2.ics", ics("m2", "carol"))
    assert response.status == 201
    assert methods(server, "carol") == []
    assert methods(server, "alice") == []


def test_a_retried_put_does_not_deliver_twice(alice):
    body = ics("m1", "bob")
    assert put(alice, "alice", CAL + "m1.ics", body).status == 201
    assert put(alice, "alice", CAL + "m1.ics", body).status in (201, 204)
    assert methods(alice, "bob") == ["REQUEST"]


def test_moving_between_own_calendars_sends_nothing(alice):
    assert alice.mkcalendar("/alice/work/").status == 201
    put(alice, "alice", CAL + "m1.ics", ics("m1", "bob"))
    response = alice.request("MOVE", CAL + "m1.ics", user="alice",
                             destination="http://localhost/alice/work/m1.ics")
    assert response.status == 201
    assert response.headers.get("Schedule-Tag")
    assert methods(alice, "bob") == ["REQUEST"]
    assert alice.request("GET", "/alice/work/m1.ics",
                         user="alice").status == 200


def test_deleting_a_calendar_cancels_its_meetings(alice):
    assert alice.mkcalendar("/alice/work/").status == 201
    put(alice, "alice", "/alice/work/m1.ics", ics("m1", "bob"))
    assert alice.request("DELETE", "/alice/work/", user="alice").status == 200
    assert methods(alice, "bob") == ["CANCEL", "REQUEST"]


def test_ordinary_events_and_other_organizers_send_nothing(alice):
    plain = ics("p1").replace("ORGANIZER;CN=alice:mailto:alice@example.org"
                              "\r\n", "")
    assert put(alice, "alice", CAL + "p1.ics", plain).status == 201
    response = put(alice, "alice", CAL + "p1.ics", plain)
    assert "ETag" in response.headers  # stored as sent
    assert "Schedule-Tag" not in response.headers
    # An invitation alice got by mail and imported: carol organizes.
    imported = ics("i1", "alice", "bob", organizer="carol")
    assert put(alice, "alice", CAL + "i1.ics", imported).status == 201
    for user in ("bob", "carol"):
        assert methods(alice, user) == []
