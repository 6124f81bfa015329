"""Calendar-user addresses (RFC 6638 s2.4.1, RFC 5545 CAL-ADDRESS).

One place for what every layer asks of an address: its canonical form
for comparison, and the e-mail address inside a ``mailto:`` URI.
"""

from __future__ import annotations

import re
from typing import Optional

_ATOM = r"[^@\s<>\"(),;:\\\[\]]+"
_EMAIL_RE = re.compile(r"^%s@%s\.%s$" % (_ATOM, _ATOM, _ATOM))
MAILTO = "mailto:"


def is_email(value: str) -> bool:
    return bool(_EMAIL_RE.match(value))


def normalize(value: str) -> str:
    """The form addresses are compared in: the scheme and the mail address
    compare case-insensitively (as Apple's server and SabreDAV do); a bare
    e-mail address is a ``mailto:``; other schemes stay apart."""
    value = value.strip()
    if value[:7].lower() == MAILTO:
        return MAILTO + value[7:].strip().lower()
    if is_email(value):
        return MAILTO + value.lower()
    return value


def email(value: str) -> Optional[str]:
    """The e-mail address of a ``mailto:`` address (None for other schemes)."""
    value = normalize(value)
    return value[7:] if value.startswith(MAILTO) else None


def mailto(email_address: str) -> str:
    return normalize(MAILTO + email_address)
