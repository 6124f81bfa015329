"""The collection index is derived data: it follows the folder, whatever
wrote to it, and a broken index is rebuilt (issue: speed, index)."""

import os
import threading

import pytest

from helpers import NS, make_server
from scheduling_helpers import put

CAL = "/alice/cal/"
REPORT_WEEK = (
    '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>'
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
    '<C:time-range start="20260105T000000Z" end="20260112T000000Z"/>'
    '</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>')


def event(uid, start="20260105T100000Z", end="20260105T110000Z"):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART:%s\r\nDTEND:%s\r\nSUMMARY:x\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n" % (uid, start, end))


@pytest.fixture
def cal(server):
    server.propfind("/alice/", "D:resourcetype")
    assert server.mkcalendar(CAL).status == 201
    assert put(server, "alice", CAL + "a.ics", event("a")).status == 201
    return server


def folder(server):
    return os.path.join(server.collection_root(), "alice", "cal")


def index_file(server):
    return os.path.join(folder(server), ".Radicale.cache", "scheduling",
                        "index.json")


def week(server):
    response = server.request("REPORT", CAL, REPORT_WEEK, user="alice",
                              depth="1")
    assert response.status == 207
    return sorted(response.responses())


def test_a_file_added_by_hand_holds_its_uid(cal):
    with open(os.path.join(folder(cal), "hand.ics"), "w") as f:
        f.write(event("by-hand"))
    response = put(cal, "alice", CAL + "other.ics", event("by-hand"))
    assert response.status == 409
    assert response.xml.find("C:no-uid-conflict", NS) is not None
    assert CAL + "hand.ics" in week(cal)


def test_a_file_removed_by_hand_frees_its_uid(cal):
    os.remove(os.path.join(folder(cal), "a.ics"))
    assert put(cal, "alice", CAL + "b.ics", event("a")).status == 201
    assert week(cal) == [CAL + "b.ics"]


def test_a_file_edited_by_hand_moves_in_time(cal):
    assert week(cal) == [CAL + "a.ics"]
    with open(os.path.join(folder(cal), "a.ics"), "w") as f:
        f.write(event("a", "20260301T100000Z", "20260301T110000Z"))
    assert week(cal) == []
    outbox = cal.request(
        "POST", "/alice/.schedule-outbox/",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:REQUEST"
        "\r\nBEGIN:VFREEBUSY\r\nUID:f\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260301T000000Z\r\nDTEND:20260302T000000Z\r\n"
        "ORGANIZER:mailto:alice@example.org\r\n"
        "ATTENDEE:mailto:alice@example.org\r\nEND:VFREEBUSY\r\n"
        "END:VCALENDAR\r\n", user="alice", content_type="text/calendar")
    assert b"20260301T100000Z/20260301T110000Z" in outbox.body


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"version": 1}',
                                    b'{"version": 2, "entries": {"a.ics": 1}}'])
def test_a_broken_index_is_rebuilt_and_answers_stay(cal, damage):
    before = week(cal)
    assert os.path.exists(index_file(cal))
    with open(index_file(cal), "wb") as f:
        f.write(damage)
    assert week(cal) == before
    assert put(cal, "alice", CAL + "dup.ics", event("a")).status == 409
    os.remove(index_file(cal))
    assert week(cal) == before


def test_plain_radicale_ignores_the_index(cal, tmp_path):
    week(cal)
    plain = make_server(str(tmp_path), storage_type="multifilesystem")
    response = plain.request("REPORT", CAL, REPORT_WEEK, user="alice",
                             depth="1")
    assert sorted(response.responses()) == [CAL + "a.ics"]
    assert put(plain, "alice", CAL + "p.ics", event("p")).status == 201
    # Back with the plugin: plain Radicale's write is seen.
    again = make_server(str(tmp_path), scheduling_domain="example.org")
    assert sorted(week(again)) == [CAL + "a.ics", CAL + "p.ics"]
    assert put(again, "alice", CAL + "x.ics", event("p")).status == 409


def test_concurrent_puts_never_admit_a_duplicate_uid(cal):
    results = []

    def writer(i):
        results.append(put(cal, "alice", CAL + "c%d.ics" % i,
                           event("same")).status)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] + [409] * 7
    names = [n for n in os.listdir(folder(cal)) if n.startswith("c")]
    assert len(names) == 1


def test_an_index_left_behind_by_a_crash_is_corrected(cal):
    """A process killed after writing items but before the index: the
    index on disk is older than the folder, and answers stay right."""
    week(cal)
    with open(index_file(cal), "rb") as f:
        old_index = f.read()
    assert put(cal, "alice", CAL + "b.ics", event("b")).status == 201
    os.remove(os.path.join(folder(cal), "a.ics"))
    week(cal)
    with open(index_file(cal), "wb") as f:
        f.write(old_index)  # as if the newer index never reached the disk
    assert week(cal) == [CAL + "b.ics"]
    assert put(cal, "alice", CAL + "b2.ics", event("b")).status == 409
    assert put(cal, "alice", CAL + "a2.ics", event("a")).status == 201
