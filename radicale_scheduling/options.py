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
    freebusy_max_recipients: int = 50
    freebusy_max_days: int = 366
    freebusy_max_occurrences: int = 200000

    @classmethod
    def from_configuration(cls, configuration: Any) -> Settings:
        return cls(
            domain=configuration.get("storage", "scheduling_domain"),
            addresses_file=configuration.get("storage",
                                             "scheduling_addresses"),
            freebusy_max_recipients=configuration.get(
                "storage", "scheduling_freebusy_max_recipients"),
            freebusy_max_days=configuration.get(
                "storage", "scheduling_freebusy_max_days"),
            freebusy_max_occurrences=configuration.get(
                "storage", "scheduling_freebusy_max_occurrences"))
