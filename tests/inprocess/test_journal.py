"""What the journal does with what a dead process left (storage/journal.py).

tests/live/test_crash.py kills real processes; this covers the leftovers a kill
cannot produce on purpose: a journal file cut short and an unreadable one.
"""

import json
import os

from helpers import make_server
from radicale_scheduling.storage.journal import FOLDER
from scheduling_helpers import copy, ics, put


def journal_folder(server):
    return os.path.join(server.folder, "collections", FOLDER)


def test_a_half_written_journal_is_dropped_and_an_unreadable_one_kept(
        server, tmp_path):
    assert server.mkcalendar("/alice/calendar/").status == 201
    assert put(server, "alice", "/alice/calendar/m1.ics",
               ics("m1", "bob")).status == 201
    folder = journal_folder(server)
    assert os.listdir(folder) == []  # every operation finished
    with open(os.path.join(folder, "cut.json.tmp"), "w") as f:
        f.write('{"writes": [{"path": "/etc/x", "te')
    with open(os.path.join(folder, "bad.json"), "w") as f:
        f.write("not json")
    restarted = make_server(str(tmp_path), scheduling_domain="example.org")
    # The cut one never committed: its operation wrote nothing; the
    # unreadable one is kept for the admin, out of the way.
    assert sorted(os.listdir(folder)) == ["bad.json.broken"]
    assert not os.path.exists("/etc/x")
    assert put(restarted, "alice", "/alice/calendar/m1.ics",
               ics("m1", "bob", summary="Moved")).status in (201, 204)
    assert "SUMMARY:Moved" in copy(restarted, "bob", "m1")


def test_a_committed_journal_is_finished_by_the_next_writer(server):
    """Another process died after its journal was written: the next
    request that writes finishes it before writing anything itself."""
    assert server.mkcalendar("/alice/calendar/").status == 201
    root = os.path.join(server.folder, "collections", "collection-root")
    target = os.path.join(root, "alice", "calendar", "left.ics")
    text = ics("left", summary="Left by a dead process")
    name = "left.json"  # as the dead process wrote it: committed
    os.makedirs(journal_folder(server), exist_ok=True)
    with open(os.path.join(journal_folder(server), name), "w",
              encoding="utf-8", newline="") as f:
        json.dump({"writes": [{"path": target, "text": text}]}, f)
    assert not os.path.exists(target)
    assert server.mkcalendar("/alice/other/").status == 201
    with open(target, newline="") as f:
        assert f.read() == text
    assert name not in os.listdir(journal_folder(server))
