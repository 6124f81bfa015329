"""Limits on what a client may store (RFC 4791 s5.2.9, s5.3.2.1; RFC 5545
s3.8.5.3), checked before Radicale reads a PUT body.

``scheduling_max_attendees`` caps the ATTENDEEs of an instance: 10,000
would be 10,000 deliveries in one request.  The text is parsed only where
counting says the cap may be exceeded.
"""

from __future__ import annotations

from http import client
from typing import Optional

from radicale_scheduling import compat
from radicale_scheduling.compat import Response
from radicale_scheduling.http.request import Request, refused, text_error
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.errors import SchedulingError


def _unfold(text: str) -> str:
    """RFC 5545 s3.1: a line break followed by a space or tab is none."""
    return text.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")


def check_put(request: Request, body: bytes) -> Optional[Response]:
    """Refuse a PUT body over the attendee cap, with a component holding
    two RRULEs, or one Radicale would store unreadable."""
    try:
        decoded = request.decode(body)
    except (UnicodeDecodeError, LookupError):
        return None  # Radicale answers this itself
    if decoded.count("\r") != decoded.count("\r\n"):
        # RFC 5545 s3.1: lines end with CRLF.  Radicale 3.9 keeps a lone CR
        # inside a value, but reads the stored file back with the CR as a
        # line break: the object could never be read or replaced again.
        return text_error(client.BAD_REQUEST, "A carriage return without "
                          "line feed is not allowed in iCalendar (RFC 5545 "
                          "section 3.1).")
    text = _unfold(decoded).lower()
    if text.count("rrule") > 1 and _two_rules(text):
        # RFC 5545 s3.8.5.3.  Radicale 3.9 counts the occurrences of a
        # component with a COUNT or UNTIL rule by listing them all: a
        # second rule without end makes the PUT run until memory runs out.
        return text_error(
            client.BAD_REQUEST,
            "A component has more than one RRULE; combine them into one, "
            "or use RDATE (RFC 5545 section 3.8.5.3).")
    limit = request.storage.settings.max_attendees
    if text.count("attendee") <= limit:  # counted anywhere: only too many
        return None
    try:  # every object of the body, as Radicale reads them
        cals = compat.read_components(decoded)
    except Exception:  # vobject raises many kinds
        return None  # Radicale refuses it with its own 400
    most = max((ical.most_attendees_per_instance(cal) for cal in cals),
               default=0)
    if most <= limit:
        return None
    return refused(SchedulingError(
        "C:max-attendees-per-instance", "An instance has %d attendees; "
        "this server allows at most %d (scheduling_max_attendees, RFC 4791 "
        "section 5.3.2.1)." % (most, limit)))


def _two_rules(text: str) -> bool:
    """Counted per component on the unfolded lines, not on the parsed
    object: vobject turns a VTIMEZONE, rules and all, into a tzinfo."""
    counts = [0]
    for line in text.split("\n"):
        name = line.split(":", 1)[0].split(";", 1)[0]
        if name == "begin":
            counts.append(0)
        elif name == "end" and len(counts) > 1:
            counts.pop()
        elif name == "rrule":
            counts[-1] += 1
            if counts[-1] > 1:
                return True
    return False
