"""sync-collection (RFC 6578) answered from the index (issue 18): the same
answer as plain Radicale for the same folder, byte for byte, sync tokens
and order of responses included.

Plain Radicale and Radicale with the plugin take turns on one storage
folder, as when a user switches between them: each must accept the other's
tokens and keep the other's history files, so both answer every sync alike.
The one intended difference: an initial sync names no removed member
(RFC 6578 s3.4).
"""

import os
import pickle
import re

import pytest
from radicale import config
from test_regression import _without_removed as without_removed
from test_regression import event

from helpers import NS, Application, Server, make_configuration, make_server

DAV_NS = ('xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
          'xmlns:CS="http://calendarserver.org/ns/"')
ETAG = "<D:getetag/>"
TYPE = "<D:getcontenttype/>"
CAL = "/alice/cal/"


def sync_body(token="", props=ETAG):
    return ('<?xml version="1.0"?><D:sync-collection %s><D:sync-token>%s'
            '</D:sync-token><D:sync-level>1</D:sync-level><D:prop>%s'
            '</D:prop></D:sync-collection>' % (DAV_NS, token, props))


def token_of(response):
    return re.findall(r"sync-token>([^<]+)<", response.text)[-1]


def removed(answer):
    """The hrefs a sync answer names as removed (a 404 response)."""
    return [r.findtext("D:href", namespaces=NS)
            for r in answer.xml.findall("D:response", NS)
            if r.find("D:status", NS) is not None]


class Pair:
    """Plain Radicale and the plugin on one folder, asked in turn."""

    def __init__(self, folder, **options):
        self.plain = make_server(folder, storage_type="multifilesystem",
                                 **options)
        self.plugin = make_server(folder, scheduling_domain="example.org",
                                  **options)
        self.turn = 0

    def cal(self):
        return os.path.join(self.plain.collection_root(), "alice", "cal")

    def sync(self, token="", props=ETAG):
        """Both answers, the plugin's first every other time; asserts they
        are the same and returns the plugin's."""
        body = sync_body(token, props)
        order = [self.plain, self.plugin]
        if self.turn % 2:
            order.reverse()
        self.turn += 1
        answers = {id(server): server.request("REPORT", CAL, body,
                                              user="alice")
                   for server in order}
        plain, plugin = answers[id(self.plain)], answers[id(self.plugin)]
        assert plugin.status == plain.status
        if token or plain.status != 207 or not removed(plain):
            assert plugin.body == plain.body
        else:  # the same less the removed members
            assert without_removed(plugin.body) == \
                without_removed(plain.body)
            assert not removed(plugin)
        return plugin


@pytest.fixture
def pair(tmp_path):
    pair = Pair(str(tmp_path))
    assert pair.plain.request("MKCALENDAR", CAL, user="alice").status == 201
    for i in range(8):
        assert pair.plain.request("PUT", CAL + "e%d.ics" % i, event(
            "e%d" % i, "Meeting %d" % i), user="alice").status == 201
    return pair


@pytest.mark.parametrize("props", [ETAG, ETAG + TYPE, TYPE, TYPE + ETAG,
                                   ETAG + "<D:displayname/>",
                                   ETAG + "<C:calendar-data/>"])
def test_same_answer_as_plain_radicale(pair, props):
    first = pair.sync("", props)
    assert first.status == 207
    assert len(first.xml.findall("D:response", NS)) == 8
    token = token_of(first)
    again = pair.sync("", props)
    assert token_of(again) == token  # nothing changed: the same token
    unchanged = pair.sync(token, props)
    assert unchanged.xml.findall("D:response", NS) == []
    for server in (pair.plain, pair.plugin):
        assert server.request("PUT", CAL + "e3.ics", event(
            "e3", "Moved %d" % pair.turn),
                              user="alice").status in (201, 204)
        assert server.request("DELETE", CAL + "e5.ics",
                              user="alice").status == 200
        assert server.request("PUT", CAL + "n-%d.ics" % pair.turn, event(
            "n-%d" % pair.turn), user="alice").status == 201
        changed = pair.sync(token, props)
        hrefs = [r.findtext("D:href", namespaces=NS)
                 for r in changed.xml.findall("D:response", NS)]
        # The removed member first (a 404), then the changed ones.
        assert hrefs[0] == CAL + "e5.ics"
        assert CAL + "n-%d.ics" % (pair.turn - 1) in hrefs
        assert CAL + "e3.ics" in hrefs
        token = token_of(changed)
        assert server.request("PUT", CAL + "e5.ics", event("e5"),
                              user="alice").status == 201
        token = token_of(pair.sync(token, props))
    # A client's first sync after removals: no removed member named.
    initial = pair.sync("", props)
    assert removed(initial) == []


def test_values_as_radicale_gives_them(pair):
    answer = pair.sync("", ETAG + TYPE)
    for response in answer.xml.findall("D:response", NS):
        href = response.findtext("D:href", namespaces=NS)
        got = pair.plugin.request("GET", href, user="alice")
        assert response.findtext("D:propstat/D:prop/D:getetag",
                                 namespaces=NS) == got.headers["ETag"]
        assert response.findtext(
            "D:propstat/D:prop/D:getcontenttype", namespaces=NS) == \
            "text/calendar;charset=utf-8;component=VEVENT"


def test_edits_by_hand_between_syncs(pair):
    token = token_of(pair.sync())
    folder = pair.cal()
    with open(os.path.join(folder, "e1.ics"), "w") as f:
        f.write(event("e1", "Edited by hand"))
    with open(os.path.join(folder, "e2.ics"), "w") as f:
        f.write(event("e2", "Meeting X"))  # the same size
    os.remove(os.path.join(folder, "e4.ics"))
    with open(os.path.join(folder, "hand.ics"), "w") as f:
        f.write(event("hand", "Added by hand"))
    changed = pair.sync(token, ETAG + TYPE)
    hrefs = sorted(r.findtext("D:href", namespaces=NS)
                   for r in changed.xml.findall("D:response", NS))
    assert hrefs == [CAL + name for name in
                     ("e1.ics", "e2.ics", "e4.ics", "hand.ics")]
    token = token_of(changed)
    # Edited back and forth while plain Radicale alone synced: the same
    # ETag as the plugin last saw, but a new history ETag (Radicale's
    # history file, rewritten twice meanwhile, is read again).
    with open(os.path.join(folder, "e1.ics"), "w") as f:
        f.write(event("e1", "Meeting 1"))
    token = token_of(pair.plain.request("REPORT", CAL, sync_body(token),
                                        user="alice"))
    with open(os.path.join(folder, "e1.ics"), "w") as f:
        f.write(event("e1", "Edited by hand"))
    pair.turn = 0  # plain Radicale first: the plugin reads what it wrote
    back = pair.sync(token)
    assert [r.findtext("D:href", namespaces=NS) for r in
            back.xml.findall("D:response", NS)] == [CAL + "e1.ics"]


def test_broken_item_as_in_radicale(pair):
    token = token_of(pair.sync())
    with open(os.path.join(pair.cal(), "broken.ics"), "w") as f:
        f.write("BEGIN:VCALENDAR\nnot iCalendar\n")
    # 3.9 skips it (skip_broken_item), 3.1 fails: the same either way.
    pair.sync(token)
    pair.sync("")


@pytest.mark.parametrize("token", [
    "http://radicale.org/ns/sync/" + "0" * 64,  # unknown
    "http://radicale.org/ns/sync/nope",  # malformed
    "urn:other:token"])
def test_invalid_token_refused_as_in_radicale(pair, token):
    refused = pair.sync(token)
    assert refused.status == 403
    assert refused.xml.find("D:valid-sync-token", NS) is not None


def test_plain_token_valid_after_switching(tmp_path):
    """A token plain Radicale gave stays valid with the plugin, and the
    other way round (the same token files and history files)."""
    folder = str(tmp_path)
    plain = make_server(folder, storage_type="multifilesystem")
    assert plain.request("MKCALENDAR", CAL, user="alice").status == 201
    for i in range(3):
        plain.request("PUT", CAL + "e%d.ics" % i, event("e%d" % i),
                      user="alice")
    token = token_of(plain.request("REPORT", CAL, sync_body(),
                                   user="alice"))
    plain.request("PUT", CAL + "new.ics", event("new"), user="alice")
    plugin = make_server(folder, scheduling_domain="example.org")
    answer = plugin.request("REPORT", CAL, sync_body(token), user="alice")
    assert answer.status == 207
    assert [r.findtext("D:href", namespaces=NS) for r in
            answer.xml.findall("D:response", NS)] == [CAL + "new.ics"]
    token = token_of(answer)
    plugin.request("DELETE", CAL + "e0.ics", user="alice")
    answer = plain.request("REPORT", CAL, sync_body(token), user="alice")
    assert answer.status == 207
    assert [(r.findtext("D:href", namespaces=NS),
             r.findtext("D:status", namespaces=NS)) for r in
            answer.xml.findall("D:response", NS)] == [
        (CAL + "e0.ics", "HTTP/1.1 404 Not Found")]


def test_history_files_in_radicale_format(pair):
    """The plugin's sync leaves Radicale's history and token files: a
    pickled [ETag, history ETag] per member, a pickled state per token."""
    pair.plain.request("PUT", CAL + "e0.ics", event("e0", "Changed"),
                       user="alice")
    pair.turn = 1  # the plugin first
    token = token_of(pair.sync())
    cache = os.path.join(pair.cal(), ".Radicale.cache")
    etag = pair.plugin.request("GET", CAL + "e0.ics",
                               user="alice").headers["ETag"]
    with open(os.path.join(cache, "history", "e0.ics"), "rb") as f:
        cached_etag, history_etag = pickle.load(f)
    assert cached_etag == etag
    assert re.fullmatch("[0-9a-f]{64}", history_etag)
    with open(os.path.join(cache, "sync-token",
                           token.rsplit("/", 1)[1]), "rb") as f:
        state = pickle.load(f)
    assert state["e0.ics"] == history_etag
    assert sorted(state) == ["e%d.ics" % i for i in range(8)]


def test_item_over_the_size_limit_left_out_as_in_radicale(tmp_path):
    if "max_resource_size" not in config.DEFAULT_CONFIG_SCHEMA["server"]:
        pytest.skip("Radicale before 3.9 has no resource size limit")
    folder = str(tmp_path)

    def server(**options):
        configuration = make_configuration(folder, **options)
        configuration.update({"server": {"max_resource_size": "600"}},
                             "test", privileged=True)
        return Server(Application(configuration), folder)

    pair = Pair(folder)
    pair.plain, pair.plugin = server(storage_type="multifilesystem"), \
        server(scheduling_domain="example.org")
    assert pair.plain.request("MKCALENDAR", CAL, user="alice").status == 201
    for i in range(3):
        pair.plain.request("PUT", CAL + "e%d.ics" % i, event("e%d" % i),
                           user="alice")
    token = token_of(pair.sync())
    with open(os.path.join(pair.cal(), "e1.ics"), "w") as f:
        f.write(event("e1", "Long " * 200))
    pair.sync(token, ETAG + TYPE)
    initial = pair.sync("", ETAG + TYPE)
    assert CAL + "e1.ics" not in initial.text


@pytest.mark.parametrize("damage", ["garbage", "removed", "old version"])
def test_history_cache_is_derived_data(pair, damage):
    """The plugin's cache of history ETags (beside its index) may be lost
    or damaged: the answers stay Radicale's, read the Radicale way."""
    for i in range(70):  # enough changes for the cache to be written
        pair.plain.request("PUT", CAL + "x%d.ics" % i, event("x%d" % i),
                           user="alice")
    token = token_of(pair.sync())
    cache = os.path.join(pair.cal(), ".Radicale.cache", "scheduling",
                         "history.json")
    assert os.path.exists(cache)
    if damage == "removed":
        os.remove(cache)
    else:
        with open(cache, "w") as f:
            f.write("{not json" if damage == "garbage" else
                    '{"version": 0, "history": {}}')
    pair.plain.request("PUT", CAL + "x1.ics", event("x1", "Changed"),
                       user="alice")
    pair.turn = 1  # the plugin first
    changed = pair.sync(token)
    assert [r.findtext("D:href", namespaces=NS) for r in
            changed.xml.findall("D:response", NS)] == [CAL + "x1.ics"]
    pair.sync("")
