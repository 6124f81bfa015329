"""schedule-default-calendar-URL (RFC 6638 s4.3, s9.2) and
schedule-calendar-transp (s9.1)."""

import os

from helpers import NS, make_server, prop, proppatch_refused
from scheduling_helpers import copies, ics, put

INBOX = "/alice/.schedule-inbox/"
DEFAULT = "C:schedule-default-calendar-URL"


def default_of(server, user="alice"):
    inbox = "/%s/.schedule-inbox/" % user
    response = server.propfind(inbox, DEFAULT, user=user)
    assert response.status == 207
    return prop(response.responses()[inbox], DEFAULT).findtext(
        "D:href", namespaces=NS)


def set_default(server, href, user="alice"):
    return server.proppatch(
        "/%s/.schedule-inbox/" % user,
        "<C:schedule-default-calendar-URL><D:href>%s</D:href>"
        "</C:schedule-default-calendar-URL>" % href, user=user)


def invite(server, user="alice"):
    """bob invites ``user``: the first invitation needs a calendar."""
    server.propfind("/bob/", "D:resourcetype", user="bob")
    assert server.mkcalendar("/bob/work/", user="bob").status == 201
    assert put(server, "bob", "/bob/work/m1.ics",
               ics("m1", user, organizer="bob")).status == 201


def test_a_calendar_is_created_for_a_user_without_one(server):
    # Reading the property creates nothing: there is no default (s9.2).
    assert default_of(server) is None
    home = server.propfind("/alice/", "D:resourcetype", depth="1")
    assert "/alice/calendar/" not in home.responses()
    # The first invitation creates it.
    invite(server)
    assert default_of(server) == "/alice/calendar/"
    response = server.propfind("/alice/calendar/", "D:resourcetype",
                               "C:supported-calendar-component-set")
    assert response.status == 207
    assert copies(server, "alice", "m1")[0][0].startswith("/alice/calendar/")


def test_first_event_calendar_is_chosen_and_kept(server):
    server.request("PROPFIND", "/alice/", user="alice", depth="0")
    assert server.mkcalendar("/alice/chores/", components="VTODO").status \
        == 201
    assert server.mkcalendar("/alice/work/").status == 201
    assert server.mkcalendar("/alice/zoo/").status == 201
    assert default_of(server) == "/alice/work/"
    assert not os.path.exists(
        os.path.join(server.collection_root(), "alice", "calendar"))
    # A calendar created later that sorts first does not take over.
    assert server.mkcalendar("/alice/aaa/").status == 201
    assert default_of(server) == "/alice/work/"


def test_existing_calendar_named_calendar_that_takes_no_events(server):
    server.request("PROPFIND", "/alice/", user="alice", depth="0")
    assert server.mkcalendar("/alice/calendar/", components="VTODO").status \
        == 201
    assert default_of(server) is None
    invite(server)
    assert default_of(server) == "/alice/calendar-2/"


def with_calendar(server, user="alice"):
    """``user``'s client made a calendar, then asked for the default."""
    server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar("/%s/calendar/" % user, user=user).status == 201
    return default_of(server, user)


def test_proppatch_points_default_at_another_own_calendar(server):
    assert with_calendar(server) == "/alice/calendar/"
    assert server.mkcalendar("/alice/family/").status == 201
    response = set_default(server, "/alice/family/")
    assert response.status == 207
    assert default_of(server) == "/alice/family/"
    # Absolute URLs are accepted too.
    response = set_default(server, "http://localhost/alice/calendar/")
    assert response.status == 207
    assert default_of(server) == "/alice/calendar/"


def test_invalid_default_calendars_are_refused_and_change_nothing(server):
    assert with_calendar(server) == "/alice/calendar/"
    assert server.mkcalendar("/alice/todo/", components="VTODO").status \
        == 201
    assert server.request("MKCOL", "/alice/book/", _addressbook(),
                          user="alice").status == 201
    assert with_calendar(server, "bob") == "/bob/calendar/"
    for href in ("/bob/calendar/", "/alice/todo/", "/alice/book/",
                 "/alice/missing/", "/alice/", INBOX, "/alice/calendar/x/"):
        response = set_default(server, href)
        assert proppatch_refused(response, 403,
                                 "C:valid-schedule-default-calendar-URL")
        assert default_of(server) == "/alice/calendar/"


def test_removing_the_default_calendar_url_is_refused(server):
    assert with_calendar(server) == "/alice/calendar/"
    response = server.proppatch(INBOX,
                                remove_xml="<C:schedule-default-calendar-URL/>")
    assert proppatch_refused(response, 403, "C:default-calendar-needed")
    assert default_of(server) == "/alice/calendar/"


def test_default_calendar_cannot_be_deleted(server):
    assert with_calendar(server) == "/alice/calendar/"
    response = server.request("DELETE", "/alice/calendar/", user="alice")
    assert response.status == 403
    assert response.xml.find("C:default-calendar-needed", NS) is not None
    assert server.propfind("/alice/calendar/", "D:resourcetype").status == 207
    # Once another calendar is the default, the old one can go.
    assert server.mkcalendar("/alice/family/").status == 201
    assert set_default(server, "/alice/family/").status == 207
    assert server.request("DELETE", "/alice/calendar/",
                          user="alice").status == 200


def test_default_calendar_url_elsewhere_is_refused(server):
    response = server.proppatch(
        "/alice/calendar/", "<C:schedule-default-calendar-URL><D:href>"
        "/alice/calendar/</D:href></C:schedule-default-calendar-URL>")
    assert proppatch_refused(response, 403)


def _addressbook():
    return ('<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" '
            'xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
            '<D:resourcetype><D:collection/><CR:addressbook/>'
            '</D:resourcetype></D:prop></D:set></D:mkcol>')


TRANSP = "C:schedule-calendar-transp"


def transp_of(server, path="/alice/calendar/"):
    response = server.propfind(path, TRANSP)
    return [child.tag.split("}")[1]
            for child in prop(response.responses()[path], TRANSP)]


def test_calendar_transp_is_opaque_by_default_and_settable(server):
    server.propfind("/alice/", "D:resourcetype")
    assert server.mkcalendar("/alice/calendar/").status == 201
    assert transp_of(server) == ["opaque"]
    response = server.proppatch(
        "/alice/calendar/",
        "<C:schedule-calendar-transp><C:transparent/>"
        "</C:schedule-calendar-transp><D:displayname>Holidays</D:displayname>")
    assert response.status == 207
    assert transp_of(server) == ["transparent"]
    name = server.propfind("/alice/calendar/", "D:displayname")
    assert b"Holidays" in name.body
    # allprop renders it as XML too, not as the stored text.
    allprop = server.request(
        "PROPFIND", "/alice/calendar/",
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/>'
        '</D:propfind>', user="alice", depth="0")
    value = prop(allprop.responses()["/alice/calendar/"], TRANSP)
    assert value is not None and value.text in (None, "")
    assert value.find("C:transparent", NS) is not None
    response = server.proppatch("/alice/calendar/", remove_xml=(
        "<C:schedule-calendar-transp/>"))
    assert response.status == 207
    assert transp_of(server) == ["opaque"]


def test_invalid_transp_values_are_refused(server):
    server.propfind("/alice/", "D:resourcetype")
    assert server.mkcalendar("/alice/calendar/").status == 201
    for value in ("", "<C:busy/>", "<C:opaque/><C:transparent/>"):
        response = server.proppatch(
            "/alice/calendar/",
            "<C:schedule-calendar-transp>%s</C:schedule-calendar-transp>"
            "<D:displayname>Changed</D:displayname>" % value)
        # RFC 4918 s9.2.1: 409 for a value the property cannot take, 424
        # for the display name that is not set either.
        assert proppatch_refused(response, 409), value
    assert transp_of(server) == ["opaque"]
    assert b"Changed" not in server.propfind("/alice/calendar/",
                                             "D:displayname").body
    # Not a calendar: the principal.
    response = server.proppatch(
        "/alice/", "<C:schedule-calendar-transp><C:opaque/>"
        "</C:schedule-calendar-transp>")
    assert proppatch_refused(response, 403)


def test_users_cannot_claim_addresses_or_change_computed_properties(server):
    for path, value in (
            ("/alice/", "<C:calendar-user-address-set><D:href>"
                        "mailto:bob@example.org</D:href>"
                        "</C:calendar-user-address-set>"),
            ("/alice/", "<C:calendar-user-type>ROOM</C:calendar-user-type>"),
            ("/alice/", "<C:schedule-inbox-URL><D:href>/bob/"
                        ".schedule-inbox/</D:href></C:schedule-inbox-URL>"),
            (INBOX, "<D:resourcetype><D:collection/></D:resourcetype>")):
        response = server.proppatch(path, value)
        assert proppatch_refused(response, 403,
                                 "D:cannot-modify-protected-property")
    response = server.propfind("/alice/", "C:calendar-user-address-set",
                               "C:calendar-user-type")
    assert b"bob@example.org" not in response.body
    assert b"ROOM" not in response.body
    # An address claimed by PROPPATCH does not route bob's mail to alice.
    assert server.storage.directory.user_for_address(
        "mailto:bob@example.org") == "bob"


def test_provisioning_survives_a_plain_radicale_in_between(tmp_path):
    """Plain Radicale ignores the scheduling folders; enabling again works."""
    server = make_server(str(tmp_path), scheduling_domain="example.org")
    assert with_calendar(server) == "/alice/calendar/"
    plain = make_server(str(tmp_path), storage_type="multifilesystem")
    listing = plain.propfind("/alice/", "D:resourcetype", depth="1")
    assert set(listing.responses()) == {"/alice/", "/alice/calendar/"}
    again = make_server(str(tmp_path), scheduling_domain="example.org")
    assert default_of(again) == "/alice/calendar/"


def test_discovering_scheduling_creates_no_calendar(server):
    """A client that discovers scheduling and then makes its own calendar
    finds only that one; it becomes the default."""
    server.propfind("/alice/", "D:resourcetype", "D:displayname")
    server.propfind("/alice/", "C:schedule-inbox-URL",
                    "C:schedule-outbox-URL", "C:calendar-user-address-set")
    assert default_of(server) is None
    home = server.propfind("/alice/", "D:resourcetype", depth="1")
    assert set(home.responses()) == {"/alice/"}
    assert server.mkcalendar("/alice/personal/").status == 201
    home = server.propfind("/alice/", "D:resourcetype", depth="1")
    assert set(home.responses()) == {"/alice/", "/alice/personal/"}
    assert default_of(server) == "/alice/personal/"
    invite(server)
    assert [h for h, _ in copies(server, "alice", "m1")] == [
        "/alice/personal/m1.ics"]


def test_a_refused_proppatch_names_every_property(server):
    """RFC 4918 s9.2: all or nothing, each property with its status."""
    server.propfind("/alice/", "D:resourcetype")
    assert server.mkcalendar("/alice/calendar/").status == 201
    response = server.proppatch(
        "/alice/calendar/",
        "<D:displayname>Changed</D:displayname>"
        "<C:calendar-user-type>ROOM</C:calendar-user-type>"
        "<C:schedule-calendar-transp><C:transparent/>"
        "</C:schedule-calendar-transp>")
    assert response.status == 207
    [answer] = response.xml.findall("D:response", NS)
    assert answer.findtext("D:href", namespaces=NS) == "/alice/calendar/"
    found = {}
    for propstat in answer.findall("D:propstat", NS):
        for name in propstat.find("D:prop", NS):
            found[name.tag.split("}")[1]] = (
                propstat.findtext("D:status", namespaces=NS),
                propstat.find("D:error/D:cannot-modify-protected-property",
                              NS) is not None)
    assert found == {
        "calendar-user-type": ("HTTP/1.1 403 Forbidden", True),
        "displayname": ("HTTP/1.1 424 Failed Dependency", False),
        "schedule-calendar-transp": ("HTTP/1.1 424 Failed Dependency",
                                     False)}
    assert transp_of(server) == ["opaque"]
    assert b"Changed" not in server.propfind("/alice/calendar/",
                                             "D:displayname").body
