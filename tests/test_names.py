"""A user's name: the admin's (addresses file) until the user sets one."""

from helpers import prop, status_of


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
