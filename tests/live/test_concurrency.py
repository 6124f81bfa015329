"""Concurrency (issue 7): many clients, threaded servers, two processes on
one collections folder.  Nothing may be lost, hang or answer 500.

The load test runs the mix of tests/loadmix.py for a bounded time against
two real ``python -m radicale`` processes sharing one folder (Radicale's
file lock is what makes that safe for plain Radicale), with e-mail through
a local SMTP server so that both processes' mail-queue sender threads run
beside the requests.
"""

import os
import subprocess
import sys

import live
import loadmix
import pytest

from helpers import wait_for
from scheduling_helpers import (
    answer,
    attendee_line,
    copies,
    ics,
    methods,
    organize,
    put,
)

#: Wall time of the load itself; setup and checks come on top.
LOAD_SECONDS = 15
OPERATIONS = 400  # per client, an upper bound


@pytest.fixture
def smtp():
    sink, controller = live.smtp_server(live.free_port())
    yield sink, controller.port
    controller.stop()


def start_servers(folder, count, **storage):
    users = live.write_users(folder, loadmix.USERS, loadmix.PASSWORD)
    addresses = os.path.join(folder, "addresses")
    with open(addresses, "w") as f:
        f.write(loadmix.ADDRESSES)
    collections = os.path.join(folder, "collections")
    options = {"scheduling_domain": loadmix.DOMAIN,
               "scheduling_addresses": addresses, **storage}
    servers = []
    try:
        for i in range(count):
            servers.append(live.start(folder, "radicale-%d" % i, collections,
                                      users, storage=options))
    except RuntimeError as e:
        for server in servers:
            server.stop()
        pytest.fail(str(e))
    return servers


def queue_empty(collections):
    queue = os.path.join(collections, "scheduling-queue")
    return not any(name.endswith(".json")
                   for state in ("pending", "sending")
                   for name in os.listdir(os.path.join(queue, state)))


def test_many_clients_on_two_processes_lose_nothing(tmp_path, smtp):
    sink, port = smtp
    folder = str(tmp_path)
    collections = os.path.join(folder, "collections")
    servers = start_servers(
        folder, 2, scheduling_smtp_host="127.0.0.1",
        scheduling_smtp_port=str(port), scheduling_smtp_security="none",
        scheduling_smtp_from="calendar@example.org",
        scheduling_smtp_retry_seconds="1")
    try:
        stats = loadmix.Stats()
        scenario = loadmix.build([s.url for s in servers], stats,
                                 mailing=True)
        hung = loadmix.run(scenario, LOAD_SECONDS, OPERATIONS)
        print(loadmix.report(stats))
        assert not hung, "requests still running: %s" % hung
        assert stats.failures == []
        assert stats.unexpected == []
        assert wait_for(lambda: queue_empty(collections), 20)
        problems = loadmix.verify(scenario)
        assert problems == [], "\n".join(problems)
        # Enough happened for the checks to mean something.
        assert sum(len(m.saved) for m in scenario.meetings) > 10
        assert len(scenario.answers) == sum(len(m.attendees)
                                            for m in scenario.meetings)
        # The last mail to the outside attendee (by SEQUENCE, then
        # DTSTAMP, as her mail program orders them) is the last version,
        # and the organizer's copy says it went out.
        for meeting in scenario.meetings:
            if not meeting.external:
                continue
            expected = "%s #%d" % (meeting.uid, max(meeting.saved))
            mails = [loadmix.vevent(loadmix.parse(text))
                     for text in sink.calendars()
                     if "UID:%s\r\n" % meeting.uid in text]
            assert mails
            last = max(mails, key=lambda e: (int(e.sequence.value),
                                             e.dtstamp.value))
            assert str(last.summary.value) == expected
            client = scenario.client(meeting.organizer, 1)
            text = client.request("verify", "GET", scenario.hrefs[
                (meeting.organizer, meeting.uid)]).text
            assert "SCHEDULE-STATUS=1.1:%s" % loadmix.EXTERNAL in \
                text.replace("\r\n ", "")
        verified = subprocess.run(
            [sys.executable, "-m", "radicale", "--config",
             servers[0].config_path, "--verify-storage"],
            capture_output=True, text=True, timeout=60)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        for server in servers:
            server.stop()
    for server in servers:
        log = server.log()
        assert "ERROR" not in log and "CRITICAL" not in log, log[-3000:]


# -- what the load found, one by one (in-process, quick) -----------------------

CAL = "/alice/calendar/"
RSVP = "ATTENDEE;CN={0};PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{0}@example.org\n"


@pytest.fixture
def invited(server):
    """alice invited bob and carol as clients do, with RSVP=TRUE."""
    return organize(server, ics("m1", RSVP.format("bob"),
                                RSVP.format("carol")))


def test_another_attendees_answer_does_not_refuse_a_tag_matched_answer(
        invited):
    """carol's answer drops RSVP from her entry in bob's copy; bob's
    client, still showing RSVP=TRUE for her, answers with the matching
    Schedule-Tag: that is no change of his to refuse (was 403)."""
    [(href, text)] = copies(invited, "bob", "m1")
    tag = invited.request("GET", href, user="bob").headers["Schedule-Tag"]
    [(carol_href, carol_text)] = copies(invited, "carol", "m1")
    assert put(invited, "carol", carol_href,
               answer(carol_text, "carol", "ACCEPTED")).status in (201, 204)
    response = put(invited, "bob", href, answer(text, "bob", "DECLINED"),
                   if_schedule_tag_match=tag)
    assert response.status in (201, 204), response.text
    stored = invited.request("GET", href, user="bob").text
    carol = attendee_line(stored, "carol")
    assert "PARTSTAT=ACCEPTED" in carol and "RSVP" not in carol
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=DECLINED" in attendee_line(organizer, "bob")
    assert "PARTSTAT=ACCEPTED" in attendee_line(organizer, "carol")


def test_a_tag_matched_organizer_save_keeps_what_answers_recorded(invited):
    """alice's client saves from a copy older than bob's answer: bob's
    answer, and that nothing more is expected of him, stay."""
    tag = invited.request("GET", CAL + "m1.ics",
                          user="alice").headers["Schedule-Tag"]
    [(href, text)] = copies(invited, "bob", "m1")
    assert put(invited, "bob", href, answer(text, "bob", "ACCEPTED")
               ).status in (201, 204)
    response = put(invited, "alice", CAL + "m1.ics", ics(
        "m1", RSVP.format("bob"), RSVP.format("carol"), summary="v2"),
        if_schedule_tag_match=tag)
    assert response.status in (201, 204)
    stored = invited.request("GET", CAL + "m1.ics", user="alice").text
    bob = attendee_line(stored, "bob")
    assert "PARTSTAT=ACCEPTED" in bob and "RSVP" not in bob
    assert "RSVP=TRUE" in attendee_line(stored, "carol")


def test_a_new_revision_reaches_the_attendees_so_their_answers_count(
        invited):
    """A client that raises SEQUENCE on every save makes a new revision
    (RFC 5546 s2.1.4).  Nothing was sent for it, so the attendees' copies
    kept the old SEQUENCE and every answer after it looked like one to an
    older revision: bob got 204 and alice never saw his answer."""
    [(href, text)] = copies(invited, "bob", "m1")
    tag = invited.request("GET", href, user="bob").headers["Schedule-Tag"]
    assert put(invited, "alice", CAL + "m1.ics", ics(
        "m1", RSVP.format("bob"), RSVP.format("carol"),
        extra="SEQUENCE:1\n")).status in (201, 204)
    fresh = invited.request("GET", href, user="bob")
    assert "SEQUENCE:1\r\n" in fresh.text
    assert fresh.headers["Schedule-Tag"] != tag  # RFC 6638 s3.2.10
    assert methods(invited, "bob") == ["REQUEST", "REQUEST"]
    # From the copy read before: 412, as for any revision.
    assert put(invited, "bob", href, answer(text, "bob", "ACCEPTED"),
               if_schedule_tag_match=tag).status == 412
    assert put(invited, "bob", href, answer(fresh.text, "bob", "ACCEPTED"),
               if_schedule_tag_match=fresh.headers["Schedule-Tag"]
               ).status in (201, 204)
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=ACCEPTED" in attendee_line(organizer, "bob")
    assert methods(invited, "alice") == ["REPLY"]


def test_an_answer_from_an_older_body_still_counts(invited):
    """An answer PUT without a condition from a body read before the
    latest revision (the PARTSTAT is all that differs otherwise): the
    attendee cannot take SEQUENCE back, and the answer counts."""
    [(href, text)] = copies(invited, "bob", "m1")
    assert put(invited, "alice", CAL + "m1.ics", ics(
        "m1", RSVP.format("bob"), RSVP.format("carol"),
        extra="SEQUENCE:2\n")).status in (201, 204)
    assert put(invited, "bob", href, answer(text, "bob", "TENTATIVE")
               ).status in (201, 204)
    assert "SEQUENCE:2\r\n" in invited.request("GET", href, user="bob").text
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=TENTATIVE" in attendee_line(organizer, "bob")


def test_an_answer_after_a_cancelled_instance_counts(invited):
    """Taking one instance out raises the series' SEQUENCE; the CANCEL
    must carry that into the attendee's copy, or the next answer looks
    like one to the older revision and is dropped."""
    weekly = "RRULE:FREQ=WEEKLY;COUNT=4\n"
    assert put(invited, "alice", CAL + "m1.ics", ics(
        "m1", RSVP.format("bob"), extra=weekly)).status in (201, 204)
    assert put(invited, "alice", CAL + "m1.ics", ics(
        "m1", RSVP.format("bob"),
        extra=weekly + "EXDATE:20260112T100000Z\n")).status in (201, 204)
    [(href, text)] = copies(invited, "bob", "m1")
    revision = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "SEQUENCE:2\r\n" in revision and "SEQUENCE:2\r\n" in text
    assert put(invited, "bob", href, answer(text, "bob", "ACCEPTED")
               ).status in (201, 204)
    organizer = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=ACCEPTED" in attendee_line(organizer, "bob")
