"""Real ``python -m radicale`` processes on 127.0.0.1, as a user runs them,
and a real SMTP server (aiosmtpd) for the mail they send.

Used by the end-to-end tests (conftest.live_server), the concurrency test
and bench/load.py.  Several processes may share one collections folder:
Radicale's file lock makes that safe for plain Radicale, and the plugin
must keep it so.
"""

from __future__ import annotations

import email
import email.policy
import os
import site
import socket
import subprocess
import sys
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

import radicale_scheduling

#: The folder holding the package the tests import: the checkout when run
#: as ``PYTHONPATH=$PWD python -m pytest``, site-packages under tests/run.
PACKAGE_HOME = os.path.dirname(os.path.dirname(os.path.abspath(
    radicale_scheduling.__file__)))


def env() -> Dict[str, str]:
    """The environment of a server process: it imports the same
    radicale_scheduling as the tests (the installed one under tests/run,
    never the checkout behind its back)."""
    environment = dict(os.environ)
    installed = {os.path.abspath(p) for p in site.getsitepackages()}
    if PACKAGE_HOME not in installed:
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (PACKAGE_HOME, environment.get("PYTHONPATH")) if p)
    return environment


def command(*args: str, stdin: bytes = b"", timeout: float = 60,
            **options: Any) -> subprocess.CompletedProcess[bytes]:
    """``python -m radicale_scheduling ARGS`` (the admin commands, the
    ``receive`` a mail server's pipe runs) on the tests' package."""
    return subprocess.run(
        [sys.executable, "-m", "radicale_scheduling", *args], input=stdin,
        capture_output=True, env=env(), timeout=timeout, **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: grandma, outside the server, as an attendee line.
GRANDMA = "ATTENDEE;CN=Grandma:mailto:grandma@elsewhere.example\n"
#: grandma accepts alice's m1, as Thunderbird mails it.
THUNDERBIRD_REPLY = """From: Grandma <grandma@elsewhere.example>
To: alice@example.org
Subject: Accepted: Planning
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="------------b1"

--------------b1
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 7bit

Grandma has accepted this invitation.
--------------b1
Content-Type: text/calendar; charset=UTF-8; method=REPLY
Content-Transfer-Encoding: 8bit

BEGIN:VCALENDAR
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN
VERSION:2.0
METHOD:REPLY
BEGIN:VEVENT
CREATED:20260101T000000Z
LAST-MODIFIED:20260102T000000Z
DTSTAMP:20260102T000000Z
UID:m1
SUMMARY:Planning
ORGANIZER;CN=alice:mailto:alice@example.org
ATTENDEE;RSVP=TRUE;CN=Grandma;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:
 grandma@elsewhere.example
DTSTART:20260105T100000Z
DTEND:20260105T110000Z
SEQUENCE:0
X-MOZ-GENERATION:1
END:VEVENT
END:VCALENDAR

--------------b1--
"""


class Sink:
    """An aiosmtpd handler keeping every mail it is given."""

    def __init__(self) -> None:
        self.envelopes: List[Any] = []

    async def handle_DATA(self, server: Any, session: Any,
                          envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def mails(self) -> List[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default)
                for e in list(self.envelopes)]

    def calendars(self) -> List[str]:
        """The text/calendar part of every mail received."""
        return [part.get_content() for mail in self.mails()
                for part in mail.walk()
                if part.get_content_type() == "text/calendar"]


def smtp_server(port: int) -> Tuple[Sink, Any]:
    """A real SMTP server on 127.0.0.1:port; stop its controller."""
    from aiosmtpd.controller import Controller
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return sink, controller


def write_users(folder: str, users: Iterable[str], password: str) -> str:
    path = os.path.join(folder, "users")
    with open(path, "w") as f:
        for user in users:
            f.write("%s:%s\n" % (user, password))
    return path


def config_text(port: int, collections: str, users_file: str,
                storage_type: str = "radicale_scheduling",
                storage: Optional[Dict[str, str]] = None,
                server: Optional[Dict[str, str]] = None,
                level: str = "warning") -> str:
    """A Radicale configuration; ``storage`` adds [storage] options."""
    sections = {
        "server": {"hosts": "127.0.0.1:%d" % port, **(server or {})},
        "auth": {"type": "htpasswd", "htpasswd_filename": users_file,
                 "htpasswd_encryption": "plain", "delay": "0"},
        "rights": {"type": "owner_only"},
        "storage": {"type": storage_type, "filesystem_folder": collections,
                    **(storage or {})},
        "logging": {"level": level},
    }
    return "".join("[%s]\n%s" % (name, "".join(
        "%s = %s\n" % item for item in values.items()))
        for name, values in sections.items())


class LiveServer:
    """One ``python -m radicale`` subprocess and its log file."""

    def __init__(self, folder: str, name: str, config: str, port: int
                 ) -> None:
        self.port = port
        self.url = "http://127.0.0.1:%d/" % port
        self.config_path = os.path.join(folder, name + ".config")
        with open(self.config_path, "w") as f:
            f.write(config)
        self.log_path = os.path.join(folder, name + ".log")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", self.config_path],
            stdout=self._log, stderr=subprocess.STDOUT, env=env())

    def wait_listening(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("radicale did not start:\n" + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return
            except OSError as e:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("radicale did not listen within %d s"
                                       % seconds) from e
                time.sleep(0.1)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start(folder: str, name: str, collections: str, users_file: str,
          **options) -> LiveServer:
    """Start one server on a free port and wait until it listens."""
    port = free_port()
    server = LiveServer(folder, name, config_text(
        port, collections, users_file, **options), port)
    server.wait_listening()
    return server
