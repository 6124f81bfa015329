"""Discovery of a scheduling server (RFC 6638 s2, s6, s9)."""

from helpers import NS, clark, prop, status_of

INBOX = "/alice/.schedule-inbox/"
OUTBOX = "/alice/.schedule-outbox/"
SCHEDULING_PROPS = ("C:schedule-inbox-URL", "C:schedule-outbox-URL",
                    "C:calendar-user-address-set", "C:calendar-user-type")


def test_options_advertises_auto_schedule_and_keeps_radicales_classes(
        server):
    response = server.request("OPTIONS", "/", user="alice")
    assert response.status == 200
    classes = [c.strip() for c in response.headers["DAV"].split(",")]
    assert "calendar-auto-schedule" in classes
    for radicale_class in ("1", "2", "3", "calendar-access", "addressbook"):
        assert radicale_class in classes


def test_principal_has_inbox_outbox_addresses_and_type(server):
    response = server.propfind("/alice/", *SCHEDULING_PROPS)
    assert response.status == 207
    alice = response.responses()["/alice/"]
    assert prop(alice, "C:schedule-inbox-URL").findtext(
        "D:href", namespaces=NS) == INBOX
    assert prop(alice, "C:schedule-outbox-URL").findtext(
        "D:href", namespaces=NS) == OUTBOX
    hrefs = [h.text for h in prop(alice, "C:calendar-user-address-set")]
    assert hrefs == ["mailto:alice.example@family.example",
                     "mailto:alice@example.org", "/alice/"]
    assert prop(alice, "C:calendar-user-type").text == "INDIVIDUAL"


def test_room_type_comes_from_the_addresses_file(server):
    response = server.propfind("/room-1/", "C:calendar-user-type",
                               "C:calendar-user-address-set", user="room-1")
    room = response.responses()["/room-1/"]
    assert prop(room, "C:calendar-user-type").text == "ROOM"
    assert [h.text for h in prop(room, "C:calendar-user-address-set")] == [
        "mailto:room-1@example.org", "/room-1/"]


def test_user_name_that_is_an_address_is_its_own_address(tmp_path):
    from helpers import make_server
    server = make_server(str(tmp_path))  # no domain at all
    user = "dave@mail.example"
    response = server.propfind("/%s/" % user, "C:calendar-user-address-set",
                               user=user)
    dave = response.responses()["/dave%40mail.example/"]
    assert [h.text for h in prop(dave, "C:calendar-user-address-set")] == [
        "mailto:dave@mail.example", "/dave%40mail.example/"]
    # Without a domain, a plain user name has only its principal URL.
    response = server.propfind("/bob/", "C:calendar-user-address-set",
                               user="bob")
    bob = response.responses()["/bob/"]
    assert [h.text for h in prop(bob, "C:calendar-user-address-set")] == [
        "/bob/"]


def test_propname_lists_the_scheduling_properties(server):
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:">'
            '<D:propname/></D:propfind>')
    response = server.request("PROPFIND", "/alice/", body, user="alice",
                              depth="0")
    names = {child.tag for child in prop_names(response.xml)}
    for human in SCHEDULING_PROPS:
        assert clark(human) in names
    response = server.request("PROPFIND", INBOX, body, user="alice",
                              depth="0")
    names = {child.tag for child in prop_names(response.xml)}
    assert clark("C:schedule-default-calendar-URL") in names


def prop_names(multistatus):
    for propstat in multistatus.iter(clark("D:propstat")):
        yield from propstat.find(clark("D:prop"))


def test_inbox_and_outbox_resourcetypes_and_never_calendars(server):
    for path, kind in ((INBOX, "C:schedule-inbox"),
                       (OUTBOX, "C:schedule-outbox")):
        response = server.propfind(path, "D:resourcetype")
        assert response.status == 207
        types = {c.tag for c in prop(response.responses()[path],
                                     "D:resourcetype")}
        assert types == {clark("D:collection"), clark(kind)}
    # The calendar home lists the user's calendars, not the inbox/outbox.
    response = server.propfind("/alice/", "D:resourcetype", depth="1")
    assert INBOX not in response.responses()
    assert OUTBOX not in response.responses()


def test_inbox_and_outbox_show_scheduling_privileges(server):
    response = server.propfind(INBOX, "D:current-user-privilege-set",
                               "D:supported-privilege-set")
    inbox = response.responses()[INBOX]
    granted = {p[0].tag for p in prop(inbox, "D:current-user-privilege-set")}
    assert {clark("C:schedule-deliver"), clark("C:schedule-deliver-invite"),
            clark("C:schedule-deliver-reply"),
            clark("C:schedule-query-freebusy"), clark("D:read")} <= granted
    assert clark("D:bind") not in granted
    supported = prop(inbox, "D:supported-privilege-set")
    deliver = [sp for sp in supported.iter(clark("D:supported-privilege"))
               if sp.find("D:privilege/C:schedule-deliver", NS) is not None]
    assert len(deliver) == 1
    subs = {sp.find("D:privilege", NS)[0].tag
            for sp in deliver[0].findall("D:supported-privilege", NS)}
    assert subs == {clark("C:schedule-deliver-invite"),
                    clark("C:schedule-deliver-reply"),
                    clark("C:schedule-query-freebusy")}
    response = server.propfind(OUTBOX, "D:current-user-privilege-set",
                               "D:supported-privilege-set")
    outbox = response.responses()[OUTBOX]
    granted = {p[0].tag for p in prop(outbox, "D:current-user-privilege-set")}
    assert {clark("C:schedule-send"), clark("C:schedule-send-invite"),
            clark("C:schedule-send-reply"),
            clark("C:schedule-send-freebusy")} <= granted
    assert prop(outbox, "D:supported-privilege-set").find(
        ".//C:schedule-send-freebusy", NS) is not None


def test_inbox_url_props_only_on_principals(server):
    server.propfind("/alice/", "D:resourcetype")
    assert server.mkcalendar("/alice/calendar/").status == 201
    response = server.propfind("/alice/", "C:schedule-inbox-URL", depth="1")
    calendar = [r for href, r in response.responses().items()
                if href != "/alice/"]
    assert len(calendar) == 1
    for response_element in calendar:
        assert status_of(response_element, "C:schedule-inbox-URL") == 404
