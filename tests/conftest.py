import os
import sys

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


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A real ``python -m radicale`` on 127.0.0.1, as a user would run it."""
    import socket
    import subprocess
    import time

    from helpers import PASSWORD, write_users

    folder = str(tmp_path_factory.mktemp("live"))
    addresses = write_file(folder, "addresses", ADDRESSES)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = write_file(folder, "config", f"""\
        [server]
        hosts = 127.0.0.1:{port}
        [auth]
        type = htpasswd
        htpasswd_filename = {write_users(folder)}
        htpasswd_encryption = plain
        delay = 0
        [rights]
        type = owner_only
        [storage]
        type = radicale_scheduling
        filesystem_folder = {folder}/collections
        scheduling_domain = example.org
        scheduling_addresses = {addresses}
        [logging]
        level = warning
        """)
    log = open(os.path.join(folder, "radicale.log"), "w")
    process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", config],
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            log.close()
            with open(os.path.join(folder, "radicale.log")) as f:
                pytest.fail("radicale did not start:\n" + f.read())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("radicale did not listen within 30 s")
            time.sleep(0.1)
    yield {"url": f"http://127.0.0.1:{port}/", "password": PASSWORD,
           "folder": folder}
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
