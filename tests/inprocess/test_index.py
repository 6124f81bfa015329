"""The collection index is derived data: it follows the folder, whatever
wrote to it, and a broken index is rebuilt (issue: speed, index)."""

import os
import threading

import pytest

from helpers import NS, make_server
from scheduling_helpers import hrefs, ics, put

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


# -- UID lookups of delivery (checked by names and candidates' stats) --------

BOB = "/bob/calendar/"
# An overwrite answers 204 (Radicale 3.9) or 201 (3.1).


def bob_folder(server):
    return os.path.join(server.collection_root(), "bob", "calendar")


def bob_copies(server):
    """href -> text of every object in bob's calendar."""
    return {href: server.request("GET", href, user="bob").text
            for href in hrefs(server, "bob", BOB)}


def holding(copies, uid):
    return sorted(href for href, text in copies.items()
                  if "\r\nUID:%s\r\n" % uid in text)


def write_by_hand(path, text):
    """As an editor or a sync tool does: a new file renamed into place."""
    with open(path + ".new", "w", newline="") as f:
        f.write(text)
    os.replace(path + ".new", path)


def test_a_copy_added_by_hand_is_updated_not_duplicated(world):
    """bob's calendar was looked up (m1) before his own copy of m2 appears
    as a new file: the next invitation updates that file."""
    write_by_hand(os.path.join(bob_folder(world), "hand.ics"),
                  ics("m2", "bob", summary="Mine"))
    assert put(world, "alice", "/alice/calendar/m2.ics",
               ics("m2", "bob", summary="Theirs")).status == 201
    copies = bob_copies(world)
    assert holding(copies, "m2") == [BOB + "hand.ics"]
    assert "SUMMARY:Theirs" in copies[BOB + "hand.ics"]


def test_a_copy_removed_by_hand_is_recreated(world):
    [copy] = holding(bob_copies(world), "m1")
    os.remove(os.path.join(bob_folder(world), copy.rsplit("/", 1)[1]))
    assert put(world, "alice", "/alice/calendar/m1.ics",
               ics("m1", "bob", "carol", summary="Moved")).status in (201, 204)
    copies = bob_copies(world)
    [again] = holding(copies, "m1")
    assert "SUMMARY:Moved" in copies[again]


def test_a_copy_replaced_by_rename_with_another_uid_is_left_alone(world):
    """The file that held m1 now holds another event under the same name:
    the update of m1 must not overwrite it, and makes a new copy."""
    [copy] = holding(bob_copies(world), "m1")
    write_by_hand(os.path.join(bob_folder(world), copy.rsplit("/", 1)[1]),
                  event("other"))
    assert put(world, "alice", "/alice/calendar/m1.ics",
               ics("m1", "bob", "carol", summary="Moved")).status in (201, 204)
    copies = bob_copies(world)
    assert holding(copies, "other") == [copy]
    assert "ORGANIZER" not in copies[copy]
    [new] = holding(copies, "m1")
    assert new != copy and "SUMMARY:Moved" in copies[new]


def test_a_uid_changed_in_place_by_hand_is_seen_after_a_listing(world):
    """The one change a UID lookup alone does not see (README): a file
    rewritten in place with another UID under its name.  Any listing of the
    calendar validates every file and catches it."""
    [copy] = holding(bob_copies(world), "m1")
    with open(os.path.join(bob_folder(world), copy.rsplit("/", 1)[1]), "w",
              newline="") as f:
        f.write(event("other"))
    assert hrefs(world, "bob", BOB)  # bob's client polls
    assert put(world, "alice", "/alice/calendar/m1.ics",
               ics("m1", "bob", "carol", summary="Moved")).status in (201, 204)
    copies = bob_copies(world)
    assert holding(copies, "other") == [copy]
    [new] = holding(copies, "m1")
    assert new != copy


@pytest.mark.parametrize("storage_type", ["multifilesystem",
                                          "radicale_scheduling"])
def test_a_uid_under_another_name_is_refused_as_radicale_does(
        tmp_path, storage_type):
    options = {"scheduling_domain": "example.org"} \
        if storage_type == "radicale_scheduling" else {}
    server = make_server(str(tmp_path), storage_type=storage_type, **options)
    server.propfind("/alice/", "D:resourcetype")
    assert server.mkcalendar(CAL).status == 201
    for name in ("a", "b", "c"):
        assert put(server, "alice", CAL + name + ".ics",
                   event(name)).status == 201
    assert put(server, "alice", CAL + "a.ics", event("a")).status in (201, 204)
    response = put(server, "alice", CAL + "d.ics", event("b"))
    assert response.status == 409
    assert response.xml.find("C:no-uid-conflict", NS) is not None
    os.replace(os.path.join(folder(server), "b.ics"),
               os.path.join(folder(server), "e.ics"))  # renamed by hand
    assert put(server, "alice", CAL + "b.ics", event("b")).status == 409
    assert put(server, "alice", CAL + "e.ics", event("b")).status in (201, 204)
    # c.ics replaced by rename with another UID: "c" is free again.
    path = os.path.join(folder(server), "c.ics")
    with open(path + ".new", "w", newline="") as f:
        f.write(event("z"))
    os.replace(path + ".new", path)
    assert put(server, "alice", CAL + "f.ics", event("c")).status == 201
    assert put(server, "alice", CAL + "g.ics", event("z")).status == 409
    assert put(server, "alice", CAL + "g.ics", event("c")).status == 409
    assert sorted(n for n in os.listdir(folder(server))
                  if not n.startswith(".")) == ["a.ics", "c.ics", "e.ics",
                                                "f.ics"]
