"""Every message the server puts in an inbox can be listed, read and
deleted through Radicale (RFC 6638 s4.1), whatever its shape: a
DECLINECOUNTER without DTSTART (RFC 5546 s3.2.8), a CANCEL of several
instances (no master component); and a deleted message does not come back
in an initial sync-collection report (RFC 6578 s3.4)."""

import logging

import pytest
from test_counter import post, statuses

from helpers import NS
from scheduling_helpers import hrefs, ics, inbox, organize, put

CAL = "/alice/calendar/"
BOB_INBOX = "/bob/.schedule-inbox/"
SYNC = ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:">'
        '<D:sync-token>%s</D:sync-token><D:sync-level>1</D:sync-level>'
        '<D:prop><D:getetag/></D:prop></D:sync-collection>')

DECLINECOUNTER = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "METHOD:DECLINECOUNTER\r\nBEGIN:VEVENT\r\nUID:m1\r\n"
    "DTSTAMP:20260102T000000Z\r\nSEQUENCE:0\r\n"
    "ORGANIZER:mailto:alice@example.org\r\n"
    "ATTENDEE:mailto:bob@example.org\r\n"
    "COMMENT:Tuesday does not work\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def sync(server, user, path, token=""):
    response = server.request("REPORT", path, SYNC % token, user=user)
    assert response.status == 207, response.text
    members = {r.findtext("D:href", namespaces=NS):
               r.findtext("D:status", namespaces=NS) or
               r.findtext("D:propstat/D:status", namespaces=NS)
               for r in response.xml.findall("D:response", NS)}
    return members, response.xml.findtext("D:sync-token", namespaces=NS)


def listed_read_and_deleted(server, user, method, caplog):
    """The message is listed, readable and deletable; then gone, also
    from an initial sync."""
    members = hrefs(server, user, "/%s/.schedule-inbox/" % user)
    found = [h for h in members if "METHOD:%s\r\n" % method in
             server.request("GET", h, user=user).text]
    assert len(found) == 1, members
    [href] = found
    synced, _ = sync(server, user, "/%s/.schedule-inbox/" % user)
    assert href in synced
    assert server.request("DELETE", href, user=user).status in (200, 204)
    assert server.request("GET", href, user=user).status == 404
    assert href not in hrefs(server, user, "/%s/.schedule-inbox/" % user)
    synced, _ = sync(server, user, "/%s/.schedule-inbox/" % user)
    assert href not in synced, synced
    assert "Skip broken item" not in caplog.text


@pytest.fixture
def invited(server):
    return organize(server, ics("m1", "bob", "carol"),
                    ("alice", "bob", "carol"))


def test_a_declinecounter_without_dtstart_can_be_read_and_deleted(
        invited, caplog):
    caplog.set_level(logging.WARNING)
    assert statuses(post(invited, "alice", DECLINECOUNTER)) == {
        "mailto:bob@example.org": "2.0;Success"}
    [(_, text)] = [m for m in inbox(invited, "bob")
                   if m[0] == "DECLINECOUNTER"]
    assert "COMMENT:Tuesday does not work" in text
    assert "DTSTART" not in text
    listed_read_and_deleted(invited, "bob", "DECLINECOUNTER", caplog)


def test_a_cancel_of_two_instances_can_be_read_and_deleted(server, caplog):
    caplog.set_level(logging.WARNING)
    organize(server, ics("m1", "bob", extra="RRULE:FREQ=DAILY;COUNT=5\n"),
             ("alice", "bob"))
    text = server.request("GET", CAL + "m1.ics", user="alice").text
    text = text.replace("RRULE:FREQ=DAILY;COUNT=5\r\n",
                        "RRULE:FREQ=DAILY;COUNT=5\r\n"
                        "EXDATE:20260106T100000Z,20260107T100000Z\r\n")
    assert put(server, "alice", CAL + "m1.ics", text).status in (201, 204)
    [(_, cancel)] = [m for m in inbox(server, "bob") if m[0] == "CANCEL"]
    assert cancel.count("BEGIN:VEVENT") == 2
    assert "RECURRENCE-ID:20260106T100000Z" in cancel
    assert "RECURRENCE-ID:20260107T100000Z" in cancel
    listed_read_and_deleted(server, "bob", "CANCEL", caplog)


def test_an_initial_sync_lists_no_removed_message(invited):
    [href] = hrefs(invited, "bob", BOB_INBOX)
    members, token = sync(invited, "bob", BOB_INBOX)
    assert list(members) == [href]
    assert invited.request("DELETE", href, user="bob").status in (200, 204)
    # A client that synced before learns of the removal (RFC 6578 s3.5) ...
    members, _ = sync(invited, "bob", BOB_INBOX, token)
    assert members == {href: "HTTP/1.1 404 Not Found"}
    # ... one that starts afresh is told of nothing (s3.4).
    assert sync(invited, "bob", BOB_INBOX)[0] == {}
