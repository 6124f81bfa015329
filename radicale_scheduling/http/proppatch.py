"""PROPPATCH of the scheduling properties (RFC 6638 s9.1, s9.2, s4.3).

Radicale stores a property as its text: the settable ones, which carry XML
(``<C:opaque/>``, ``<D:href>``), are checked and rewritten in the body, and
Radicale applies the whole PROPPATCH in one write.  Server-computed ones
are refused (as dead properties they would let a user claim an address).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from http import client
from typing import Iterator, Optional, Tuple

import defusedxml.ElementTree as DefusedET
from radicale import pathutils

from radicale_scheduling import compat
from radicale_scheduling.compat import Response
from radicale_scheduling.http import props, xml
from radicale_scheduling.http.request import Request, local_path, xml_response
from radicale_scheduling.http.xml import clark, element, to_bytes
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.errors import InvalidCalendar, SchedulingError
from radicale_scheduling.storage import paths

_SET = clark("D:set")
_REMOVE = clark("D:remove")
_PROP = clark("D:prop")
RESOURCETYPE = clark("D:resourcetype")
TRANSP = clark("C:schedule-calendar-transp")
DEFAULT_CALENDAR = clark("C:schedule-default-calendar-URL")
AVAILABILITY = clark("C:calendar-availability")
#: Properties that only the schedule inbox has, and why.
_INBOX_ONLY = {
    AVAILABILITY: "calendar-availability is a property of the schedule "
    "inbox (RFC 7953 section 7.2.4).",
    DEFAULT_CALENDAR: "schedule-default-calendar-URL is a property of the "
    "schedule inbox (RFC 6638 section 9.2).",
}
_PREFIXES = {"DAV:": "DAV", "urn:ietf:params:xml:ns:caldav": "CALDAV"}
_TRANSP_VALUES = {clark("C:opaque"): "opaque",
                  clark("C:transparent"): "transparent"}


def _props(root: ET.Element) -> Iterator[Tuple[bool, ET.Element]]:
    for action in root:
        if action.tag in (_SET, _REMOVE):
            for prop in action.findall("./%s/*" % _PROP):
                yield action.tag == _SET, prop


def _protected(request: Request, prop: ET.Element, is_set: bool) -> bool:
    if prop.tag == RESOURCETYPE:
        # Radicale stores the new type, then fails the request (400)
        # naming it: refused before anything is written.
        reason = "DAV:resourcetype is given when a collection is made " \
            "(MKCOL, MKCALENDAR) and cannot be changed (RFC 4918 " \
            "section 15.9)."
    else:
        reason = "%s is computed by the server and cannot be changed." \
            % xml_name(prop.tag)
    raise SchedulingError("D:cannot-modify-protected-property", reason)


def _transp(request: Request, prop: ET.Element, is_set: bool) -> bool:
    with request.storage.acquire_lock("r", request.user):
        target = next(iter(request.storage.discover(request.path)), None)
    if request.schedule is not None or \
            getattr(target, "tag", None) != "VCALENDAR":
        raise SchedulingError(None, "schedule-calendar-transp applies to "
                              "calendar collections only (RFC 6638 section "
                              "9.1).")
    if not is_set:
        return False
    values = [_TRANSP_VALUES.get(child.tag) for child in prop]
    if len(values) != 1 or values[0] is None:
        raise SchedulingError(None, "schedule-calendar-transp takes exactly "
                              "one of <C:opaque/> or <C:transparent/>.",
                              client.CONFLICT)
    return _set_text(prop, values[0])


def _on_inbox(request: Request, prop: ET.Element) -> None:
    schedule = request.schedule
    if schedule is None or schedule.kind != paths.INBOX or \
            schedule.href is not None:
        raise SchedulingError(None, _INBOX_ONLY[prop.tag])


def _availability(request: Request, prop: ET.Element, is_set: bool) -> bool:
    _on_inbox(request, prop)
    if is_set and not _is_availability(prop.text or ""):
        raise SchedulingError(None, "calendar-availability must be "
                              "iCalendar holding VAVAILABILITY components "
                              "(RFC 7953).", client.CONFLICT)
    return False


def _default_calendar(request: Request, prop: ET.Element, is_set: bool
                      ) -> bool:
    _on_inbox(request, prop)
    if not is_set:
        raise SchedulingError("C:default-calendar-needed", "Invitations "
                              "need a default calendar; point schedule-"
                              "default-calendar-URL at another calendar "
                              "instead of removing it.")
    hrefs = [child for child in prop if child.tag == clark("D:href")]
    path = pathutils.unstrip_path(pathutils.strip_path(local_path(
        request.base_prefix, hrefs[0].text or "")), True) \
        if len(hrefs) == len(prop) == 1 else ""
    if not path or not request.storage.is_valid_default_calendar(
            request.user, path):
        raise SchedulingError("C:valid-schedule-default-calendar-URL",
                              "The default calendar must be one DAV:href to "
                              "one of your own calendars that accepts "
                              "events.")
    return _set_text(prop, path)


_CHECKS = {**dict.fromkeys(props.PROTECTED, _protected), TRANSP: _transp,
           AVAILABILITY: _availability, DEFAULT_CALENDAR: _default_calendar}


def check_and_rewrite(request: Request) -> Optional[Response]:
    body = request.body()
    if not body:
        return None
    try:
        # Decoded exactly as Radicale will decode it: a body this check
        # cannot read must be one Radicale cannot read either, or the
        # checks could be bypassed (a latin-1 body declaring utf-8 once
        # stored an unchecked schedule-default-calendar-URL).
        root = DefusedET.fromstring(request.decode(body))
    except Exception:
        return None  # Radicale refuses malformed or hostile XML (400)
    if xml.too_deep(root):
        return None  # refused as Radicale reads it (http.xml.check_body)
    changed = False
    for is_set, prop in _props(root):
        check = _CHECKS.get(prop.tag)
        try:
            changed = check is not None and check(request, prop, is_set) \
                or changed
        except SchedulingError as e:
            return _failed(request, root, prop, e)
    if changed:
        body = to_bytes(root)
        request.environ.update({
            "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/xml; charset=utf-8"})
    return None


def _failed(request: Request, root: ET.Element, refused: ET.Element,
            e: SchedulingError) -> Response:
    """RFC 4918 s9.2.1: the refused property with its status and
    precondition (s16), every other property with 424 Failed Dependency."""
    def propstat(props: list, code: int, *extra: ET.Element) -> ET.Element:
        return element("D:propstat", None,
                       element("D:prop", None,
                               *(ET.Element(p.tag) for p in props)),
                       element("D:status", compat.status_line(code)),
                       *extra)
    extra = [element("D:error", None, element(e.precondition))] \
        if e.precondition else []
    extra.append(element("D:responsedescription", e.reason))
    others = [p for _, p in _props(root) if p is not refused]
    response = element("D:response", None, element(
        "D:href", compat.make_href(request.base_prefix, request.path)),
        propstat([refused], e.status, *extra))
    if others:
        response.append(propstat(others, client.FAILED_DEPENDENCY))
    return xml_response(client.MULTI_STATUS,
                        to_bytes(element("D:multistatus", None, response)))


def _is_availability(text: str) -> bool:
    try:
        cal = ical.parse(text)
    except InvalidCalendar:
        return False
    return any(c.name == "VAVAILABILITY" for c in cal.getChildren())


def _set_text(prop: ET.Element, text: str) -> bool:
    for child in list(prop):
        prop.remove(child)
    prop.text = text
    return True


def xml_name(clark_tag: str) -> str:
    namespace, _, name = clark_tag[1:].partition("}")
    return "%s:%s" % (_PREFIXES.get(namespace, namespace), name)
