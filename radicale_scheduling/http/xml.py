"""XML bodies of the scheduling HTTP surface, and the checks on request
bodies Radicale lacks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Optional

from radicale_scheduling import compat

#: Deepest nesting accepted in a request body.  WebDAV and CalDAV bodies
#: nest about ten levels; Radicale and ElementTree walk trees recursively
#: and fail with a RecursionError (500) somewhere near a thousand.
MAX_DEPTH = 64
_PROP = "{DAV:}prop"
#: Bodies whose DAV:prop children Radicale maps to prefixed names.
_PROPERTY_BODIES = ("{DAV:}propfind", "{DAV:}propertyupdate")


class RefusedBody(Exception):
    """A request body refused before Radicale acts on it (400)."""


def too_deep(root: ET.Element) -> bool:
    """Without recursion: visits at most MAX_DEPTH levels."""
    return root.find("*/" * (MAX_DEPTH - 1) + "*") is not None


def check_body(root: Optional[ET.Element]) -> None:
    if root is None:
        return
    if too_deep(root):
        raise RefusedBody("The XML body nests deeper than %d levels."
                          % MAX_DEPTH)
    # Radicale fails (500) on a property name without namespace
    # (<D:prop><x/></D:prop>); such elements elsewhere (a dead property's
    # value, a REPORT's property) are Radicale's to answer.
    if root.tag not in _PROPERTY_BODIES:
        return
    for prop in root.iter(_PROP):
        for node in prop:
            if not node.tag.startswith("{"):
                raise RefusedBody("The property <%s> has no namespace; "
                                  "WebDAV properties have one."
                                  % node.tag[:100])


clark = compat.clark  # "C:schedule-inbox-URL" -> "{urn:...:caldav}..."


def element(human_tag: str, text: Optional[str] = None,
            *children: ET.Element) -> ET.Element:
    node = ET.Element(clark(human_tag))
    if text is not None:
        node.text = text
    node.extend(children)
    return node


def href(url: str) -> ET.Element:
    return element("D:href", url)


def to_bytes(root: ET.Element) -> bytes:
    # Radicale registers its namespace prefixes (D:, C:, ...) globally, so
    # the serialization uses the prefixes clients are used to.
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def error_body(precondition: str, reason: str,
               url: Optional[str] = None) -> bytes:
    """A DAV:error body naming the failed precondition (RFC 4918 s16), with
    the reason as DAV:responsedescription (as SabreDAV, Apple's server)."""
    condition = element(precondition)
    if url:
        condition.append(href(url))
    root = element("D:error", None, condition)
    if reason:
        root.append(element("D:responsedescription", reason))
    return to_bytes(root)


def recipient_response(recipient: str, answer: object,
                       data: str = "") -> ET.Element:
    """One recipient's part of a CALDAV:schedule-response (RFC 6638 s10)."""
    response = element("C:response", None,
                       element("C:recipient", None, href(recipient)),
                       element("C:request-status", str(answer)))
    if data:
        response.append(element("C:calendar-data", data))
    return response
