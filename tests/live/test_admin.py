"""``python -m radicale_scheduling``: the admin commands, run as an admin
runs them (a subprocess), and Radicale's own e-mail hook beside the
plugin's mail."""

import os

import live
import pytest
import radicale
from live import command
from radicale import Application

from helpers import make_configuration, make_server, write_file
from scheduling_helpers import ics, put

CAL = "/alice/calendar/"
OUTSIDE = ("ATTENDEE;CN=Grandma:mailto:grandma@elsewhere.example\n"
           "ATTENDEE;CN=Nobody:mailto:nobody@elsewhere.example\n")


def config(tmp_path, **storage):
    lines = "".join("%s = %s\n" % item for item in storage.items())
    return write_file(str(tmp_path), "config", f"""\
        [auth]
        type = htpasswd
        htpasswd_filename = {tmp_path}/users
        htpasswd_encryption = plain
        [storage]
        type = radicale_scheduling
        filesystem_folder = {tmp_path}/collections
        scheduling_domain = example.org
        """ + lines)


def assert_one_line_config_error(result, *words):
    assert result.returncode == 78, result
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "configuration error" in err
    for word in words:
        assert word in err, err
    assert result.stdout == b""


def test_missing_config_file(tmp_path):
    result = command("--config", str(tmp_path / "nope"), "queue")
    assert_one_line_config_error(result, "nope")


@pytest.mark.parametrize("option, value, named", [
    ("scheduling_smtp_port", "twenty-five", "scheduling_smtp_port"),
    ("scheduling_domain", "not a domain", "scheduling_domain"),
    ("scheduling_smtp_host", "mail.example.org", "scheduling_smtp_from"),
    ("scheduling_colour", "blue", "scheduling_colour"),
])
def test_bad_config_creates_nothing(tmp_path, option, value, named):
    path = config(tmp_path, **{option: value})
    for args in (("queue",), ("queue", "retry"), ("receive",)):
        result = command("--config", path, *args)
        assert_one_line_config_error(result, named)
    assert not os.path.exists(tmp_path / "collections")


def test_another_storage_type_is_a_config_error(tmp_path):
    path = write_file(str(tmp_path), "config", f"""\
        [storage]
        filesystem_folder = {tmp_path}/collections
        """)
    result = command("--config", path, "queue")
    assert_one_line_config_error(result, "radicale_scheduling")
    assert not os.path.exists(tmp_path / "collections")


def test_help_names_every_action():
    result = command("--help")
    assert result.returncode == 0
    text = result.stdout.decode()
    for action in ("queue [list]", "queue retry", "queue send", "receive",
                   "78"):
        assert action in text, text


def test_queue_without_mail_and_empty(tmp_path):
    result = command("--config", config(tmp_path), "queue")
    assert result.returncode == 0
    assert b"e-mail is off" in result.stdout
    mail = config(tmp_path, scheduling_smtp_host="127.0.0.1",
                  scheduling_smtp_from="calendar@example.org")
    for args in (("queue",), ("queue", "retry"), ("queue", "send")):
        result = command("--config", mail, *args)
        assert result.returncode == 0, result.stderr
        assert b"the mail queue is empty" in result.stdout, result.stdout


class RefusingNobody:
    """A mail server that knows grandma but not nobody@."""

    def __init__(self):
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def test_queue_retry_reports_what_was_sent_and_what_failed(tmp_path,
                                                           mail_clock):
    from aiosmtpd.controller import Controller
    port = live.free_port()  # nothing listens yet: the mails wait
    options = dict(scheduling_smtp_host="127.0.0.1",
                   scheduling_smtp_port=str(port),
                   scheduling_smtp_security="none",
                   scheduling_smtp_from="calendar@example.org")
    server = make_server(str(tmp_path), scheduling_domain="example.org",
                         **options)
    server.propfind("/alice/", "D:resourcetype", user="alice")
    assert server.mkcalendar(CAL).status == 201
    assert put(server, "alice", CAL + "m1.ics",
               ics("m1", OUTSIDE, summary="Tea")).status == 201
    path = config(tmp_path, **options)
    listed = command("--config", path, "queue")
    assert listed.stdout.decode().count("pending") == 2, listed.stdout
    handler = RefusingNobody()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = command("--config", path, "queue", "retry")
    finally:
        controller.stop()
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "sent    REQUEST for 'm1' to grandma@elsewhere.example" in out, out
    assert "failed  REQUEST for 'm1' to nobody@elsewhere.example" in out, out
    assert "550" in out and "1 sent, 1 failed" in out, out
    assert [e.rcpt_tos for e in handler.envelopes] == [
        ["grandma@elsewhere.example"]]
    assert "Traceback" not in result.stderr.decode()


def test_failed_mail_is_a_warning_with_the_reason(tmp_path, caplog,
                                                  mail_clock):
    port = live.free_port()  # nothing listens: connection refused
    server = make_server(
        str(tmp_path), scheduling_domain="example.org",
        scheduling_smtp_host="127.0.0.1", scheduling_smtp_port=str(port),
        scheduling_smtp_security="none",
        scheduling_smtp_from="calendar@example.org")
    server.propfind("/alice/", "D:resourcetype", user="alice")
    assert server.mkcalendar(CAL).status == 201
    assert put(server, "alice", CAL + "m1.ics",
               ics("m1", OUTSIDE)).status == 201
    with caplog.at_level("INFO", logger="radicale"):
        server.storage.scheduler.outbound.run_once()
    warnings = [r.getMessage() for r in caplog.records
                if r.levelname == "WARNING"
                and r.getMessage().startswith("Scheduling: mail")]
    assert len(warnings) == 2, caplog.text
    assert all("grandma" in w or "nobody" in w for w in warnings)
    assert all("refused" in w.lower() or "errno" in w.lower()
               for w in warnings), warnings


# -- Radicale's own e-mail hook (3.5.5 and later) ------------------------------

try:
    from radicale import hook as radicale_hook
    HAS_EMAIL_HOOK = "email" in radicale_hook.INTERNAL_TYPES
except ImportError:  # Radicale 3.1
    HAS_EMAIL_HOOK = False


def _with_hook(tmp_path, **storage):
    configuration = make_configuration(str(tmp_path), **storage)
    configuration.update({"hook": {"type": "email"}}, "test",
                         privileged=True)
    return configuration


@pytest.mark.skipif(not HAS_EMAIL_HOOK, reason="Radicale %s has no e-mail "
                    "hook" % radicale.VERSION)
def test_email_hook_and_plugin_mail_together_stop_the_start(tmp_path):
    with pytest.raises(RuntimeError) as error:
        Application(_with_hook(
            tmp_path, scheduling_domain="example.org",
            scheduling_smtp_host="127.0.0.1",
            scheduling_smtp_from="calendar@example.org"))
    message = str(error.value)
    assert "[hook] type = email" in message
    assert "scheduling_smtp_host" in message and "\n" not in message
    assert not os.path.exists(tmp_path / "collections")


@pytest.mark.skipif(not HAS_EMAIL_HOOK, reason="Radicale %s has no e-mail "
                    "hook" % radicale.VERSION)
def test_email_hook_alone_is_allowed(tmp_path):
    Application(_with_hook(tmp_path, scheduling_domain="example.org"))


@pytest.mark.skipif(not HAS_EMAIL_HOOK, reason="Radicale %s has no e-mail "
                    "hook" % radicale.VERSION)
def test_email_hook_and_plugin_mail_in_the_admin_command(tmp_path):
    path = config(tmp_path, scheduling_smtp_host="127.0.0.1",
                  scheduling_smtp_from="calendar@example.org")
    with open(path, "a") as f:
        f.write("[hook]\ntype = email\n")
    result = command("--config", path, "queue")
    assert_one_line_config_error(result, "[hook] type = email",
                                 "scheduling_smtp_host")
    assert not os.path.exists(tmp_path / "collections")
