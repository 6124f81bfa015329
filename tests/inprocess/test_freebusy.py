"""Free-busy lookups: POST a VFREEBUSY request to the outbox (RFC 6638 s5,
s10, RFC 5546 s3.3)."""

import re

import pytest

from helpers import NS, proppatch_refused
from scheduling_helpers import put

OUTBOX = "/alice/.schedule-outbox/"
TZ_PARIS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
END:VCALENDAR
"""


def request_body(*attendees, start="20260105T000000Z", end="20260112T000000Z",
                 organizer="alice", method="REQUEST", extra=""):
    lines = "".join("ATTENDEE:mailto:%s\r\n" % (a if "@" in a else
                                                a + "@example.org")
                    for a in attendees)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            "METHOD:%s\r\nBEGIN:VFREEBUSY\r\nUID:fb-1\r\n"
            "DTSTAMP:20260101T000000Z\r\nDTSTART:%s\r\nDTEND:%s\r\n"
            "ORGANIZER:mailto:%s@example.org\r\n%s%sEND:VFREEBUSY\r\n"
            "END:VCALENDAR\r\n" % (method, start, end, organizer, lines,
                                   extra))


def post(server, body, user="alice", path=OUTBOX):
    return server.request("POST", path, body, user=user,
                          content_type="text/calendar; charset=utf-8")


def event(uid, start, end=None, extra=""):
    end_line = "DTEND%s\r\n" % end if end else ""
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART%s\r\n%sSUMMARY:Secret %s\r\nLOCATION:Hidden place\r\n"
            "%sEND:VEVENT\r\nEND:VCALENDAR\r\n" % (uid, start, end_line, uid,
                                                   extra))


def periods(response, recipient):
    for element in response.xml.findall("C:response", NS):
        if element.findtext("C:recipient/D:href", namespaces=NS) == recipient:
            status = element.findtext("C:request-status", namespaces=NS)
            data = element.findtext("C:calendar-data", namespaces=NS) or ""
            found = re.findall(r"FREEBUSY;FBTYPE=([A-Z-]+):(\S+)",
                               data.replace("\r\n ", ""))
            return status, data, found
    raise AssertionError("no response for %s" % recipient)


@pytest.fixture
def bob_busy(server):
    for user in ("alice", "bob", "carol"):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar("/bob/work/", user="bob").status == 201
    assert server.mkcalendar("/bob/holidays/", user="bob").status == 201
    # bob lives in Paris: his all-day and floating events are Paris time.
    assert server.proppatch(
        "/bob/work/", "<C:calendar-timezone>%s</C:calendar-timezone>"
        % TZ_PARIS.replace("\n", "&#13;\n"), user="bob").status == 207
    assert server.proppatch(
        "/bob/holidays/", "<C:schedule-calendar-transp><C:transparent/>"
        "</C:schedule-calendar-transp>", user="bob").status == 207
    events = {
        # Weekly at 10:00 UTC, every Tuesday since 2025: one in the week.
        "weekly": event("weekly", ":20250107T100000Z", ":20250107T110000Z",
                        "RRULE:FREQ=WEEKLY\r\n"),
        # Overlaps the weekly one: merged into 09:30-11:00.
        "overlap": event("overlap", ":20260106T093000Z", ":20260106T103000Z"),
        "tentative": event("tentative", ":20260107T140000Z",
                           ":20260107T150000Z", "STATUS:TENTATIVE\r\n"),
        "cancelled": event("cancelled", ":20260108T080000Z",
                           ":20260108T090000Z", "STATUS:CANCELLED\r\n"),
        "free": event("free", ":20260108T120000Z", ":20260108T130000Z",
                      "TRANSP:TRANSPARENT\r\n"),
        # All day on Friday in Paris: 23:00 UTC Thursday to 23:00 Friday.
        "allday": event("allday", ";VALUE=DATE:20260109",
                        ";VALUE=DATE:20260110"),
        # Floating 08:00-09:00 Saturday, Paris time: 07:00-08:00 UTC.
        "floating": event("floating", ":20260110T080000",
                          ":20260110T090000"),
        # Outside the window.
        "later": event("later", ":20260301T100000Z", ":20260301T110000Z"),
    }
    for name, text in events.items():
        assert put(server, "bob", "/bob/work/%s.ics" % name, text).status \
            == 201, name
    assert put(server, "bob", "/bob/holidays/trip.ics", event(
        "trip", ":20260105T000000Z", ":20260106T000000Z")).status == 201
    return server


def test_busy_periods_are_exact_and_merged(bob_busy):
    response = post(bob_busy, request_body("bob"))
    assert response.status == 200
    status, data, found = periods(response, "mailto:bob@example.org")
    assert status.startswith("2.0")
    assert found == [
        ("BUSY", "20260106T093000Z/20260106T110000Z"),
        ("BUSY-TENTATIVE", "20260107T140000Z/20260107T150000Z"),
        ("BUSY", "20260108T230000Z/20260109T230000Z"),
        ("BUSY", "20260110T070000Z/20260110T080000Z"),
    ]
    assert "METHOD:REPLY" in data and "BEGIN:VFREEBUSY" in data


def test_the_reply_tells_nothing_but_busy_time(bob_busy):
    response = post(bob_busy, request_body("bob"))
    for secret in (b"Secret", b"Hidden", b"weekly", b"overlap", b"SUMMARY",
                   b"LOCATION", b"DESCRIPTION"):
        assert secret not in response.body


def test_several_recipients_and_unknown_ones(bob_busy):
    response = post(bob_busy, request_body("bob", "carol", "nobody",
                                           "x@elsewhere.example"))
    assert response.status == 200
    assert periods(response, "mailto:carol@example.org")[2] == []
    assert periods(response, "mailto:nobody@example.org")[0].startswith("3.7")
    assert periods(response, "mailto:x@elsewhere.example")[0].startswith(
        "3.7")


@pytest.mark.parametrize("body, status, precondition", [
    (request_body("bob", method="PUBLISH"), 400, "valid-scheduling-message"),
    (request_body("bob", start="20260112T000000Z", end="20260105T000000Z"),
     400, "valid-scheduling-message"),
    (request_body(), 400, "valid-scheduling-message"),
    (request_body("bob").replace("DTEND:20260112T000000Z\r\n", ""), 400,
     "valid-scheduling-message"),
    (request_body("bob").replace("VFREEBUSY", "VEVENT"), 400,
     "valid-scheduling-message"),
    ("this is not iCalendar", 400, "valid-calendar-data"),
    (request_body("bob", organizer="bob"), 403, "valid-organizer"),
    (request_body("bob", end="20280101T000000Z"), 403,
     "valid-scheduling-message"),
    (request_body(*["u%d" % i for i in range(51)]), 403,
     "valid-scheduling-message"),
])
def test_bad_requests_get_the_precondition_and_a_reason(
        bob_busy, body, status, precondition):
    response = post(bob_busy, body)
    assert response.status == status
    assert response.xml.find("C:" + precondition, NS) is not None
    assert response.xml.findtext("D:responsedescription", namespaces=NS)


def test_only_the_owner_posts_to_an_outbox(bob_busy):
    response = post(bob_busy, request_body("carol", organizer="bob"),
                    user="bob", path=OUTBOX)
    assert response.status == 403
    assert b"BEGIN:VFREEBUSY" not in response.body


def test_a_rule_that_never_ends_is_cut_off(bob_busy):
    assert put(bob_busy, "bob", "/bob/work/storm.ics", event(
        "storm", ":19700101T000000Z", ":19700101T000001Z",
        "RRULE:FREQ=SECONDLY;BYSECOND=0,1,2,3,4,5,6,7,8,9\r\n")).status == 201
    response = post(bob_busy, request_body("bob"))
    assert response.status in (200, 403)
    if response.status == 403:
        assert response.xml.find("C:valid-scheduling-message", NS) is not None


def test_existing_free_busy_report_keeps_working(bob_busy):
    body = ('<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params'
            ':xml:ns:caldav"><C:time-range start="20260105T000000Z" '
            'end="20260112T000000Z"/></C:free-busy-query>')
    response = bob_busy.request("REPORT", "/bob/work/", body, user="bob",
                                depth="1")
    if response.status == 207:  # Radicale 3.1 answers a multistatus
        assert b"/bob/work/weekly.ics" in response.body
        return
    assert response.status == 200
    assert b"VFREEBUSY" in response.body


def test_merge_keeps_the_stronger_type_where_types_overlap():
    import datetime

    from radicale_scheduling.itip.freebusy import merge

    def t(hour, minute=0):
        return datetime.datetime(2026, 1, 5, hour, minute,
                                 tzinfo=datetime.timezone.utc)
    merged = merge([(t(9), t(12), "BUSY-TENTATIVE"), (t(10), t(11), "BUSY"),
                    (t(11), t(11, 30), "BUSY"), (t(13), t(14), "BUSY"),
                    (t(13, 30), t(15), "BUSY")])
    assert merged == [(t(9), t(10), "BUSY-TENTATIVE"),
                      (t(10), t(11, 30), "BUSY"),
                      (t(11, 30), t(12), "BUSY-TENTATIVE"),
                      (t(13), t(15), "BUSY")]


def test_calendar_availability_makes_the_rest_unavailable(bob_busy):
    """RFC 7953 s7.2.4: CALDAV:calendar-availability on the inbox."""
    availability = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VAVAILABILITY\r\nUID:avail\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260105T000000Z\r\nDTEND:20260107T000000Z\r\n"
        "BEGIN:AVAILABLE\r\nUID:avail-1\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260105T080000Z\r\nDTEND:20260105T160000Z\r\n"
        "RRULE:FREQ=DAILY\r\nEND:AVAILABLE\r\nEND:VAVAILABILITY\r\n"
        "END:VCALENDAR\r\n")
    inbox = "/carol/.schedule-inbox/"
    response = bob_busy.proppatch(
        inbox, "<C:calendar-availability>%s</C:calendar-availability>"
        % availability.replace("\r\n", "&#13;\n"), user="carol")
    assert response.status == 207
    found = periods(post(bob_busy, request_body("carol")),
                    "mailto:carol@example.org")[2]
    assert found == [
        ("BUSY-UNAVAILABLE", "20260105T000000Z/20260105T080000Z"),
        ("BUSY-UNAVAILABLE", "20260105T160000Z/20260106T080000Z"),
        ("BUSY-UNAVAILABLE", "20260106T160000Z/20260107T000000Z"),
    ]
    # Not iCalendar, or no VAVAILABILITY: refused, nothing stored.
    for value in ("nonsense", availability.replace("VAVAILABILITY", "VTODO")
                  .replace("AVAILABLE", "VALARM")):
        response = bob_busy.proppatch(
            inbox, "<C:calendar-availability>%s</C:calendar-availability>"
            % value, user="carol")
        assert proppatch_refused(response, 409)
    assert len(periods(post(bob_busy, request_body("carol")),
                       "mailto:carol@example.org")[2]) == 3


@pytest.mark.parametrize("rule, busy", [
    # February 30 and April 31 never come: only DTSTART is an instance.
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", False),
    ("FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31,-32", False),
    # February 29 does come (2028), and the 31st of some months.
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", True),
    ("FREQ=MONTHLY;BYMONTHDAY=31", True),
])
def test_rules_naming_days_that_never_come(server, rule, busy):
    """RFC 5545 s3.3.10: days that do not exist are ignored, so such a
    rule has DTSTART alone (and free-busy does not search up to 9999)."""
    server.mkcalendar("/bob/calendar/", user="bob")
    assert put(server, "bob", "/bob/calendar/odd.ics", event(
        "odd", ":20260105T100000Z", ":20260105T110000Z",
        "RRULE:%s\r\n" % rule)).status == 201
    first = periods(post(server, request_body("bob")),
                    "mailto:bob@example.org")[2]
    assert first == [("BUSY", "20260105T100000Z/20260105T110000Z")]
    later = periods(post(server, request_body(
        "bob", start="20280201T000000Z", end="20280401T000000Z")),
        "mailto:bob@example.org")[2]
    assert bool(later) == busy, later
