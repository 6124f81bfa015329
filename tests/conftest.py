"""Shared fixtures, and the tiers: each test is marked by its folder.

- tests/engine/: the pure iTIP engine, no Radicale (``pytest -m engine``);
- tests/inprocess/: Radicale's WSGI application in this process;
- tests/live/: real servers: ``python -m radicale`` processes with
  python-caldav, a real SMTP server, the commands as processes.
A test elsewhere that uses a real server (``live_server``, ``mail_port``,
or marked ``e2e``) is ``live`` too, so ``pytest -m "not live"`` starts none.
"""

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from helpers import make_server, write_file  # noqa: E402
from scheduling_helpers import set_up  # noqa: E402

TIERS = ("engine", "inprocess", "live")
#: A test using one of these needs a real server: it is ``live``.
LIVE_FIXTURES = {"live_server", "mail_port"}

ADDRESSES = """\
[alice]
name = Alice Example
addresses = alice.example@family.example

[room-1]
type = ROOM
name = Meeting room 1
"""


@pytest.fixture
def server(tmp_path):
    """The plugin with a domain and an addresses file, owner_only rights."""
    addresses = write_file(str(tmp_path), "addresses", ADDRESSES)
    return make_server(str(tmp_path), scheduling_domain="example.org",
                       scheduling_addresses=addresses)


@pytest.fixture
def open_server(tmp_path):
    """As ``server`` but every user may read everything (rights)."""
    return make_server(str(tmp_path), rights="authenticated",
                       scheduling_domain="example.org")


@pytest.fixture
def world(server):
    """``server`` where every user has a calendar and alice invited bob
    and carol to m1 (scheduling_helpers.set_up)."""
    return set_up(server)


@pytest.fixture
def open_world(open_server):
    """As ``world``, but the rights let every user write everywhere."""
    return set_up(open_server)


@pytest.fixture
def mail_port():
    """A free port on 127.0.0.1 for a mail server (live.smtp_server)."""
    import live
    return live.free_port()


@pytest.fixture
def mailing(tmp_path, mail_port):
    """Starts a server that mails through 127.0.0.1:mail_port, retrying
    fast; alice and bob have visited, alice has /alice/calendar/."""
    def start(**extra):
        server = make_server(
            str(tmp_path), scheduling_domain="example.org",
            scheduling_smtp_host="127.0.0.1",
            scheduling_smtp_port=str(mail_port),
            scheduling_smtp_security="none",
            scheduling_smtp_from="calendar@example.org",
            scheduling_smtp_retry_seconds="1", **extra)
        for user in ("alice", "bob"):
            server.propfind("/%s/" % user, "D:resourcetype", user=user)
        assert server.mkcalendar("/alice/calendar/").status == 201
        assert server.storage  # loaded now, not between two readings
        return server
    return start


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A real ``python -m radicale`` on 127.0.0.1, as a user would run it."""
    import live

    from helpers import PASSWORD, write_users

    folder = str(tmp_path_factory.mktemp("live"))
    addresses = write_file(folder, "addresses", ADDRESSES)
    try:
        server = live.start(folder, "radicale", folder + "/collections",
                            write_users(folder), storage={
                                "scheduling_domain": "example.org",
                                "scheduling_addresses": addresses})
    except RuntimeError as e:
        pytest.fail(str(e))
    yield {"url": server.url, "password": PASSWORD, "folder": folder}
    server.stop()


class Clock:
    """The mail queue's clock in a test: a millisecond per reading (so that
    what is queued later is later), and as far as the test says."""

    def __init__(self):
        self.now = time.time()

    def __call__(self):
        self.now += 0.001
        return self.now

    def advance(self, seconds):
        self.now += seconds


def queue_by_hand(folder, clock=None):
    """The mail queue in ``folder`` is run by the test (``run_once``) on
    ``clock``: no sender thread."""
    from radicale_scheduling.delivery import outbound
    clock = clock or Clock()
    outbound.run_by_hand(folder, clock)
    return clock


@pytest.fixture
def mail_clock(tmp_path):
    """Servers made in tmp_path get a mail queue the test runs itself;
    ``mail_clock.advance(seconds)`` instead of sleeping."""
    return queue_by_hand(os.path.join(str(tmp_path), "collections",
                                      "scheduling-queue"))


def pytest_collection_modifyitems(items):
    for item in items:
        tier = item.path.parent.name
        if LIVE_FIXTURES.intersection(item.fixturenames) or \
                item.get_closest_marker("e2e"):
            tier = "live"
        if tier in TIERS:
            item.add_marker(tier)
