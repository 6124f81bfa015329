"""Hardening of what scheduling sends on (issue 16, points 1, 3, 5, 6):
addresses and parameter values others would see damaged, the size of what
the server writes or takes by mail, and mail never sent out of order.

Through real requests to the WSGI app, ``receive`` in a real process, and
a real SMTP server (aiosmtpd) as in tests/live/test_imip.py."""

import json
import logging
import os
import time

import pytest
from live import GRANDMA, THUNDERBIRD_REPLY, command, smtp_server
from test_imip import CAL, invitation_from_grandma, status_of

from helpers import write_file
from radicale_scheduling.delivery import incoming, outbound
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.errors import InvalidCalendar
from radicale_scheduling.itip.text import patch_partstat
from scheduling_helpers import (
    attendee_line,
    copies,
    copy,
    ics,
    inbox,
    put,
    unfold,
)


@pytest.fixture
def quiet_queue(mail_clock):
    """No sender thread: the test runs the queue itself."""
    return mail_clock


def everything(server, users=("alice", "bob", "carol")):
    """What each user sees of the meeting m1 (copies, inbox) and the
    mail queue: to compare before and after a refusal."""
    state = {user: (sorted(copies(server, user, "m1")),
                    inbox(server, user)) for user in users}
    queue = server.storage.scheduler.outbound
    state["queue"] = sorted(e["id"] for e in queue.entries()) \
        if queue is not None else []
    return state


def error_of(response):
    return response.text


# -- 1. addresses with line separators and control characters ---------------

BAD_CHARACTERS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d",
                  "\x1e", "\x00", "\x7f", "\t"]


@pytest.mark.parametrize("char", BAD_CHARACTERS,
                         ids=[repr(c) for c in BAD_CHARACTERS])
def test_an_address_with_a_line_separator_is_refused_at_put(
        mailing, quiet_queue, char):
    """Refused with a reason, nothing stored or queued; or, for the
    characters Radicale itself drops while reading (some C0 controls in
    3.9), stored and queued without it."""
    server = mailing()
    bad = "ATTENDEE:mailto:grand%sma@elsewhere.example\n" % char
    before = everything(server)
    response = put(server, "alice", CAL + "m1.ics", ics("m1", "bob", bad))
    queue = server.storage.scheduler.outbound
    if response.status == 201:
        stored = server.request("GET", CAL + "m1.ics", user="alice").text
        assert char not in stored and "grandma@elsewhere.example" in stored
        assert [e["recipient"] for e in queue.entries()] == [
            "mailto:grandma@elsewhere.example"]
        return
    assert response.status == 400, response.text
    assert "valid-calendar-data" in response.text
    assert "control character or line break" in response.text
    assert server.request("GET", CAL + "m1.ics", user="alice").status == 404
    assert everything(server) == before
    assert queue.entries() == []


def test_a_control_character_in_a_delegate_address_is_refused(mailing):
    server = mailing()
    assert put(server, "alice", CAL + "m1.ics", ics("m1", "bob")).status \
        == 201
    [(href, mine)] = copies(server, "bob", "m1")
    before = everything(server)
    delegated = unfold(mine).replace(
        "ATTENDEE;CN=bob", 'ATTENDEE;DELEGATED-TO="mailto:x\u2028y@elsewhere'
        '.example";CN=bob')
    response = put(server, "bob", href, delegated)
    assert response.status == 400, response.text
    assert "DELEGATED-TO" in response.text
    assert everything(server) == before


def write_old_meeting(server, recipient):
    """alice's meeting as a version before this check stored it: written
    to her calendar folder directly, with its queued invitation (one that
    cannot be made into a mail) in the queue folder."""
    storage = server.storage
    text = ics("old", "ATTENDEE;CN=Old:%s\n" % recipient).replace(
        "ATTENDEE;CN=Old:", "ATTENDEE;CN=Old;SCHEDULE-STATUS=1.0:")
    folder = os.path.join(storage.configuration.get(
        "storage", "filesystem_folder"), "collection-root", "alice",
        "calendar")
    with open(os.path.join(folder, "old.ics"), "w", encoding="utf-8",
              newline="") as f:
        f.write(text)
    queue = storage.scheduler.outbound
    long_ago = time.time() - 3600
    entry = {"id": "0" * 32, "recipient": recipient,
             "sender": "mailto:alice@example.org", "owner": "alice",
             "method": "REQUEST", "uid": "old",
             "ics": text.replace("VERSION:2.0\r\n",
                                 "VERSION:2.0\r\nMETHOD:REQUEST\r\n"),
             "attempts": 0, "created": long_ago, "next": long_ago,
             "error": "", "queued": long_ago}
    with open(os.path.join(queue.folder, "pending", "0" * 32 + ".json"),
              "w", encoding="utf-8") as f:
        json.dump(entry, f)
    # And a file no version of the queue could read at all.
    with open(os.path.join(queue.folder, "pending", "1" * 32 + ".json"),
              "w", encoding="utf-8") as f:
        f.write('{"id": "broken"')


def test_a_mail_that_cannot_be_built_fails_alone(mailing, mail_port,
                                                 quiet_queue, caplog):
    """An old queued message whose address no mail can carry: it fails
    for good (5.3 in the organizer's copy, a WARNING in the log), and the
    invitation queued behind it is sent."""
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        bad = "mailto:grand\u2028ma@elsewhere.example"
        write_old_meeting(server, bad)
        assert put(server, "alice", CAL + "m1.ics",
                   ics("m1", GRANDMA)).status == 201
        queue = server.storage.scheduler.outbound
        with caplog.at_level(logging.WARNING, logger="radicale"):
            queue.run_once()
            queue.run_once()  # once more: nothing is tried again
    finally:
        controller.stop()
    assert [e.rcpt_tos for e in sink.envelopes] == [
        ["grandma@elsewhere.example"]]
    assert status_of(server, "grandma@elsewhere.example") == "1.1"
    [failed] = queue.entries("failed")
    assert failed["uid"] == "old" and "cannot build" in failed["error"]
    assert queue.entries() == []
    old = unfold(server.request("GET", CAL + "old.ics", user="alice").text)
    line = [x for x in old.split("\r\n") if x.startswith("ATTENDEE")][0]
    assert "SCHEDULE-STATUS=5.3" in line
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING]
    assert sum("cannot be built" in w for w in warnings) == 1, warnings
    assert sum("unreadable queue file" in w for w in warnings) == 1, warnings
    assert os.path.exists(os.path.join(queue.folder, "pending",
                                       "1" * 32 + ".json.broken"))


# -- 5. parameter values ------------------------------------------------------

def organized(mailing):
    server = mailing()
    for user in ("carol",):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert put(server, "alice", CAL + "m1.ics",
               ics("m1", "bob", "carol", GRANDMA)).status == 201
    return server


def bob_says(server, params):
    """bob's copy with ``params`` in place of his PARTSTAT and RSVP."""
    [(href, mine)] = copies(server, "bob", "m1")
    lines = []
    for line in unfold(mine).split("\r\n"):
        if line.startswith("ATTENDEE") and line.endswith("bob@example.org"):
            kept = [p for p in line.split(":mailto:")[0].split(";")[1:]
                    if not p.startswith(("PARTSTAT", "RSVP"))]
            line = "ATTENDEE;%s:mailto:bob@example.org" % ";".join(
                kept + [params])
        lines.append(line)
    return href, "\r\n".join(lines)


@pytest.mark.parametrize("params", [
    'PARTSTAT="X:mailto:mallory@evil.example"',
    'PARTSTAT="ACCEPTED;X=1"',
    'PARTSTAT=ACCEPTED;ROLE="CHAIR:X"',
    'PARTSTAT=ACCEPTED;RSVP=TRUE FALSE',
    'PARTSTAT=ACCEPTED;CUTYPE="ROOM:X"',
    'PARTSTAT=ACCEPTED;X-NOTE="B\u2028ATTENDEE:mailto:mallory@evil.example"',
    'PARTSTAT=ACCEPTED;X-NOTE="B\x85ob"',
    'PARTSTAT=ACCEPTED;SENT-BY="mailto:a\x85b@evil.example"',
])
def test_an_attendees_bad_parameter_value_is_refused(mailing, quiet_queue,
                                                    params):
    server = organized(mailing)
    before = everything(server)
    href, text = bob_says(server, params)
    response = put(server, "bob", href, text)
    assert response.status == 400, response.text
    assert "valid-calendar-data" in response.text
    assert "RFC 5545" in response.text or "line break" in response.text
    assert everything(server) == before


def test_an_organizers_bad_parameter_value_is_refused(mailing, quiet_queue):
    server = mailing()
    before = everything(server)
    response = put(server, "alice", CAL + "m1.ics", ics(
        "m1", "ATTENDEE;ROLE=\"REQ:X\":mailto:bob@example.org\n"))
    assert response.status == 400, response.text
    assert "ROLE" in response.text
    assert everything(server) == before


def test_an_answer_with_an_x_name_reaches_the_others_intact(mailing,
                                                           quiet_queue):
    """A PARTSTAT the RFC allows (an x-name) goes into carol's copy as it
    is, and her copy still names bob by his address."""
    server = organized(mailing)
    href, text = bob_says(server, "PARTSTAT=X-MAYBE")
    assert put(server, "bob", href, text).status in (201, 204)
    line = attendee_line(copy(server, "carol", "m1"), "bob")
    assert line.startswith("ATTENDEE;") and "PARTSTAT=X-MAYBE" in line
    assert line.endswith(":mailto:bob@example.org")
    assert "PARTSTAT=X-MAYBE" in attendee_line(
        server.request("GET", CAL + "m1.ics", user="alice").text, "bob")


def test_a_partstat_is_quoted_when_a_copy_is_edited_as_text():
    """The one place that writes a parameter by text quotes it: a value
    with ':' stays one value of one parameter (RFC 5545 s3.2)."""
    text = ics("m1", "bob", "carol")
    patched = patch_partstat(text, "mailto:bob@example.org",
                                  "X:mailto:mallory@evil.example")
    comp = ical.components(ical.parse(patched))[0]
    line = ical.attendee(comp, "mailto:bob@example.org")
    assert line is not None
    assert ical.param(line, "PARTSTAT") == "X:mailto:mallory@evil.example"
    with pytest.raises(InvalidCalendar):
        patch_partstat(text, "mailto:bob@example.org", 'A"B')


@pytest.mark.parametrize("params", [
    'PARTSTAT="X:mailto:mallory@evil.example"',
    "PARTSTAT=ACCEPTED;CN=Grand\u2028ma",
])
def test_a_bad_parameter_value_by_mail_changes_nothing(mailing, quiet_queue,
                                                       params):
    server = organized(mailing)
    before = everything(server)
    mail = THUNDERBIRD_REPLY.replace(
        "ATTENDEE;RSVP=TRUE;CN=Grandma;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT",
        "ATTENDEE;" + params)
    code, text = incoming.process(server.storage, mail.encode())
    assert code == incoming.DATAERR, text
    assert everything(server) == before


# -- 3. size limits -----------------------------------------------------------

def receive(config, mail, *recipients):
    return command("--config", config, "receive", *recipients, stdin=mail,
                   timeout=120)


def test_an_oversize_mail_is_refused_and_stores_nothing(mailing, tmp_path,
                                                        quiet_queue):
    server = mailing(scheduling_max_resource_size="20000")
    config = write_file(str(tmp_path), "config", """\
        [storage]
        type = radicale_scheduling
        filesystem_folder = {folder}
        scheduling_domain = example.org
        scheduling_max_resource_size = 20000
        [logging]
        level = warning
        """.format(folder=os.path.join(str(tmp_path), "collections")))
    before = everything(server)
    big = invitation_from_grandma("bob").replace(
        "SUMMARY:Planning", "SUMMARY:Planning\nDESCRIPTION:" + "x" * 30000)
    result = receive(config, big.encode(), "bob@example.org")
    assert result.returncode == incoming.DATAERR, result.stderr.decode()
    assert b"scheduling_max_resource_size" in result.stderr
    assert everything(server) == before
    # One a hundred times larger is not even read whole.
    result = receive(config, big.encode() * 100, "bob@example.org")
    assert result.returncode == incoming.DATAERR
    assert everything(server) == before
    result = receive(config, invitation_from_grandma("bob").encode(),
                     "bob@example.org")
    assert result.returncode == 0, result.stderr.decode()
    assert [m for m, _ in inbox(server, "bob")] == ["REQUEST"]


def alarm(size):
    return ("BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\n"
            "DESCRIPTION:%s\r\nEND:VALARM\r\n" % ("a" * size))


def test_a_copy_made_too_large_by_merging_refuses_the_change(mailing,
                                                            quiet_queue):
    """bob keeps a large alarm in his copy; alice's update, under the
    limit itself, would make his copy (her update with his alarm) larger
    than the limit: refused with CALDAV:max-resource-size, nothing
    changed anywhere."""
    server = mailing(scheduling_max_resource_size="40000")
    assert put(server, "alice", CAL + "m1.ics", ics("m1", "bob")).status \
        == 201
    [(href, mine)] = copies(server, "bob", "m1")
    with_alarm = mine.replace("END:VEVENT", alarm(25000) + "END:VEVENT")
    assert put(server, "bob", href, with_alarm).status in (201, 204)
    before = everything(server)
    organizer_before = server.request("GET", CAL + "m1.ics",
                                      user="alice").text
    update = ics("m1", "bob", extra="DESCRIPTION:%s\n" % ("d" * 25000))
    response = put(server, "alice", CAL + "m1.ics", update)
    assert response.status == 403, response.text
    assert "max-resource-size" in response.text
    assert "scheduling_max_resource_size" in response.text
    assert everything(server) == before
    assert server.request("GET", CAL + "m1.ics",
                          user="alice").text == organizer_before
    # A smaller update goes through.
    update = ics("m1", "bob", extra="DESCRIPTION:%s\n" % ("d" * 5000))
    assert put(server, "alice", CAL + "m1.ics", update).status in (201, 204)
    assert "d" * 5000 in unfold(copy(server, "bob", "m1"))


def test_an_oversize_meeting_is_refused(mailing, quiet_queue):
    server = mailing(scheduling_max_resource_size="20000")
    before = everything(server)
    response = put(server, "alice", CAL + "m1.ics", ics(
        "m1", "bob", GRANDMA, extra="DESCRIPTION:%s\n" % ("d" * 30000)))
    assert response.status == 403, response.text
    assert "max-resource-size" in response.text
    assert everything(server) == before
    assert server.request("GET", CAL + "m1.ics", user="alice").status == 404
    # The same without attendees is no scheduling object: Radicale's own
    # limits apply.
    assert put(server, "alice", CAL + "plain.ics", ics(
        "plain", extra="DESCRIPTION:%s\n" % ("d" * 30000)).replace(
        "ORGANIZER;CN=alice:mailto:alice@example.org\r\n", "")).status == 201


# -- 6. claims left by a dead sender ------------------------------------------

def test_a_claim_left_behind_is_not_sent_after_a_newer_cancel(
        mailing, mail_port, quiet_queue):
    """The sender died holding the invitation (its claim is left in
    ``sending``); alice then cancels, and the CANCEL is sent.  Ten
    minutes later the claim is stale: it must be dropped, not sent after
    the CANCEL."""
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        queue = server.storage.scheduler.outbound
        assert put(server, "alice", CAL + "m1.ics",
                   ics("m1", GRANDMA)).status == 201
        [waiting] = queue.entries()
        name = waiting["id"] + ".json"
        os.replace(os.path.join(queue.folder, "pending", name),
                   os.path.join(queue.folder, "sending", name))
        assert server.request("DELETE", CAL + "m1.ics",
                              user="alice").status in (200, 204)
        queue.run_once()
        assert len(sink.envelopes) == 1
        stale = time.time() - 2 * outbound.STALE_CLAIM
        os.utime(os.path.join(queue.folder, "sending", name), (stale, stale))
        queue.run_once()
        queue.run_once()
    finally:
        controller.stop()
    methods = [m.get_body(("calendar",)) for m in sink.mails()]
    assert [str(p.get_param("method")) for p in methods] == ["CANCEL"]
    assert os.listdir(os.path.join(queue.folder, "sending")) == []
    assert queue.entries() == [] and queue.entries("failed") == []


def test_a_claim_whose_mail_was_sent_is_not_sent_again(mailing, mail_port,
                                                       quiet_queue):
    """The sender died after the mail server took the invitation and the
    sender recorded it, before it removed its claim: found stale after a
    restart, the claim is dropped, not mailed a second time."""
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        queue = server.storage.scheduler.outbound
        assert put(server, "alice", CAL + "m1.ics",
                   ics("m1", GRANDMA)).status == 201
        [waiting] = queue.entries()
        queue.run_once()
        assert len(sink.envelopes) == 1
        claim = os.path.join(queue.folder, "sending", waiting["id"] + ".json")
        with open(claim, "w", encoding="utf-8") as f:
            json.dump(waiting, f)  # as the dead sender left it
        stale = time.time() - 2 * outbound.STALE_CLAIM
        os.utime(claim, (stale, stale))
        queue.run_once()
        queue.run_once()
    finally:
        controller.stop()
    assert len(sink.envelopes) == 1
    assert not os.path.exists(claim)
    assert status_of(server, "grandma@elsewhere.example") == "1.1"
