"""Options are typed and checked when Radicale starts."""

import pytest
from radicale import Application

from helpers import make_configuration, make_server, write_file


def start(tmp_path, **options):
    return Application(make_configuration(str(tmp_path), **options))


def test_unknown_scheduling_option_stops_the_start(tmp_path):
    with pytest.raises(RuntimeError, match="scheduling_domian"):
        start(tmp_path, scheduling_domian="example.org")


def test_bad_domain_names_the_option(tmp_path):
    with pytest.raises(RuntimeError,
                       match="mail_domain value.*scheduling_domain.*"
                             "example org"):
        start(tmp_path, scheduling_domain="example org")
    with pytest.raises(RuntimeError, match="scheduling_domain"):
        start(tmp_path, scheduling_domain="alice@example.org")


def test_missing_addresses_file_names_the_option(tmp_path):
    with pytest.raises(RuntimeError,
                       match="existing_file value.*scheduling_addresses.*"
                             "nope"):
        start(tmp_path, scheduling_addresses=str(tmp_path / "nope"))


@pytest.mark.parametrize("content, message", [
    ("[alice]\naddresses = shared@home.example\n"
     "[bob]\naddresses = Shared@Home.example\n",
     "shared@home.example is claimed by both 'alice' and 'bob'"),
    ("[bob]\naddresses = alice@example.org\n",
     "alice@example.org is given to user 'bob' but is the address of "
     "user 'alice'"),
    ("[alice]\ntype = CAR\n", "type 'CAR' of user 'alice'"),
    ("[alice]\nadresses = a@b.example\n", "unknown key 'adresses'"),
    ("[alice]\naddresses = not-an-address\n", "is not an e-mail address"),
    ("alice = x\n", "cannot read"),
])
def test_bad_addresses_file_stops_the_start(tmp_path, content, message):
    path = write_file(str(tmp_path), "addresses", content)
    with pytest.raises(RuntimeError, match=message):
        start(tmp_path, scheduling_domain="example.org",
              scheduling_addresses=path)


def test_addresses_file_is_reloaded_and_a_broken_edit_is_ignored(tmp_path):
    path = write_file(str(tmp_path), "addresses",
                      "[bob]\naddresses = bobby@home.example\n")
    server = make_server(str(tmp_path), scheduling_domain="example.org",
                         scheduling_addresses=path)
    directory = server.storage.directory
    assert directory.user_for_address("mailto:BOBBY@home.example") == "bob"
    import os
    import time
    time.sleep(0.01)
    write_file(str(tmp_path), "addresses",
               "[carol]\naddresses = bobby@home.example\n# edited\n")
    os.utime(path, ns=(time.time_ns() + 10**9,) * 2)
    assert directory.user_for_address("mailto:bobby@home.example") == "carol"
    write_file(str(tmp_path), "addresses",
               "[carol]\naddresses = x@y.example\n[bob]\n"
               "addresses = x@y.example\n")
    os.utime(path, ns=(time.time_ns() + 2 * 10**9,) * 2)
    # The broken edit (a double claim) keeps the last good version.
    assert directory.user_for_address("mailto:bobby@home.example") == "carol"
    assert directory.user_for_address("mailto:x@y.example") is None


def test_aliases_in_the_servers_domain(tmp_path):
    path = write_file(str(tmp_path), "addresses",
                      "[alice]\naddresses = family@example.org\n")
    server = make_server(str(tmp_path), scheduling_domain="example.org",
                         scheduling_addresses=path)
    directory = server.storage.directory
    assert directory.user_for_address("mailto:family@example.org") == "alice"
    assert directory.principal("alice").addresses == (
        "mailto:family@example.org", "mailto:alice@example.org")
    # A later user called "family" does not get alice's alias.
    assert directory.principal("family").addresses == ()


def test_addresses_resolve_only_to_existing_users(tmp_path):
    server = make_server(str(tmp_path), scheduling_domain="example.org")
    directory = server.storage.directory
    assert directory.user_for_address("mailto:bob@example.org") == "bob"
    assert directory.user_for_address("MAILTO:Bob@Example.ORG") == "bob"
    assert directory.user_for_address("mailto:bbo@example.org") is None
    assert directory.is_local_domain("mailto:bbo@example.org")
    assert directory.user_for_address("mailto:bob@elsewhere.example") is None
    assert directory.user_for_address(
        "mailto:dave@mail.example") == "dave@mail.example"
