"""The sync-collection REPORT (RFC 6578) as clients poll with it: ETags
(and content types) of what changed.  Radicale loads every changed item
(and, on 3.9, reads and hashes its file for getetag); here the answer is
built as Radicale's ``xml_report`` builds it, from the members the sync
itself listed (storage/reads.py ``sync_members``).  Anything else
(calendar-data, other properties, filters, shares, a token the collection
does not know) is Radicale's.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from http import client
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, cast
from urllib.parse import quote

from radicale import item as radicale_item
from radicale.log import logger

from radicale_scheduling import compat
from radicale_scheduling.http.xml import clark
from radicale_scheduling.storage.reads import Reads

_SYNC, _TOKEN, _PROP = map(clark, ("D:sync-collection", "D:sync-token",
                                   "D:prop"))
_RESPONSE, _HREF, _PROPSTAT, _STATUS = map(clark, (
    "D:response", "D:href", "D:propstat", "D:status"))
_ETAG, _TYPE = clark("D:getetag"), clark("D:getcontenttype")
#: DAVx5 asks for it too: Radicale answers it 404, then http/propfind.py
#: puts the item's tag in (from one look at the collection's tags).
SCHEDULE_TAG = clark("C:schedule-tag")
#: What Radicale's report would do more than list: left to it.
_SPECIAL = [clark(name) for name in ("C:filter", "CR:filter")]
_EXPAND = ".//" + clark("C:expand")
#: A token Radicale's sync accepts the form of (its check, in advance, so
#: that a malformed one goes to Radicale's path without a sync first).
_TOKEN_FORM = re.compile(r"http://radicale\.org/ns/sync/[0-9a-f]{64}\Z")


def fast_report(arg: compat.Args) -> Optional[Tuple[int, ET.Element]]:
    """Radicale's ``xml_report`` answer to a sync-collection asking for
    DAV:getetag, DAV:getcontenttype and CALDAV:schedule-tag only (the
    tags put in by http/propfind.py), or None: Radicale's."""
    root, collection = arg("xml_request"), arg("collection")
    if root is None or root.tag != _SYNC or arg("share") or \
            not isinstance(collection, Reads) or not collection.path or \
            collection.tag not in ("VCALENDAR", "VADDRESSBOOK") or \
            any(root.find(tag) is not None for tag in _SPECIAL) or \
            root.find(_EXPAND) is not None:
        return None
    prop = root.find(_PROP)
    props = [] if prop is None else [child.tag for child in prop]
    if not props or not {_ETAG, _TYPE, SCHEDULE_TAG}.issuperset(props) or \
            SCHEDULE_TAG in props and not hasattr(collection, "schedule_tags"):
        return None
    token_element = root.find(_TOKEN)
    old_token = ""
    if token_element is not None and token_element.text:
        old_token = token_element.text.strip()
    if old_token and not _TOKEN_FORM.match(old_token):
        return None
    logger.debug("Client provided sync token: %r", old_token)
    try:
        token, names, members = collection.sync_members(old_token)
    except ValueError:  # unknown token: Radicale's 403, with its logging
        return None
    multistatus = ET.Element(clark("D:multistatus"))
    ET.SubElement(multistatus, _TOKEN).text = token
    # Radicale's retrieve_items: names not (or no longer) among the
    # members are looked up as it does; 404s come first, in order.
    found: Dict[str, Optional[radicale_item.Item]] = {}
    others = [name for name in names if name not in members]
    if others:
        for name, item in collection.get_multi(others):
            found[name] = item
    arg("unlock_storage_fn")()
    prefix = quote(arg("base_prefix") + "/" + collection.path + "/")
    for name in others:
        if name in found and found[name] is None:
            multistatus.append(_response(prefix, name, None))
    encoding = arg("encoding")
    ok = compat.status_line(200)
    for name in names:
        member = members.get(name)
        if member is not None:
            etag, vobject_name, component = member
            values = _values(props, etag, vobject_name, component, encoding)
        elif found.get(name) is not None:
            item = cast(radicale_item.Item, found[name])
            values = _values(props, item.etag, item.name or "",
                             item.component_name or "", encoding)
        else:
            continue
        multistatus.append(_response(prefix, name, values, ok))
    return client.MULTI_STATUS, multistatus


class _Typed(NamedTuple):
    """What Radicale's ``get_content_type`` reads of an item."""
    name: str
    component_name: str


def _values(props: List[str], etag: str, vobject_name: str, component: str,
            encoding: str) -> List[Tuple[str, Optional[str]]]:
    """Each property's text, None for one Radicale does not know (404)."""
    return [(tag, etag if tag == _ETAG else compat.content_type(
        cast(Any, _Typed(vobject_name, component)), encoding)
        if tag == _TYPE else None) for tag in props]


def _response(prefix: str, name: str,
              values: Optional[List[Tuple[str, Optional[str]]]],
              ok: str = "") -> ET.Element:
    """Radicale's ``xml_item_response``: href (``make_href`` of the
    collection's path and the name, quoted in two parts), then a 200
    propstat and a 404 one (the properties it does not know), or a 404
    status for a removed member."""
    response = ET.Element(_RESPONSE)
    ET.SubElement(response, _HREF).text = prefix + quote(name)
    if values is None:
        ET.SubElement(response, _STATUS).text = compat.status_line(404)
        return response
    for found in (True, False):
        tags = [(tag, text) for tag, text in values
                if (text is not None) == found]
        if not tags:
            continue
        propstat = ET.SubElement(response, _PROPSTAT)
        prop = ET.SubElement(propstat, _PROP)
        for tag, text in tags:
            ET.SubElement(prop, tag).text = text
        ET.SubElement(propstat, _STATUS).text = \
            ok if found else compat.status_line(404)
    return response
