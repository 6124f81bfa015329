"""The DAV:response of one item in a PROPFIND, built without Radicale's
general code for the properties every polling client asks.

DAVx5 and Thunderbird list each calendar every few minutes (PROPFIND depth
1, ``getetag``, ``getcontenttype``, ``resourcetype``); with the index's
items nothing is read, and most of what is left is Radicale's walk over
every property it knows.  For an item these are values of the item alone:
built here as Radicale builds them, with its helpers.  Anything else
(collections, other properties, shares, free-busy-only access) is
Radicale's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Optional

from radicale import item as radicale_item

from radicale_scheduling import compat
from radicale_scheduling.http.xml import clark

_RESPONSE, _HREF, _PROPSTAT, _PROP, _STATUS = (clark("D:" + name) for name in (
    "response", "href", "propstat", "prop", "status"))
_ETAG = clark("D:getetag")
_LAST_MODIFIED = clark("D:getlastmodified")
_CONTENT_TYPE = clark("D:getcontenttype")
#: The item properties answered here; each is found (200) for any item.
FAST = frozenset({_ETAG, _LAST_MODIFIED, _CONTENT_TYPE,
                  clark("D:resourcetype")})
#: Arguments whose presence (truthy) leaves the answer to Radicale.
_SPECIAL = ("propname", "allprop", "shares", "conversion", "freebusy_only")


def fast_response(arg: compat.Args) -> Optional[ET.Element]:
    """As Radicale's xml_propfind_response answers, or None: Radicale's."""
    item, props = arg("item"), arg("props")
    if not isinstance(item, radicale_item.Item) or \
            item.collection is None or not item.href or not props or \
            not FAST.issuperset(props) or any(arg(n) for n in _SPECIAL):
        return None
    path = item.collection.path
    # pathutils.unstrip_path(posixpath.join(collection.path, href)): both
    # are sanitized already (a collection's path, a listed file name).
    uri = "/%s/%s" % (path, item.href) if path else "/%s" % item.href
    response = ET.Element(_RESPONSE)
    ET.SubElement(response, _HREF).text = compat.make_href(
        arg("base_prefix"), uri)
    propstat = ET.SubElement(response, _PROPSTAT)
    prop = ET.SubElement(propstat, _PROP)
    for tag in props:
        node = ET.SubElement(prop, tag)
        if tag == _ETAG:
            node.text = item.etag
        elif tag == _LAST_MODIFIED:
            node.text = item.last_modified
        elif tag == _CONTENT_TYPE:
            node.text = compat.content_type(item, arg("encoding"))
    ET.SubElement(propstat, _STATUS).text = \
        compat.status_line(200)
    return response
