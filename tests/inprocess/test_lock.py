"""Writers before new readers (issue 16): with a reader holding the storage
lock and a writer waiting, a reader that comes later waits behind the
writer, whether the writer is a thread of the same process or another
process sharing the folder.  Orderings are asserted, never durations."""

import fcntl
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from radicale import storage as radicale_storage

from helpers import make_configuration
from radicale_scheduling.storage import TURNSTILE_FILE

#: Only bounds how long a broken build may hang; no assertion is timed.
PATIENCE = 60


@pytest.fixture
def storage(tmp_path):
    configuration = make_configuration(str(tmp_path),
                                       scheduling_domain="example.org")
    return radicale_storage.load(configuration)


def turnstile_taken(storage):
    """Is the turnstile held (by a waiting writer)?"""
    path = os.path.join(storage.configuration.get(
        "storage", "filesystem_folder"), TURNSTILE_FILE)
    with open(path, "a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return False


def wait_until(condition):
    event = threading.Event()
    for _ in range(PATIENCE * 100):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition never met")


class Holder(threading.Thread):
    """Takes the lock in ``mode``, notes it, holds it until released."""

    def __init__(self, storage, mode, name, order):
        super().__init__(daemon=True)
        self.storage, self.mode, self.name, self.order = (storage, mode,
                                                          name, order)
        self.trying = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()

    def run(self):
        self.trying.set()
        with self.storage.acquire_lock(self.mode):
            self.order.append(self.name)
            self.holding.set()
            self.release.wait(PATIENCE)


def settle(thread):
    """Give a thread that is not waiting the chance to get the lock: a
    reader let in past the writer would show up in the order here."""
    thread.trying.wait(PATIENCE)
    thread.holding.wait(0.5)


def test_a_new_reader_waits_behind_a_waiting_writer(storage):
    order = []
    first = Holder(storage, "r", "reader 1", order)
    first.start()
    assert first.holding.wait(PATIENCE)
    writer = Holder(storage, "w", "writer", order)
    writer.start()
    wait_until(lambda: turnstile_taken(storage))
    later = Holder(storage, "r", "reader 2", order)
    later.start()
    settle(later)
    assert order == ["reader 1"]
    first.release.set()
    assert writer.holding.wait(PATIENCE)
    assert order == ["reader 1", "writer"]
    writer.release.set()
    assert later.holding.wait(PATIENCE)
    later.release.set()
    for thread in (first, writer, later):
        thread.join(PATIENCE)
    assert order == ["reader 1", "writer", "reader 2"]


WRITER = textwrap.dedent("""
    import sys
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from radicale import storage
    from helpers import make_configuration
    s = storage.load(make_configuration(sys.argv[3],
                                        scheduling_domain="example.org"))
    with s.acquire_lock("w"):
        print("writing", flush=True)
        sys.stdin.readline()
    print("done", flush=True)
""")


def test_a_writer_in_another_process_goes_first(storage, tmp_path):
    order = []
    first = Holder(storage, "r", "reader 1", order)
    later = Holder(storage, "r", "reader 2", order)
    first.start()
    assert first.holding.wait(PATIENCE)
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, os.path.dirname(tests), tests,
         str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        wait_until(lambda: turnstile_taken(storage))
        later.start()
        settle(later)
        assert order == ["reader 1"]
        first.release.set()
        assert process.stdout.readline().strip() == "writing"
        order.append("writer")
        process.stdin.write("\n")
        process.stdin.flush()
        assert later.holding.wait(PATIENCE)
        later.release.set()
        assert process.stdout.readline().strip() == "done"
    finally:
        first.release.set()
        later.release.set()
        process.stdin.close()
        process.wait(PATIENCE)
    assert order == ["reader 1", "writer", "reader 2"]


def test_a_nested_read_does_not_wait_for_a_queued_writer(storage):
    """A thread holding the lock reads again (Radicale 3.9's PROPFIND of
    shared collections does) while a writer waits: it gets in."""
    order = []
    writer = Holder(storage, "w", "writer", order)
    done = threading.Event()

    def nested():
        with storage.acquire_lock("r"):
            writer.start()
            wait_until(lambda: turnstile_taken(storage))
            with storage.acquire_lock("r"):
                order.append("nested read")
        done.set()

    reader = threading.Thread(target=nested, daemon=True)
    reader.start()
    assert done.wait(PATIENCE)
    assert writer.holding.wait(PATIENCE)
    writer.release.set()
    writer.join(PATIENCE)
    assert order == ["nested read", "writer"]
