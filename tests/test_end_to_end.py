"""A real client (python-caldav) against a real ``python -m radicale``."""

import datetime
import urllib.request
from urllib.parse import urlparse

import caldav
import pytest


def client(live_server, user):
    return caldav.DAVClient(url=live_server["url"], username=user,
                            password=live_server["password"])


def calendar_of(principal):
    """The user's first calendar, made as a client makes it if none."""
    return (principal.calendars() or [principal.make_calendar(
        name="Calendar", cal_id="calendar")])[0]


def test_python_caldav_discovers_a_scheduling_server(live_server):
    with client(live_server, "alice") as dav:
        assert dav.check_scheduling_support()
        principal = dav.principal()
        inbox = principal.schedule_inbox()
        outbox = principal.schedule_outbox()
        assert urlparse(str(inbox.url)).path == "/alice/.schedule-inbox/"
        assert urlparse(str(outbox.url)).path == "/alice/.schedule-outbox/"
        addresses = principal.calendar_user_address_set()
        # The admin's addresses file first, then the domain's address.
        assert addresses == ["mailto:alice.example@family.example",
                             "mailto:alice@example.org", "/alice/"]
        # The inbox answers (empty); discovering it made no calendar: the
        # client makes its own, or the first invitation makes one.
        assert inbox.children() == []
        assert principal.calendars() == []


def test_inbox_is_not_offered_as_a_calendar(live_server):
    with client(live_server, "bob") as dav:
        principal = dav.principal()
        principal.schedule_inbox()
        cal = principal.make_calendar(name="Work", cal_id="work")
        paths = sorted(urlparse(str(c.url)).path for c in principal.calendars())
        # bob's own calendar; never the inbox or outbox.
        assert paths == ["/bob/work/"]
        cal.save_event(dtstart=datetime.datetime(2026, 1, 5, 10),
                       dtend=datetime.datetime(2026, 1, 5, 11),
                       summary="Ordinary event")
        assert [e.icalendar_component["SUMMARY"] for e in cal.events()] == [
            "Ordinary event"]


def test_another_users_inbox_is_closed(live_server):
    url = live_server["url"] + "alice/.schedule-inbox/"
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, live_server["url"], "bob", live_server["password"])
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(manager))
    request = urllib.request.Request(url, method="PROPFIND", headers={"Depth": "1"})
    with pytest.raises(urllib.error.HTTPError) as error:
        opener.open(request)
    assert error.value.code == 403


def test_invite_accept_and_find_a_time_with_python_caldav(live_server):
    with client(live_server, "alice") as alice_dav, \
            client(live_server, "carol") as carol_dav:
        alice = alice_dav.principal()
        carol = carol_dav.principal()
        carol.schedule_inbox()  # carol's account exists and is set up
        calendar = calendar_of(alice)
        event = calendar.save_event(
            dtstart=datetime.datetime(2026, 2, 2, 9, tzinfo=datetime.timezone.utc),
            dtend=datetime.datetime(2026, 2, 2, 10, tzinfo=datetime.timezone.utc),
            summary="Budget review", uid="e2e-budget")
        event.add_organizer()
        event.add_attendee("mailto:carol@example.org")
        event.save()
        # carol's client finds the invitation in her inbox and accepts.
        [invite] = carol.schedule_inbox().get_items()
        assert invite.is_invite_request()
        invite.accept_invite()
        # alice's copy shows the answer.
        mine = calendar.event_by_uid("e2e-budget")
        mine.load()
        attendees = mine.icalendar_component.get("attendee")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        carol_line = [a for a in attendees
                      if str(a).lower() == "mailto:carol@example.org"][0]
        assert carol_line.params["PARTSTAT"] == "ACCEPTED"
        # "Find a time": carol is busy then, and nothing else is told.
        answer = alice.freebusy_request(
            datetime.datetime(2026, 2, 2, tzinfo=datetime.timezone.utc),
            datetime.datetime(2026, 2, 3, tzinfo=datetime.timezone.utc),
            ["mailto:carol@example.org"])
        text = str(answer)
        assert "Budget review" not in text
        busy = answer.get("mailto:carol@example.org")
        data = busy.data if hasattr(busy, "data") else str(busy)
        assert "20260202T090000Z/20260202T100000Z" in data.replace("\r\n ", "")


def test_inbox_items_read_and_deleted_with_python_caldav(live_server):
    """A client empties its inbox as it reads it; the next run (a new
    client, an initial sync-collection) sees only what is left (RFC 6578
    s3.4), each message with its data."""
    with client(live_server, "alice") as alice_dav, \
            client(live_server, "bob") as bob_dav:
        bob = bob_dav.principal()
        bob.schedule_inbox()
        calendar = calendar_of(alice_dav.principal())
        for uid in ("e2e-inbox-1", "e2e-inbox-2"):
            event = calendar.save_event(
                dtstart=datetime.datetime(2026, 3, 2, 9,
                                          tzinfo=datetime.timezone.utc),
                dtend=datetime.datetime(2026, 3, 2, 10,
                                        tzinfo=datetime.timezone.utc),
                summary="Inbox " + uid, uid=uid)
            event.add_organizer()
            event.add_attendee("mailto:bob@example.org")
            event.save()
        items = bob.schedule_inbox().get_items()
        uids = sorted(str(i.icalendar_component["UID"]) for i in items)
        assert uids[-2:] == ["e2e-inbox-1", "e2e-inbox-2"]
        [first] = [i for i in items
                   if str(i.icalendar_component["UID"]) == "e2e-inbox-1"]
        first.delete()
    with client(live_server, "bob") as bob_dav:
        items = bob_dav.principal().schedule_inbox().get_items()
        uids = [str(i.icalendar_component["UID"]) for i in items]
        assert "e2e-inbox-1" not in uids
        assert "e2e-inbox-2" in uids
        assert all(i.data and "BEGIN:VCALENDAR" in i.data for i in items)
