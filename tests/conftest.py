import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from helpers import make_server, write_file  # noqa: E402

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
    and carol to m1 (test_security.set_up)."""
    from test_security import set_up
    return set_up(server)


@pytest.fixture
def open_world(open_server):
    """As ``world``, but the rights let every user write everywhere."""
    from test_security import set_up
    return set_up(open_server)


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
