"""Only the owner reaches an inbox or outbox; clients cannot fill them."""

import os

import pytest

INBOX = "/alice/.schedule-inbox/"
OUTBOX = "/alice/.schedule-outbox/"
EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
METHOD:REQUEST
BEGIN:VEVENT
UID:meeting-1
DTSTAMP:20260101T000000Z
DTSTART:20260105T100000Z
DTEND:20260105T110000Z
SUMMARY:Private planning
ORGANIZER:mailto:bob@example.org
ATTENDEE:mailto:alice@example.org
END:VEVENT
END:VCALENDAR
"""


def deliver_by_hand(server, name="message-1.ics"):
    """Put a message into alice's inbox folder as delivery will."""
    server.propfind(INBOX, "D:resourcetype")  # first use creates it
    folder = os.path.join(server.collection_root(), "alice",
                          ".schedule-inbox")
    with open(os.path.join(folder, name), "w") as f:
        f.write(EVENT.replace("\n", "\r\n"))
    return INBOX + name


def test_owner_lists_reads_and_deletes_inbox_items(server):
    href = deliver_by_hand(server)
    listing = server.propfind(INBOX, "D:getetag", depth="1")
    assert listing.status == 207
    assert href in listing.responses()
    got = server.request("GET", href, user="alice")
    assert got.status == 200
    assert "Private planning" in got.text
    assert server.request("DELETE", href, user="alice").status == 200
    assert server.request("GET", href, user="alice").status == 404


@pytest.mark.parametrize("fixture", ["server", "open_server"])
def test_other_users_get_nothing_from_an_inbox(request, fixture):
    """Even where rights let everyone read everything."""
    server = request.getfixturevalue(fixture)
    href = deliver_by_hand(server)
    for method, path, extra in (
            ("PROPFIND", INBOX, {"depth": "1"}),
            ("GET", href, {}),
            ("DELETE", href, {}),
            ("PROPFIND", OUTBOX, {"depth": "0"}),
            ("REPORT", INBOX, {"depth": "1"})):
        body = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>'
                '</D:prop><C:filter><C:comp-filter name="VCALENDAR"/>'
                '</C:filter></C:calendar-query>' if method == "REPORT"
                else None)
        response = server.request(method, path, body, user="bob", **extra)
        assert response.status == 403, (method, path)
        assert b"Private planning" not in response.body
    # Nothing was deleted.
    assert server.request("GET", href, user="alice").status == 200


def test_anonymous_is_asked_to_log_in(server):
    deliver_by_hand(server)
    response = server.request("PROPFIND", INBOX, depth="0")
    assert response.status == 401


def test_other_users_principal_gives_no_scheduling_details(open_server):
    """Only the directory facts a principal search shows (the addresses,
    to invite her), never her inbox or outbox."""
    open_server.propfind(INBOX, "D:resourcetype")
    response = open_server.propfind(
        "/alice/", "C:schedule-inbox-URL", "C:schedule-outbox-URL",
        "C:calendar-user-address-set", user="bob")
    assert response.status == 207
    assert b".schedule-inbox" not in response.body
    assert b".schedule-outbox" not in response.body
    assert b"mailto:alice@example.org" in response.body


@pytest.mark.parametrize("path", [INBOX + "new.ics", OUTBOX + "new.ics",
                                  INBOX, OUTBOX])
def test_put_into_inbox_or_outbox_is_refused(server, path):
    response = server.request("PUT", path, EVENT, user="alice",
                              content_type="text/calendar")
    assert response.status == 403
    assert b"schedule" in response.body
    listing = server.propfind(path.rsplit("/", 1)[0] + "/"
                              if path.endswith(".ics") else path,
                              "D:getetag", depth="1")
    assert not [h for h in listing.responses() if h.endswith(".ics")]


def test_inbox_and_outbox_cannot_be_deleted_moved_into_or_created(server):
    href = deliver_by_hand(server)
    for path in (INBOX, OUTBOX):
        assert server.request("DELETE", path, user="alice").status == 403
    assert server.request("MKCOL", INBOX + "sub/", user="alice").status == 403
    assert server.mkcalendar("/alice/.schedule-inbox/cal/").status == 403
    # MOVE out of the inbox and into the outbox
    assert server.mkcalendar("/alice/calendar/").status == 201
    moved = server.request("MOVE", href, user="alice",
                           destination="http://localhost/alice/calendar/x.ics")
    assert moved.status == 403
    assert server.request("PUT", "/alice/calendar/e.ics",
                          EVENT.replace("METHOD:REQUEST\n", ""),
                          user="alice").status == 201
    moved = server.request("MOVE", "/alice/calendar/e.ics", user="alice",
                           destination="http://localhost" + INBOX + "e.ics")
    assert moved.status == 403
    assert server.request("GET", "/alice/calendar/e.ics",
                          user="alice").status == 200
    assert server.request("GET", href, user="alice").status == 200
