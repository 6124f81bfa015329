"""Smaller hardening of the HTTP surface (issue 16 point 7): each refusal
is the client's error with a reason, and changes nothing."""

import io

import pytest
from test_principal_search import property_search, search
from test_security import OUTBOX, crowd

from helpers import changes, error_element, prop, snapshot
from radicale_scheduling import compat
from scheduling_helpers import ics, methods, put

CAL = "/alice/calendar/"


def raw(server, method, path, body, length, user="alice", **headers):
    """A request whose Content-Length header is exactly ``length``."""
    captured = {}
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path,
        "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": length, "CONTENT_TYPE": "text/calendar",
        "HTTP_AUTHORIZATION": "Basic %s" % {
            "alice": "YWxpY2U6cmFkaWNhbGU="}[user]}
    environ.update(("HTTP_" + k.upper(), v) for k, v in headers.items())

    def start_response(status, response_headers):
        captured["status"] = int(status.split()[0])

    body = b"".join(server.app(environ, start_response))
    return captured["status"], body


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "12 34", "٣"])
@pytest.mark.parametrize("method, path", [
    ("POST", OUTBOX), ("PUT", CAL + "new.ics"), ("PROPFIND", CAL),
    ("REPORT", CAL)])
def test_a_malformed_content_length_is_400(world, length, method, path):
    body = ics("new", "bob").encode()
    before = snapshot(world)
    status, answer = raw(world, method, path, body, length)
    assert status == 400, answer
    assert b"Content-Length" in answer
    assert changes(before, snapshot(world)) == []
    assert methods(world, "bob") == ["REQUEST"]  # m1 only


def test_nobody_else_deletes_the_default_calendar(open_world):
    """RFC 6638 s4.3.1.1 for everyone whom rights let write there: not the
    default calendar, nor the principal holding it."""
    server = open_world
    before = snapshot(server)
    for path in ("/alice/calendar/", "/alice/"):
        response = server.request("DELETE", path, user="bob")
        assert response.status == 403, path
        assert error_element(response, "C:default-calendar-needed") \
            is not None
        assert b"alice's inbox" in response.body
    assert changes(before, snapshot(server)) == []
    # Another calendar of alice's is no default: rights decide, as ever.
    assert server.mkcalendar("/alice/other/").status == 201
    assert server.request("DELETE", "/alice/other/",
                          user="bob").status == 200


def test_the_admins_name_wins_over_a_users_display_name(server):
    """The addresses file names alice "Alice Example" and the room
    "Meeting room 1": what they or others set does not show."""
    for user, name in (("bob", "Alice Example"), ("alice", "Bob"),
                       ("room-1", "CEO")):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
        response = server.proppatch(
            "/%s/" % user, "<D:displayname>%s</D:displayname>" % name,
            user=user)
        assert response.status == 207
    found = search(server, property_search(("D:displayname", "")))
    shown = {href: prop(r, "D:displayname").text
             for href, r in found.items()}
    assert shown["/alice/"] == "Alice Example"
    assert shown["/room-1/"] == "Meeting room 1"
    # bob's own name would be another user's: his user name stands in.
    assert shown["/bob/"] == "bob"
    found = search(server, property_search(("D:displayname",
                                            "alice example")))
    assert list(found) == ["/alice/"]
    # The principal's own property is left as the user set it.
    response = server.propfind("/bob/", "D:displayname", user="bob")
    assert b"Alice Example" in response.body


def test_limits_count_folded_lines_too(world):
    """The PUT limits count the text before parsing it (http/limits.py):
    a property name folded across lines (RFC 5545 s3.1) counts all the
    same, and the refusal changes nothing."""
    before = snapshot(world)
    folded = put(world, "alice", CAL + "two.ics", ics("two", "bob", extra=(
        "RRULE:FREQ=DAILY;COUNT=3\nRR\n ULE:FREQ=SECONDLY\n")))
    assert folded.status == 400 and b"RRULE" in folded.body
    many = crowd(101, uid="folded").replace("ATTENDEE:", "ATTEN\r\n\tDEE:")
    response = put(world, "alice", CAL + "folded.ics", many)
    assert response.status == 403
    assert error_element(response, "C:max-attendees-per-instance") \
        is not None
    assert changes(before, snapshot(world)) == []
    # Rules of a time zone count too, though parsing makes them a tzinfo.
    zoned = ics("zoned", "bob", components=(
        "BEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:DAYLIGHT\r\n"
        "DTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\n"
        "TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
        "RRULE:FREQ=SECONDLY\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"))
    assert put(world, "alice", CAL + "zoned.ics", zoned).status == 400
    assert changes(before, snapshot(world)) == []
    # Words that only look like property names are no limit.
    text = ics("words", "bob", extra="DESCRIPTION:rrule rrule attendee\n")
    assert put(world, "alice", CAL + "words.ics", text).status == 201


def test_a_lone_carriage_return_is_refused(world):
    """Radicale 3.9 stored a CR without LF inside a value and then read the
    file back with the CR as a line break: every later PUT of that object
    failed with 500 (found by the fuzzer).  Refused; CRLF is fine."""
    before = snapshot(world)
    text = ics("cr", "bob", summary="Plan\rning")
    response = put(world, "alice", CAL + "cr.ics", text)
    assert response.status == 400 and b"carriage return" in response.body
    assert changes(before, snapshot(world)) == []
    fixed = text.replace("Plan\rning", "Planning")
    assert put(world, "alice", CAL + "cr.ics", fixed).status == 201
    assert put(world, "alice", CAL + "cr.ics", fixed).status in (201, 204)


def test_radicale_versions_compare_by_release_numbers():
    """The supported range (compat.SUPPORTED) is compared as numbers:
    3.10 is after 3.9, a development release counts as its release."""
    assert compat.version_tuple("3.5.10.dev1") == (3, 5, 10)
    assert compat.version_tuple("3.1.8") >= compat.SUPPORTED[0]
    assert compat.version_tuple("3.9.0") < compat.SUPPORTED[1]
    assert compat.version_tuple("3.10.0") >= compat.SUPPORTED[1]
    assert compat.version_tuple("3.9") < compat.version_tuple("3.10")
    with pytest.raises(ValueError):
        compat.version_tuple("next")
