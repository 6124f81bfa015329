"""Bad input and attacks: each attempt is refused, and changes nothing.

Every test snapshots the whole collection tree (files and their bytes;
Radicale's derived ``.Radicale.cache`` aside) before the attack and
compares it after, so "refused" always also means "nothing was stored,
delivered or lost".
"""

import os

import pytest
from radicale import Application

from helpers import (
    NS,
    Server,
    changes,
    error_element,
    make_configuration,
    make_server,
    prop,
    proppatch_refused,
    snapshot,
    write_file,
)
from radicale_scheduling.delivery import incoming
from scheduling_helpers import (
    answer,
    attendee_line,
    copy,
    hrefs,
    ics,
    inbox,
    methods,
    put,
    set_up,
    unfold,
)

CAL = "/alice/calendar/"
INBOX = "/alice/.schedule-inbox/"
OUTBOX = "/alice/.schedule-outbox/"


def bob_copy(server, uid="m1"):
    [href] = [h for h in hrefs(server, "bob", "/bob/calendar/")
              if "UID:%s\r\n" % uid in server.request("GET", h,
                                                      user="bob").text]
    return href, server.request("GET", href, user="bob").text


# -- sending as somebody else ------------------------------------------------

def test_an_event_organized_in_another_users_name_sends_nothing(world):
    """alice stores an event whose ORGANIZER is bob's address: it is not
    her scheduling object, so nobody is invited in bob's name."""
    before = snapshot(world)
    response = put(world, "alice", CAL + "forged.ics",
                   ics("forged", "carol", organizer="bob"))
    assert response.status == 201
    changed = changes(before, snapshot(world))
    assert changed == ["alice/calendar/forged.ics"], changed
    assert methods(world, "carol") == ["REQUEST"]  # m1 only
    stored = world.request("GET", CAL + "forged.ics", user="alice").text
    assert "SCHEDULE-STATUS" not in stored


def test_writing_into_anothers_calendar_does_not_invite_as_them(open_world):
    """Rights let alice write into bob's calendar; the server still does
    not send bob's invitations for her (RFC 6638 App. B.6)."""
    server = open_world
    before = snapshot(server)
    response = put(server, "alice", "/bob/calendar/forged.ics",
                   ics("forged", "carol", organizer="bob"))
    assert response.status == 403
    assert error_element(response, "D:need-privileges") is not None
    assert changes(before, snapshot(server)) == []


def test_without_rights_nothing_is_written_into_anothers_calendar(world):
    before = snapshot(world)
    for path in ("/bob/calendar/forged.ics", "/bob/calendar/m1.ics"):
        response = put(world, "alice", path,
                       ics("forged", "carol", organizer="bob"))
        assert response.status in (403, 404)
    assert changes(before, snapshot(world)) == []


def test_deleting_anothers_objects_sends_nothing_in_their_name(open_world):
    """Deleting bob's copy would decline in his name, deleting carol's
    meeting would cancel it in hers: refused even where rights allow."""
    server = open_world
    href, _text = bob_copy(server)
    assert put(server, "carol", "/carol/calendar/c1.ics",
               ics("c1", "bob", organizer="carol")).status == 201
    before = snapshot(server)
    for path in (href, "/carol/calendar/c1.ics"):
        response = server.request("DELETE", path, user="alice")
        assert response.status == 403
        assert error_element(response, "D:need-privileges") is not None
    assert changes(before, snapshot(server)) == []


def test_answering_in_anothers_name_through_their_calendar(open_world):
    """alice may write into bob's calendar (rights), but a change of his
    answer is a REPLY in his name: refused."""
    server = open_world
    href, text = bob_copy(server)
    before = snapshot(server)
    response = put(server, "alice", href, answer(text, "bob", "DECLINED"))
    assert response.status == 403
    assert error_element(response, "D:need-privileges") is not None
    assert changes(before, snapshot(server)) == []


def test_an_attendee_cannot_answer_for_another_attendee(world):
    href, text = bob_copy(world)
    before = snapshot(world)
    response = put(world, "bob", href, answer(text, "carol", "DECLINED"))
    assert response.status == 403
    assert error_element(
        response, "C:allowed-attendee-scheduling-object-change") is not None
    assert changes(before, snapshot(world)) == []


def test_another_attendees_partstat_in_my_copy_stays_mine(world):
    """With If-Schedule-Tag-Match the server's record of the others wins
    (RFC 6638 s3.2.10.1): bob's own answer goes out, the forged answer of
    carol goes nowhere, not even into bob's copy."""
    href, text = bob_copy(world)
    tag = world.request("GET", href, user="bob").headers["Schedule-Tag"]
    forged = answer(answer(text, "carol", "DECLINED"), "bob", "ACCEPTED")
    response = put(world, "bob", href, forged, if_schedule_tag_match=tag)
    assert response.status in (201, 204), response.text
    organizer = world.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=ACCEPTED" in attendee_line(organizer, "bob")
    assert "PARTSTAT=DECLINED" not in attendee_line(organizer, "carol")
    assert "PARTSTAT=DECLINED" not in attendee_line(copy(world, "carol", "m1"),
                                                    "carol")
    stored = world.request("GET", href, user="bob").text
    assert "PARTSTAT=DECLINED" not in attendee_line(stored, "carol")
    [(_, reply)] = [m for m in inbox(world, "alice") if m[0] == "REPLY"]
    assert "carol" not in unfold(reply)


def test_an_attendee_cannot_take_another_attendees_place(world):
    href, text = bob_copy(world)
    before = snapshot(world)
    swapped = unfold(text).replace("mailto:bob@example.org",
                                   "mailto:nobody@example.org")
    swapped = answer(swapped, "carol", "ACCEPTED")
    response = put(world, "bob", href, swapped)
    assert response.status == 403
    assert changes(before, snapshot(world)) == []


def test_another_organizer_cannot_take_over_a_meeting_by_its_uid(world):
    """carol invites bob to a meeting with the UID of alice's m1: bob's
    copy of alice's meeting stays alice's (regression: it was replaced)."""
    assert put(world, "alice", CAL + "m3.ics", ics("m3", "bob")).status == 201
    bob_before = snapshot(world)
    bob_before = {k: v for k, v in bob_before.items() if k.startswith("bob")}
    response = put(world, "carol", "/carol/calendar/m3.ics",
                   ics("m3", "bob", organizer="carol", summary="Hijacked",
                       extra="SEQUENCE:99\n"))
    assert response.status == 201
    after = {k: v for k, v in snapshot(world).items() if k.startswith("bob")}
    assert changes(bob_before, after) == []
    stored = world.request("GET", "/carol/calendar/m3.ics", user="carol").text
    assert "SCHEDULE-STATUS=3.8" in attendee_line(stored, "bob")
    # carol's cancellation of "her" m3 does not cancel alice's either.
    assert world.request("DELETE", "/carol/calendar/m3.ics",
                         user="carol").status == 200
    after = {k: v for k, v in snapshot(world).items() if k.startswith("bob")}
    assert changes(bob_before, after) == []


def test_an_organizer_may_switch_between_her_own_addresses(world):
    """The UID check compares organizers by user: alice's update under her
    other address (addresses file) still reaches bob's copy."""
    assert put(world, "alice", CAL + "a1.ics", ics("a1", "bob")).status == 201
    renamed = ics("a1", "bob", summary="Renamed", extra="SEQUENCE:1\n"
                  ).replace("mailto:alice@example.org",
                            "mailto:alice.example@family.example")
    assert put(world, "alice", CAL + "a1.ics", renamed).status in (201, 204)
    assert "SUMMARY:Renamed" in copy(world, "bob", "a1")
    stored = world.request("GET", CAL + "a1.ics", user="alice").text
    assert "SCHEDULE-STATUS=1.2" in attendee_line(stored, "bob")


def test_a_reply_reaches_only_the_meeting_of_its_organizer(world):
    """bob crafts an "invitation" from alice with the UID of carol's
    meeting (alice attends it) and answers it: the reply must not change
    bob's answer in alice's copy of carol's meeting (regression)."""
    assert put(world, "carol", "/carol/calendar/c1.ics",
               ics("c1", "alice", "bob", organizer="carol")).status == 201
    alice_copy = [h for h in hrefs(world, "alice", CAL)
                  if h != CAL + "m1.ics"]
    assert len(alice_copy) == 1
    fake = ics("c1", "bob", organizer="alice", summary="Fake")
    assert put(world, "bob", "/bob/calendar/fake.ics", fake).status == 409
    # In another calendar of bob's the same UID is allowed.
    assert world.mkcalendar("/bob/other/", user="bob").status == 201
    assert put(world, "bob", "/bob/other/fake.ics", fake).status == 201
    before = snapshot(world)
    text = world.request("GET", "/bob/other/fake.ics", user="bob").text
    response = put(world, "bob", "/bob/other/fake.ics",
                   answer(text, "bob", "DECLINED"))
    assert response.status in (201, 204)
    changed = changes(before, snapshot(world))
    assert changed == ["bob/other/fake.ics"], changed
    stored = world.request("GET", "/bob/other/fake.ics", user="bob").text
    assert "SCHEDULE-STATUS=3.8" in unfold(stored).split("ORGANIZER")[1] \
        .split("\r\n")[0]


# -- other users' inboxes and outboxes ----------------------------------------

QUERY = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
         'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>'
         '<C:calendar-data/></D:prop><C:filter><C:comp-filter '
         'name="VCALENDAR"/></C:filter></C:calendar-query>')
SYNC = ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:">'
        '<D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/>'
        '</D:prop></D:sync-collection>')


def multiget(*urls):
    return ('<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>'
            '<C:calendar-data/></D:prop>%s</C:calendar-multiget>'
            % "".join("<D:href>%s</D:href>" % u for u in urls))


@pytest.mark.parametrize("fixture", ["world", "open_world"])
def test_nobody_else_reads_lists_or_empties_an_inbox(request, fixture):
    server = request.getfixturevalue(fixture)
    [message] = hrefs(server, "bob", "/bob/.schedule-inbox/")
    secret = b"Planning"
    before = snapshot(server)
    attempts = [
        ("PROPFIND", "/bob/.schedule-inbox/", None, {"depth": "1"}),
        ("PROPFIND", "/bob/.schedule-inbox/", None, {"depth": "0"}),
        ("PROPFIND", message, None, {"depth": "0"}),
        ("REPORT", "/bob/.schedule-inbox/", QUERY, {"depth": "1"}),
        ("REPORT", "/bob/.schedule-inbox/", multiget(message), {}),
        ("REPORT", "/bob/.schedule-inbox/", SYNC, {}),
        ("GET", message, None, {}),
        ("HEAD", message, None, {}),
        ("GET", "/bob/.schedule-inbox/", None, {}),
        ("DELETE", message, None, {}),
        ("DELETE", "/bob/.schedule-inbox/", None, {}),
        ("MOVE", message, None,
         {"destination": "http://localhost/alice/calendar/stolen.ics"}),
        ("PROPPATCH", "/bob/.schedule-inbox/", None, {}),
        ("POST", "/bob/.schedule-outbox/", None, {}),
        ("PROPFIND", "/bob/.schedule-outbox/", None, {"depth": "1"}),
        # Path games.
        ("GET", "//bob//.schedule-inbox//" + message.rsplit("/", 1)[1],
         None, {}),
        ("GET", "/alice/../bob/.schedule-inbox/" + message.rsplit("/", 1)[1],
         None, {}),
        ("GET", "/bob/./.schedule-inbox/" + message.rsplit("/", 1)[1],
         None, {}),
    ]
    for method, path, body, extra in attempts:
        if method == "PROPPATCH":
            body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" '
                    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
                    '<C:schedule-default-calendar-URL><D:href>'
                    '/alice/calendar/</D:href>'
                    '</C:schedule-default-calendar-URL><D:displayname>x'
                    '</D:displayname></D:prop></D:set></D:propertyupdate>')
        if method == "POST":
            body = FREEBUSY.replace("mailto:alice@", "mailto:bob@")
            extra = {"content_type": "text/calendar"}
        response = server.request(method, path, body, user="alice", **extra)
        assert response.status in (401, 403, 404), (method, path,
                                                    response.status)
        assert secret not in response.body, (method, path)
        assert b".schedule-inbox/" not in response.body or \
            method == "PROPFIND" and b"getetag" not in response.body
    assert changes(before, snapshot(server)) == []


@pytest.mark.parametrize("fixture", ["world", "open_world"])
def test_inbox_items_are_not_reachable_from_other_collections(request,
                                                              fixture):
    """Listing bob's principal, or a multiget of his inbox hrefs on one's
    own calendar, shows nothing of his inbox."""
    server = request.getfixturevalue(fixture)
    [message] = hrefs(server, "bob", "/bob/.schedule-inbox/")
    response = server.request("REPORT", CAL, multiget(message),
                              user="alice", depth="1")
    assert response.status in (207, 403)
    assert b"Planning" not in response.body
    for depth in ("1", "infinity"):
        listing = server.propfind("/bob/", "D:resourcetype", user="alice",
                                  depth=depth)
        assert b".schedule-inbox" not in listing.body
        assert b".schedule-outbox" not in listing.body


def test_proppatch_of_anothers_inbox_or_principal(open_world):
    server = open_world
    before = snapshot(server)
    for path in ("/bob/.schedule-inbox/", "/bob/.schedule-outbox/"):
        response = server.proppatch(
            path, "<C:calendar-availability>BEGIN:VCALENDAR\r\nEND:VCALENDAR"
            "\r\n</C:calendar-availability>", user="alice")
        assert response.status == 403
    response = server.proppatch(
        "/bob/", "<C:calendar-user-address-set><D:href>mailto:alice@"
        "example.org</D:href></C:calendar-user-address-set>", user="alice")
    assert proppatch_refused(response, 403)
    assert changes(before, snapshot(server)) == []


# -- address claims -----------------------------------------------------------

def test_nobody_claims_an_address_by_proppatch(world):
    before = snapshot(world)
    response = world.proppatch(
        "/alice/", "<C:calendar-user-address-set><D:href>mailto:bob@"
        "example.org</D:href></C:calendar-user-address-set>")
    assert proppatch_refused(response, 403,
                             "D:cannot-modify-protected-property")
    assert changes(before, snapshot(world)) == []
    found = world.propfind("/alice/", "C:calendar-user-address-set")
    assert b"bob@" not in found.body


@pytest.mark.parametrize("claim", ["bob@example.org", "dave@mail.example",
                                   "Dave@Mail.Example"])
def test_the_addresses_file_cannot_give_away_a_users_address(tmp_path,
                                                             claim):
    """An address that is a user's own (their domain address, or their
    user name when it is an e-mail address) cannot be given to another
    user: the server refuses to start (regression: dave's address was
    silently given to alice)."""
    addresses = write_file(str(tmp_path), "addresses",
                           "[alice]\naddresses = %s\n" % claim)
    os.makedirs(str(tmp_path / "collections" / "collection-root" / "bob"))
    with pytest.raises(Exception, match="address of user"):
        make_server(str(tmp_path), scheduling_domain="example.org",
                    scheduling_addresses=addresses)


def test_a_claim_added_while_running_is_ignored(world, tmp_path):
    """An edit of the addresses file that gives bob's address to alice is
    refused and the previous version kept: bob still gets his mail."""
    path = str(tmp_path / "addresses")
    with open(path) as f:
        good = f.read()
    with open(path, "w") as f:
        f.write(good.replace("alice.example@family.example",
                             "alice.example@family.example, "
                             "bob@example.org"))
    os.utime(path, ns=(1, 1))
    assert put(world, "carol", "/carol/calendar/c2.ics",
               ics("c2", "bob", organizer="carol")).status == 201
    assert copy(world, "bob", "c2")
    assert not [h for h in hrefs(world, "alice", CAL)
                if "UID:c2\r\n" in world.request("GET", h, user="alice").text]


# -- replies spoofed by mail (iMIP) -------------------------------------------

def mail(sender, calendar, method="REPLY", to="alice@example.org"):
    return ("From: %s\r\nTo: %s\r\nSubject: answer\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/calendar; charset=utf-8; method=%s\r\n\r\n%s"
            % (sender, to, method, calendar)).encode()


def reply_from(who, partstat="DECLINED", uid="m1", organizer="alice",
               extra=""):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"
            "METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:%s\r\n"
            "DTSTAMP:20260102T000000Z\r\nDTSTART:20260105T100000Z\r\n"
            "DTEND:20260105T110000Z\r\nORGANIZER:mailto:%s@example.org\r\n"
            "ATTENDEE;PARTSTAT=%s:mailto:%s\r\n%sEND:VEVENT\r\n"
            "END:VCALENDAR\r\n" % (uid, organizer, partstat, who, extra))


@pytest.fixture
def with_grandma(world):
    assert put(world, "alice", CAL + "m2.ics",
               ics("m2", "bob", "ATTENDEE:mailto:grandma@elsewhere.example\n"
                   )).status == 201
    return world


@pytest.mark.parametrize("sender, calendar, method, code", [
    # grandma answers for bob
    ("grandma@elsewhere.example", reply_from("bob@example.org", uid="m2"),
     "REPLY", incoming.NOPERM),
    # grandma answers for herself and, in a second line, for bob
    ("grandma@elsewhere.example",
     reply_from("grandma@elsewhere.example", uid="m2",
                extra="ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.org\r\n"),
     "REPLY", incoming.NOPERM),
    # a forged local sender
    ("bob@example.org", reply_from("bob@example.org", uid="m2"), "REPLY",
     incoming.NOPERM),
    # somebody not invited
    ("mallory@evil.example", reply_from("mallory@evil.example", uid="m2"),
     "REPLY", incoming.NOPERM),
    # an outside "organizer" re-inviting bob to alice's meeting
    ("mallory@evil.example",
     ics("m2", "bob", organizer="x", summary="Hijacked",
         extra="SEQUENCE:99\n").replace(
         "mailto:x@example.org", "mailto:mallory@evil.example").replace(
         "VERSION:2.0", "VERSION:2.0\r\nMETHOD:REQUEST"),
     "REQUEST", incoming.NOPERM),
    # ... or cancelling it
    ("mallory@evil.example",
     ics("m2", "bob", organizer="x", extra="SEQUENCE:99\n").replace(
         "mailto:x@example.org", "mailto:mallory@evil.example").replace(
         "VERSION:2.0", "VERSION:2.0\r\nMETHOD:CANCEL"),
     "CANCEL", incoming.NOPERM),
])
def test_spoofed_mail_changes_nothing(with_grandma, sender, calendar,
                                      method, code):
    server = with_grandma
    before = snapshot(server)
    result, reason = incoming.process(
        server.storage, mail(sender, calendar, method,
                                  to="bob@example.org"),
        ["bob@example.org"] if method != "REPLY" else [])
    assert result == code, reason
    assert changes(before, snapshot(server)) == []


def test_an_invitation_by_mail_over_the_attendee_limit(world):
    """An outside organizer's invitation with 10,000 attendees is refused
    like such a PUT: bob could not even answer that copy."""
    before = snapshot(world)
    invitation = crowd(10000, uid="mailed", organizer="x").replace(
        "mailto:x@example.org", "mailto:mallory@evil.example").replace(
        "END:VEVENT", "ATTENDEE:mailto:bob@example.org\r\nEND:VEVENT"
    ).replace("VERSION:2.0", "VERSION:2.0\r\nMETHOD:REQUEST")
    result, reason = incoming.process(
        world.storage, mail("mallory@evil.example", invitation,
                                 "REQUEST", to="bob@example.org"))
    assert result == incoming.DATAERR, reason
    assert "scheduling_max_attendees" in reason
    assert changes(before, snapshot(world)) == []


# -- free-busy tells busy or free, nothing else --------------------------------

FREEBUSY = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"
            "METHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:fb-1\r\n"
            "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T000000Z\r\n"
            "DTEND:20260112T000000Z\r\nORGANIZER:mailto:alice@example.org\r\n"
            "ATTENDEE:mailto:bob@example.org\r\nEND:VFREEBUSY\r\n"
            "END:VCALENDAR\r\n")
SECRET_EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//x//EN
BEGIN:VEVENT
UID:secret-uid-1
DTSTAMP:20260101T000000Z
DTSTART:20260106T090000Z
DTEND:20260106T100000Z
SUMMARY:Secret summary
LOCATION:Secret location
DESCRIPTION:Secret description
CATEGORIES:Secret category
CLASS:CONFIDENTIAL
URL:https://secret.example/
X-SECRET:Secret x-property
ORGANIZER;CN=Secret CN:mailto:secret@elsewhere.example
ATTENDEE;CN=Secret CN:mailto:bob@example.org
ATTENDEE;CN=Secret CN:mailto:secret-partner@elsewhere.example
RRULE:FREQ=DAILY;COUNT=3
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Secret alarm
TRIGGER:-PT5M
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:secret-uid-1
RECURRENCE-ID:20260107T090000Z
DTSTAMP:20260101T000000Z
DTSTART:20260107T130000Z
DTEND:20260107T140000Z
SUMMARY:Secret override
ORGANIZER;CN=Secret CN:mailto:secret@elsewhere.example
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")
SECRET_ALL_DAY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//x//EN
BEGIN:VEVENT
UID:secret-uid-2
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20260109
SUMMARY:Secret all-day
STATUS:TENTATIVE
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")
ALLOWED = {"BEGIN", "END", "VERSION", "PRODID", "METHOD", "UID", "DTSTAMP",
           "DTSTART", "DTEND", "ORGANIZER", "ATTENDEE", "FREEBUSY"}


def test_free_busy_gives_periods_and_fbtype_only(world):
    assert world.mkcalendar("/bob/private/", user="bob").status == 201
    assert put(world, "bob", "/bob/private/s.ics", SECRET_EVENT).status == 201
    assert put(world, "bob", "/bob/private/a.ics",
               SECRET_ALL_DAY).status == 201
    before = snapshot(world)
    response = world.request("POST", OUTBOX, FREEBUSY, user="alice",
                             content_type="text/calendar")
    assert response.status == 200, response.text
    assert b"Secret" not in response.body and b"secret" not in response.body
    data = response.xml.findtext(".//C:calendar-data", namespaces=NS)
    lines = unfold(data.replace("\n", "\r\n").replace("\r\r", "\r")
                   ).split("\r\n")
    names = {line.split(":", 1)[0].split(";", 1)[0] for line in lines if line}
    assert names <= ALLOWED, names
    freebusy = [line for line in lines if line.startswith("FREEBUSY")]
    assert len(freebusy) >= 4
    for line in freebusy:
        params = line.split(":", 1)[0].split(";")[1:]
        assert [p.split("=")[0] for p in params] == ["FBTYPE"], line
    assert changes(before, snapshot(world)) == []


def test_free_busy_on_another_users_behalf_is_refused(world):
    before = snapshot(world)
    for organizer in ("mailto:bob@example.org", "/bob/",
                      "http://localhost/bob/"):
        response = world.request(
            "POST", OUTBOX, FREEBUSY.replace("mailto:alice@example.org",
                                             organizer),
            user="alice", content_type="text/calendar")
        assert response.status == 403
        assert error_element(response, "C:valid-organizer") is not None
    assert changes(before, snapshot(world)) == []


def test_the_outbox_sends_no_invitations_or_replies(world):
    """POST to the outbox is for free-busy only: no REQUEST or REPLY can
    be sent that way (they go through implicit scheduling, checked)."""
    before = snapshot(world)
    for method, who in (("REQUEST", "alice"), ("REPLY", "alice"),
                        ("CANCEL", "alice")):
        body = ics("x1", "bob", organizer=who).replace(
            "VERSION:2.0", "VERSION:2.0\r\nMETHOD:%s" % method)
        response = world.request("POST", OUTBOX, body, user="alice",
                                 content_type="text/calendar")
        assert response.status == 400
        assert error_element(response, "C:valid-scheduling-message") \
            is not None
    assert changes(before, snapshot(world)) == []


def test_a_rule_without_end_cannot_run_forever(tmp_path):
    """FREQ=SECONDLY without end in a calendar: the lookup stops at the
    occurrence budget; that recipient is answered with an error status,
    the others normally (issue 16 point 7)."""
    rooms = write_file(str(tmp_path), "addresses", "[room-1]\ntype = ROOM\n")
    server = set_up(make_server(str(tmp_path), scheduling_domain="example.org",
                                scheduling_addresses=rooms,
                                scheduling_freebusy_max_occurrences="5000"))
    endless = ics("endless", extra="RRULE:FREQ=SECONDLY\n",
                  organizer="bob").replace(
        "ORGANIZER;CN=bob:mailto:bob@example.org\r\n", "")
    assert put(server, "bob", "/bob/calendar/endless.ics",
               endless).status == 201
    assert put(server, "carol", "/carol/calendar/busy.ics", ics(
        "busy", start="20260106T090000Z", end="20260106T100000Z",
        organizer="carol").replace(
        "ORGANIZER;CN=carol:mailto:carol@example.org\r\n", "")).status == 201
    before = snapshot(server)
    response = server.request("POST", OUTBOX, FREEBUSY.replace(
        "ATTENDEE:mailto:bob@example.org", "ATTENDEE:mailto:bob@example.org"
        "\r\nATTENDEE:mailto:carol@example.org"), user="alice",
        content_type="text/calendar")
    assert response.status == 200, response.text
    answers = {r.findtext("C:recipient/D:href", namespaces=NS): r
               for r in response.xml.findall("C:response", NS)}
    bob = answers["mailto:bob@example.org"]
    assert bob.findtext("C:request-status", namespaces=NS).startswith("5.3;")
    assert bob.find("C:calendar-data", NS) is None
    carol = answers["mailto:carol@example.org"]
    assert carol.findtext("C:request-status",
                          namespaces=NS) == "2.0;Success"
    assert "FREEBUSY;FBTYPE=BUSY:20260106T090000Z/20260106T100000Z" in \
        carol.findtext("C:calendar-data", namespaces=NS)
    assert changes(before, snapshot(server)) == []
    # A room whose calendar holds such a rule answers without running on:
    # it cannot tell, so it declines.
    assert put(server, "room-1", "/room-1/calendar/endless.ics",
               endless).status == 201
    assert put(server, "alice", CAL + "room.ics", ics(
        "room", "ATTENDEE;CUTYPE=ROOM:mailto:room-1@example.org\n")
    ).status == 201
    stored = server.request("GET", CAL + "room.ics", user="alice").text
    assert "PARTSTAT=DECLINED" in attendee_line(stored, "room-1")


@pytest.mark.parametrize("rule", ["FREQ=MINUTELY;INTERVAL=0",
                                  "FREQ=DAILY;INTERVAL=-1",
                                  "FREQ=HOURLY;INTERVAL=99999999999"])
def test_rules_radicale_stores_but_cannot_expand(world, rule):
    """A rule with an INTERVAL that is not a positive number (Radicale
    stores it) in one calendar made every free-busy lookup of its owner,
    and every invitation of a room holding it, a 500 (regression)."""
    for user in ("bob", "room-1"):
        for start in ("20200105T100000Z", "20260105T080000Z"):
            event = ics("bad-%s" % start, start=start,
                        end=start.replace("T10", "T11").replace("T08", "T09"),
                        extra="RRULE:%s\n" % rule).replace(
                "ORGANIZER;CN=alice:mailto:alice@example.org\r\n", "")
            assert put(world, user, "/%s/calendar/bad-%s.ics" % (user, start),
                       event).status == 201
    availability = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"
                    "BEGIN:VAVAILABILITY\r\nUID:av\r\n"
                    "DTSTAMP:20260101T000000Z\r\nBEGIN:AVAILABLE\r\n"
                    "UID:av-1\r\nDTSTAMP:20260101T000000Z\r\n"
                    "DTSTART:20260105T090000Z\r\nDTEND:20260105T170000Z\r\n"
                    "RRULE:%s\r\nEND:AVAILABLE\r\nEND:VAVAILABILITY\r\n"
                    "END:VCALENDAR\r\n" % rule)
    assert world.proppatch(
        "/bob/.schedule-inbox/", "<C:calendar-availability>%s"
        "</C:calendar-availability>" % availability, user="bob").status == 207
    before = snapshot(world)
    response = world.request("POST", OUTBOX, FREEBUSY.replace(
        "ATTENDEE:mailto:bob@example.org", "ATTENDEE:mailto:bob@example.org"
        "\r\nATTENDEE:mailto:room-1@example.org"), user="alice",
        content_type="text/calendar")
    assert response.status == 200, response.text
    assert response.body.count(b"2.0;Success") == 2
    assert changes(before, snapshot(world)) == []
    response = put(world, "alice", CAL + "room.ics", ics(
        "room", "ATTENDEE;CUTYPE=ROOM:mailto:room-1@example.org\n",
        start="20260105T083000Z", end="20260105T084500Z"))
    assert response.status == 201, response.text


def test_two_rrules_in_one_component_are_refused(world):
    """Radicale 3.9 lists every occurrence of a component whose first RRULE
    has a COUNT; a second RRULE without end made that PUT run until memory
    ran out (found by the fuzzer).  Refused with a reason, nothing stored;
    RRULEs in different components (a VTIMEZONE) stay fine."""
    before = snapshot(world)
    for extra in ("RRULE:FREQ=DAILY;COUNT=3\nRRULE:FREQ=SECONDLY\n",
                  "RRULE:FREQ=WEEKLY\nrrule;X-A=1:FREQ=DAILY;UNTIL=2027"
                  "0101T000000Z\n"):
        response = put(world, "alice", CAL + "two.ics",
                       ics("two", "bob", extra=extra))
        assert response.status == 400
        assert b"RRULE" in response.body
    assert changes(before, snapshot(world)) == []
    zoned = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"
             "BEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:STANDARD\r\n"
             "DTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\n"
             "TZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"
             "\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
             "DTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\n"
             "TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"
             "\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\n"
             "UID:zoned\r\nDTSTAMP:20260101T000000Z\r\n"
             "DTSTART;TZID=X:20260105T100000\r\nDURATION:PT1H\r\n"
             "RRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    assert put(world, "alice", CAL + "zoned.ics", zoned).status == 201


# -- XML bombs -----------------------------------------------------------------

LAUGHS = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
          + "".join('<!ENTITY %s "%s">' % (chr(98 + i),
                                           ("&%s;" % chr(97 + i)) * 10)
                    for i in range(9))
          + ']><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&j;'
          '</D:displayname></D:prop></D:propfind>')
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM '
            '"file:///etc/passwd">]><D:propertyupdate xmlns:D="DAV:">'
            '<D:set><D:prop><D:displayname>&e;</D:displayname></D:prop>'
            '</D:set></D:propertyupdate>')
PARAMETER = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM '
             '"http://127.0.0.1:9/evil.dtd"> %p;]><D:propfind xmlns:D="DAV:">'
             '<D:allprop/></D:propfind>')
DEEP = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
        + "<D:x>" * 5000 + "</D:x>" * 5000 + "</D:prop></D:propfind>")


#: Not a bomb, but a 500 in Radicale's PROPFIND and MKCOL (found by the
#: fuzzer): an element without a namespace.
NO_NAMESPACE = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
                '<x/></D:prop></D:propfind>')


@pytest.mark.parametrize("body", [LAUGHS, EXTERNAL, PARAMETER, DEEP,
                                  NO_NAMESPACE],
                         ids=["laughs", "external", "parameter", "deep",
                              "no-namespace"])
@pytest.mark.parametrize("method, path", [
    ("PROPFIND", CAL), ("PROPFIND", INBOX), ("PROPPATCH", CAL),
    ("PROPPATCH", INBOX), ("REPORT", CAL), ("REPORT", INBOX),
    ("MKCALENDAR", "/alice/new/"), ("MKCOL", "/alice/new/"),
    ("POST", OUTBOX)])
def test_xml_bombs_are_refused(world, body, method, path):
    before = snapshot(world)
    for content_type in ("application/xml", "text/calendar"):
        response = world.request(method, path, body, user="alice",
                                 depth="1", content_type=content_type)
        assert 400 <= response.status < 500, (response.status, response.text)
        assert b"root:" not in response.body
        assert b"aaaaaaaaaaaaaaaaaaaa" not in response.body
        assert b"Traceback" not in response.body
    assert changes(before, snapshot(world)) == []


def test_a_deep_body_with_a_valid_scheduling_property(world):
    """PROPPATCH of a settable scheduling property next to a deep one:
    refused before either is written."""
    before = snapshot(world)
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            '<C:schedule-calendar-transp><C:transparent/>'
            '</C:schedule-calendar-transp><D:displayname>'
            + "<D:x>" * 2000 + "</D:x>" * 2000 +
            '</D:displayname></D:prop></D:set></D:propertyupdate>')
    response = world.request("PROPPATCH", CAL, body, user="alice")
    assert response.status == 400
    assert changes(before, snapshot(world)) == []


# -- huge bodies ------------------------------------------------------------------

def limited_server(folder, max_content_length):
    configuration = make_configuration(folder,
                                       scheduling_domain="example.org")
    configuration.update({"server": {
        "max_content_length": str(max_content_length),
        "_internal_server": "True"}}, "test", privileged=True)
    return set_up(Server(Application(configuration), folder))


def test_bodies_over_max_content_length_are_refused(tmp_path):
    server = limited_server(str(tmp_path), 100000)
    before = snapshot(server)
    huge = ics("huge", "bob", extra="DESCRIPTION:%s\n" % ("x" * 200000))
    assert put(server, "alice", CAL + "huge.ics", huge).status == 413
    big_xml = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:">'
               '<D:set><D:prop><D:displayname>%s</D:displayname></D:prop>'
               '</D:set></D:propertyupdate>' % ("x" * 200000))
    assert server.request("PROPPATCH", CAL, big_xml,
                          user="alice").status == 413
    big_fb = FREEBUSY.replace("UID:fb-1", "UID:fb-1\r\nCOMMENT:%s"
                              % ("x" * 200000))
    assert server.request("POST", OUTBOX, big_fb, user="alice",
                          content_type="text/calendar").status == 413
    assert changes(before, snapshot(server)) == []


def test_large_bodies_under_the_limit_are_handled(world):
    """Large but allowed: no 500, and what is stored is what was sent."""
    description = "y" * 300000
    big = ics("big", "bob", extra="DESCRIPTION:%s\n" % description)
    response = put(world, "alice", CAL + "big.ics", big)
    assert response.status == 201, response.text
    assert description in unfold(copy(world, "bob", "big"))
    # A free-busy request over its own limit (1 MB): 413, not parsed.
    big_fb = FREEBUSY.replace("UID:fb-1", "UID:fb-1\r\nCOMMENT:%s"
                              % ("x" * (1024 * 1024)))
    before = snapshot(world)
    response = world.request("POST", OUTBOX, big_fb, user="alice",
                             content_type="text/calendar")
    assert response.status == 413
    assert error_element(response, "C:max-resource-size") is not None
    # A multiget naming many hrefs.
    response = world.request("REPORT", CAL, multiget(*(
        CAL + "e%d.ics" % i for i in range(5000))), user="alice", depth="1")
    assert response.status == 207
    assert changes(before, snapshot(world)) == []


# -- too many attendees ---------------------------------------------------------

def crowd(count, uid="crowd", organizer="alice", start=0):
    return ics(uid, *("ATTENDEE:mailto:guest%d@example.org\n" % i
                      for i in range(start, start + count)),
               organizer=organizer)


def test_ten_thousand_attendees_are_refused(world):
    before = snapshot(world)
    response = put(world, "alice", CAL + "crowd.ics", crowd(10000))
    assert response.status == 403
    assert error_element(response, "C:max-attendees-per-instance") \
        is not None
    assert b"100" in response.body and b"10000" in response.body
    assert changes(before, snapshot(world)) == []
    # Also when the server parses it per instance (folded lines,
    # lower-case names) and in an attendee's copy.
    folded = crowd(150).replace("ATTENDEE:", "attendee:\r\n ")
    assert put(world, "alice", CAL + "crowd.ics", folded).status == 403
    assert put(world, "bob", "/bob/calendar/crowd.ics",
               crowd(150, organizer="carol")).status == 403
    assert changes(before, snapshot(world)) == []


def test_the_limit_counts_per_instance(tmp_path):
    server = set_up(make_server(str(tmp_path), scheduling_domain="example.org",
                                scheduling_max_attendees="3"))
    series = crowd(3, uid="series").replace(
        "END:VEVENT", "RRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT")
    override = crowd(3, uid="series", start=3).split("BEGIN:VEVENT")[1] \
        .split("END:VEVENT")[0].replace(
        "DTSTART:", "RECURRENCE-ID:20260106T100000Z\r\nDTSTART:")
    with_override = series.replace("END:VCALENDAR",
                                   "BEGIN:VEVENT%sEND:VEVENT\r\n"
                                   "END:VCALENDAR" % override)
    # Six ATTENDEE lines, three per instance: allowed.
    assert put(server, "alice", CAL + "series.ics",
               with_override).status == 201
    before = snapshot(server)
    response = put(server, "alice", CAL + "four.ics", crowd(4, uid="four"))
    assert response.status == 403
    assert b"at most 3" in response.body
    assert changes(before, snapshot(server)) == []
    found = server.propfind(CAL, "C:max-attendees-per-instance")
    value = prop(found.responses()[CAL], "C:max-attendees-per-instance")
    assert value is not None and value.text == "3"


def test_max_attendees_is_a_protected_calendar_property(world):
    found = world.propfind(CAL, "C:max-attendees-per-instance")
    assert prop(found.responses()[CAL],
                "C:max-attendees-per-instance").text == "100"
    # Not on the principal, the inbox, nor in allprop (RFC 4791 s5.2.9).
    for path in ("/alice/", INBOX):
        found = world.propfind(path, "C:max-attendees-per-instance")
        assert prop(found.responses()[path],
                    "C:max-attendees-per-instance") is None
    allprop = world.request("PROPFIND", CAL, '<?xml version="1.0"?>'
                            '<D:propfind xmlns:D="DAV:"><D:allprop/>'
                            '</D:propfind>', user="alice", depth="0")
    assert b"max-attendees-per-instance" not in allprop.body
    before = snapshot(world)
    response = world.proppatch(
        CAL, "<C:max-attendees-per-instance>100000"
        "</C:max-attendees-per-instance>")
    assert proppatch_refused(response, 403)
    assert changes(before, snapshot(world)) == []


# -- found by tests/inprocess/test_fuzz.py -------------------------------------

def test_proppatch_is_checked_as_radicale_reads_it(world):
    """A body in latin-1 that declares UTF-8: Radicale reads it (decoding
    fallback), so the scheduling checks must too (regression: they could
    not parse it and let Radicale store an unchecked default calendar, a
    claimed address and a changed resource type, then answer 400)."""
    before = snapshot(world)
    body = ('<?xml version="1.0" encoding="utf-8"?><D:propertyupdate '
            'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set>'
            '<D:prop><C:schedule-default-calendar-URL><D:href>/bob/calendar/'
            '</D:href></C:schedule-default-calendar-URL>'
            '<C:calendar-user-address-set><D:href>mailto:bob@example.org'
            '</D:href></C:calendar-user-address-set><D:displayname>caf\xe9'
            '</D:displayname></D:prop></D:set></D:propertyupdate>'
            ).encode("latin-1")
    for path in (INBOX, "/alice/"):
        response = world.request("PROPPATCH", path, body, user="alice")
        assert proppatch_refused(response, 403)
    assert changes(before, snapshot(world)) == []


def test_resourcetype_cannot_be_proppatched(world):
    """Radicale stores a PROPPATCHed resource type and then fails (400):
    the calendar silently stopped being a calendar (regression)."""
    before = snapshot(world)
    for path in (CAL, INBOX):
        response = world.proppatch(
            path, "<D:resourcetype><D:collection/></D:resourcetype>")
        assert proppatch_refused(response, 403,
                                 "D:cannot-modify-protected-property")
    assert changes(before, snapshot(world)) == []
    assert world.request("PUT", CAL + "still.ics", ics("still"),
                         user="alice").status == 201


def test_dead_scheduling_properties_from_plain_radicale(tmp_path):
    """Dead properties with scheduling names, stored by plain Radicale
    before the plugin was enabled, are answered with the plugin's values
    (regression: a 500 when one of them was dropped before another was
    replaced)."""
    plain = make_server(str(tmp_path), storage_type="multifilesystem")
    assert plain.mkcalendar(CAL).status == 201
    stored = plain.proppatch(
        CAL, "<C:schedule-inbox-URL>x</C:schedule-inbox-URL>"
        "<C:schedule-calendar-transp>y</C:schedule-calendar-transp>"
        "<C:max-attendees-per-instance>7</C:max-attendees-per-instance>")
    assert stored.status == 207
    server = make_server(str(tmp_path), scheduling_domain="example.org")
    for repeat in (1, 2):
        response = server.propfind(
            CAL, *(["C:schedule-inbox-URL", "C:schedule-calendar-transp",
                    "C:max-attendees-per-instance"] * repeat))
        assert response.status == 207, response.text
        answer_ = response.responses()[CAL]
        assert prop(answer_, "C:schedule-inbox-URL") is None
        transp = prop(answer_, "C:schedule-calendar-transp")
        assert transp is not None and transp.find("C:opaque", NS) \
            is not None
        assert prop(answer_, "C:max-attendees-per-instance").text == "100"
        assert len(answer_.findall(".//C:max-attendees-per-instance",
                                   NS)) == 1


def test_max_attendees_in_a_whole_calendar_upload(world):
    """The limit holds for every object of a body, not the first only."""
    before = snapshot(world)
    small = ics("small")
    big = crowd(150, uid="big")
    response = world.request("PUT", "/alice/upload/", small + big,
                             user="alice", content_type="text/calendar")
    assert response.status == 403
    assert changes(before, snapshot(world)) == []
