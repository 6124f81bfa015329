"""A scheduling operation survives SIGKILL at any point (storage/journal.py).

For each operation (an invitation, an attendee's answer, a cancellation,
an outside organizer's invitation mail for two users) the test first
learns how many file changes the operation makes in a real
``python -m radicale`` (or ``python -m radicale_scheduling receive``).
Then, for every one of them, it runs the operation on a fresh copy of the
same data, kills the process with SIGKILL just before that change
(tests/live/crashpoints/sitecustomize.py), starts Radicale again and compares
what every user sees with the state before the operation and with the
state after it done without a crash: it must be one of the two, whole.
Then the client's retry must give exactly the state after, with no
message delivered twice.

The mail sender is killed the same way at each file change of sending an
invitation; after a restart, a newer message (the cancellation) and the
dead sender's claim gone stale, no mail may reach the recipient after a
newer one for the same meeting.
"""

import base64
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from conftest import queue_by_hand

from helpers import PASSWORD, make_server, write_file, write_users
from radicale_scheduling.delivery import incoming
from radicale_scheduling.itip import calendar as ical
from scheduling_helpers import calendars, hrefs, ics, inbox, put

HERE = os.path.dirname(os.path.abspath(__file__))
UID = "crash-meeting"
PEOPLE = ("alice", "bob", "carol", "room-1")
ADDRESSES = "[room-1]\ntype = ROOM\nname = Meeting room 1\n"
MEETING = ics(UID, "bob", "carol", "room-1",
              "ATTENDEE;CN=Erin:mailto:erin@elsewhere.example\n",
              summary="Budget")
OPTIONS = dict(scheduling_domain="example.org",
               scheduling_smtp_host="127.0.0.1",
               scheduling_smtp_port="9",
               scheduling_smtp_from="calendar@example.org")


def _options(folder):
    addresses = os.path.join(folder, "addresses")
    os.makedirs(folder, exist_ok=True)
    if not os.path.exists(addresses):
        write_file(folder, "addresses", ADDRESSES)
    return dict(OPTIONS, scheduling_addresses=addresses,
                scheduling_queue_folder=os.path.join(folder, "queue"))


def _server(folder):
    queue_by_hand(os.path.join(folder, "queue"))
    return make_server(folder, **_options(folder))


# -- what users see ----------------------------------------------------------

def _copies(server, user):
    """The user's objects of the meeting: (calendar, summary, status,
    sequence, every attendee's PARTSTAT)."""
    found = []
    for calendar in calendars(server, user):
        for href in hrefs(server, user, calendar):
            text = server.request("GET", href, user=user).text
            if "UID:%s" % UID not in text:
                continue
            comp = ical.components(ical.parse(text))[0]
            found.append((calendar, ical.text(comp, "summary"),
                          ical.text(comp, "status"),
                          ical.text(comp, "sequence"),
                          tuple(sorted((ical.address(line),
                                        ical.partstat(line))
                                       for line in ical.attendees(comp)))))
    return sorted(found)


def _messages(server, user):
    result = []
    for method, text in inbox(server, user):
        comp = ical.components(ical.parse(text))[0]
        result.append((method, ical.text(comp, "summary"), tuple(sorted(
            (ical.address(line), ical.partstat(line))
            for line in ical.attendees(comp)))))
    return sorted(result)


def snapshot(folder):
    """Everything a user or the mail server would see of the meeting."""
    server = _server(folder)  # a start: finishes an interrupted operation
    state = {user: (_copies(server, user), _messages(server, user))
             for user in PEOPLE}
    state["mail"] = sorted((e["recipient"], e["method"]) for e in
                           server.storage.scheduler.outbound.entries())
    return state


# -- a real Radicale that dies ----------------------------------------------

def _config(folder, port):
    options = _options(folder)
    lines = "".join("%s = %s\n" % item for item in options.items())
    return write_file(folder, "config", f"""\
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
{lines}[logging]
level = warning
""")


def _crash_env(folder, crash_at, arm):
    return dict(os.environ,
                PYTHONPATH=os.pathsep.join(
                    [os.path.join(HERE, "crashpoints")] +
                    [p for p in os.environ.get("PYTHONPATH", "").split(
                        os.pathsep) if p]),
                RADICALE_TEST_CRASH_ROOT=folder,
                RADICALE_TEST_CRASH_AT=str(crash_at),
                RADICALE_TEST_CRASH_LOG=os.path.join(folder, "changes.log"),
                RADICALE_TEST_CRASH_ARM=arm,
                RADICALE_TEST_NO_MAIL_SENDER="1")


def _serve_killed(folder, request, env, arm):
    """One HTTP request to a real ``python -m radicale``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(os.path.join(folder, "radicale.log"), "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config",
             _config(folder, port)], stdout=out, stderr=subprocess.STDOUT,
            env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, open(
                os.path.join(folder, "radicale.log")).read()
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "radicale did not start"
                time.sleep(0.05)
        open(arm, "w").close()  # count the request's changes only
        method, path, body, user = request[:4]
        token = base64.b64encode(("%s:%s" % (user, PASSWORD)).encode())
        connection = http.client.HTTPConnection("127.0.0.1", port,
                                                timeout=30)
        status = None
        try:
            connection.request(method, path, body, {
                "Authorization": "Basic " + token.decode(),
                "Content-Type": "text/calendar",
                **_headers(request, "127.0.0.1:%d" % port)})
            status = connection.getresponse().status
        except (ConnectionError, http.client.HTTPException):
            pass
        finally:
            connection.close()
        if status is None:
            assert process.wait(timeout=30) == -9
        return status
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def _headers(request, host):
    """Extra request headers: an optional fifth element of a request,
    ``{host}`` in them naming the server's host."""
    return {name: value.format(host=host) for name, value in
            (request[4] if len(request) > 4 else {}).items()}


def _receive_killed(folder, request, env, arm):
    """One mail piped to ``python -m radicale_scheduling receive``, as a
    mail server runs it; its exit status (None: killed)."""
    open(arm, "w").close()
    result = subprocess.run(
        [sys.executable, "-m", "radicale_scheduling", "--config",
         _config(folder, 5232), "receive"], input=request[1], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if result.returncode == -9:
        return None
    assert result.returncode == 0, result.stdout.decode()
    return 200


def run_killed(folder, request, crash_at):
    """Run ``request`` (method, path, body, user; or ("MAIL", bytes))
    in a real process that is killed before its ``crash_at``-th file
    change (0: never).  Returns the outcome (an HTTP status, or None when
    killed) and the changes it logged."""
    arm = os.path.join(os.path.dirname(folder), "armed-" +
                       os.path.basename(folder))
    env = _crash_env(folder, crash_at, arm)
    try:
        run = _receive_killed if request[0] == "MAIL" else _serve_killed
        status = run(folder, request, env, arm)
    finally:
        if os.path.exists(arm):
            os.remove(arm)
    changes = []
    log_path = env["RADICALE_TEST_CRASH_LOG"]
    if os.path.exists(log_path):
        with open(log_path) as f:
            changes = f.read().splitlines()
    return status, changes


# -- the operations ----------------------------------------------------------

def _provisioned(folder):
    server = _server(folder)
    for user in PEOPLE:
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
        assert server.mkcalendar("/%s/calendar/" % user, user=user,
                                 components="VEVENT,VTODO,VJOURNAL"
                                 ).status == 201
        assert server.propfind("/%s/" % user, "C:schedule-inbox-URL",
                               "C:calendar-user-address-set",
                               user=user).status == 207
        server.propfind("/%s/.schedule-inbox/" % user,
                        "C:schedule-default-calendar-URL", user=user)
    return server


def _invited(folder):
    server = _provisioned(folder)
    assert put(server, "alice", "/alice/calendar/m.ics",
               MEETING).status in (201, 204)
    return server


def _bob_accepts(folder):
    server = _server(folder)
    path = [h for h in hrefs(server, "bob", "/bob/calendar/")][0]
    cal = ical.parse(server.request("GET", path, user="bob").text)
    comp = ical.components(cal)[0]
    ical.set_param(ical.attendee(comp, "mailto:bob@example.org"),
                   "PARTSTAT", "ACCEPTED")
    return ("PUT", path, cal.serialize(), "bob")


def _bob_moves_an_answer(folder):
    """bob keeps his accepted copy in a second calendar and moves it over
    the copy he was sent (RFC 6638 s3.2.3.4): his REPLY goes out, the
    source goes away, all in one operation."""
    server = _server(folder)
    assert server.mkcalendar("/bob/other/", user="bob").status == 201
    _method, path, body, _user = _bob_accepts(folder)
    assert put(server, "bob", "/bob/other/accepted.ics", body).status == 201
    return ("MOVE", "/bob/other/accepted.ics", "", "bob",
            {"Destination": "http://{host}" + path, "Overwrite": "T"})


#: An outside organizer's invitation to two users of the server, by mail.
INVITATION_MAIL = ("From: Erin <erin@elsewhere.example>\r\n"
                   "To: bob@example.org, carol@example.org\r\n"
                   "Subject: Invitation\r\nMIME-Version: 1.0\r\n"
                   "Content-Type: text/calendar; charset=utf-8; "
                   "method=REQUEST\r\n\r\n" + ics(
                       UID, "bob", "carol", organizer="erin",
                       summary="Outside").replace(
                       "erin@example.org", "erin@elsewhere.example").replace(
                       "VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:REQUEST\r\n")
                   ).encode()


SCENARIOS = {
    "mail": (_provisioned, lambda folder: ("MAIL", INVITATION_MAIL)),
    "invitation": (_provisioned, lambda folder: (
        "PUT", "/alice/calendar/m.ics", MEETING, "alice")),
    "answer": (_invited, _bob_accepts),
    "move": (_invited, _bob_moves_an_answer),
    "cancellation": (_invited, lambda folder: (
        "DELETE", "/alice/calendar/m.ics", "", "alice")),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_killed_at_every_change(tmp_path, name):
    prepare, make_request = SCENARIOS[name]
    template = str(tmp_path / "template")
    prepare(template)
    request = make_request(template)

    def fresh(label):
        folder = str(tmp_path / label)
        shutil.copytree(template, folder)
        return folder

    before = snapshot(fresh("before"))
    # The operation done whole, in a real Radicale that is not killed.
    done = fresh("done")
    status, changes = run_killed(done, request, 0)
    assert status in (200, 201, 204), open(
        os.path.join(done, "radicale.log")).read()
    after = snapshot(done)
    assert after != before
    if name in ("invitation", "cancellation"):  # the outside mail too
        assert after["mail"][0][0] == "mailto:erin@elsewhere.example"
        assert after["mail"] != before["mail"]
    assert len(changes) >= 4, changes

    outcomes = {"before": 0, "after": 0}
    for crash_at in range(1, len(changes) + 1):
        folder = fresh("killed-%d" % crash_at)
        status, _ = run_killed(folder, request, crash_at)
        assert status is None, "not killed at change %d" % crash_at
        state = snapshot(folder)
        if state == before:
            outcomes["before"] += 1
        else:
            assert state == after, (
                "killed before change %d (%s): a state that is neither "
                "before nor after the operation" % (crash_at,
                                                    changes[crash_at - 1]))
            outcomes["after"] += 1
        # The client (or the mail server) got no answer and tries again.
        server = _server(folder)
        if request[0] == "MAIL":
            code, what = incoming.process(server.storage, request[1])
            assert code == incoming.OK, what
        else:
            method, path, body, user = request[:4]
            retried = server.request(method, path, body, user=user,
                                     content_type="text/calendar", **{
                                         k.lower(): v for k, v in
                                         _headers(request,
                                                  "localhost").items()})
            assert retried.status in (200, 201, 204, 404), retried.text
        assert snapshot(folder) == after, "retry after change %d" % crash_at
        shutil.rmtree(folder)
    # Both sides of the commit point were hit.
    assert outcomes["before"] and outcomes["after"], outcomes


# -- killed while sending mail (issue 16, point 6) ---------------------------

def _queue_killed(folder, port, crash_at):
    """``python -m radicale_scheduling queue send`` (what a server's
    sender thread does) against the SMTP server on ``port``, killed before
    its ``crash_at``-th file change (0: never).  Returns whether it was
    killed, and the changes it logged."""
    arm = os.path.join(os.path.dirname(folder), "armed-" +
                       os.path.basename(folder))
    env = _crash_env(folder, crash_at, arm)
    log_path = env["RADICALE_TEST_CRASH_LOG"]
    if os.path.exists(log_path):
        os.remove(log_path)
    with open(_config(folder, 5232)) as f:
        config = f.read().replace(
            "scheduling_smtp_port = 9\n", "scheduling_smtp_port = %d\n"
            "scheduling_smtp_security = none\n" % port)
    with open(os.path.join(folder, "config"), "w") as f:
        f.write(config)
    open(arm, "w").close()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "radicale_scheduling", "--config",
             os.path.join(folder, "config"), "queue", "send"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    finally:
        os.remove(arm)
    assert result.returncode in (0, -9), result.stdout.decode()
    changes = []
    if os.path.exists(log_path):
        with open(log_path) as f:
            changes = f.read().splitlines()
    return result.returncode == -9, changes


def _mailed(sink):
    """(method, SEQUENCE) of each mail the SMTP server took, in order."""
    import email
    import email.policy
    result = []
    for envelope in sink.envelopes:
        mail = email.message_from_bytes(envelope.content,
                                        policy=email.policy.default)
        body = mail.get_body(("calendar",)).get_content()
        body = body if isinstance(body, str) else body.decode()
        comp = ical.components(ical.parse(body))[0]
        result.append((envelope.rcpt_tos[0],
                       str(mail.get_body(("calendar",)).get_param("method")),
                       ical.sequence(comp)))
    return result


def test_killed_while_sending_no_older_mail_follows_a_newer_one(tmp_path):
    """The sender is killed at each file change of sending erin's
    invitation; alice then cancels the meeting, a new sender sends the
    CANCEL, and once the dead sender's claim is stale (ten minutes later)
    yet another one runs.  The invitation must never reach erin after
    the cancellation, and each goes out at most once."""
    from live import free_port, smtp_server

    from radicale_scheduling.delivery import outbound
    template = str(tmp_path / "template")
    _invited(template)
    port = free_port()
    sink, controller = smtp_server(port)
    try:
        done = str(tmp_path / "done")
        shutil.copytree(template, done)
        killed, changes = _queue_killed(done, port, 0)
        assert not killed and len(sink.envelopes) == 1
        assert len(changes) >= 3, changes
        for crash_at in range(1, len(changes) + 1):
            del sink.envelopes[:]
            folder = str(tmp_path / ("killed-%d" % crash_at))
            shutil.copytree(template, folder)
            killed, _ = _queue_killed(folder, port, crash_at)
            assert killed, "not killed at change %d" % crash_at
            server = _server(folder)  # a restart
            assert server.request("DELETE", "/alice/calendar/m.ics",
                                  user="alice").status in (200, 204)
            assert not _queue_killed(folder, port, 0)[0]
            sending = os.path.join(folder, "queue", "sending")
            stale = time.time() - 2 * outbound.STALE_CLAIM
            for name in os.listdir(sending):
                os.utime(os.path.join(sending, name), (stale, stale))
            assert not _queue_killed(folder, port, 0)[0]
            mailed = [(method, sequence) for recipient, method, sequence
                      in _mailed(sink)
                      if recipient == "erin@elsewhere.example"]
            assert mailed and mailed[-1][0] == "CANCEL", (crash_at, mailed)
            assert [m for m, _ in mailed].count("CANCEL") == 1, mailed
            assert [m for m, _ in mailed].count("REQUEST") <= 1, mailed
            assert mailed == sorted(mailed, key=lambda m: m[1]), mailed
            assert os.listdir(sending) == [], (crash_at, changes)
            assert server.storage.scheduler.outbound.entries() == []
            shutil.rmtree(folder)
    finally:
        controller.stop()
