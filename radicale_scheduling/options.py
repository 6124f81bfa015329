"""The plugin's options: typed and validated through Radicale's plugin schema.

Radicale keeps the options of a third-party storage type untyped until the
plugin asks for them with ``Configuration.copy(PLUGIN_CONFIG_SCHEMA)``; that
call also rejects any option of ``[storage]`` the schema does not know, so a
misspelt ``scheduling_`` option stops the server at start instead of being
ignored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from typing import Any, Dict

_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
    r"(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$", re.IGNORECASE)


def mail_domain(value: str) -> str:
    """A mail domain such as ``example.org`` (empty: no implicit addresses)."""
    value = value.strip()
    if value and not _DOMAIN_RE.match(value):
        raise ValueError("not a mail domain such as example.org")
    return value.lower()


def existing_file(value: str) -> str:
    """A path to an existing, readable file (empty: none)."""
    value = value.strip()
    if not value:
        return ""
    path = os.path.abspath(os.path.expanduser(value))
    if not os.path.isfile(path):
        raise ValueError("no such file: %s" % path)
    if not os.access(path, os.R_OK):
        raise ValueError("file is not readable: %s" % path)
    return path


def port(value: str) -> int:
    """A TCP port, or 0 for the default of the security mode."""
    number = int(str(value).strip())
    if not 0 <= number <= 65535:
        raise ValueError("not a port number")
    return number


def smtp_security(value: str) -> str:
    """none, starttls or ssl."""
    value = str(value).strip().lower()
    if value not in ("none", "starttls", "ssl"):
        raise ValueError("must be none, starttls or ssl")
    return value


def mail_address(value: str) -> str:
    """An e-mail address (empty: none)."""
    value = str(value).strip()
    if value and (value.count("@") != 1 or any(c in value for c in
                                               " \t\r\n<>,;:\"")):
        raise ValueError("not an e-mail address")
    return value


def positive_int(value: str) -> int:
    """A whole number of at least 1."""
    number = int(str(value).strip())
    if number < 1:
        raise ValueError("must be at least 1")
    return number


#: The options (``scheduling_<name>``): name, default, type, help.
_OPTIONS = (
    ("domain", "", mail_domain, "mail domain of plain user names: alice "
     "has the address mailto:alice@<domain>"),
    ("addresses", "", existing_file, "file giving users extra addresses "
     "and a calendar-user-type"),
    ("smtp_host", "", str, "mail server for invitations to addresses "
     "outside the server (iMIP); empty: no e-mail"),
    ("smtp_port", "0", port, "port (0: 25, 587 with starttls, 465 with ssl)"),
    ("smtp_security", "starttls", smtp_security, "none, starttls or ssl"),
    ("smtp_username", "", str, "user name for the mail server (empty: no "
     "login)"),
    ("smtp_password", "", str, "password for the mail server"),
    ("smtp_password_file", "", existing_file, "file holding the password "
     "(instead of the option)"),
    ("smtp_from", "", mail_address, "sender address of invitation mails"),
    ("smtp_max_recipients", "100", positive_int, "most e-mail recipients "
     "one change may send to"),
    ("smtp_max_per_hour", "500", positive_int, "most mails sent per hour "
     "for one user"),
    ("smtp_retry_seconds", "60", positive_int, "first wait after a "
     "temporary failure (doubles, at most 6 hours; given up after 3 days)"),
    ("queue_folder", "", str, "folder of the mail queue (default: "
     "<filesystem_folder>/scheduling-queue)"),
    ("max_attendees", "100", positive_int, "most ATTENDEEs on one instance "
     "of a calendar object (CALDAV:max-attendees-per-instance)"),
    ("max_resource_size", "1000000", positive_int, "largest calendar "
     "object, in bytes, the server writes for scheduling (copies, inbox "
     "messages) or takes by mail (receive); at most [server] "
     "max_content_length"),
    ("freebusy_max_recipients", "50", positive_int, "most recipients in one "
     "free-busy request"),
    ("freebusy_max_days", "366", positive_int, "longest window of a "
     "free-busy request, in days"),
    ("freebusy_max_occurrences", "200000", positive_int, "most recurrence "
     "instances one free-busy request may expand"),
)
PLUGIN_CONFIG_SCHEMA: Dict[str, Dict[str, Dict[str, Any]]] = {"storage": {
    "scheduling_" + name: {"value": value, "type": type_, "help": help_}
    for name, value, type_, help_ in _OPTIONS}}


@dataclass(frozen=True)
class Settings:
    """The plugin's options (defaults: the schema), read once at load."""

    domain: str
    addresses: str  # the file's path
    max_attendees: int
    max_resource_size: int
    freebusy_max_recipients: int
    freebusy_max_days: int
    freebusy_max_occurrences: int
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str
    smtp_password: str
    smtp_from: str
    smtp_max_recipients: int
    smtp_max_per_hour: int
    smtp_retry_seconds: int
    queue_folder: str

    @classmethod
    def from_configuration(cls, configuration: Any) -> Settings:
        def get(name: str) -> Any:
            return configuration.get("storage", "scheduling_" + name)
        values = {f.name: get(f.name) for f in fields(cls)}
        values["smtp_host"] = values["smtp_host"].strip()
        if get("smtp_password_file"):
            with open(get("smtp_password_file"), encoding="utf-8") as f:
                values["smtp_password"] = f.read().strip()
        # Radicale's own limits: max_content_length, from 3.6 on also
        # max_resource_size.
        server = [o for o in ("max_content_length", "max_resource_size")
                  if o in configuration.options("server")]
        values["max_resource_size"] = min(
            values["max_resource_size"],
            *(configuration.get("server", o) for o in server))
        folder = values["queue_folder"] or os.path.join(
            configuration.get("storage", "filesystem_folder"),
            "scheduling-queue")
        values["queue_folder"] = os.path.abspath(os.path.expanduser(folder))
        settings = cls(**values)
        if settings.smtp_host and not settings.smtp_from:
            raise RuntimeError("[storage] scheduling_smtp_from: required when "
                               "scheduling_smtp_host is set")
        # Radicale's own [hook] type = email (3.5.5 on) mails every attendee
        # of a saved event: with iMIP on too, attendees would get two mails.
        if "hook" in configuration.sections() and configuration.get(
                "hook", "type") == "email" and settings.smtp_enabled:
            raise RuntimeError(
                "[hook] type = email and [storage] scheduling_smtp_host are "
                "both set: attendees would get two mails for one change; keep "
                "one (scheduling_smtp_host sends standard iTIP invitations)")
        return settings

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def smtp_port_used(self) -> int:
        """``scheduling_smtp_port``, or the security's usual port."""
        return self.smtp_port or {"ssl": 465, "starttls": 587}.get(
            self.smtp_security, 25)
