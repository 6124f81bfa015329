"""The DAV:response of one item in a PROPFIND, built as Radicale builds
it, with its helpers, but without its walk over every property it knows:
DAVx5 and Thunderbird list each calendar every few minutes (depth 1,
getetag, getcontenttype, resourcetype, and DAVx5 CALDAV:schedule-tag),
values of the item alone.  Anything else (collections, other properties,
shares, free-busy-only access) is Radicale's.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from typing import Callable, Dict, Optional, Tuple
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


def fast_response(arg: compat.Args) -> Optional[ET.Element]:
    """As Radicale's xml_propfind_response answers, or None: Radicale's."""
    item = arg("item")
    if not isinstance(item, radicale_item.Item):
        return None
    props = arg("props")
    plan = _plan(tuple(props)) if props else None
    # propname, allprop, shares, conversion, free-busy-only access:
    # Radicale's answer.
    if plan is None or item.collection is None or not item.href or \
            arg("propname") or arg("allprop") or arg("shares") or \
            arg("conversion") or arg("freebusy_only"):
        return None
    found, asks_tag, tag_first = plan
    path = item.collection.path
    # pathutils.unstrip_path(posixpath.join(collection.path, href)): both
    # are sanitized already (a collection's path, a listed file name), so
    # this is make_href without its assert that sanitizes it again.
    uri = "/%s/%s" % (path, item.href) if path else "/%s" % item.href
    response = ET.Element(_RESPONSE)
    ET.SubElement(response, _HREF).text = quote(arg("base_prefix") + uri)
    tag = scheduling_props.schedule_tag(None, item) if asks_tag else None
    # Without a tag, Radicale's 404 for it, once, where its propstat comes
    # (the status first met in ``props`` first); with one, it comes last
    # in the 200 propstat (as http/propfind.py's ``apply`` puts it).
    missing = asks_tag and tag is None
    if missing and tag_first:
        _not_found(response)
    if found or tag is not None:
        encoding = arg("encoding")
        propstat = ET.SubElement(response, _PROPSTAT)
        prop = ET.SubElement(propstat, _PROP)
        for name in found:
            ET.SubElement(prop, name).text = _VALUES[name](item, encoding)
        if tag is not None:
            prop.append(tag)
        ET.SubElement(propstat, _STATUS).text = _STATUS_LINES[200]
    if missing and not tag_first:
        _not_found(response)
    return response


@functools.lru_cache(maxsize=64)
def _plan(props: Tuple[str, ...]) -> Optional[Tuple[Tuple[str, ...], bool,
                                                   bool]]:
    """(the properties answered 200, schedule-tag asked, asked first), or
    None when a property asked is not answered here."""
    if not _ANSWERED.issuperset(props):
        return None
    found = tuple(name for name in props if name != _SCHEDULE_TAG)
    return found, len(found) < len(props), props[0] == _SCHEDULE_TAG


def _not_found(response: ET.Element) -> None:
    propstat = ET.SubElement(response, _PROPSTAT)
    ET.SubElement(ET.SubElement(propstat, _PROP), _SCHEDULE_TAG)
    ET.SubElement(propstat, _STATUS).text = _STATUS_LINES[404]
