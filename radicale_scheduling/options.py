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
from dataclasses import dataclass
from typing import Any

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


PLUGIN_CONFIG_SCHEMA: dict[str, dict[str, dict[str, Any]]] = {
    "storage": {
        "scheduling_domain": {
            "value": "",
            "help": "mail domain of plain user names: alice has the "
                    "address mailto:alice@<domain>",
            "type": mail_domain,
        },
        "scheduling_addresses": {
            "value": "",
            "help": "file giving users extra addresses and a "
                    "calendar-user-type",
            "type": existing_file,
        },
        "scheduling_smtp_host": {
            "value": "",
            "help": "mail server for invitations to addresses outside the "
                    "server (iMIP); empty: no e-mail",
            "type": str,
        },
        "scheduling_smtp_port": {
            "value": "0",
            "help": "port (0: 25, 587 with starttls, 465 with ssl)",
            "type": port,
        },
        "scheduling_smtp_security": {
            "value": "starttls",
            "help": "none, starttls or ssl",
            "type": smtp_security,
        },
        "scheduling_smtp_username": {
            "value": "",
            "help": "user name for the mail server (empty: no login)",
            "type": str,
        },
        "scheduling_smtp_password": {
            "value": "",
            "help": "password for the mail server",
            "type": str,
        },
        "scheduling_smtp_password_file": {
            "value": "",
            "help": "file holding the password (instead of the option)",
            "type": existing_file,
        },
        "scheduling_smtp_from": {
            "value": "",
            "help": "sender address of invitation mails",
            "type": mail_address,
        },
        "scheduling_smtp_max_recipients": {
            "value": "100",
            "help": "most e-mail recipients one change may send to",
            "type": positive_int,
        },
        "scheduling_smtp_max_per_hour": {
            "value": "500",
            "help": "most mails sent per hour for one user",
            "type": positive_int,
        },
        "scheduling_smtp_retry_seconds": {
            "value": "60",
            "help": "first wait after a temporary failure (doubles, at "
                    "most 6 hours; given up after 3 days)",
            "type": positive_int,
        },
        "scheduling_queue_folder": {
            "value": "",
            "help": "folder of the mail queue (default: "
                    "<filesystem_folder>/scheduling-queue)",
            "type": str,
        },
        "scheduling_max_attendees": {
            "value": "100",
            "help": "most ATTENDEEs on one instance of a calendar object "
                    "(CALDAV:max-attendees-per-instance)",
            "type": positive_int,
        },
        "scheduling_max_resource_size": {
            "value": "1000000",
            "help": "largest calendar object, in bytes, the server writes "
                    "for scheduling (copies, inbox messages) or takes by "
                    "mail (receive); at most [server] max_content_length",
            "type": positive_int,
        },
        "scheduling_freebusy_max_recipients": {
            "value": "50",
            "help": "most recipients in one free-busy request",
            "type": positive_int,
        },
        "scheduling_freebusy_max_days": {
            "value": "366",
            "help": "longest window of a free-busy request, in days",
            "type": positive_int,
        },
        "scheduling_freebusy_max_occurrences": {
            "value": "200000",
            "help": "most recurrence instances one free-busy request may "
                    "expand",
            "type": positive_int,
        },
    },
}


@dataclass(frozen=True)
class Settings:
    """The plugin's options, read once when the storage is loaded."""

    domain: str = ""
    addresses_file: str = ""
    max_attendees: int = 100
    max_resource_size: int = 1000000
    freebusy_max_recipients: int = 50
    freebusy_max_days: int = 366
    freebusy_max_occurrences: int = 200000
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_max_recipients: int = 100
    smtp_max_per_hour: int = 500
    smtp_retry_seconds: int = 60
    queue_folder: str = ""

    @classmethod
    def from_configuration(cls, configuration: Any) -> Settings:
        settings = cls._read(configuration)
        # Radicale's own [hook] type = email (3.5.5 on) mails every attendee
        # of a saved event: with iMIP on too, attendees would get two mails.
        if "hook" in configuration.sections() and configuration.get(
                "hook", "type") == "email" and settings.smtp_enabled:
            raise RuntimeError(
                "[hook] type = email and [storage] scheduling_smtp_host are "
                "both set: attendees would get two mails for one change; keep "
                "one (scheduling_smtp_host sends standard iTIP invitations)")
        return settings

    @classmethod
    def _read(cls, configuration: Any) -> Settings:
        return cls(
            domain=configuration.get("storage", "scheduling_domain"),
            addresses_file=configuration.get("storage",
                                             "scheduling_addresses"),
            max_attendees=configuration.get("storage",
                                            "scheduling_max_attendees"),
            max_resource_size=min(
                configuration.get("storage", "scheduling_max_resource_size"),
                *_server_limits(configuration)),
            freebusy_max_recipients=configuration.get(
                "storage", "scheduling_freebusy_max_recipients"),
            freebusy_max_days=configuration.get(
                "storage", "scheduling_freebusy_max_days"),
            freebusy_max_occurrences=configuration.get(
                "storage", "scheduling_freebusy_max_occurrences"),
            **_smtp(configuration))

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def smtp_port_used(self) -> int:
        """``scheduling_smtp_port``, or the security's usual port."""
        return self.smtp_port or {"ssl": 465, "starttls": 587}.get(
            self.smtp_security, 25)


def _server_limits(configuration: Any) -> list:
    """Radicale's own size limits: max_content_length, and from 3.6 on
    max_resource_size."""
    limits = [configuration.get("server", "max_content_length")]
    if "max_resource_size" in configuration.options("server"):
        limits.append(configuration.get("server", "max_resource_size"))
    return limits


def _smtp(configuration: Any) -> dict:
    def get(name: str) -> Any:
        return configuration.get("storage", "scheduling_" + name)
    password = get("smtp_password")
    if get("smtp_password_file"):
        with open(get("smtp_password_file"), encoding="utf-8") as f:
            password = f.read().strip()
    host, sender = get("smtp_host").strip(), get("smtp_from")
    if host and not sender:
        raise RuntimeError("[storage] scheduling_smtp_from: required when "
                           "scheduling_smtp_host is set")
    folder = get("queue_folder") or os.path.join(
        configuration.get("storage", "filesystem_folder"),
        "scheduling-queue")
    return {"smtp_host": host, "smtp_port": get("smtp_port"),
            "smtp_security": get("smtp_security"),
            "smtp_username": get("smtp_username"), "smtp_password": password,
            "smtp_from": sender,
            "smtp_max_recipients": get("smtp_max_recipients"),
            "smtp_max_per_hour": get("smtp_max_per_hour"),
            "smtp_retry_seconds": get("smtp_retry_seconds"),
            "queue_folder": os.path.abspath(os.path.expanduser(folder))}
