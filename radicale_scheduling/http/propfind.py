"""Scheduling properties in PROPFIND and REPORT answers.

Each DAV:response is completed from http/props.py where Radicale builds it
(``xml_propfind_response``, which is given the resource).  Our values
replace whatever Radicale put for the same property (a 404, a dead
property of the same name); nothing else changes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Callable, Dict, Sequence, Tuple
from urllib.parse import unquote

from radicale import storage as radicale_storage

from radicale_scheduling import compat
from radicale_scheduling.http import polls, props, request, sync
from radicale_scheduling.http.xml import clark, element

_PROPSTAT, _PROP, _STATUS = map(clark, ("D:propstat", "D:prop", "D:status"))
#: Apple's attendee search (http/principal_search.py), which Apple's
#: clients only use where a principal's supported-report-set lists it.
CS_SEARCH = clark("CS:calendarserver-principal-search")
Propstats = Dict[str, Tuple[ET.Element, ET.Element]]


def _propstats(response: ET.Element) -> Propstats:
    """Map each status line to its (propstat, prop) pair."""
    result = {}
    for propstat in response.findall(_PROPSTAT):
        status, prop = propstat.find(_STATUS), propstat.find(_PROP)
        if status is not None and prop is not None:
            result[status.text or ""] = (propstat, prop)
    return result


def _prop_of(response: ET.Element, code: int, existing: Propstats
             ) -> ET.Element:
    line = compat.status_line(code)
    if line not in existing:
        prop = element("D:prop")
        propstat = element("D:propstat", None, prop,
                           element("D:status", line))
        response.append(propstat)
        existing[line] = (propstat, prop)
    return existing[line][1]


def apply(response: ET.Element, values: Dict[str, props.Value]) -> None:
    """Put our values into a DAV:response, in place of Radicale's."""
    values = {tag: value for tag, value in values.items()
              if value is not props.KEEP}
    if not values:
        return
    existing = _propstats(response)
    ok = compat.status_line(200)
    placed = set()
    for line, (_propstat, prop) in list(existing.items()):
        for child in list(prop):
            if child.tag not in values:
                continue
            value = values[child.tag]
            if line == ok and value is not None and child.tag not in placed:
                # Same place, new value.  Positions move as children are
                # removed, and a property asked twice is answered once.
                prop[list(prop).index(child)] = value
                placed.add(child.tag)
            else:
                prop.remove(child)
    for tag, value in values.items():
        if tag not in placed:
            code = 404 if value is None else 200
            _prop_of(response, code, existing).append(
                ET.Element(tag) if value is None else value)
    for propstat, prop in list(existing.values()):
        if len(prop) == 0:
            response.remove(propstat)


def _advertise_search(response: ET.Element, resource: Any) -> None:
    """Add Apple's principal search to the reports of the root collection
    and of principals (Radicale already lists the RFC 3744 ones)."""
    if not isinstance(resource, radicale_storage.BaseCollection) or \
            (resource.path and not resource.is_principal):
        return
    ok = compat.status_line(200)
    for propstat in response.findall(_PROPSTAT):
        reports = propstat.find("%s/%s" % (_PROP, props.SUPPORTED_REPORTS))
        if reports is not None and propstat.findtext(_STATUS) == ok \
                and reports.find(".//" + CS_SEARCH) is None:
            reports.append(element("D:supported-report", None, element(
                "D:report", None, ET.Element(CS_SEARCH))))


def complete(ctx: props.Context, response: ET.Element, resource: Any,
             requested: Sequence[str], propname: bool, allprop: bool
             ) -> None:
    if propname:
        names = props.names_for(ctx, resource)
        if names:
            prop = _prop_of(response, 200, _propstats(response))
            present = {child.tag for child in prop}
            prop.extend(ET.Element(tag) for tag in names
                        if tag not in present)
        return
    if allprop:
        # Only fix what Radicale already listed (e.g. our values stored
        # as dead properties, or an inbox's resourcetype).
        tags = [child.tag for prop in response.iter(_PROP)
                for child in prop if child.tag in props.HANDLED]
    else:
        tags = [tag for tag in requested if tag in props.HANDLED]
    if tags:
        apply(response, props.values_for(ctx, resource, tags))
    if props.SUPPORTED_REPORTS in tags:
        _advertise_search(response, resource)


def around_response(arg: compat.Args, call_next: Callable[[], ET.Element]
                    ) -> ET.Element:
    """Radicale's ``xml_propfind_response``, fast for polls, completed."""
    ctx = props.current()
    if ctx is None:  # not a request we serve
        return call_next()
    requested = arg("props") or ()
    propname, allprop = bool(arg("propname")), bool(arg("allprop"))
    response = polls.fast_response(arg)
    if response is not None:  # complete: it answers the schedule tag too
        return response
    response = call_next()
    if propname or allprop or not props.HANDLED.isdisjoint(requested):
        complete(ctx, response, arg("item"), requested, propname, allprop)
    return response


def around_report(arg: compat.Args, call_next: Callable[[], Any]) -> Any:
    """CALDAV:schedule-tag in REPORT answers (multiget, query), which
    Radicale answers 404: each item is looked up by its href (the REPORT
    holds the lock).  A sync-collection for ETags is answered from the
    index (http/sync.py)."""
    ctx = props.current()
    fast = None if ctx is None else sync.fast_report(arg)
    if fast is not None:
        _listed_tags(arg("collection"), fast[1], arg("xml_request"))
        return fast
    result = call_next()
    xml_request = arg("xml_request")
    if ctx is None or xml_request is None or \
            xml_request.find(".//" + clark("C:schedule-tag")) is None:
        return result
    multistatus = compat.report_multistatus(result)
    for response in [] if multistatus is None else \
            multistatus.findall(clark("D:response")):
        path = request.local_path(ctx.base_prefix,
                                  response.findtext(clark("D:href")) or "")
        item = next(iter(ctx.storage.discover(path)), None)
        if item is not None and \
                not isinstance(item, radicale_storage.BaseCollection):
            apply(response, {clark("C:schedule-tag"):
                             props.schedule_tag(ctx, item)})
    return result


def _listed_tags(collection: Any, multistatus: ET.Element,
                 xml_request: ET.Element) -> None:
    """A fast sync-collection's schedule tags, as the loop above puts them
    in, but from one look at the collection's tags (``schedule_tags``)."""
    if xml_request.find(".//" + sync.SCHEDULE_TAG) is None:
        return
    tags = collection.schedule_tags()
    for response in multistatus.findall(clark("D:response")):
        if response.find(_PROPSTAT) is None:
            continue  # a removed member: no item, nothing put in
        href = response.findtext(clark("D:href")) or ""
        tag = tags.get(unquote(href.rsplit("/", 1)[-1]))
        apply(response, {sync.SCHEDULE_TAG: None if tag is None else
                         element("C:schedule-tag", '"%s"' % tag)})
