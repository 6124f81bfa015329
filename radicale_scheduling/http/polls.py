"""The DAV:response of one item in a PROPFIND, built without Radicale's
general code for the properties every polling client asks.

DAVx5 and Thunderbird list a calendar every few minutes with a PROPFIND
depth 1 for ``getetag``, ``getcontenttype`` and ``resourcetype``.  With the
index's items (storage/collection.py, ``IndexedItem``) no item is read, and
most of what is left is Radicale's ``xml_propfind_response``, which walks
every property it knows for each item.  For an item, those four properties
are values Radicale takes from the item alone; this builds the same
elements, in the same order, from the same item attributes and Radicale's
own helpers (``xmlutils.make_href``, ``get_content_type``,
``make_response``).  Anything else (collections, propname, allprop, other
properties, shares, free-busy-only access) is Radicale's.

Relies on Radicale's ``app.propfind`` calling its module-level
``xml_propfind_response`` for each resource (3.1 to 3.9; the parameters
differ by version and are found by name).
"""

from __future__ import annotations

import inspect
import xml.etree.ElementTree as ET
from typing import Any, Callable, Dict

from radicale import item as radicale_item
from radicale import xmlutils

from radicale_scheduling.http import properties
from radicale_scheduling.http.xml import clark

_RESPONSE = clark("D:response")
_HREF = clark("D:href")
_PROPSTAT = clark("D:propstat")
_PROP = clark("D:prop")
_STATUS = clark("D:status")
_ETAG = clark("D:getetag")
_LAST_MODIFIED = clark("D:getlastmodified")
_CONTENT_TYPE = clark("D:getcontenttype")
_RESOURCETYPE = clark("D:resourcetype")
#: The item properties answered here; each is found (200) for any item.
FAST = frozenset({_ETAG, _LAST_MODIFIED, _CONTENT_TYPE, _RESOURCETYPE})


def _item_response(base_prefix: str, item: radicale_item.Item,
                   props: Any, encoding: str) -> ET.Element:
    """As Radicale's xml_propfind_response answers ``props`` of ``item``."""
    collection_path = item.collection.path  # type: ignore[union-attr]
    # pathutils.unstrip_path(posixpath.join(collection.path, href)): both
    # are sanitized already (a collection's path, a listed file name).
    uri = "/%s/%s" % (collection_path, item.href) if collection_path \
        else "/%s" % item.href
    response = ET.Element(_RESPONSE)
    ET.SubElement(response, _HREF).text = xmlutils.make_href(base_prefix,
                                                             uri)
    propstat = ET.SubElement(response, _PROPSTAT)
    prop = ET.SubElement(propstat, _PROP)
    for tag in props:
        element = ET.SubElement(prop, tag)
        if tag == _ETAG:
            element.text = item.etag
        elif tag == _LAST_MODIFIED:
            element.text = item.last_modified
        elif tag == _CONTENT_TYPE:
            element.text = xmlutils.get_content_type(item, encoding)
    ET.SubElement(propstat, _STATUS).text = xmlutils.make_response(200)
    return response


def wrap_xml_propfind_response(original: Callable[..., Any]
                               ) -> Callable[..., Any]:
    names = list(inspect.signature(original).parameters)
    position = {name: i for i, name in enumerate(names)}
    # Arguments whose presence (truthy) leaves the answer to Radicale.
    special = [name for name in ("propname", "allprop", "shares",
                                 "conversion", "freebusy_only")
               if name in position]

    def argument(args: tuple, kwargs: Dict[str, Any], name: str,
                 default: Any = None) -> Any:
        i = position[name]
        return args[i] if i < len(args) else kwargs.get(name, default)

    def xml_propfind_response(*args: Any, **kwargs: Any) -> Any:
        if not properties.answering_now():  # not a request we serve
            return original(*args, **kwargs)
        item = argument(args, kwargs, "item")
        props = argument(args, kwargs, "props")
        if not isinstance(item, radicale_item.Item) or \
                item.collection is None or not item.href or not props or \
                any(argument(args, kwargs, name) for name in special) or \
                not FAST.issuperset(props):
            return original(*args, **kwargs)
        return _item_response(argument(args, kwargs, "base_prefix"), item,
                              props, argument(args, kwargs, "encoding"))

    xml_propfind_response.__wrapped__ = original  # type: ignore[attr-defined]
    return xml_propfind_response
