"""A user's name: the admin's (addresses file) until the user sets one."""


from helpers import prop, status_of
from scheduling_helpers import answer, copies, copy, ics, inbox, organize, put


def displayname(server, user):
    response = server.propfind("/%s/" % user, "D:displayname", user=user)
    assert response.status == 207
    [answer] = response.responses().values()
    found = prop(answer, "D:displayname")
    return found.text if found is not None else \
        status_of(answer, "D:displayname")


def test_principal_displayname_defaults_to_the_addresses_file(server):
    assert displayname(server, "alice") == "Alice Example"
    # No name anywhere: Radicale's answer (not found), never "None".
    assert displayname(server, "bob") == 404
    response = server.proppatch(
        "/alice/", set_xml="<D:displayname>Ally</D:displayname>")
    assert response.status == 207
    assert displayname(server, "alice") == "Ally"
    response = server.proppatch("/alice/", remove_xml="<D:displayname/>")
    assert displayname(server, "alice") == "Alice Example"


def test_a_clients_none_name_reaches_no_copy_or_message(server):
    """A client writes CN=None for a principal without a display name: no
    copy, inbox message or answer shows "None" as a person's name."""
    text = ics("m1", "ATTENDEE;CN=None:mailto:bob@example.org\n",
               "carol").replace("ORGANIZER;CN=alice", "ORGANIZER;CN=None")
    organize(server, text)
    for user in ("alice", "bob"):
        assert "CN=None" not in copy(server, user, "m1")
    for _method, message in inbox(server, "bob"):
        assert "CN=None" not in message
    # bob's client writes the placeholder into his answer too.
    mine = answer(copy(server, "bob", "m1"), "bob", "ACCEPTED").replace(
        "ATTENDEE;", "ATTENDEE;CN=None;", 1)
    [href] = [h for h, _ in copies(server, "bob", "m1")]
    assert put(server, "bob", href, mine).status in (201, 204)
    assert "CN=None" not in copy(server, "bob", "m1")
    [(method, reply)] = inbox(server, "alice")
    assert method == "REPLY" and "CN=None" not in reply
    assert "CN=carol" in copy(server, "alice", "m1")
