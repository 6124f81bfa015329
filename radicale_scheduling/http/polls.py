"""The DAV:response of one item in a PROPFIND, built as Radicale builds
it, with its helpers, but without its walk over every property it knows:
DAVx5 and Thunderbird list each calendar every few minutes (depth 1,
getetag, getcontenttype, resourcetype, and DAVx5 CALDAV:schedule-tag),
values of the item alone.  Anything else (collections, other properties,
shares, free-busy-only access) is Radicale's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Callable, Dict, List, Optional
from urllib.parse import quote

from radicale import item as radicale_item

from radicale_scheduling import compat
from radicale_scheduling.http import props as scheduling_props
from radicale_scheduling.http.xml import clark

_RESPONSE, _HREF, _PROPSTAT, _PROP, _STATUS = (clark("D:" + name) for name in (
    "response", "href", "propstat", "prop", "status"))
#: The item properties answered here (each found, 200, for any item).
_VALUES: Dict[str, Callable[[radicale_item.Item, str], Optional[str]]] = {
    clark("D:getetag"): lambda item, _: item.etag,
    clark("D:getlastmodified"): lambda item, _: item.last_modified,
    clark("D:getcontenttype"): compat.content_type,
    clark("D:resourcetype"): lambda item, _: None}
#: Answered as http/propfind.py completes Radicale's answer (its 404).
_SCHEDULE_TAG = clark("C:schedule-tag")
_ANSWERED = frozenset(_VALUES) | {_SCHEDULE_TAG}
_STATUS_LINES = {code: compat.status_line(code) for code in (200, 404)}
#: Arguments whose presence (truthy) leaves the answer to Radicale.
_SPECIAL = ("propname", "allprop", "shares", "conversion", "freebusy_only")


def fast_response(arg: compat.Args) -> Optional[ET.Element]:
    """As Radicale's xml_propfind_response answers, or None: Radicale's."""
    item = arg("item")
    if not isinstance(item, radicale_item.Item):
        return None
    props = arg("props")
    if item.collection is None or not item.href or not props or \
            not _ANSWERED.issuperset(props) or any(arg(n) for n in _SPECIAL):
        return None
    path = item.collection.path
    # pathutils.unstrip_path(posixpath.join(collection.path, href)): both
    # are sanitized already (a collection's path, a listed file name), so
    # this is make_href without its assert that sanitizes it again.
    uri = "/%s/%s" % (path, item.href) if path else "/%s" % item.href
    response = ET.Element(_RESPONSE)
    ET.SubElement(response, _HREF).text = quote(arg("base_prefix") + uri)
    found = [tag for tag in props if tag != _SCHEDULE_TAG]
    schedule_tag = None if len(found) == len(props) else \
        scheduling_props.schedule_tag(None, item)
    if schedule_tag is not None or len(found) == len(props):
        _propstat(response, 200, found, item, arg("encoding"), schedule_tag)
        return response
    # No tag: Radicale's 404 for it, where its propstat comes (the
    # status first met in ``props`` comes first), once.
    tagless = [(200, found), (404, [_SCHEDULE_TAG])]
    if props[0] == _SCHEDULE_TAG:
        tagless.reverse()
    for code, tags in tagless:
        if tags:
            _propstat(response, code, tags, item, arg("encoding"))
    return response


def _propstat(response: ET.Element, code: int, tags: List[str],
              item: radicale_item.Item, encoding: str,
              last: Optional[ET.Element] = None) -> None:
    """A DAV:propstat of ``tags`` (values here for 200), then ``last``."""
    propstat = ET.SubElement(response, _PROPSTAT)
    prop = ET.SubElement(propstat, _PROP)
    for tag in tags:
        ET.SubElement(prop, tag).text = \
            _VALUES[tag](item, encoding) if code == 200 else None
    if last is not None:
        prop.append(last)
    ET.SubElement(propstat, _STATUS).text = _STATUS_LINES[code]
