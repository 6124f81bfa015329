"""MOVE follows the scheduling rules of PUT and DELETE (RFC 6638 s3.2.3.4,
s3.2.10.2): on the source when a meeting leaves its owner's calendars, on
the destination always; nobody schedules in another's name by moving, and
a refused MOVE changes nothing."""

import os

from test_security import bob_copy

from helpers import changes, error_element, snapshot
from scheduling_helpers import answer, attendee_line, copies, ics, methods, put

CAL = "/alice/calendar/"


def move(server, user, path, to, overwrite=None, **headers):
    if overwrite is not None:
        headers["overwrite"] = overwrite
    return server.request("MOVE", path, user=user,
                          destination="http://localhost" + to, **headers)


def test_moving_anothers_meeting_out_of_her_calendar_is_refused(open_world):
    """carol may write into alice's calendar, but taking alice's meeting
    out of it would cancel it in alice's name (the DELETE rule)."""
    server = open_world
    assert server.mkcalendar("/carol/other/", user="carol").status == 201
    before = snapshot(server)
    response = move(server, "carol", CAL + "m1.ics", "/carol/other/m1.ics")
    assert response.status == 403
    assert error_element(response, "D:need-privileges") is not None
    assert changes(before, snapshot(server)) == []


def test_moving_an_attendees_copy_out_is_refused(open_world):
    """Taking bob's copy out of his calendar would decline in his name."""
    server = open_world
    href, _text = bob_copy(server)
    assert server.mkcalendar("/alice/other/").status == 201
    before = snapshot(server)
    response = move(server, "alice", href, "/alice/other/m1.ics")
    assert response.status == 403
    assert error_element(response, "D:need-privileges") is not None
    assert changes(before, snapshot(server)) == []


def test_moving_over_anothers_meeting_is_refused(open_world):
    """carol's own object with the meeting's UID, moved over alice's
    meeting, would change it (the PUT rule): refused, nothing changes."""
    server = open_world
    assert server.mkcalendar("/carol/other/", user="carol").status == 201
    forged = ics("m1", "bob", summary="Cancelled, go home")
    assert put(server, "carol", "/carol/other/m1.ics", forged).status == 201
    before = snapshot(server)
    response = move(server, "carol", "/carol/other/m1.ics", CAL + "m1.ics",
                    overwrite="T")
    assert response.status == 403
    assert error_element(response, "D:need-privileges") is not None
    assert changes(before, snapshot(server)) == []
    assert "SUMMARY:Planning" in server.request("GET", CAL + "m1.ics",
                                                user="alice").text


def test_moving_a_meeting_into_anothers_calendar_as_organizer_is_refused(
        open_world):
    """An object naming alice as ORGANIZER, moved into alice's calendar by
    carol, would invite in alice's name."""
    server = open_world
    assert server.mkcalendar("/carol/other/", user="carol").status == 201
    assert server.mkcalendar("/alice/work/").status == 201
    assert put(server, "carol", "/carol/other/n1.ics",
               ics("n1", "bob")).status == 201
    before = snapshot(server)
    response = move(server, "carol", "/carol/other/n1.ics",
                    "/alice/work/n1.ics")
    assert response.status == 403
    assert error_element(response, "D:need-privileges") is not None
    assert changes(before, snapshot(server)) == []
    assert methods(server, "bob") == ["REQUEST"]  # m1 only


def test_a_moved_in_duplicate_of_a_meeting_uid_is_refused(open_world):
    """The destination's owner organizes that UID in another calendar
    already (s3.2.4.1): refused before anything else."""
    server = open_world
    assert server.mkcalendar("/carol/other/", user="carol").status == 201
    assert server.mkcalendar("/alice/work/").status == 201
    assert put(server, "carol", "/carol/other/m1.ics",
               ics("m1", "bob")).status == 201
    before = snapshot(server)
    response = move(server, "carol", "/carol/other/m1.ics",
                    "/alice/work/m1.ics")
    assert response.status == 403
    assert error_element(response,
                         "C:unique-scheduling-object-resource") is not None
    assert changes(before, snapshot(server)) == []


def test_an_organizer_moving_her_meeting_away_cancels_it(open_world):
    """alice's meeting leaves her calendars (into bob's, where rights let
    her write): the attendees get a CANCEL, as for a DELETE."""
    server = open_world
    assert server.mkcalendar("/bob/other/", user="bob").status == 201
    response = move(server, "alice", CAL + "m1.ics", "/bob/other/m1.ics")
    assert response.status == 201
    assert server.request("GET", CAL + "m1.ics", user="alice").status == 404
    for user in ("bob", "carol"):
        assert methods(server, user) == ["CANCEL", "REQUEST"]
    [(_href, carol)] = copies(server, "carol", "m1")
    assert "STATUS:CANCELLED" in carol
    # bob's calendar holds the moved object as a PUT would have stored it.
    moved = server.request("GET", "/bob/other/m1.ics", user="bob")
    assert moved.status == 200 and "UID:m1" in moved.text


def test_an_attendee_moving_her_copy_away_declines(open_world):
    """bob's copy leaves his calendars: alice hears he declined, unless
    the request says Schedule-Reply: F (s8.1)."""
    server = open_world
    assert server.mkcalendar("/carol/other/", user="carol").status == 201
    href, _text = bob_copy(server)
    response = move(server, "bob", href, "/carol/other/m1.ics")
    assert response.status == 201
    organizer = server.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=DECLINED" in attendee_line(organizer, "bob")
    assert methods(server, "alice") == ["REPLY"]


def test_schedule_reply_f_moves_a_copy_away_quietly(open_world):
    server = open_world
    assert server.mkcalendar("/carol/other/", user="carol").status == 201
    href, _text = bob_copy(server)
    response = move(server, "bob", href, "/carol/other/m1.ics",
                    schedule_reply="F")
    assert response.status == 201
    organizer = server.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=DECLINED" not in attendee_line(organizer, "bob")
    assert methods(server, "alice") == []


def test_moving_an_edited_copy_over_ones_own_is_checked(world):
    """bob has an edited copy (another time) in a second calendar and
    moves it over his copy: the attendee-change rule of a PUT applies.

    A PUT of such a copy is itself refused now, so the copy is one left in
    the folder (written while the plugin was off)."""
    server = world
    href, text = bob_copy(server)
    assert server.mkcalendar("/bob/other/", user="bob").status == 201
    moved = text.replace("DTSTART:20260105T100000Z",
                         "DTSTART:20260105T090000Z")
    assert put(server, "bob", "/bob/other/x.ics", moved).status == 403
    with open(os.path.join(server.collection_root(), "bob", "other", "x.ics"), "w",
              newline="") as f:
        f.write(moved)
    before = snapshot(server)
    response = move(server, "bob", "/bob/other/x.ics", href, overwrite="T")
    assert response.status == 403
    assert error_element(
        response, "C:allowed-attendee-scheduling-object-change") is not None
    assert changes(before, snapshot(server)) == []


def test_moving_an_answer_over_ones_copy_replies(world):
    """The same with only bob's answer changed: allowed, and his REPLY
    goes out as for a PUT of it."""
    server = world
    href, text = bob_copy(server)
    assert server.mkcalendar("/bob/other/", user="bob").status == 201
    assert put(server, "bob", "/bob/other/x.ics",
               answer(text, "bob", "ACCEPTED")).status == 201
    response = move(server, "bob", "/bob/other/x.ics", href, overwrite="T")
    assert response.status == 204
    assert response.headers.get("Schedule-Tag")
    organizer = server.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=ACCEPTED" in attendee_line(organizer, "bob")
    assert methods(server, "alice") == ["REPLY"]
    assert server.request("GET", "/bob/other/x.ics",
                          user="bob").status == 404


def test_moving_between_own_calendars_sends_nothing(world):
    server = world
    assert server.mkcalendar("/alice/work/").status == 201
    before = {user: methods(server, user) for user in ("bob", "carol")}
    response = move(server, "alice", CAL + "m1.ics", "/alice/work/m1.ics")
    assert response.status == 201
    assert {user: methods(server, user)
            for user in ("bob", "carol")} == before
    assert server.request("GET", "/alice/work/m1.ics",
                          user="alice").status == 200


def test_move_honours_if_schedule_tag_match(world):
    """RFC 6638 s3.2.10.2: a stale tag is 412 and nothing moves; the
    current one moves, and the destination carries the same tag."""
    server = world
    assert server.mkcalendar("/alice/work/").status == 201
    tag = server.request("GET", CAL + "m1.ics",
                         user="alice").headers["Schedule-Tag"]
    before = snapshot(server)
    response = move(server, "alice", CAL + "m1.ics", "/alice/work/m1.ics",
                    if_schedule_tag_match='"stale"')
    assert response.status == 412
    assert changes(before, snapshot(server)) == []
    response = move(server, "alice", CAL + "m1.ics", "/alice/work/m1.ics",
                    if_schedule_tag_match=tag)
    assert response.status == 201
    assert response.headers.get("Schedule-Tag") == tag
    assert server.request("GET", "/alice/work/m1.ics",
                          user="alice").headers["Schedule-Tag"] == tag


def test_a_meeting_cannot_be_moved_into_a_non_calendar(world):
    """Radicale refuses moving between a calendar and an address book,
    and the inbox is no calendar either: nothing
    changes and nobody hears of it."""
    server = world
    book = ('<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" '
            'xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
            '<D:resourcetype><D:collection/><CR:addressbook/>'
            '</D:resourcetype></D:prop></D:set></D:mkcol>')
    assert server.request("MKCOL", "/alice/book/", book,
                          user="alice").status == 201
    before = snapshot(server)
    for to in ("/alice/book/m1.ics", "/alice/.schedule-inbox/m1.ics"):
        response = move(server, "alice", CAL + "m1.ics", to)
        assert response.status in (403, 409), (to, response.status)
    assert changes(before, snapshot(server)) == []
    assert methods(server, "bob") == ["REQUEST"]
