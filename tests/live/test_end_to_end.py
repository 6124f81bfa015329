"""A real client (python-caldav) against a real ``python -m radicale``."""

import datetime
import urllib.request
from urllib.parse import urlparse

import caldav
import icalendar
import pytest

pytestmark = pytest.mark.e2e


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


def _meeting(alice, uid, summary):
    calendar = calendar_of(alice)
    event = calendar.save_event(
        dtstart=datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.timezone.utc),
        dtend=datetime.datetime(2026, 3, 2, 10, tzinfo=datetime.timezone.utc),
        summary=summary, uid=uid)
    event.add_organizer()
    event.add_attendee("mailto:bob@example.org")
    event.add_attendee("mailto:carol@example.org")
    event.save()
    return calendar


def _copy_of(principal, uid):
    """The user's copy, in whichever of their calendars it is."""
    for calendar in principal.calendars():
        try:
            found = calendar.event_by_uid(uid)
        except caldav.lib.error.NotFoundError:
            continue
        found.load()
        return found
    raise AssertionError("no copy of %s" % uid)


def _lines(component, name):
    value = component.get(name)
    return value if isinstance(value, list) else [value]


def _partstat(component, address):
    return [a for a in _lines(component, "attendee")
            if str(a).lower() == address][0].params.get("PARTSTAT")


def test_an_attendee_saves_her_accepted_copy_as_clients_do(live_server):
    """Issue 19 point 2: bob's client sends his whole copy back with other
    CNs, EMAIL= and the properties in another order: accepted, and the
    REPLY reaches alice."""
    with client(live_server, "alice") as alice_dav, \
            client(live_server, "bob") as bob_dav, \
            client(live_server, "carol") as carol_dav:
        alice, bob = alice_dav.principal(), bob_dav.principal()
        bob.schedule_inbox()
        carol_dav.principal().schedule_inbox()
        calendar = _meeting(alice, "e2e-cosmetic", "Design review")
        mine = _copy_of(bob, "e2e-cosmetic")
        component = mine.icalendar_component
        component["organizer"].params["CN"] = "Alice (work)"
        component["organizer"].params["EMAIL"] = "alice@example.org"
        for line in _lines(component, "attendee"):
            if str(line).lower() == "mailto:carol@example.org":
                line.params["CN"] = "Carol C."
                line.params["EMAIL"] = "carol@example.org"
            else:
                line.params["PARTSTAT"] = "ACCEPTED"
        items = list(component.items())
        for name, _ in items:
            del component[name]
        for name, value in reversed(items):
            component[name] = value
        mine.save()  # no error: the server took it
        theirs = calendar.event_by_uid("e2e-cosmetic")
        theirs.load()
        assert _partstat(theirs.icalendar_component,
                         "mailto:bob@example.org") == "ACCEPTED"
        replies = [item for item in alice.schedule_inbox().get_items()
                   if "e2e-cosmetic" in item.data and
                   "METHOD:REPLY" in item.data]
        assert len(replies) == 1
        # bob's stored copy keeps alice's own lines for the others.
        mine.load()
        assert "Carol C." not in mine.data and "EMAIL=" not in mine.data


def test_an_attendee_made_organizer_is_refused(live_server):
    """Issue 19 point 4: bob's client makes bob the ORGANIZER of alice's
    meeting: refused, and nobody's copy changes."""
    with client(live_server, "alice") as alice_dav, \
            client(live_server, "bob") as bob_dav, \
            client(live_server, "carol") as carol_dav:
        alice, bob = alice_dav.principal(), bob_dav.principal()
        carol = carol_dav.principal()
        bob.schedule_inbox()
        carol.schedule_inbox()
        calendar = _meeting(alice, "e2e-usurp", "Board meeting")
        before = calendar.event_by_uid("e2e-usurp")
        before.load()
        mine = _copy_of(bob, "e2e-usurp")
        stored = mine.data
        mine.icalendar_component["organizer"] = icalendar.vCalAddress(
            "mailto:bob@example.org")
        with pytest.raises(caldav.lib.error.DAVError):
            mine.save()
        assert _copy_of(bob, "e2e-usurp").data == stored
        after = calendar.event_by_uid("e2e-usurp")
        after.load()
        assert after.data == before.data
        carols = _copy_of(carol, "e2e-usurp")
        assert "mailto:alice.example@family.example" == str(
            carols.icalendar_component["organizer"]).lower()


# -- recurring meetings and invited principals (issue 19) -------------------

def _vevent(uid, start, *attendees, rid=None, rule=None, organizer=None):
    lines = ["BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20260101T000000Z",
             "DTSTART:" + start, "DTEND:" + start[:9] + "11" + start[11:],
             "SUMMARY:Weekly " + uid,
             "ORGANIZER:" + (organizer or "mailto:alice@example.org")]
    if rid:
        lines.append("RECURRENCE-ID:" + rid)
    if rule:
        lines.append("RRULE:" + rule)
    lines += ["ATTENDEE;PARTSTAT=NEEDS-ACTION:" + a for a in attendees]
    return "\r\n".join(lines + ["END:VEVENT"]) + "\r\n"


def _calendar(*comps):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//e2e//EN\r\n" +
            "".join(comps) + "END:VCALENDAR\r\n")


def _inbox(principal, uid):
    """The inbox messages about ``uid``, as (METHOD, icalendar)."""
    found = []
    for item in principal.schedule_inbox().get_items():
        item.load()
        cal = item.icalendar_instance
        if any(str(c.get("uid")) == uid for c in cal.walk("VEVENT")):
            found.append((str(cal.get("method")), cal))
    return sorted(found, key=lambda x: x[0])


def _rids(cal):
    return sorted(c["recurrence-id"].dt.strftime("%Y%m%dT%H%M%S")
                  for c in cal.walk("VEVENT") if "recurrence-id" in c)


BOB = "mailto:bob@example.org"


def _holding(principal, uid):
    """The one calendar of the user's that holds ``uid`` (the default
    calendar invitations are delivered to, RFC 6638 s4.3)."""
    found = []
    for calendar in principal.calendars():
        try:
            calendar.event_by_uid(uid)
        except caldav.lib.error.NotFoundError:
            continue
        found.append(calendar)
    [calendar] = found
    return calendar


def _copy(principal, uid):
    event = _holding(principal, uid).event_by_uid(uid)
    event.load()
    return event


def test_invite_to_two_instances_only_with_python_caldav(live_server):
    with client(live_server, "alice") as alice_dav, \
            client(live_server, "bob") as bob_dav:
        alice, bob = alice_dav.principal(), bob_dav.principal()
        bob.schedule_inbox()
        calendar = calendar_of(alice)
        calendar.save_event(_calendar(
            _vevent("e2e-two", "20260302T100000Z", BOB,
                    rid="20260302T100000Z"),
            _vevent("e2e-two", "20260316T100000Z", BOB,
                    rid="20260316T100000Z")))
        [(method, message)] = _inbox(bob, "e2e-two")
        assert method == "REQUEST"
        assert _rids(message) == ["20260302T100000", "20260316T100000"]
        mine = _copy(bob, "e2e-two")
        assert _rids(mine.icalendar_instance) == ["20260302T100000",
                                                  "20260316T100000"]
        # The server finds the second instance by time, not the week between.
        found = _holding(bob, "e2e-two").search(
            start=datetime.datetime(2026, 3, 16, tzinfo=datetime.timezone.utc),
            end=datetime.datetime(2026, 3, 17, tzinfo=datetime.timezone.utc),
            event=True)
        assert [str(e.icalendar_component["uid"]) for e in found] == [
            "e2e-two"]
        assert _holding(bob, "e2e-two").search(
            start=datetime.datetime(2026, 3, 9, tzinfo=datetime.timezone.utc),
            end=datetime.datetime(2026, 3, 10, tzinfo=datetime.timezone.utc),
            event=True) == []


def test_organizer_truncates_the_series_with_python_caldav(live_server):
    with client(live_server, "alice") as alice_dav, \
            client(live_server, "bob") as bob_dav:
        alice, bob = alice_dav.principal(), bob_dav.principal()
        bob.schedule_inbox()
        calendar = calendar_of(alice)
        event = calendar.save_event(_calendar(_vevent(
            "e2e-cut", "20260406T100000Z", BOB, rule="FREQ=WEEKLY;COUNT=6")))
        event.load()
        event.icalendar_component["rrule"]["COUNT"] = [2]
        event.save()
        mine = _copy(bob, "e2e-cut")
        assert mine.icalendar_component["rrule"]["COUNT"] == [2]
        # The removed weeks are gone from bob's calendar.
        assert _holding(bob, "e2e-cut").search(
            start=datetime.datetime(2026, 4, 27, tzinfo=datetime.timezone.utc),
            end=datetime.datetime(2026, 5, 12, tzinfo=datetime.timezone.utc),
            event=True) == []
        assert [m for m, _ in _inbox(bob, "e2e-cut")] == ["REQUEST",
                                                          "REQUEST"]


def test_attendee_declines_one_instance_with_python_caldav(live_server):
    import icalendar
    with client(live_server, "alice") as alice_dav, \
            client(live_server, "bob") as bob_dav:
        alice, bob = alice_dav.principal(), bob_dav.principal()
        bob.schedule_inbox()
        calendar = calendar_of(alice)
        calendar.save_event(_calendar(_vevent(
            "e2e-one", "20260504T100000Z", BOB, rule="FREQ=WEEKLY;COUNT=4")))
        mine = _copy(bob, "e2e-one")
        # bob's client declines the second week: an override of its own.
        master = mine.icalendar_component
        override = icalendar.Event()
        for name in ("uid", "summary", "organizer", "sequence"):
            if name in master:
                override.add(name, master[name])
        override.add("dtstamp", datetime.datetime.now(datetime.timezone.utc))
        week2 = datetime.datetime(2026, 5, 11, 10,
                                  tzinfo=datetime.timezone.utc)
        override.add("recurrence-id", week2)
        override.add("dtstart", week2)
        override.add("dtend", week2 + datetime.timedelta(hours=1))
        override.add("attendee", BOB, parameters={"PARTSTAT": "DECLINED"})
        mine.icalendar_instance.add_component(override)
        mine.save(increase_seqno=False)
        theirs = calendar.event_by_uid("e2e-one")
        theirs.load()
        overrides = [c for c in theirs.icalendar_instance.walk("VEVENT")
                     if "recurrence-id" in c]
        assert [c["recurrence-id"].dt for c in overrides] == [week2]
        attendees = overrides[0].get("attendee")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        [line] = [a for a in attendees if str(a).lower() == BOB]
        assert line.params["PARTSTAT"] == "DECLINED"
        master = [c for c in theirs.icalendar_instance.walk("VEVENT")
                  if "recurrence-id" not in c][0]
        assert "DECLINED" not in str(master.get("attendee"))
        assert [m for m, _ in _inbox(alice, "e2e-one")] == ["REPLY"]


def test_a_user_found_by_search_is_invited_with_save_with_invites(
        live_server):
    with client(live_server, "alice") as alice_dav, \
            client(live_server, "carol") as carol_dav:
        alice, carol = alice_dav.principal(), carol_dav.principal()
        carol.schedule_inbox()
        [found] = alice_dav.search_principals("carol")
        address = found.get_vcal_address()
        assert str(address) == "mailto:carol@example.org"
        assert address.params["CUTYPE"] == "INDIVIDUAL"
        calendar = calendar_of(alice)
        ical = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//e2e//EN\r\n"
                "BEGIN:VEVENT\r\nUID:e2e-found\r\nDTSTAMP:20260101T000000Z\r\n"
                "DTSTART:20260601T100000Z\r\nDTEND:20260601T110000Z\r\n"
                "SUMMARY:Found you\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
        calendar.save_with_invites(ical, [found])
        [(method, message)] = _inbox(carol, "e2e-found")
        assert method == "REQUEST"
        assert "Found you" in message.to_ical().decode()
        mine = _copy(carol, "e2e-found")
        assert str(mine.icalendar_component["summary"]) == "Found you"


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
        assert {"e2e-inbox-1", "e2e-inbox-2"} <= set(uids)
        [first] = [i for i in items
                   if str(i.icalendar_component["UID"]) == "e2e-inbox-1"]
        first.delete()
    with client(live_server, "bob") as bob_dav:
        items = bob_dav.principal().schedule_inbox().get_items()
        uids = [str(i.icalendar_component["UID"]) for i in items]
        assert "e2e-inbox-1" not in uids
        assert "e2e-inbox-2" in uids
        assert all(i.data and "BEGIN:VCALENDAR" in i.data for i in items)
