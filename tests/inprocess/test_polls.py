"""DAVx5 lists a calendar with PROPFIND depth 1 resourcetype, getetag and
CALDAV:schedule-tag (issue 18).  The listing answers every item's tag
(RFC 6638 s9.3) as a PROPFIND of that item alone and its GET's
Schedule-Tag header do, and is otherwise what plain Radicale answers for
the same folder: organizer and attendee copies, objects without a tag
(404), tags kept in objects by earlier versions, after tags change and
after items are deleted or edited by hand."""

import os
import xml.etree.ElementTree as ET

from radicale import Application

from helpers import NS, clark, make_configuration
from scheduling_helpers import USERS, answer, copies, ics, organize, put

CAL = "/alice/calendar/"
TAGS_FOLDER = ".Radicale.scheduling-tags"
DAVX5 = ("resourcetype", "getetag", "C:schedule-tag")
#: Orders of the properties asked: the answer's propstats follow them.
ORDERS = (DAVX5, ("C:schedule-tag", "getetag"), ("C:schedule-tag",),
          ("getetag", "C:schedule-tag", "getcontenttype", "getlastmodified"),
          ("C:schedule-tag", "C:schedule-tag", "resourcetype"))
SCHEDULE_TAG = clark("C:schedule-tag")


def body(names):
    return ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C='
            '"urn:ietf:params:xml:ns:caldav"><D:prop>%s</D:prop></D:propfind>'
            % "".join("<%s/>" % (n if ":" in n else "D:" + n) for n in names))


def plain_event(uid):
    """An event that is no scheduling object (no ORGANIZER)."""
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART:20260106T100000Z\r\nDTEND:20260106T110000Z\r\n"
            "SUMMARY:Alone\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n" % uid)


def listing(server, user, path, names=DAVX5):
    response = server.request("PROPFIND", path, body(names), user=user,
                              depth="1")
    assert response.status == 207, response.text
    return {href: r for href, r in response.responses().items()
            if href != path}


def tag_of(response):
    """The tag a DAV:response answers, None for its 404."""
    for propstat in response.findall("D:propstat", NS):
        found = propstat.find("D:prop/C:schedule-tag", NS)
        if found is not None:
            if "200" in propstat.findtext("D:status", namespaces=NS):
                return found.text
            return None
    raise AssertionError(ET.tostring(response))


def listed_tags(server, user, path):
    """href -> tag of DAVx5's listing of ``path``, each checked against a
    PROPFIND of the item alone (the same DAV:response) and its GET."""
    listed = listing(server, user, path)
    for href, response in listed.items():
        alone = server.request("PROPFIND", href, body(DAVX5), user=user,
                               depth="0")
        assert alone.status == 207
        assert ET.tostring(alone.responses()[href]) == ET.tostring(response)
        got = server.request("GET", href, user=user)
        assert got.headers.get("Schedule-Tag") == tag_of(response), href
    return {href: tag_of(response) for href, response in listed.items()}


def meeting(server):
    """alice organizes m1 with bob and carol and has a plain event; the
    hrefs of alice's m1, bob's copy and alice's plain event."""
    organize(server, ics("m1", "bob", "carol"), USERS)
    assert put(server, "alice", CAL + "plain.ics",
               plain_event("plain")).status == 201
    [(bob_href, _)] = copies(server, "bob", "m1")
    return CAL + "m1.ics", bob_href, CAL + "plain.ics"


def test_the_listing_answers_each_items_own_tag(server):
    m1, bob_m1, alone = meeting(server)
    tags = listed_tags(server, "alice", CAL)
    assert set(tags) == {m1, alone}
    assert tags[m1] is not None and tags[alone] is None
    bob = listed_tags(server, "bob", bob_m1.rsplit("/", 1)[0] + "/")
    assert bob[bob_m1] is not None and bob[bob_m1] != tags[m1]
    # Inbox and outbox: as their items alone answer.
    for user in ("bob", "alice"):
        for box in (".schedule-inbox", ".schedule-outbox"):
            listed_tags(server, user, "/%s/%s/" % (user, box))
    assert listed_tags(server, "bob", "/bob/.schedule-inbox/")


def _plain_radicale(server):
    return type(server)(Application(make_configuration(
        server.folder, storage_type="multifilesystem")), server.folder)


def _with_tag(plain_response, tag):
    """Plain Radicale's DAV:response with the schedule tag answered as the
    plugin answers it: in the 200 propstat, after Radicale's properties,
    or in Radicale's 404 propstat; once, if asked more than once."""
    response = ET.fromstring(ET.tostring(plain_response))
    for propstat in response.findall("D:propstat", NS):
        prop = propstat.find("D:prop", NS)
        for child in prop.findall("C:schedule-tag", NS)[tag is None:]:
            prop.remove(child)
        if len(prop) == 0:
            response.remove(propstat)
    if tag is None:
        return response
    ok = [p for p in response.findall("D:propstat", NS)
          if "200" in p.findtext("D:status", namespaces=NS)]
    if not ok:
        ok = [ET.SubElement(response, clark("D:propstat"))]
        ET.SubElement(ok[0], clark("D:prop"))
        ET.SubElement(ok[0], clark("D:status")).text = "HTTP/1.1 200 OK"
    ET.SubElement(ok[0].find("D:prop", NS), SCHEDULE_TAG).text = tag
    return response


def test_the_listing_is_plain_radicales_with_the_tags(server):
    m1, _bob_m1, alone = meeting(server)
    plain = _plain_radicale(server)
    for names in ORDERS:
        ours = listing(server, "alice", CAL, names)
        theirs = listing(plain, "alice", CAL, names)
        assert set(ours) == set(theirs) == {m1, alone}
        for href, response in ours.items():
            tag = tag_of(response)
            expected = _with_tag(theirs[href], tag)
            assert ET.tostring(response) == ET.tostring(expected), names
        assert tag_of(ours[m1]) and tag_of(ours[alone]) is None


def test_the_listing_follows_changed_tags(server):
    m1, bob_m1, _alone = meeting(server)
    bob_cal = bob_m1.rsplit("/", 1)[0] + "/"
    before = listed_tags(server, "alice", CAL), \
        listed_tags(server, "bob", bob_cal)
    # bob answers: his copy gets a new tag, alice's keeps hers (s3.2.10).
    [(_, text)] = copies(server, "bob", "m1")
    assert put(server, "bob", bob_m1, answer(text, "bob", "ACCEPTED")
               ).status in (201, 204)
    answered = listed_tags(server, "alice", CAL), \
        listed_tags(server, "bob", bob_cal)
    assert answered[0][m1] == before[0][m1]
    assert answered[1][bob_m1] != before[1][bob_m1]
    # alice moves the meeting: both tags change.
    text = server.request("GET", m1, user="alice").text
    assert put(server, "alice", m1, text.replace(
        "20260105T100000Z", "20260105T120000Z").replace(
        "20260105T110000Z", "20260105T130000Z")).status in (201, 204)
    moved = listed_tags(server, "alice", CAL), \
        listed_tags(server, "bob", bob_cal)
    assert moved[0][m1] != answered[0][m1]
    assert moved[1][bob_m1] != answered[1][bob_m1]


def test_the_listing_after_deletions_and_edits_by_hand(server):
    m1, _bob_m1, alone = meeting(server)
    assert put(server, "alice", CAL + "m2.ics", ics("m2", "carol")
               ).status == 201
    assert put(server, "alice", CAL + "m3.ics", ics("m3", "bob")
               ).status == 201
    m2, m3 = CAL + "m2.ics", CAL + "m3.ics"
    tags = listed_tags(server, "alice", CAL)
    assert all(tags[h] for h in (m1, m2, m3))
    folder = os.path.join(server.collection_root(), "alice", "calendar")
    tag_folder = os.path.join(folder, TAGS_FOLDER)

    assert server.request("DELETE", m2, user="alice").status in (200, 204)
    tags = listed_tags(server, "alice", CAL)
    assert m2 not in tags and tags[m1] and tags[m3]

    # Tag files changed by hand: replaced by rename, rewritten in place
    # with another length, removed.
    with open(os.path.join(tag_folder, "new"), "w") as f:
        f.write("replaced-by-rename\n")
    os.replace(os.path.join(tag_folder, "new"),
               os.path.join(tag_folder, "m1.ics"))
    with open(os.path.join(tag_folder, "plain.ics"), "w") as f:
        f.write("written-in-place")
    os.remove(os.path.join(tag_folder, "m3.ics"))
    tags = listed_tags(server, "alice", CAL)
    assert tags[m1] == '"replaced-by-rename"'
    assert tags[alone] == '"written-in-place"'
    assert tags[m3] is None

    # Objects edited by hand: a tag kept in the object itself (as earlier
    # versions did) counts where no tag file is; removed, it is gone.
    def edit(name, old, new):
        path = os.path.join(folder, name)
        with open(path, newline="") as f:
            text = f.read()
        with open(path, "w", newline="") as f:
            f.write(text.replace(old, new, 1))

    edit("m3.ics", "BEGIN:VEVENT\r\n",
         "X-RADICALE-SCHEDULE-TAG:kept-inside\r\nBEGIN:VEVENT\r\n")
    os.remove(os.path.join(tag_folder, "plain.ics"))
    tags = listed_tags(server, "alice", CAL)
    assert tags[m3] == '"kept-inside"' and tags[alone] is None
    edit("m3.ics", "X-RADICALE-SCHEDULE-TAG:kept-inside\r\n", "")
    edit("plain.ics", "SUMMARY:Alone", "SUMMARY:Edited by hand")
    tags = listed_tags(server, "alice", CAL)
    assert tags[m3] is None and tags[alone] is None
    os.remove(os.path.join(folder, "plain.ics"))
    assert set(listed_tags(server, "alice", CAL)) == {m1, m3}


def test_objects_of_earlier_versions_keep_their_tags_in_the_listing(server):
    m1, bob_m1, _alone = meeting(server)
    bob_cal = bob_m1.rsplit("/", 1)[0] + "/"
    before = {**listed_tags(server, "alice", CAL),
              **listed_tags(server, "bob", bob_cal)}
    # Tags moved back into the objects, as versions up to 0.x kept them.
    root = server.collection_root()
    for href in (m1, bob_m1):
        path = os.path.join(root, href.strip("/"))
        tag_file = os.path.join(os.path.dirname(path), TAGS_FOLDER,
                                os.path.basename(path))
        with open(tag_file) as f:
            tag = f.read().strip()
        os.remove(tag_file)
        with open(path, newline="") as f:
            text = f.read()
        with open(path, "w", newline="") as f:
            f.write(text.replace("BEGIN:VEVENT\r\n", "BEGIN:VEVENT\r\n"
                                 "X-RADICALE-SCHEDULE-TAG:%s\r\n" % tag, 1))
    for _ in range(2):  # the second time from what the index learnt
        after = {**listed_tags(server, "alice", CAL),
                 **listed_tags(server, "bob", bob_cal)}
        assert after == before


def sync_report(server, user, path, names, token=""):
    """DAVx5's other poll: a sync-collection REPORT for ``names``."""
    response = server.request("REPORT", path, (
        '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:" xmlns:C='
        '"urn:ietf:params:xml:ns:caldav"><D:sync-token>%s</D:sync-token>'
        '<D:sync-level>1</D:sync-level><D:prop>%s</D:prop>'
        '</D:sync-collection>' % (token, "".join(
            "<%s/>" % (n if ":" in n else "D:" + n) for n in names))),
        user=user)
    assert response.status == 207, response.text
    return response


def test_a_sync_answers_the_tags_as_the_listing(server):
    """sync-collection asking for schedule-tag (answered from one look at
    the tags, http/sync.py): each item's tag as the listing and its GET
    give it, in plain Radicale's answer for the same folder; an
    incremental sync after the tags changed names the new ones."""
    m1, bob_m1, alone = meeting(server)
    plain = _plain_radicale(server)
    orders = (("getetag", "C:schedule-tag"), ("C:schedule-tag",),
              ("C:schedule-tag", "getcontenttype", "getetag"))
    for names in orders:
        ours = sync_report(server, "alice", CAL, names).responses()
        theirs = sync_report(plain, "alice", CAL, names).responses()
        assert set(ours) == set(theirs) == {m1, alone}
        listed = listed_tags(server, "alice", CAL)
        for href, response in ours.items():
            assert tag_of(response) == listed[href]
            expected = _with_tag(theirs[href], tag_of(response))
            assert ET.tostring(response) == ET.tostring(expected), names
        assert tag_of(ours[m1]) and tag_of(ours[alone]) is None
    token = sync_report(server, "alice", CAL, DAVX5[1:]).xml.findtext(
        "D:sync-token", namespaces=NS)
    before = tag_of(sync_report(server, "alice", CAL, DAVX5[1:]
                                ).responses()[m1])
    text = server.request("GET", m1, user="alice").text
    assert put(server, "alice", m1, text.replace(
        "20260105T100000Z", "20260105T120000Z").replace(
        "20260105T110000Z", "20260105T130000Z")).status in (201, 204)
    changed = sync_report(server, "alice", CAL, DAVX5[1:], token)
    assert set(changed.responses()) == {m1}
    after = tag_of(changed.responses()[m1])
    assert after and after != before
    assert after == listed_tags(server, "alice", CAL)[m1]
    bob_cal = bob_m1.rsplit("/", 1)[0] + "/"
    bob = sync_report(server, "bob", bob_cal, DAVX5[1:]).responses()
    assert tag_of(bob[bob_m1]) == listed_tags(server, "bob", bob_cal)[bob_m1]
