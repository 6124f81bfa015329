"""Edits of serialized iCalendar, where parsing would cost more than the
edit: the one place the engine touches text instead of the parsed object
(tested in tests/engine/test_itip_text.py).  Each returns None where it cannot be sure."""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

from radicale_scheduling.itip import address
from radicale_scheduling.itip.errors import InvalidCalendar

_METHOD_LINE = re.compile(r"^METHOD:[^\r\n]*\r?\n", re.MULTILINE)
_STAMP_LINE = re.compile(r"^DTSTAMP[:;][^\r\n]*\r?\n", re.MULTILINE)
#: Where earlier versions kept the schedule tag (RFC 6638 s3.2.10) in the
#: object; never shown to a client.
SCHEDULE_TAG = "X-RADICALE-SCHEDULE-TAG"
#: RFC 5545 s3.1 CONTROL (HTAB is allowed in text), the C1 controls and the
#: Unicode line and paragraph separators: mail headers and line-based
#: readers take several of them for the end of a line.
BAD_PARAM_CHARS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\"]")


def printable(value: str) -> str:
    return value.encode("unicode_escape").decode("ascii")[:80]


def param_text(value: str) -> str:
    """A parameter value as written: quoted when it holds ``:``, ``;`` or
    ``,`` (RFC 5545 s3.2 quoted-string); one that cannot be written at all
    is an error (check_values refuses it on input)."""
    if BAD_PARAM_CHARS.search(value):
        raise InvalidCalendar("parameter value %r cannot be written"
                              % printable(value))
    return '"%s"' % value if any(c in value for c in ":;,") else value


_PRIVATE_LINE = re.compile(r"^%s[;:]([^\r\n]*)(?:\r?\n[ \t][^\r\n]*)*"
                           r"(?:\r?\n|$)" % SCHEDULE_TAG,
                           re.MULTILINE | re.IGNORECASE)


def without_private(text: str) -> Tuple[str, Optional[str]]:
    """``text`` without the server-private schedule tag property, and the
    tag it held (objects stored by earlier versions)."""
    if SCHEDULE_TAG.lower() not in text.lower():
        return text, None
    found = _PRIVATE_LINE.search(text)
    if found is None:
        return text, None
    tag = found.group(1).rpartition(":")[2].strip() or None
    return _PRIVATE_LINE.sub("", text), tag


def _split_unquoted(text: str, separator: str) -> List[str]:
    parts: List[str] = []
    current: List[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 s3.1)."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode("utf-8")) > 75:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def patch_partstat(text: str, who: str, partstat: str) -> Optional[str]:
    """Set ``who``'s PARTSTAT in a one-component object, as text.

    Another attendee's answer changes one line of each copy; rewriting that
    line is O(size) instead of a parse, copy and serialization.  Returns
    None when the object has overrides (per-instance answers need the
    object model) or ``who`` is not an attendee.
    """
    if sum(text.count("BEGIN:%s" % name) for name in ("VEVENT", "VTODO", "VJOURNAL")) != 1:
        return None
    lines = text.replace("\r\n", "\n").split("\n")
    logical: List[List[str]] = []
    for line in lines:
        if line[:1] in (" ", "\t") and logical:
            logical[-1].append(line)
        else:
            logical.append([line])
    changed = False
    result = []
    for group in logical:
        line = group[0] + "".join(part[1:] for part in group[1:])
        head = _split_unquoted(line, ":")
        if head[0].split(";", 1)[0].upper() == "ATTENDEE" and len(head) > 1 \
                and address.normalize(":".join(head[1:])) == who:
            params = [p for p in _split_unquoted(head[0], ";")[1:]
                      if p.split("=", 1)[0].upper() not in ("PARTSTAT",
                                                            "RSVP")]
            params.insert(0, "PARTSTAT=%s" % param_text(partstat))
            line = "ATTENDEE;%s:%s" % (";".join(params), ":".join(head[1:]))
            result.append(_fold(line))
            changed = True
        else:
            result.append("\r\n".join(group))
    return "\r\n".join(result) if changed else None


def without_method(text: str) -> str:
    """An invitation as stored: its METHOD line removed (RFC 6638 s4.1)."""
    return _METHOD_LINE.sub("", text, count=1)


def without_stamps(text: str) -> str:
    """The text minus DTSTAMP lines: the same message sent twice."""
    return _STAMP_LINE.sub("", text)
