"""The Schedule-Tag is server bookkeeping (RFC 6638 s3.2.10): it is served
in the Schedule-Tag header and CALDAV:schedule-tag, never inside the
calendar data a client or an attendee receives; it survives a restart, and
objects stored by earlier versions (which kept it in the object as
X-RADICALE-SCHEDULE-TAG) keep their tag and ETag."""

import os
import re

from radicale import Application

from helpers import NS, make_configuration, make_server
from radicale_scheduling.storage.collection import TAGS_FOLDER
from scheduling_helpers import (
    answer,
    calendars,
    copies,
    hrefs,
    ics,
    organize,
    put,
)

CAL = "/alice/calendar/"
USERS = ("alice", "bob", "carol", "room-1")
MULTIGET = ('<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>'
            '<C:calendar-data/><C:schedule-tag/></D:prop>%s'
            '</C:calendar-multiget>')
QUERY = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
         'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>'
         '<C:calendar-data/></D:prop><C:filter>'
         '<C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>')
SYNC = ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:sync-token/>'
        '<D:sync-level>1</D:sync-level><D:prop><D:getetag/>'
        '<C:calendar-data/></D:prop></D:sync-collection>')


def everything_seen(server):
    """Every body a client of each user receives for their objects and
    inbox messages: GET, calendar-multiget, calendar-query and an initial
    sync-collection of every calendar and inbox."""
    seen = []
    for user in USERS:
        for collection in calendars(server, user) + [
                "/%s/.schedule-inbox/" % user]:
            members = hrefs(server, user, collection)
            for href in members:
                got = server.request("GET", href, user=user)
                assert got.status == 200, (href, got.status)
                seen.append((href, got.text))
            body = MULTIGET % "".join("<D:href>%s</D:href>" % h
                                      for h in members)
            for report in (body, QUERY, SYNC):
                response = server.request("REPORT", collection, report,
                                          user=user, depth="1")
                assert response.status == 207, response.text
                seen.append((collection, response.text))
    return seen


def test_no_server_property_in_anything_a_client_receives(server):
    organize(server, ics("m1", "bob", "carol", "room-1"), USERS)
    # bob accepts, alice changes the meeting, carol declines by deleting.
    [(href, text)] = copies(server, "bob", "m1")
    assert put(server, "bob", href, answer(text, "bob", "ACCEPTED")
               ).status in (201, 204)
    text = server.request("GET", CAL + "m1.ics", user="alice").text
    assert put(server, "alice", CAL + "m1.ics",
               text.replace("SUMMARY:Planning", "SUMMARY:Planning 2")
               ).status in (201, 204)
    [(href, _)] = copies(server, "carol", "m1")
    assert server.request("DELETE", href, user="carol").status in (200, 204)
    seen = everything_seen(server)
    assert len(seen) > 20
    for where, body in seen:
        assert "X-RADICALE-" not in body, (where, body)
    # The tag itself is still served, outside the data.
    got = server.request("GET", CAL + "m1.ics", user="alice")
    assert re.fullmatch(r'"[0-9a-f]{32}"', got.headers["Schedule-Tag"])
    report = server.request(
        "REPORT", CAL, MULTIGET % ("<D:href>%sm1.ics</D:href>" % CAL),
        user="alice", depth="1")
    assert report.xml.find(".//C:schedule-tag", NS).text == \
        got.headers["Schedule-Tag"]


def test_a_client_written_tag_property_is_not_kept(server):
    organize(server, ics("m1", "bob", extra="X-RADICALE-SCHEDULE-TAG:forged\n"
                         ), USERS)
    got = server.request("GET", CAL + "m1.ics", user="alice")
    assert "X-RADICALE-" not in got.text
    assert got.headers["Schedule-Tag"] != '"forged"'
    assert put(server, "alice", CAL + "m1.ics", got.text,
               if_schedule_tag_match='"forged"').status == 412


def test_tags_survive_a_restart(server):
    organize(server, ics("m1", "bob"), USERS)
    tag = server.request("GET", CAL + "m1.ics", user="alice"
                         ).headers["Schedule-Tag"]
    [(href, text)] = copies(server, "bob", "m1")
    bob_tag = server.request("GET", href, user="bob").headers["Schedule-Tag"]
    restarted = make_server(server.folder, **_options(server))
    assert restarted.request("GET", CAL + "m1.ics", user="alice"
                             ).headers["Schedule-Tag"] == tag
    # bob's answer with his tag is taken, and alice's tag stays (s3.2.10).
    assert put(restarted, "bob", href, answer(text, "bob", "ACCEPTED"),
               if_schedule_tag_match=bob_tag).status in (201, 204)
    assert restarted.request("GET", CAL + "m1.ics", user="alice"
                             ).headers["Schedule-Tag"] == tag
    text = restarted.request("GET", CAL + "m1.ics", user="alice").text
    assert put(restarted, "alice", CAL + "m1.ics", text,
               if_schedule_tag_match=tag).status in (201, 204)


def _options(server):
    """The options of conftest's ``server`` fixture."""
    return {"scheduling_domain": "example.org",
            "scheduling_addresses": os.path.join(server.folder, "addresses")}


def _as_stored_by_earlier_versions(root):
    """Move every tag back into its object, as versions up to this one
    stored it."""
    for folder, _folders, names in os.walk(root):
        if os.path.basename(folder) != TAGS_FOLDER:
            continue
        for name in names:
            with open(os.path.join(folder, name)) as f:
                tag = f.read().strip()
            path = os.path.join(os.path.dirname(folder), name)
            with open(path, newline="") as f:
                text = f.read()
            text = text.replace("BEGIN:VCALENDAR\r\n",
                                "BEGIN:VCALENDAR\r\nX-RADICALE-SCHEDULE-TAG:"
                                "%s\r\n" % tag, 1)
            with open(path, "w", newline="") as f:
                f.write(text)
            os.remove(os.path.join(folder, name))


def test_objects_of_earlier_versions_keep_tag_and_etag(server, tmp_path):
    organize(server, ics("m1", "bob", "carol"), USERS)
    _as_stored_by_earlier_versions(server.collection_root())
    plain = Application(make_configuration(server.folder,
                                           storage_type="multifilesystem"))
    server = make_server(server.folder, **_options(server))
    [(href, text)] = copies(server, "bob", "m1")
    before = {}
    for user, path in (("alice", CAL + "m1.ics"), ("bob", href)):
        with open(os.path.join(server.collection_root(), path.strip("/")),
                  newline="") as f:
            raw = f.read()
        old_tag = re.search("X-RADICALE-SCHEDULE-TAG:(.*)\r\n", raw).group(1)
        got = server.request("GET", path, user=user)
        assert "X-RADICALE-" not in got.text
        assert got.headers["Schedule-Tag"] == '"%s"' % old_tag
        # The ETag is the one the object had: a client's copy stays valid.
        plain_server = type(server)(plain, server.folder)
        assert got.headers["ETag"] == plain_server.request(
            "GET", path, user=user).headers["ETag"]
        before[user] = (old_tag, got.headers["ETag"])
    # bob answers with the tag he knew; alice's copy takes the answer and
    # keeps her tag, now beside the object and no longer in it.
    assert put(server, "bob", href, answer(text, "bob", "ACCEPTED"),
               if_schedule_tag_match='"%s"' % before["bob"][0]
               ).status in (201, 204)
    got = server.request("GET", CAL + "m1.ics", user="alice")
    assert "PARTSTAT=ACCEPTED" in got.text
    assert got.headers["Schedule-Tag"] == '"%s"' % before["alice"][0]
    for path in (CAL + "m1.ics", href):
        with open(os.path.join(server.collection_root(), path.strip("/")),
                  newline="") as f:
            assert "X-RADICALE-" not in f.read()
    assert server.request("GET", href, user="bob").headers["Schedule-Tag"] \
        != '"%s"' % before["bob"][0]


def test_the_tag_moves_with_the_object(server):
    organize(server, ics("m1", "bob"), USERS)
    tag = server.request("GET", CAL + "m1.ics", user="alice"
                         ).headers["Schedule-Tag"]
    assert server.mkcalendar("/alice/work/").status == 201
    moved = server.request("MOVE", CAL + "m1.ics", user="alice",
                           destination="http://localhost/alice/work/m1.ics")
    assert moved.status in (201, 204)
    assert moved.headers["Schedule-Tag"] == tag
    got = server.request("GET", "/alice/work/m1.ics", user="alice")
    assert got.headers["Schedule-Tag"] == tag
    assert "X-RADICALE-" not in got.text
    # Nothing is left behind for a new object under the old name.
    assert server.request("PUT", CAL + "m1.ics", ics("other"), user="alice",
                          content_type="text/calendar").status == 201
    assert "Schedule-Tag" not in server.request(
        "GET", CAL + "m1.ics", user="alice").headers


def _each_tag(collection):
    tags = {href: collection.schedule_tag(href)
            for href in collection.hrefs()}
    return {href: tag for href, tag in tags.items() if tag}


def test_schedule_tags_of_a_calendar_are_each_items_tag(server):
    """``schedule_tags()`` (a listing's tags, for PROPFIND and
    sync-collection) answers what ``schedule_tag(href)`` answers for each
    item: tag files, tags kept in objects by earlier versions (also once
    the index learnt them), none for other objects."""
    organize(server, ics("m1", "bob", "carol"), USERS)
    for uid in ("m2", "m3"):
        assert put(server, "alice", CAL + uid + ".ics", ics(uid, "carol")
                   ).status == 201
    assert server.request("PUT", CAL + "plain.ics", ics("plain").replace(
        "ORGANIZER;CN=alice:mailto:alice@example.org\r\n", ""), user="alice",
        content_type="text/calendar").status == 201
    folder = os.path.join(server.collection_root(), "alice", "calendar")
    tag_file = os.path.join(folder, TAGS_FOLDER, "m2.ics")
    with open(tag_file) as f:
        m2_tag = f.read().strip()
    os.remove(tag_file)
    path = os.path.join(folder, "m2.ics")
    with open(path, newline="") as f:
        text = f.read()
    with open(path, "w", newline="") as f:
        f.write(text.replace("BEGIN:VEVENT\r\n", "BEGIN:VEVENT\r\n"
                             "X-RADICALE-SCHEDULE-TAG:%s\r\n" % m2_tag))
    for _ in range(2):  # the second time from what the index learnt
        collection = next(iter(server.storage.discover(CAL)))
        tags = collection.schedule_tags()
        assert tags == _each_tag(collection)
        assert set(tags) == {"m1.ics", "m2.ics", "m3.ics"}
        assert tags["m2.ics"] == m2_tag
    os.remove(os.path.join(folder, TAGS_FOLDER, "m3.ics"))
    collection = next(iter(server.storage.discover(CAL)))
    assert collection.schedule_tags() == _each_tag(collection)
    assert "m3.ics" not in collection.schedule_tags()
