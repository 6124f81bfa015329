"""The DAV:response of one item in a PROPFIND, built as Radicale builds
it, with its helpers, but without its walk over every property it knows:
DAVx5 and Thunderbird list each calendar every few minutes (depth 1,
getetag, getcontenttype, resourcetype), values of the item alone.
Anything else (collections, other properties, shares, free-busy-only
access) is Radicale's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Callable, Dict, Optional

from radicale import item as radicale_item

from radicale_scheduling import compat
from radicale_scheduling.http.xml import clark

_RESPONSE, _HREF, _PROPSTAT, _PROP, _STATUS = (clark("D:" + name) for name in (
    "response", "href", "propstat", "prop", "status"))
#: The item properties answered here (each found, 200, for any item).
_VALUES: Dict[str, Callable[[radicale_item.Item, str], Optional[str]]] = {
    clark("D:getetag"): lambda item, _: item.etag,
    clark("D:getlastmodified"): lambda item, _: item.last_modified,
    clark("D:getcontenttype"): compat.content_type,
    clark("D:resourcetype"): lambda item, _: None}
#: Arguments whose presence (truthy) leaves the answer to Radicale.
_SPECIAL = ("propname", "allprop", "shares", "conversion", "freebusy_only")


def fast_response(arg: compat.Args) -> Optional[ET.Element]:
    """As Radicale's xml_propfind_response answers, or None: Radicale's."""
    item, props = arg("item"), arg("props")
    if not isinstance(item, radicale_item.Item) or \
            item.collection is None or not item.href or not props or \
            not _VALUES.keys() >= set(props) or any(arg(n) for n in _SPECIAL):
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
        ET.SubElement(prop, tag).text = _VALUES[tag](item, arg("encoding"))
    ET.SubElement(propstat, _STATUS).text = compat.status_line(200)
    return response
