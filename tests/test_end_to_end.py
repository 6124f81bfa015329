"""A real client (python-caldav) against a real ``python -m radicale``."""

import datetime
import urllib.request
from urllib.parse import urlparse

import caldav
import pytest


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
