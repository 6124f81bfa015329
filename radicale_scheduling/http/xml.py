"""XML names and bodies of the scheduling HTTP surface."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Optional

from radicale import xmlutils

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"


def clark(human_tag: str) -> str:
    """``C:schedule-inbox-URL`` -> ``{urn:ietf:params:xml:ns:caldav}...``."""
    return xmlutils.make_clark(human_tag)


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
    """A DAV:error body naming the failed precondition (RFC 4918 s16).

    The human-readable reason goes into a DAV:responsedescription, as
    SabreDAV and Apple's server add a message next to the precondition.
    """
    condition = element(precondition)
    if url:
        condition.append(href(url))
    root = element("D:error", None, condition)
    if reason:
        root.append(element("D:responsedescription", reason))
    return to_bytes(root)
