"""Finding people to invite: principal searches (RFC 3744 s9.4, s9.5, and
Apple's calendarserver-principal-search)."""

import pytest

from helpers import NS, clark, make_server, prop, status_of, write_file

XMLNS = ('xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
         'xmlns:CS="http://calendarserver.org/ns/"')
PROPS = ("D:displayname", "C:calendar-user-address-set",
         "C:calendar-user-type", "D:principal-URL")


def property_search(*searches, props=PROPS, test=None, apply_to=False):
    """A principal-property-search body; searches are (props, match)."""
    parts = []
    for searched, match in searches:
        if isinstance(searched, str):
            searched = (searched,)
        parts.append("<D:property-search><D:prop>%s</D:prop>"
                     "<D:match>%s</D:match></D:property-search>"
                     % ("".join("<%s/>" % p for p in searched), match))
    if props:
        parts.append("<D:prop>%s</D:prop>"
                     % "".join("<%s/>" % p for p in props))
    if apply_to:
        parts.append("<D:apply-to-principal-collection-set/>")
    return '<?xml version="1.0"?><D:principal-property-search %s%s>%s' \
        '</D:principal-property-search>' % (
            XMLNS, ' test="%s"' % test if test else "", "".join(parts))


def cs_search(*tokens, context=None, limit=None, props=PROPS):
    body = "".join("<CS:search-token>%s</CS:search-token>" % t
                   for t in tokens)
    if limit is not None:
        body += "<CS:limit><CS:nresults>%s</CS:nresults></CS:limit>" % limit
    body += "<D:prop>%s</D:prop>" % "".join("<%s/>" % p for p in props)
    return '<?xml version="1.0"?><CS:calendarserver-principal-search %s%s>' \
        '%s</CS:calendarserver-principal-search>' % (
            XMLNS, ' context="%s"' % context if context else "", body)


def search(server, body, path="/", user="alice", **headers):
    response = server.request("REPORT", path, body, user=user,
                              **{"depth": "0", **headers})
    assert response.status == 207, response.text
    return response.responses()


def addresses(response):
    return [h.text for h in prop(response, "C:calendar-user-address-set")]


def test_finds_users_by_part_of_their_name_caselessly(server):
    found = search(server, property_search(("D:displayname", "ICE EXAMP")))
    assert list(found) == ["/alice/"]
    alice = found["/alice/"]
    assert prop(alice, "D:displayname").text == "Alice Example"
    assert addresses(alice) == ["mailto:alice.example@family.example",
                                "mailto:alice@example.org", "/alice/"]
    assert prop(alice, "C:calendar-user-type").text == "INDIVIDUAL"
    assert prop(alice, "D:principal-URL").findtext(
        "D:href", namespaces=NS) == "/alice/"


def test_display_name_of_the_principal_first_then_file_then_user_name(
        server):
    response = server.proppatch(
        "/bob/", "<D:displayname>Robert Builder</D:displayname>", user="bob")
    assert response.status == 207
    server.propfind("/carol/", "D:displayname", user="carol")  # a folder
    found = search(server, property_search(("D:displayname", "builder")))
    assert prop(found["/bob/"], "D:displayname").text == "Robert Builder"
    assert list(found) == ["/bob/"]
    # A new name is found at once.
    response = server.proppatch(
        "/bob/", "<D:displayname>Bob the Builder</D:displayname>", user="bob")
    assert response.status == 207
    found = search(server, property_search(("D:displayname", "builder")))
    assert prop(found["/bob/"], "D:displayname").text == "Bob the Builder"
    # Nobody set carol's name: her user name stands in, and is searchable.
    found = search(server, property_search(("D:displayname", "caro")))
    assert prop(found["/carol/"], "D:displayname").text == "carol"
    # The room has no folder yet; the addresses file names it.
    found = search(server, property_search(("D:displayname", "room 1")))
    assert prop(found["/room-1/"], "D:displayname").text == "Meeting room 1"


@pytest.mark.parametrize("match", ["mailto:bob@example.org",
                                   "bob@example.org", "BOB@EXAMPLE",
                                   "mailto:bob"])
def test_finds_by_address_with_or_without_mailto(server, match):
    found = search(server, property_search(
        ("C:calendar-user-address-set", match)))
    assert list(found) == ["/bob/"]
    assert addresses(found["/bob/"]) == ["mailto:bob@example.org", "/bob/"]


def test_address_from_the_addresses_file_and_starts_with(server):
    found = search(server, property_search(
        ("C:calendar-user-address-set", "family.example")))
    assert list(found) == ["/alice/"]
    body = property_search(("C:calendar-user-address-set", "x")).replace(
        "<D:match>", '<D:match match-type="starts-with">')
    assert search(server, body) == {}  # contained, but no address starts so
    body = property_search(("C:calendar-user-address-set", "carol@")).replace(
        "<D:match>", '<D:match match-type="starts-with">')
    assert list(search(server, body)) == ["/carol/"]


def test_allof_is_the_default_and_anyof_widens(server):
    searches = (("D:displayname", "meeting"),
                ("C:calendar-user-address-set", "carol"))
    assert search(server, property_search(*searches)) == {}
    assert search(server, property_search(*searches, test="allof")) == {}
    found = search(server, property_search(*searches, test="anyof"))
    assert sorted(found) == ["/carol/", "/room-1/"]
    # Both conditions true for one principal: allof finds it.
    found = search(server, property_search(
        ("D:displayname", "alice"), ("C:calendar-user-address-set",
                                     "family")))
    assert list(found) == ["/alice/"]
    # One property-search over two properties (as clients send them).
    found = search(server, property_search(
        (("D:displayname", "C:calendar-user-address-set"), "carol"),
        test="anyof"))
    assert list(found) == ["/carol/"]


def test_finds_a_room_by_its_calendar_user_type(server):
    found = search(server, property_search(("C:calendar-user-type", "ROOM")))
    assert list(found) == ["/room-1/"]
    room = found["/room-1/"]
    assert prop(room, "C:calendar-user-type").text == "ROOM"
    assert addresses(room) == ["mailto:room-1@example.org", "/room-1/"]


def test_unsearchable_property_matches_nobody(server):
    assert search(server, property_search(("D:getetag", "a"))) == {}
    found = search(server, property_search(
        ("D:getetag", "a"), ("D:displayname", "carol"), test="anyof"))
    assert list(found) == ["/carol/"]


def test_every_user_of_the_server_is_found(server):
    found = search(server, property_search(("D:displayname", "")))
    assert sorted(found) == ["/alice/", "/bob/", "/carol/",
                             "/dave%40mail.example/", "/room-1/"]


def test_anonymous_requests_get_no_listing(server):
    body = property_search(("D:displayname", "a"))
    response = server.request("REPORT", "/", body, depth="0")
    assert response.status == 401
    assert "WWW-Authenticate" in response.headers
    assert b"alice" not in response.body and b"Example" not in response.body
    response = server.request("REPORT", "/", cs_search("a"), depth="0")
    assert response.status == 401
    response = server.request("REPORT", "/", '<D:principal-search-property-set'
                              ' xmlns:D="DAV:"/>', depth="0")
    assert response.status == 401
    response = server.request("REPORT", "/", body, user="alice",
                              password="wrong", depth="0")
    assert response.status == 401
    assert b"Example" not in response.body


def test_no_foreign_calendar_data_or_private_properties(server):
    from scheduling_helpers import ics, put
    assert server.mkcalendar("/bob/work/", user="bob").status == 201
    response = put(server, "bob", "/bob/work/secret.ics",
                   ics("secret-1", organizer="bob",
                       summary="Secret merger talks"))
    assert response.status == 201
    response = server.proppatch(
        "/bob/", '<X:note xmlns:X="urn:example:x">bob private note</X:note>',
        user="bob")
    assert response.status == 207
    private = ("C:schedule-inbox-URL", "C:schedule-outbox-URL",
               "D:current-user-privilege-set", "D:sync-token",
               "C:calendar-data", "CS:getctag", "D:owner")
    body = property_search(("D:displayname", "bob"),
                           props=PROPS + private).replace(
        "<D:owner/>", '<D:owner/><X:note xmlns:X="urn:example:x"/>')
    response = server.request("REPORT", "/", body, user="alice", depth="0")
    assert response.status == 207
    assert b"Secret" not in response.body
    assert b"private note" not in response.body
    assert b"/bob/work/" not in response.body
    assert b".schedule-inbox" not in response.body
    bob = response.responses()["/bob/"]
    assert prop(bob, "D:displayname").text == "bob"
    for human in private:
        assert status_of(bob, human) == 404, human
    note = bob.find(".//{urn:example:x}note/../../D:status", NS)
    assert "404" in note.text
    # The searcher's own principal shows her scheduling properties.
    alice = search(server, property_search(("D:displayname", "alice"),
                                           props=PROPS + private))["/alice/"]
    assert prop(alice, "C:schedule-inbox-URL").findtext(
        "D:href", namespaces=NS) == "/alice/.schedule-inbox/"


def test_search_property_set_names_what_can_be_searched(server):
    body = '<?xml version="1.0"?><D:principal-search-property-set ' \
        'xmlns:D="DAV:"/>'
    response = server.request("REPORT", "/", body, user="alice", depth="0")
    assert response.status == 200
    root = response.xml
    assert root.tag == clark("D:principal-search-property-set")
    searchable = [p.find("D:prop", NS)[0].tag
                  for p in root.findall("D:principal-search-property", NS)]
    assert searchable[:2] == [clark("D:displayname"),
                              clark("C:calendar-user-address-set")]
    for entry in root.findall("D:principal-search-property", NS):
        description = entry.find("D:description", NS)
        assert description.text
        assert description.get(
            "{http://www.w3.org/XML/1998/namespace}lang") == "en"
    # Every property listed is one a search really matches on.
    for tag, match in ((clark("D:displayname"), "Example"),
                       (clark("C:calendar-user-address-set"), "family"),
                       (clark("CS:email-address-set"), "family"),
                       (clark("C:calendar-user-type"), "INDIVIDUAL")):
        assert tag in searchable
        human = {v: k for k, v in NS.items()}[tag[1:].split("}")[0]] + \
            ":" + tag.split("}")[1]
        assert "/alice/" in search(server, property_search((human, match)))
    response = server.request("REPORT", "/", body, user="alice", depth="1")
    assert response.status == 400


def test_depth_other_than_zero_is_refused(server):
    body = property_search(("D:displayname", "a"))
    response = server.request("REPORT", "/", body, user="alice", depth="1")
    assert response.status == 400
    assert "Depth" in response.text


def test_malformed_searches_get_400_with_a_reason(server):
    response = server.request("REPORT", "/", property_search(
        ("D:displayname", "a"), test="some"), user="alice", depth="0")
    assert response.status == 400 and "anyof" in response.text
    body = ('<D:principal-property-search xmlns:D="DAV:"><D:property-search>'
            '<D:match>a</D:match></D:property-search>'
            '</D:principal-property-search>')
    response = server.request("REPORT", "/", body, user="alice", depth="0")
    assert response.status == 400 and "DAV:prop" in response.text
    response = server.request("REPORT", "/", cs_search("a", limit="many"),
                              user="alice", depth="0")
    assert response.status == 400


def test_scope_principal_collection_principal_url_and_apply_to(server):
    body = property_search(("D:displayname", "carol"))
    assert list(search(server, body, path="/")) == ["/carol/"]
    # A principal URL: Radicale's principals hold no principals, so it
    # searches the principal collection (python-caldav sends it there).
    assert list(search(server, body, path="/alice/")) == ["/carol/"]
    assert list(search(server, body, path="/bob/")) == ["/carol/"]
    # Below a principal: only with apply-to-principal-collection-set.
    assert server.mkcalendar("/alice/cal/").status == 201
    assert search(server, body, path="/alice/cal/") == {}
    found = search(server, property_search(("D:displayname", "carol"),
                                           apply_to=True), path="/alice/cal/")
    assert list(found) == ["/carol/"]
    response = server.request("REPORT", "/nobody/", body, user="alice",
                              depth="0")
    assert response.status == 404


def test_the_server_advertises_the_searches(server):
    response = server.request("OPTIONS", "/", user="alice")
    dav = [c.strip() for c in response.headers["DAV"].split(",")]
    assert "calendarserver-principal-search" in dav
    for path in ("/", "/alice/"):
        response = server.propfind(path, "D:supported-report-set")
        reports = {r.tag for r in prop(response.responses()[path],
                                       "D:supported-report-set").iterfind(
            "D:supported-report/D:report/*", NS)}
        assert {clark("D:principal-property-search"),
                clark("D:principal-search-property-set"),
                clark("CS:calendarserver-principal-search")} <= reports


# -- Apple's calendarserver-principal-search -------------------------------

def test_apple_search_tokens_over_name_user_and_address(server):
    props = PROPS + ("CS:email-address-set", "CS:record-type")
    found = search(server, cs_search("alice", "family", context="attendee",
                                     props=props))
    assert list(found) == ["/alice/"]
    alice = found["/alice/"]
    assert [e.text for e in prop(alice, "CS:email-address-set")] == [
        "alice.example@family.example", "alice@example.org"]
    assert prop(alice, "CS:record-type").text == "users"
    # Every token must match somewhere.
    assert search(server, cs_search("alice", "carol")) == {}
    # No token: no listing.
    assert search(server, cs_search()) == {}


def test_apple_search_contexts_filter_on_calendar_user_type(server):
    # "m" is in every address (example.org, mail.example).
    everyone = ["/alice/", "/bob/", "/carol/", "/dave%40mail.example/",
                "/room-1/"]
    assert sorted(search(server, cs_search("m"))) == everyone
    attendees = search(server, cs_search("m", context="attendee"))
    assert sorted(attendees) == [u for u in everyone if u != "/room-1/"]
    rooms = search(server, cs_search("m", context="location"))
    assert list(rooms) == ["/room-1/"]
    assert prop(rooms["/room-1/"], "C:calendar-user-type").text == "ROOM"
    assert search(server, cs_search("m", context="resource")) == {}


# -- the cap ---------------------------------------------------------------

@pytest.fixture
def crowded(tmp_path):
    """60 people named "Person NN" in the addresses file."""
    sections = "".join("[user-%02d]\nname = Person %02d\n\n" % (n, n)
                       for n in range(60))
    addresses = write_file(str(tmp_path), "addresses", sections)
    return make_server(str(tmp_path), scheduling_domain="example.org",
                       scheduling_addresses=addresses)


def limit_response(found):
    over = [r for href, r in found.items()
            if r.find("D:error/D:number-of-matches-within-limits", NS)
            is not None]
    assert len(over) == 1
    assert "507" in over[0].findtext("D:status", namespaces=NS)
    return over[0].findtext("D:href", namespaces=NS)


def test_answers_are_capped_at_50_with_507(crowded):
    from radicale_scheduling.http.principal_search import MAX_RESULTS
    assert MAX_RESULTS == 50
    found = search(crowded, property_search(("D:displayname", "person")))
    people = [href for href in found if href.startswith("/user-")]
    assert people == ["/user-%02d/" % n for n in range(50)]
    assert limit_response(found) == "/"
    # A narrower search is complete, without the 507.
    found = search(crowded, property_search(("D:displayname", "person 5")))
    assert sorted(found) == ["/user-%02d/" % n for n in range(50, 60)]
    # Apple's client limit lowers the cap.
    found = search(crowded, cs_search("person", limit=5), path="/alice/")
    assert [h for h in found if h.startswith("/user-")] == [
        "/user-%02d/" % n for n in range(5)]
    assert limit_response(found) == "/alice/"


# -- a real client -----------------------------------------------------------

def test_python_caldav_finds_the_meeting_room(live_server):
    caldav = pytest.importorskip("caldav")
    with caldav.DAVClient(live_server["url"], username="alice",
                          password=live_server["password"]) as client:
        found = client.search_principals(name="meeting")
        assert [str(p.url) for p in found] == [
            live_server["url"] + "room-1/"]
        room = found[0]
        assert room.get_display_name() == "Meeting room 1"
        assert str(room.calendar_home_set.url) == \
            live_server["url"] + "room-1/"
        with caldav.DAVClient(live_server["url"] + "alice/", username="alice",
                              password=live_server["password"]) as at_home:
            names = {p.url.path for p in at_home.search_principals("o")}
        assert {"/bob/", "/carol/", "/room-1/"} <= names


# -- another user's principal URL (issue 19 point 6) -------------------------

@pytest.mark.parametrize("fixture", ["server", "open_server"])
def test_another_principal_url_shows_directory_facts_only(request, fixture):
    """python-caldav reads an attendee's addresses on their principal URL
    (get_vcal_address, save_with_invites): the facts a search shows, and
    nothing else, whatever the rights backend allows."""
    server = request.getfixturevalue(fixture)
    for user in ("alice", "bob"):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar("/bob/work/", user="bob").status == 201
    server.proppatch("/bob/", "<D:displayname>Bob Builder</D:displayname>",
                     user="bob")
    private = ("C:schedule-inbox-URL", "C:schedule-outbox-URL",
               "D:current-user-privilege-set", "D:sync-token", "CS:getctag")
    response = server.propfind("/bob/", *(PROPS + ("D:resourcetype",
                                                   "C:calendar-home-set")
                                          + private), user="alice")
    assert response.status == 207, response.text
    bob = response.responses()["/bob/"]
    assert prop(bob, "D:displayname").text == "Bob Builder"
    assert [h.text for h in prop(bob, "C:calendar-user-address-set")] == [
        "mailto:bob@example.org", "/bob/"]
    assert prop(bob, "C:calendar-user-type").text == "INDIVIDUAL"
    assert prop(bob, "D:principal-URL").findtext(
        "D:href", namespaces=NS) == "/bob/"
    assert prop(bob, "D:resourcetype").find("D:principal", NS) is not None
    # The rights backend may share more of bob (open_server: Radicale's
    # own properties); his scheduling set-up is never shown.
    for human in private if fixture == "server" else private[:2]:
        assert status_of(bob, human) in (404, None), human
        assert prop(bob, human) is None, human
    assert b".schedule-inbox" not in response.body
    if fixture == "open_server":
        return
    # A room's type, from the addresses file (it never logged in).
    room = server.propfind("/room-1/", "C:calendar-user-type",
                           user="alice").responses()["/room-1/"]
    assert prop(room, "C:calendar-user-type").text == "ROOM"


def test_another_principal_url_lists_nothing_below_it(server):
    for user in ("alice", "bob"):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar("/bob/work/", user="bob").status == 201
    for depth in ("1", "infinity"):
        response = server.propfind("/bob/", "D:resourcetype",
                                   "D:displayname", user="alice", depth=depth)
        assert response.status == 207
        assert list(response.responses()) == ["/bob/"]
    # allprop: the facts only.
    response = server.request("PROPFIND", "/bob/", "", user="alice",
                              depth="0")
    assert response.status == 207
    assert b"/bob/work/" not in response.body
    assert b"schedule-inbox" not in response.body
    # Nobody of that name, and anonymous requests: as before.
    assert server.propfind("/nobody/", "D:displayname",
                           user="alice").status in (403, 404)
    assert server.propfind("/bob/", *PROPS, user=None).status == 401
    # A calendar or item of bob's stays closed.
    assert server.propfind("/bob/work/", "D:displayname",
                           user="alice").status == 403
