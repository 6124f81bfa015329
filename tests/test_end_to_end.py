"""A real client (python-caldav) against a real ``python -m radicale``."""

import datetime
import urllib.request
from urllib.parse import urlparse

import caldav
import pytest

pytestmark = pytest.mark.e2e


def client(live_server, user):
    return caldav.DAVClient(url=live_server["url"], username=user,
                            password=live_server["password"])


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
        # The inbox answers (empty); discovering it made the default calendar.
        assert inbox.children() == []
        calendars = principal.calendars()
        assert [urlparse(str(c.url)).path for c in calendars] == [
            "/alice/calendar/"]


def test_inbox_is_not_offered_as_a_calendar(live_server):
    with client(live_server, "bob") as dav:
        principal = dav.principal()
        principal.schedule_inbox()
        cal = principal.make_calendar(name="Work", cal_id="work")
        paths = sorted(urlparse(str(c.url)).path for c in principal.calendars())
        # The default calendar made at discovery, and bob's own; never the
        # inbox or outbox.
        assert paths == ["/bob/calendar/", "/bob/work/"]
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
        calendar = alice.calendars()[0]
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
