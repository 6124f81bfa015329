"""Limits on what a client may store (RFC 4791 s5.2.9, s5.3.2.1).

A meeting with 10,000 attendees costs 10,000 deliveries inside one request
and makes every copy huge; ``scheduling_max_attendees`` caps the ATTENDEE
properties of any one instance, and calendars advertise the cap as
CALDAV:max-attendees-per-instance.  The body is only counted as text; it
is parsed (once) only when the count says it may be over the limit.
"""

from __future__ import annotations

import re
from http import client
from typing import TYPE_CHECKING, Optional

import vobject
from radicale import httputils

from radicale_scheduling.http import compat
from radicale_scheduling.http.compat import Response
from radicale_scheduling.itip import calendar as ical

if TYPE_CHECKING:
    from radicale_scheduling.http.handlers import Request

_FOLD = re.compile(r"\r?\n[ \t]")
_ATTENDEE = re.compile(r"^attendee[;:]", re.IGNORECASE | re.MULTILINE)
_RRULE = re.compile(r"^rrule[;:]", re.IGNORECASE | re.MULTILINE)
_LINE = re.compile(r"^(begin|end|rrule)[;:]([^\r\n]*)",
                   re.IGNORECASE | re.MULTILINE)


def check_put(request: Request, body: bytes) -> Optional[Response]:
    """Refuse, before Radicale reads it, a PUT body over the attendee cap
    or with a component holding two RRULEs."""
    try:
        # As Radicale will read it (charset of the request, fallbacks).
        text = httputils.decode_request(request.app.configuration,
                                        request.environ, body)
    except (UnicodeDecodeError, LookupError):
        return None  # Radicale answers this itself
    text = _FOLD.sub("", text)
    return _check_rrules(text) or _check_max_attendees(request, text)


def _check_rrules(text: str) -> Optional[Response]:
    """RFC 5545 s3.8.5.3: RRULE SHOULD NOT occur more than once.  Radicale
    3.9 counts the occurrences of a component with a COUNT or UNTIL rule by
    listing them all, so a second rule without end makes the PUT run until
    memory is exhausted; one rule per component is accepted."""
    if len(_RRULE.findall(text)) < 2:
        return None
    counts = [0]
    for match in _LINE.finditer(text):
        name = match.group(1).upper()
        if name == "BEGIN":
            counts.append(0)
        elif name == "END":
            if len(counts) > 1:
                counts.pop()
        else:
            counts[-1] += 1
            if counts[-1] > 1:
                return compat.text_error(
                    client.BAD_REQUEST,
                    "A component has more than one RRULE; combine them "
                    "into one, or use RDATE (RFC 5545 section 3.8.5.3).")
    return None


def _check_max_attendees(request: Request, text: str) -> Optional[Response]:
    """403 with CALDAV:max-attendees-per-instance for a PUT over the cap."""
    limit = request.storage.settings.max_attendees
    if len(_ATTENDEE.findall(text)) <= limit:
        return None
    try:
        # Every object of the body, as Radicale reads them (a whole
        # calendar uploaded at once may hold several).
        cals = list(vobject.readComponents(text))
    except Exception:  # vobject raises many kinds
        return None  # Radicale refuses it with its own 400
    most = max((ical.most_attendees_per_instance(cal) for cal in cals),
               default=0)
    if most <= limit:
        return None
    return compat.precondition_failed(
        client.FORBIDDEN, "C:max-attendees-per-instance",
        "An instance has %d attendees; this server allows at most %d "
        "(scheduling_max_attendees, RFC 4791 section 5.3.2.1)."
        % (most, limit))
