"""E-mail scheduling (iMIP, RFC 6047) against a real SMTP server (aiosmtpd
on 127.0.0.1): invitations out, answers in."""

import os
import time

import pytest
from aiosmtpd.controller import Controller
from conftest import queue_by_hand
from live import GRANDMA, THUNDERBIRD_REPLY, command, smtp_server

from helpers import make_server, wait_for, write_file
from radicale_scheduling.delivery import incoming
from scheduling_helpers import answer, copies, copy, ics, inbox, put, unfold

CAL = "/alice/calendar/"


def status_of(server, who_line_end):
    text = unfold(server.request("GET", CAL + "m1.ics", user="alice").text)
    for line in text.split("\r\n"):
        if line.startswith("ATTENDEE") and line.endswith(who_line_end):
            return line.split("SCHEDULE-STATUS=")[1].split(";")[0].split(
                ":")[0] if "SCHEDULE-STATUS=" in line else None
    return None


def test_an_invitation_is_mailed_as_rfc6047(mailing, mail_port):
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        response = put(server, "alice", CAL + "m1.ics", ics(
            "m1", "bob", GRANDMA, summary="Lunch\\nBcc: victim@evil.example",
            extra="LOCATION:Café du Port\n"))
        assert response.status == 201
        assert wait_for(lambda: len(sink.envelopes) == 1)
        assert wait_for(lambda: status_of(
            server, "grandma@elsewhere.example") == "1.1")
    finally:
        controller.stop()
    [envelope] = sink.envelopes
    assert envelope.mail_from == "calendar@example.org"
    assert envelope.rcpt_tos == ["grandma@elsewhere.example"]
    [mail] = sink.mails()
    assert mail.get_content_type() == "multipart/alternative"
    assert "calendar@example.org" in mail["From"]
    assert mail["Reply-To"].endswith("alice@example.org")
    assert mail["Message-ID"] and mail["Date"]
    assert "Bcc" not in mail and "victim" not in str(mail["To"])
    assert "\n" not in str(mail["Subject"])
    parts = {p.get_content_type(): p for p in mail.iter_parts()}
    text = parts["text/plain"].get_content()
    assert "Lunch" in text and "Café du Port" in text and "alice" in text
    calendar = parts["text/calendar"]
    assert calendar.get_param("method") == "REQUEST"
    body = calendar.get_content()
    body = body if isinstance(body, str) else body.decode()
    assert "METHOD:REQUEST" in body and "UID:m1" in body
    assert "SCHEDULE-STATUS" not in body
    assert b"X-RADICALE-" not in envelope.content  # server bookkeeping
    # bob, on this server, got no mail: his copy is in his calendar.
    assert "m1" in copy(server, "bob", "m1")


def test_nothing_is_lost_while_the_mail_server_is_down(mailing, mail_port,
                                                        mail_clock):
    server = mailing()  # nothing listens on mail_port yet
    queue = server.storage.scheduler.outbound
    assert put(server, "alice", CAL + "m1.ics",
               ics("m1", GRANDMA)).status == 201
    queue.run_once()
    assert status_of(server, "grandma@elsewhere.example") == "5.1"
    sink, controller = smtp_server(mail_port)
    try:
        queue.run_once()  # not due yet: scheduling_smtp_retry_seconds = 1
        assert sink.envelopes == []
        mail_clock.advance(1)
        queue.run_once()
        assert status_of(server, "grandma@elsewhere.example") == "1.1"
        mail_clock.advance(3600)  # another retry would have happened
        queue.run_once()
    finally:
        controller.stop()
    assert len(sink.envelopes) == 1


def test_the_queue_survives_a_restart(mailing, mail_port, tmp_path,
                                      mail_clock):
    server = mailing()
    assert put(server, "alice", CAL + "m1.ics",
               ics("m1", GRANDMA)).status == 201
    assert status_of(server, "grandma@elsewhere.example") == "1.0"
    sink, controller = smtp_server(mail_port)
    try:
        server2 = make_server(
            str(tmp_path), scheduling_domain="example.org",
            scheduling_smtp_host="127.0.0.1",
            scheduling_smtp_port=str(mail_port),
            scheduling_smtp_security="none",
            scheduling_smtp_from="calendar@example.org")
        server2.storage.scheduler.outbound.run_once()
        assert len(sink.envelopes) == 1
        assert status_of(server2, "grandma@elsewhere.example") == "1.1"
    finally:
        controller.stop()


def test_limits_and_client_scheduled_attendees(mailing, mail_port,
                                              mail_clock):
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing(scheduling_smtp_max_recipients="2")
        many = "".join("ATTENDEE:mailto:guest%d@elsewhere.example\n" % i
                       for i in range(3))
        response = put(server, "alice", CAL + "big.ics", ics("big", many))
        assert response.status == 403
        assert b"scheduling_smtp_max_recipients" in response.body
        assert server.request("GET", CAL + "big.ics",
                              user="alice").status == 404
        client = "ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:x@elsewhere.example\n"
        assert put(server, "alice", CAL + "c.ics", ics("c", client)).status \
            == 201
        server.storage.scheduler.outbound.run_once()
        assert sink.envelopes == []
    finally:
        controller.stop()


GMAIL_REPLY = """From: "Grandma" <Grandma@Elsewhere.Example>
To: alice@example.org
Subject: Declined: Planning
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="000a"

--000a
Content-Type: multipart/alternative; boundary="000b"

--000b
Content-Type: text/plain; charset="UTF-8"

Grandma has declined this invitation.
--000b
Content-Type: text/calendar; charset="UTF-8"; method=REPLY
Content-Transfer-Encoding: base64

{b64}
--000b--
--000a
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

{b64}
--000a--
"""


def gmail_reply():
    import base64
    calendar = THUNDERBIRD_REPLY.split("8bit\n\n")[1].split(
        "\n--------------b1--")[0].replace("PARTSTAT=ACCEPTED",
                                           "PARTSTAT=DECLINED")
    b64 = base64.encodebytes(calendar.replace("\n", "\r\n").encode()).decode()
    return GMAIL_REPLY.format(b64=b64.strip())


@pytest.fixture
def invited_grandma(mailing):
    server = mailing()
    assert put(server, "alice", CAL + "m1.ics",
               ics("m1", "bob", GRANDMA)).status == 201
    return server


def test_mail_replies_update_the_organizer(invited_grandma):
    server = invited_grandma
    storage = server.storage
    code, _ = incoming.process(storage, THUNDERBIRD_REPLY.encode())
    assert code == incoming.OK
    stored = server.request("GET", CAL + "m1.ics", user="alice").text
    line = [x for x in unfold(stored).split("\r\n")
            if "grandma@elsewhere.example" in x][0]
    assert "PARTSTAT=ACCEPTED" in line and "SCHEDULE-STATUS=2.0" in line
    assert [m for m, _ in inbox(server, "alice")] == ["REPLY"]
    assert "PARTSTAT=ACCEPTED" in [
        x for x in unfold(copy(server, "bob", "m1")).split("\r\n")
        if "grandma" in x][0]
    code, _ = incoming.process(storage, gmail_reply().encode())
    assert code == incoming.OK
    stored = server.request("GET", CAL + "m1.ics", user="alice").text
    assert "PARTSTAT=DECLINED" in [x for x in unfold(stored).split("\r\n")
                                   if "grandma@elsewhere.example" in x][0]


def test_a_late_retry_status_does_not_hide_an_answer(mailing, mail_clock):
    """The sender thread may record a retry after the attendee's mailed
    answer was processed: the answer (2.0) stays."""
    server = mailing()  # nothing listens on the mail port
    assert put(server, "alice", CAL + "m1.ics",
               ics("m1", "bob", GRANDMA)).status == 201
    assert status_of(server, "grandma@elsewhere.example") == "1.0"
    storage = server.storage
    assert incoming.process(storage, THUNDERBIRD_REPLY.encode())[0] == \
        incoming.OK
    assert status_of(server, "grandma@elsewhere.example") == "2.0"
    storage.scheduler.outbound.run_once()  # the attempt fails: 5.1
    assert storage.scheduler.outbound.entries()[0]["attempts"] == 1
    assert status_of(server, "grandma@elsewhere.example") == "2.0"


@pytest.mark.parametrize("mail, code", [
    (THUNDERBIRD_REPLY.replace("From: Grandma <grandma@elsewhere.example>",
                               "From: Mallory <mallory@evil.example>"),
     incoming.NOPERM),
    (THUNDERBIRD_REPLY.replace("mailto:\n grandma@elsewhere.example",
                               "mailto:bob@example.org").replace(
        "From: Grandma <grandma@elsewhere.example>", "From: bob@example.org"),
     incoming.NOPERM),
    (THUNDERBIRD_REPLY.replace("UID:m1", "UID:unknown"), incoming.NOUSER),
    ("From: x@elsewhere.example\nSubject: hi\n\nJust text.\n",
     incoming.DATAERR),
    (THUNDERBIRD_REPLY.replace("BEGIN:VEVENT", "BEGIN:VEVENT\nBROKEN"),
     incoming.DATAERR),
    ("not a mail at all \x00\x01", incoming.DATAERR),
])
def test_bad_mail_changes_nothing(invited_grandma, mail, code):
    server = invited_grandma
    before = server.request("GET", CAL + "m1.ics", user="alice").text
    result, text = incoming.process(server.storage, mail.encode())
    assert result == code, text
    if code != incoming.OK:
        assert server.request("GET", CAL + "m1.ics",
                              user="alice").text == before
        assert [m for m, _ in inbox(server, "alice")] == []


def invitation_from_grandma(user):
    """Grandma, outside the server, invites ``user`` by mail."""
    return THUNDERBIRD_REPLY.replace("METHOD:REPLY", "METHOD:REQUEST") \
        .replace("method=REPLY", "method=REQUEST").replace(
        "To: alice@example.org", "To: %s@example.org" % user).replace(
        "ORGANIZER;CN=alice:mailto:alice@example.org",
        "ORGANIZER;CN=Grandma:mailto:grandma@elsewhere.example").replace(
        "ATTENDEE;RSVP=TRUE;CN=Grandma;PARTSTAT=ACCEPTED;ROLE="
        "REQ-PARTICIPANT:mailto:\n grandma@elsewhere.example",
        "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:%s@example.org"
        % user)


def test_invitation_from_outside_and_the_answer_by_mail(mailing, mail_port):
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        request = invitation_from_grandma("bob")
        code, text = incoming.process(server.storage, request.encode())
        assert code == incoming.OK, text
        assert [m for m, _ in inbox(server, "bob")] == ["REQUEST"]
        [(href, mine)] = copies(server, "bob", "m1")
        accepted = answer(mine, "bob", "ACCEPTED")
        assert put(server, "bob", href, accepted).status in (201, 204)
        assert wait_for(lambda: len(sink.envelopes) == 1)
    finally:
        controller.stop()
    [mail] = sink.mails()
    assert sink.envelopes[0].rcpt_tos == ["grandma@elsewhere.example"]
    parts = {p.get_content_type(): p for p in mail.iter_parts()}
    assert parts["text/calendar"].get_param("method") == "REPLY"
    assert "bob" in str(mail["Subject"]) and "accepted" in str(mail["Subject"])


def test_a_room_invited_by_mail_answers_by_mail(mailing, tmp_path,
                                                mail_clock):
    addresses = write_file(str(tmp_path), "addresses",
                           "[room-1]\ntype = ROOM\n")
    server = mailing(scheduling_addresses=addresses)
    storage = server.storage
    request = invitation_from_grandma("room-1")
    code, text = incoming.process(storage, request.encode())
    assert code == incoming.OK, text
    [(_href, mine)] = copies(server, "room-1", "m1")
    assert "PARTSTAT=ACCEPTED" in [
        x for x in unfold(mine).split("\r\n") if "room-1@" in x][0]
    [queued] = storage.scheduler.outbound.entries()
    assert (queued["method"], queued["recipient"]) == (
        "REPLY", "mailto:grandma@elsewhere.example")
    assert "PARTSTAT=ACCEPTED" in unfold(queued["ics"])


def test_the_receive_command_for_a_pipe_transport(invited_grandma, tmp_path):
    config = write_file(str(tmp_path), "config", """\
        [auth]
        type = htpasswd
        htpasswd_filename = {users}
        htpasswd_encryption = plain
        [storage]
        type = radicale_scheduling
        filesystem_folder = {folder}
        scheduling_domain = example.org
        [logging]
        level = warning
        """.format(users=os.path.join(str(tmp_path), "users"),
                   folder=os.path.join(str(tmp_path), "collections")))
    result = command("--config", config, "receive", "alice@example.org",
                     stdin=THUNDERBIRD_REPLY.encode())
    assert result.returncode == 0, result.stderr.decode()
    assert "PARTSTAT=ACCEPTED" in unfold(
        invited_grandma.request("GET", CAL + "m1.ics", user="alice").text)
    spoofed = THUNDERBIRD_REPLY.replace("grandma@elsewhere.example>",
                                        "someone@evil.example>")
    result = command("--config", config, "receive", stdin=spoofed.encode())
    assert result.returncode == 77
    assert b"may only answer" in result.stderr


# -- the sender thread beside requests (issue 7) ------------------------------

def test_an_answer_is_not_overwritten_by_a_late_mail_status(mailing,
                                                            mail_port,
                                                            mail_clock):
    """grandma's answer arrived (2.0) while the invitation mail was still
    being retried: how that mail fares says less than her answer (the
    sender thread wrote 5.1 over it)."""
    server = mailing()
    queue = server.storage.scheduler.outbound
    assert put(server, "alice", CAL + "m1.ics",
               ics("m1", "bob", GRANDMA)).status == 201
    code, _ = incoming.process(server.storage, THUNDERBIRD_REPLY.encode())
    assert code == incoming.OK
    assert status_of(server, "grandma@elsewhere.example") == "2.0"
    queue.run_once()  # nothing listens: a temporary failure
    assert status_of(server, "grandma@elsewhere.example") == "2.0"
    [waiting] = queue.entries()
    assert waiting["attempts"] == 1
    sink, controller = smtp_server(mail_port)
    try:
        mail_clock.advance(1)  # scheduling_smtp_retry_seconds = 1
        queue.run_once()
        assert len(sink.envelopes) == 1
    finally:
        controller.stop()
    assert status_of(server, "grandma@elsewhere.example") == "2.0"


class Gate:
    """An SMTP server that holds each mail until released, then answers
    with the next of ``answers`` (250 when none are left)."""

    def __init__(self, answers=()):
        import threading
        self.answers = list(answers)
        self.arrived = []
        self.accepted = []
        self.release = threading.Semaphore(0)

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        self.arrived.append(envelope)
        while not self.release.acquire(blocking=False):
            await asyncio.sleep(0.01)
        answer = self.answers.pop(0) if self.answers else "250 OK"
        if answer.startswith("250"):
            self.accepted.append(envelope)
        return answer


@pytest.mark.parametrize("first_answer", ["250 OK", "451 4.3.0 Try later"])
def test_a_change_while_the_older_mail_is_being_sent(mailing, mail_port,
                                                     first_answer,
                                                     mail_clock):
    """alice changes the meeting while the sender is handing the previous
    version to the mail server.  Its status must not cover the newer
    one's (1.0 until that is sent), and after a temporary failure the
    older mail must not be queued again beside the newer one: it would
    arrive last."""
    import threading
    gate = Gate([first_answer])
    controller = Controller(gate, hostname="127.0.0.1", port=mail_port)
    controller.start()
    try:
        server = mailing()
        queue = server.storage.scheduler.outbound
        assert put(server, "alice", CAL + "m1.ics",
                   ics("m1", GRANDMA, summary="Lunch")).status == 201
        sender = threading.Thread(target=queue.run_once)
        sender.start()
        assert wait_for(lambda: len(gate.arrived) == 1)
        assert put(server, "alice", CAL + "m1.ics",
                   ics("m1", GRANDMA, summary="Dinner")).status in (201, 204)
        assert status_of(server, "grandma@elsewhere.example") == "1.0"
        gate.release.release()  # the first mail's answer
        sender.join(20)
        assert status_of(server, "grandma@elsewhere.example") == "1.0"
        gate.release.release()
        queue.run_once()
        assert len(gate.arrived) == 2
        assert status_of(server, "grandma@elsewhere.example") == "1.1"
        for _ in range(3):
            gate.release.release()
        mail_clock.advance(3600)  # a retry of the first would come by now
        queue.run_once()
    finally:
        controller.stop()
    summaries = [e.content.decode().count("Dinner") > 0
                 for e in gate.accepted]
    assert summaries[-1] is True  # the last mail is the newest version
    assert len(gate.accepted) == (2 if first_answer.startswith("250")
                                  else 1)
    assert status_of(server, "grandma@elsewhere.example") == "1.1"


def test_a_second_process_does_not_take_a_mail_being_sent(mailing,
                                                          mail_port,
                                                          tmp_path):
    """Two processes share one queue.  A message that waited long (retries
    back off to hours) is being sent by one; the other took its claim
    for one left by a dead process and sent the mail a second time."""
    import threading

    from radicale_scheduling.delivery import outbound
    gate = Gate()
    controller = Controller(gate, hostname="127.0.0.1", port=mail_port)
    controller.start()
    queue_by_hand(os.path.join(str(tmp_path), "collections",
                               "scheduling-queue"))
    try:
        server = mailing()
        first = server.storage.scheduler.outbound
        other = outbound.Outbound(first.storage)  # the other process
        assert put(server, "alice", CAL + "m1.ics",
                   ics("m1", GRANDMA)).status == 201
        [waiting] = first.entries()
        queued_long_ago = time.time() - 2 * outbound.STALE_CLAIM
        os.utime(os.path.join(first.folder, "pending",
                              waiting["id"] + ".json"),
                 (queued_long_ago, queued_long_ago))
        sending = threading.Thread(target=first.run_once)
        sending.start()
        assert wait_for(lambda: len(gate.arrived) == 1)
        opener = threading.Timer(1.0, lambda: [gate.release.release()
                                               for _ in range(3)])
        opener.start()
        other.run_once()
        sending.join(20)
        opener.join()
    finally:
        controller.stop()
    assert len(gate.accepted) == 1
    assert status_of(server, "grandma@elsewhere.example") == "1.1"


def refusing_once(mail_port):
    """A mail server that refuses the first mail for good (550) and takes
    the next ones, without waiting."""
    gate = Gate(["550 5.1.1 No such user here"])
    for _ in range(5):
        gate.release.release()
    controller = Controller(gate, hostname="127.0.0.1", port=mail_port)
    controller.start()
    return gate, controller


def test_retrying_the_queue_does_not_send_a_replaced_message(mailing,
                                                             mail_port,
                                                             mail_clock):
    """``queue retry`` beside a newer message for the same meeting and
    recipient: the failed older one is dropped, not mailed after it."""
    gate, controller = refusing_once(mail_port)
    try:
        server = mailing()
        queue = server.storage.scheduler.outbound
        assert put(server, "alice", CAL + "m1.ics",
                   ics("m1", GRANDMA, summary="Lunch")).status == 201
        queue.run_once()
        assert status_of(server, "grandma@elsewhere.example") == "5.2"
        assert len(queue.entries("failed")) == 1
        assert put(server, "alice", CAL + "m1.ics",
                   ics("m1", GRANDMA, summary="Dinner")).status in (201, 204)
        assert queue.retry_all() == 1
        assert queue.entries("failed") == []
        queue.run_once()
    finally:
        controller.stop()
    assert len(gate.accepted) == 1
    assert "Dinner" in gate.accepted[0].content.decode()
    assert status_of(server, "grandma@elsewhere.example") == "1.1"


def grandma_invites_alice_and_bob(server):
    request = THUNDERBIRD_REPLY.replace("METHOD:REPLY", "METHOD:REQUEST") \
        .replace("method=REPLY", "method=REQUEST").replace(
        "To: alice@example.org", "To: alice@example.org, bob@example.org"
    ).replace(
        "ORGANIZER;CN=alice:mailto:alice@example.org",
        "ORGANIZER;CN=Grandma:mailto:grandma@elsewhere.example").replace(
        "ATTENDEE;RSVP=TRUE;CN=Grandma;PARTSTAT=ACCEPTED;ROLE="
        "REQ-PARTICIPANT:mailto:\n grandma@elsewhere.example",
        "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.org\n"
        "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:alice@example.org")
    code, text = incoming.process(server.storage, request.encode())
    assert code == incoming.OK, text


def accept(server, user):
    [(href, mine)] = copies(server, user, "m1")
    assert put(server, user, href,
               answer(mine, user, "ACCEPTED")).status in (201, 204)


def test_two_attendees_answers_to_an_outside_organizer_both_survive_a_retry(
        mailing, mail_port, mail_clock):
    """alice and bob both answer grandma's invitation while her mail
    server is down: two REPLYs wait for the same organizer and meeting,
    from two calendar users.  A retry of one must not drop it as
    "replaced" by the other's answer: both reach grandma."""
    server = mailing()
    queue = server.storage.scheduler.outbound
    grandma_invites_alice_and_bob(server)
    for user in ("alice", "bob"):
        accept(server, user)
    assert sorted(e["sender"] for e in queue.entries()) == [
        "mailto:alice@example.org", "mailto:bob@example.org"]
    queue.run_once()  # nothing listens: both fail for now
    assert sorted(e["sender"] for e in queue.entries()) == [
        "mailto:alice@example.org", "mailto:bob@example.org"]
    sink, controller = smtp_server(mail_port)
    try:
        mail_clock.advance(1)  # scheduling_smtp_retry_seconds = 1
        queue.run_once()
    finally:
        controller.stop()
    assert sorted(str(m["Reply-To"]) for m in sink.mails()) == [
        "alice@example.org", "bob@example.org"]


def test_retrying_the_queue_keeps_another_attendees_answer(mailing,
                                                           mail_port,
                                                           mail_clock):
    """``queue retry`` with alice's refused REPLY to grandma beside bob's
    waiting one: bob's answer replaces nothing of alice's, so hers is
    sent again too."""
    gate, controller = refusing_once(mail_port)
    try:
        server = mailing()
        queue = server.storage.scheduler.outbound
        grandma_invites_alice_and_bob(server)
        accept(server, "alice")
        queue.run_once()  # refused for now
        assert [e["sender"] for e in queue.entries("failed")] == [
            "mailto:alice@example.org"]
        accept(server, "bob")
        assert queue.retry_all() == 2
        queue.run_once()
    finally:
        controller.stop()
    assert sorted(e.content.decode().count("Reply-To: alice") for e in
                  gate.accepted) == [0, 1]
