"""Rooms and resources answer invitations on their own (issue: attendee
side): free means ACCEPTED, a clash with an accepted booking DECLINED, per
instance for a series."""

import pytest

from scheduling_helpers import attendee_line, copy, ics, inbox, put, unfold

CAL = "/alice/calendar/"


@pytest.fixture
def office(server):
    for user in ("alice", "bob", "room-1"):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar(CAL).status == 201
    assert server.mkcalendar("/bob/calendar/", user="bob").status == 201
    return server


def room_state(server, path, user="alice"):
    return attendee_line(server.request("GET", path, user=user).text,
                         "room-1")


def test_free_room_accepts_busy_room_declines(office):
    put(office, "alice", CAL + "a.ics", ics("a", "room-1"))
    assert "PARTSTAT=ACCEPTED" in room_state(office, CAL + "a.ics")
    # bob asks for the same room at an overlapping time.
    response = put(office, "bob", "/bob/calendar/b.ics", ics(
        "b", "room-1", organizer="bob", start="20260105T103000Z",
        end="20260105T113000Z"))
    assert response.status == 201
    state = room_state(office, "/bob/calendar/b.ics", user="bob")
    assert "PARTSTAT=DECLINED" in state and "SCHEDULE-STATUS=2.0" in state
    assert [m for m, _ in inbox(office, "bob")] == ["REPLY"]
    # Right after the first booking: accepted.
    put(office, "bob", "/bob/calendar/c.ics", ics(
        "c", "room-1", organizer="bob", start="20260105T110000Z",
        end="20260105T120000Z"))
    assert "PARTSTAT=ACCEPTED" in room_state(office, "/bob/calendar/c.ics",
                                             user="bob")


def test_declined_bookings_do_not_block_the_room(office):
    put(office, "alice", CAL + "a.ics", ics("a", "room-1"))
    put(office, "bob", "/bob/calendar/b.ics", ics(
        "b", "room-1", organizer="bob"))  # declined: clashes with a
    assert office.request("DELETE", CAL + "a.ics", user="alice").status == 200
    # a is cancelled, b was declined: a third request gets the room.
    put(office, "bob", "/bob/calendar/c.ics", ics(
        "c", "room-1", organizer="bob"))
    assert "PARTSTAT=ACCEPTED" in room_state(office, "/bob/calendar/c.ics",
                                             user="bob")


def test_series_with_one_clash_declines_only_that_instance(office):
    put(office, "alice", CAL + "a.ics", ics(
        "a", "room-1", start="20260112T100000Z", end="20260112T110000Z"))
    put(office, "bob", "/bob/calendar/w.ics", ics(
        "w", "room-1", organizer="bob", extra="RRULE:FREQ=WEEKLY;COUNT=3\n"))
    organizer = unfold(office.request("GET", "/bob/calendar/w.ics",
                                      user="bob").text)
    parts = organizer.split("BEGIN:VEVENT")
    master = [p for p in parts if "RRULE" in p][0]
    override = [p for p in parts if "RECURRENCE-ID:20260112T100000Z" in p][0]
    assert "PARTSTAT=ACCEPTED" in attendee_line(master, "room-1")
    assert "PARTSTAT=DECLINED" in attendee_line(override, "room-1")
    room_copy = copy(office, "room-1", "w")
    assert "RECURRENCE-ID:20260112T100000Z" in room_copy


def test_rescheduling_asks_the_room_again(office):
    put(office, "alice", CAL + "a.ics", ics("a", "room-1"))
    put(office, "bob", "/bob/calendar/b.ics", ics(
        "b", "room-1", organizer="bob", start="20260106T100000Z",
        end="20260106T110000Z"))
    assert "ACCEPTED" in room_state(office, "/bob/calendar/b.ics", "bob")
    # bob moves his meeting onto alice's booking: declined now.
    put(office, "bob", "/bob/calendar/b.ics", ics(
        "b", "room-1", organizer="bob"))
    assert "DECLINED" in room_state(office, "/bob/calendar/b.ics", "bob")
