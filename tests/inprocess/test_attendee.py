"""Attendee-side implicit scheduling over HTTP (RFC 6638 s3.2.2, s3.2.8,
s4.2, s8.1): answering, declining, deleting, and what the organizer sees."""

import pytest

from helpers import NS
from scheduling_helpers import (
    answer,
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
WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=4\n"


@pytest.fixture
def invited(server):
    """alice invited bob and carol to m1; both have their copies."""
    return organize(server, ics("m1", "bob", "carol"),
                    ("alice", "bob", "carol", "room-1"))


def bob_copy(server, uid="m1"):
    [(href, text)] = copies(server, "bob", uid)
    return href, text


def test_accepting_updates_the_organizer_in_the_same_request(invited):
    href, text = bob_copy(invited)
    response = put(invited, "bob", href, answer(text, "bob", "ACCEPTED"))
    assert response.status in (201, 204)
    assert response.headers.get("Schedule-Tag")
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    line = attendee_line(organizer, "bob")
    assert "PARTSTAT=ACCEPTED" in line and "SCHEDULE-STATUS=2.0" in line
    assert methods(invited, "alice") == ["REPLY"]
    reply = inbox(invited, "alice")[0][1]
    assert "mailto:bob@example.org" in unfold(reply)
    assert "mailto:carol@example.org" not in unfold(reply)
    # carol's copy shows bob's answer too, without an inbox message.
    assert "PARTSTAT=ACCEPTED" in attendee_line(copy(invited, "carol", "m1"),
                                                "bob")
    assert methods(invited, "carol") == ["REQUEST"]
    # bob's stored copy records the delivery of his reply.
    stored = invited.request("GET", href, user="bob").text
    assert "SCHEDULE-STATUS=1.2" in unfold(stored).split("ORGANIZER")[1] \
        .split("\r\n")[0]


def test_the_organizers_schedule_tag_survives_replies(invited):
    tag = invited.request("GET", CAL + "m1.ics",
                          user="alice").headers["Schedule-Tag"]
    href, text = bob_copy(invited)
    put(invited, "bob", href, answer(text, "bob", "DECLINED"))
    after = invited.request("GET", CAL + "m1.ics", user="alice")
    assert after.headers["Schedule-Tag"] == tag
    assert "PARTSTAT=DECLINED" in attendee_line(after.text, "bob")
    # alice's client, with the old tag, saves a new summary: the server
    # keeps bob's answer (RFC 6638 s3.2.10.1).
    old_client_copy = ics("m1", "bob", "carol", summary="Planning v2")
    response = put(invited, "alice", CAL + "m1.ics", old_client_copy,
                   if_schedule_tag_match=tag)
    assert response.status in (201, 204)
    stored = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=DECLINED" in attendee_line(stored, "bob")
    assert "Planning v2" in stored


@pytest.mark.parametrize("change", [
    ("SUMMARY:Planning", "SUMMARY:Bob's planning"),
    ("DTSTART:20260105T100000Z", "DTSTART:20260105T090000Z"),
    ("ATTENDEE;CN=carol:mailto:carol@example.org",
     "ATTENDEE;CN=carol;PARTSTAT=ACCEPTED:mailto:carol@example.org"),
    ("END:VEVENT", "ATTENDEE:mailto:dave@example.org\r\nEND:VEVENT"),
])
def test_attendees_cannot_change_what_the_organizer_decided(invited, change):
    href, text = bob_copy(invited)
    before = invited.request("GET", href, user="bob").text
    changed = unfold(text).replace(*change)
    assert changed != unfold(text)
    response = put(invited, "bob", href, changed)
    assert response.status == 403
    assert response.xml.find("C:allowed-attendee-scheduling-object-change",
                             NS) is not None
    assert invited.request("GET", href, user="bob").text == before
    assert methods(invited, "alice") == []


def test_allowed_personal_changes_send_nothing(invited):
    href, text = bob_copy(invited)
    personal = unfold(text).replace(
        "END:VEVENT", "TRANSP:TRANSPARENT\r\nBEGIN:VALARM\r\nACTION:DISPLAY"
        "\r\nTRIGGER:-PT15M\r\nDESCRIPTION:Reminder\r\nEND:VALARM\r\n"
        "X-MOZ-LASTACK:20260101T000000Z\r\nEND:VEVENT")
    response = put(invited, "bob", href, personal)
    assert response.status in (201, 204)
    assert methods(invited, "alice") == []
    assert "Reminder" in invited.request("GET", href, user="bob").text


def test_deleting_the_copy_declines(invited):
    href, _ = bob_copy(invited)
    assert invited.request("DELETE", href, user="bob").status == 200
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=DECLINED" in attendee_line(organizer, "bob")
    assert methods(invited, "alice") == ["REPLY"]


def test_schedule_reply_f_deletes_silently(invited):
    href, _ = bob_copy(invited)
    response = invited.request("DELETE", href, user="bob", schedule_reply="F")
    assert response.status == 200
    assert methods(invited, "alice") == []
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=DECLINED" not in attendee_line(organizer, "bob")


def test_deleting_a_cancelled_copy_sends_nothing(invited):
    assert invited.request("DELETE", CAL + "m1.ics", user="alice").status \
        == 200
    href, text = bob_copy(invited)
    assert "STATUS:CANCELLED" in text
    assert invited.request("DELETE", href, user="bob").status == 200
    assert methods(invited, "alice") == []


def test_declining_one_instance(server):
    for user in ("alice", "bob"):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar(CAL).status == 201
    put(server, "alice", CAL + "w.ics", ics("w", "bob", extra=WEEKLY))
    [(href, text)] = copies(server, "bob", "w")
    declined = unfold(text).replace(
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "RRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE:20260112T100000Z")
    assert put(server, "bob", href, declined).status in (201, 204)
    organizer = server.request("GET", CAL + "w.ics", user="alice").text
    # The organizer's copy has an override for that instance only.
    assert "RECURRENCE-ID:20260112T100000Z" in organizer
    parts = unfold(organizer).split("BEGIN:VEVENT")
    override = [p for p in parts if "RECURRENCE-ID" in p][0]
    master = [p for p in parts if "RRULE" in p][0]
    assert "PARTSTAT=DECLINED" in override
    assert "PARTSTAT=DECLINED" not in master


def test_stale_answer_does_not_undo_the_organizers_new_time(invited):
    href, text = bob_copy(invited)
    tag = invited.request("GET", href, user="bob").headers["Schedule-Tag"]
    # alice moves the meeting; bob's copy follows, with a new tag.
    put(invited, "alice", CAL + "m1.ics", ics(
        "m1", "bob", "carol", start="20260107T100000Z",
        end="20260107T110000Z"))
    moved = invited.request("GET", href, user="bob")
    assert "DTSTART:20260107T100000Z" in moved.text
    assert moved.headers["Schedule-Tag"] != tag
    # bob's client accepts from its stale copy.
    stale = put(invited, "bob", href, answer(text, "bob", "ACCEPTED"),
                if_schedule_tag_match=tag)
    assert stale.status == 412
    # Without the header, the stale time is a change only alice may make.
    assert put(invited, "bob", href, answer(text, "bob", "ACCEPTED")) \
        .status == 403
    assert "DTSTART:20260107T100000Z" in invited.request(
        "GET", href, user="bob").text
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "DTSTART:20260107T100000Z" in organizer
    assert "PARTSTAT=ACCEPTED" not in attendee_line(organizer, "bob")
    # With the fresh tag, the answer goes through.
    fresh = put(invited, "bob", href, answer(moved.text, "bob", "ACCEPTED"),
                if_schedule_tag_match=moved.headers["Schedule-Tag"])
    assert fresh.status in (201, 204)
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=ACCEPTED" in attendee_line(organizer, "bob")


def test_other_attendees_answers_merge_into_a_tag_matched_put(invited):
    href, text = bob_copy(invited)
    tag = invited.request("GET", href, user="bob").headers["Schedule-Tag"]
    [(carol_href, carol_text)] = copies(invited, "carol", "m1")
    put(invited, "carol", carol_href, answer(carol_text, "carol", "ACCEPTED"))
    # bob's tag is unchanged by carol's answer; his client still shows
    # carol as NEEDS-ACTION, the server keeps her answer.
    assert invited.request("GET", href,
                           user="bob").headers["Schedule-Tag"] == tag
    response = put(invited, "bob", href, answer(text, "bob", "TENTATIVE"),
                   if_schedule_tag_match=tag)
    assert response.status in (201, 204)
    stored = invited.request("GET", href, user="bob").text
    assert "PARTSTAT=ACCEPTED" in attendee_line(stored, "carol")
    assert "PARTSTAT=TENTATIVE" in attendee_line(stored, "bob")


def test_imported_invitation_is_stored_and_sends_nothing(invited):
    assert invited.mkcalendar("/bob/imported/", user="bob").status == 201
    text = ics("ext1", "bob", organizer="carol").replace(
        "carol@example.org", "someone@elsewhere.example")
    response = put(invited, "bob", "/bob/imported/ext1.ics", text)
    assert response.status == 201
    assert invited.request("GET", "/bob/imported/ext1.ics",
                           user="bob").status == 200
    assert methods(invited, "carol") == ["REQUEST"]


def test_replies_only_change_the_senders_entry(invited):
    href, text = bob_copy(invited)
    # bob's copy claiming carol declined is refused outright ...
    forged = answer(answer(text, "bob", "ACCEPTED"), "carol", "DECLINED")
    assert put(invited, "bob", href, forged).status == 403
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=DECLINED" not in attendee_line(organizer, "carol")
    assert "PARTSTAT=ACCEPTED" not in attendee_line(organizer, "bob")
