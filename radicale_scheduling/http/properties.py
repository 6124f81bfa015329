"""Scheduling properties in PROPFIND answers (RFC 6638 s2, s6, s9).

Radicale builds the multistatus; this module completes it.  The wrapped
``xml_propfind`` knows which resource each response element describes (they
come in the order of ``allowed_items``), so each element is patched in
place: our values replace whatever Radicale put for the same property
(a 404, or a stored dead property of the same name), and nothing else in
the answer changes.  A request asking none of these properties costs one
set intersection.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import xml.etree.ElementTree as ET
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    cast,
)
from urllib.parse import unquote

from radicale import storage as radicale_storage
from radicale import xmlutils

from radicale_scheduling.http.xml import clark, element, href
from radicale_scheduling.principals import Principal
from radicale_scheduling.storage import (
    DEFAULT_CALENDAR_KEY,
    TRANSP_KEY,
    Collection,
    Storage,
    paths,
)

INBOX_URL = clark("C:schedule-inbox-URL")
OUTBOX_URL = clark("C:schedule-outbox-URL")
ADDRESS_SET = clark("C:calendar-user-address-set")
USER_TYPE = clark("C:calendar-user-type")
DEFAULT_CALENDAR = clark("C:schedule-default-calendar-URL")
CALENDAR_TRANSP = clark("C:schedule-calendar-transp")
RESOURCETYPE = clark("D:resourcetype")
CURRENT_PRIVILEGES = clark("D:current-user-privilege-set")
SUPPORTED_PRIVILEGES = clark("D:supported-privilege-set")
SCHEDULE_TAG = clark("C:schedule-tag")
AVAILABILITY = clark("C:calendar-availability")
SUPPORTED_REPORTS = clark("D:supported-report-set")
DISPLAYNAME = clark("D:displayname")
PRINCIPAL_URL = clark("D:principal-URL")
CALENDAR_HOME = clark("C:calendar-home-set")
EMAIL_SET = clark("CS:email-address-set")
RECORD_TYPE = clark("CS:record-type")
#: Apple's attendee search (http/principal_search.py), which Apple's
#: clients only use where a principal's supported-report-set lists it.
CS_SEARCH = clark("CS:calendarserver-principal-search")
MAX_ATTENDEES = clark("C:max-attendees-per-instance")

#: Properties this module answers for some resources.
HANDLED = frozenset({INBOX_URL, OUTBOX_URL, ADDRESS_SET, USER_TYPE,
                     DEFAULT_CALENDAR, CALENDAR_TRANSP, RESOURCETYPE,
                     CURRENT_PRIVILEGES, SUPPORTED_PRIVILEGES, SCHEDULE_TAG,
                     SUPPORTED_REPORTS, MAX_ATTENDEES, DISPLAYNAME})
#: Properties that belong to scheduling alone (404 wherever not ours).
OWN = frozenset({INBOX_URL, OUTBOX_URL, DEFAULT_CALENDAR, CALENDAR_TRANSP,
                 SCHEDULE_TAG, MAX_ATTENDEES})
#: Properties set by the server only (DAV:cannot-modify-protected-property).
PROTECTED = frozenset({INBOX_URL, OUTBOX_URL, ADDRESS_SET, USER_TYPE,
                       SUPPORTED_PRIVILEGES, CURRENT_PRIVILEGES,
                       clark("C:schedule-tag"), MAX_ATTENDEES})

#: Directory facts: what any logged-in user may learn of any principal in
#: a principal search (http/principal_search.py), to address invitations.
#: On Radicale the calendar home is the principal URL, so it tells nothing
#: more; calendars, inboxes and everything else stay private.
DIRECTORY = frozenset({DISPLAYNAME, ADDRESS_SET, USER_TYPE, PRINCIPAL_URL,
                       CALENDAR_HOME, RESOURCETYPE, EMAIL_SET, RECORD_TYPE})
#: CS:record-type of each calendar-user type, as Apple's server names them.
_RECORD_TYPES = {"INDIVIDUAL": "users", "GROUP": "groups",
                 "RESOURCE": "resources", "ROOM": "locations"}

KEEP = object()  # leave Radicale's answer for this property as it is
Value = Any  # an ET.Element, None (404) or KEEP


class Context(NamedTuple):
    storage: Storage
    user: str
    base_prefix: str

    def url(self, path: str) -> str:
        return xmlutils.make_href(self.base_prefix, path)


_context: contextvars.ContextVar[Optional[Context]] = contextvars.ContextVar(
    "radicale_scheduling_propfind", default=None)


@contextlib.contextmanager
def answering(storage: Storage, user: str, base_prefix: str) -> Iterator[None]:
    token = _context.set(Context(storage, user, base_prefix))
    try:
        yield
    finally:
        _context.reset(token)


def answering_now() -> bool:
    """Within a PROPFIND the plugin's storage answers."""
    return _context.get() is not None


# -- privileges (RFC 6638 s6, RFC 3744 s5.3, s5.4) --------------------------

_INBOX_PRIVILEGES = ("C:schedule-deliver", "C:schedule-deliver-invite",
                     "C:schedule-deliver-reply", "C:schedule-query-freebusy")
_OUTBOX_PRIVILEGES = ("C:schedule-send", "C:schedule-send-invite",
                      "C:schedule-send-reply", "C:schedule-send-freebusy")
_OWNER_PRIVILEGES = {
    # The owner reads and empties the inbox and sets its properties; nobody
    # PUTs into it (D:bind is absent).  Delivery is the server's, on behalf
    # of any calendar user, so schedule-deliver is granted to all.
    paths.INBOX: ("D:read", "D:read-current-user-privilege-set",
                  "D:write-properties", "D:unbind") + _INBOX_PRIVILEGES,
    paths.OUTBOX: ("D:read", "D:read-current-user-privilege-set")
    + _OUTBOX_PRIVILEGES,
}
_DESCRIPTIONS = {
    "D:all": "Any operation",
    "D:read": "Read the collection and its items",
    "D:read-current-user-privilege-set": "Read your own privileges",
    "D:write-properties": "Change properties",
    "D:unbind": "Remove items",
    "C:schedule-deliver": "Deliver scheduling messages",
    "C:schedule-deliver-invite": "Deliver invitations",
    "C:schedule-deliver-reply": "Deliver replies",
    "C:schedule-query-freebusy": "Ask for free-busy time",
    "C:schedule-send": "Send scheduling messages",
    "C:schedule-send-invite": "Send invitations",
    "C:schedule-send-reply": "Send replies",
    "C:schedule-send-freebusy": "Send free-busy requests",
}


def _privilege(name: str) -> ET.Element:
    return element("D:privilege", None, element(name))


def _current_privileges(kind: str) -> ET.Element:
    return element("D:current-user-privilege-set", None,
                   *(_privilege(name) for name in _OWNER_PRIVILEGES[kind]))


def _supported(name: str, *children: ET.Element,
               abstract: bool = False) -> ET.Element:
    node = element("D:supported-privilege", None, _privilege(name))
    if abstract:
        node.append(element("D:abstract"))
    node.append(element("D:description", _DESCRIPTIONS[name]))
    node.extend(children)
    return node


def _supported_privileges(kind: str) -> ET.Element:
    if kind == paths.INBOX:
        schedule = _supported("C:schedule-deliver", *(
            _supported(name) for name in _INBOX_PRIVILEGES[1:]))
        extra = [_supported("D:write-properties"), _supported("D:unbind")]
    else:
        schedule = _supported("C:schedule-send", *(
            _supported(name) for name in _OUTBOX_PRIVILEGES[1:]))
        extra = []
    read = _supported("D:read",
                      _supported("D:read-current-user-privilege-set"))
    tree = _supported("D:all", read, *extra, schedule, abstract=True)
    return element("D:supported-privilege-set", None, tree)


# -- values ------------------------------------------------------------------

def _principal_values(ctx: Context, collection: Any, tags: Sequence[str]
                      ) -> Dict[str, Value]:
    owner = collection.path
    if owner != ctx.user:
        # Another user's scheduling set-up gives nothing away; their
        # directory facts are what a principal search shows anyway.
        others: Dict[str, Value] = {tag: None for tag in tags if tag in OWN}
        others.update(directory_values(
            ctx, ctx.storage.directory.principal(owner),
            [tag for tag in tags if tag in (ADDRESS_SET, USER_TYPE)]))
        return others
    values: Dict[str, Value] = {}
    if ADDRESS_SET in tags or USER_TYPE in tags:
        values.update(directory_values(
            ctx, ctx.storage.directory.principal(owner),
            [tag for tag in tags if tag in (ADDRESS_SET, USER_TYPE)]))
    if DISPLAYNAME in tags and not collection.get_meta("D:displayname"):
        # The admin's name for the user (addresses file) until the user
        # sets one; else Radicale's answer (404).
        name = ctx.storage.directory.principal(owner).display_name
        values[DISPLAYNAME] = element("D:displayname", name) if name \
            else KEEP
    for tag in tags:
        if tag == INBOX_URL:
            values[tag] = element("C:schedule-inbox-URL", None, href(
                ctx.url(paths.collection_path(owner, paths.INBOX))))
        elif tag == OUTBOX_URL:
            values[tag] = element("C:schedule-outbox-URL", None, href(
                ctx.url(paths.collection_path(owner, paths.OUTBOX))))
        elif tag in OWN:
            values[tag] = None
    return values


def directory_values(ctx: Context, principal: Principal, tags: Sequence[str],
                     display_name: str = "") -> Dict[str, Value]:
    """The DIRECTORY properties of any principal, for the tags asked.

    ``display_name`` is needed for DAV:displayname only.
    """
    url = ctx.url("/%s/" % principal.user)
    values: Dict[str, Value] = {}
    for tag in tags:
        if tag == ADDRESS_SET:
            hrefs = [href(address) for address in principal.addresses]
            hrefs.append(href(url))
            values[tag] = element("C:calendar-user-address-set", None, *hrefs)
        elif tag == USER_TYPE:
            values[tag] = element("C:calendar-user-type", principal.cutype)
        elif tag == DISPLAYNAME:
            values[tag] = element("D:displayname",
                                  display_name or principal.user)
        elif tag in (PRINCIPAL_URL, CALENDAR_HOME):
            values[tag] = ET.Element(tag)
            values[tag].append(href(url))
        elif tag == RESOURCETYPE:
            values[tag] = element("D:resourcetype", None,
                                  element("D:collection"),
                                  element("D:principal"))
        elif tag == EMAIL_SET:
            values[tag] = element("CS:email-address-set", None, *(
                element("CS:email-address", address[7:])
                for address in principal.addresses))
        elif tag == RECORD_TYPE:
            record = _RECORD_TYPES.get(principal.cutype)
            values[tag] = None if record is None else \
                element("CS:record-type", record)
    return values


def _schedule_values(ctx: Context, collection: Collection,
                     tags: Sequence[str]) -> Dict[str, Value]:
    kind = collection.schedule_kind
    assert kind is not None
    values: Dict[str, Value] = {}
    for tag in tags:
        if tag == RESOURCETYPE:
            values[tag] = element(
                "D:resourcetype", None, element("D:collection"),
                element("C:schedule-inbox" if kind == paths.INBOX
                        else "C:schedule-outbox"))
        elif tag == CURRENT_PRIVILEGES:
            values[tag] = _current_privileges(kind)
        elif tag == SUPPORTED_PRIVILEGES:
            values[tag] = _supported_privileges(kind)
        elif tag == DEFAULT_CALENDAR and kind == paths.INBOX:
            default = collection.get_meta(DEFAULT_CALENDAR_KEY)
            node = element("C:schedule-default-calendar-URL")
            if default:
                node.append(href(ctx.url(default)))
            values[tag] = node
        elif tag in OWN or tag in (ADDRESS_SET, USER_TYPE):
            values[tag] = None
    return values


def _calendar_values(ctx: Context, collection: Any, tags: Sequence[str]
                     ) -> Dict[str, Value]:
    values: Dict[str, Value] = {}
    for tag in tags:
        if tag == MAX_ATTENDEES:
            # RFC 4791 s5.2.9 (protected; not in allprop).
            values[tag] = element("C:max-attendees-per-instance", str(
                ctx.storage.settings.max_attendees))
        elif tag == CALENDAR_TRANSP:
            # As free-busy reads it: anything but "transparent" (also a
            # dead property stored by plain Radicale) is opaque.
            transp = "transparent" if collection.get_meta(TRANSP_KEY) == \
                "transparent" else "opaque"
            values[tag] = element("C:schedule-calendar-transp", None,
                                  element("C:" + transp))
        elif tag in OWN:
            values[tag] = None
    return values


def schedule_tag_element(item: Any) -> Optional[ET.Element]:
    """CALDAV:schedule-tag of a stored object (RFC 6638 s9.3), if any."""
    collection = getattr(item, "collection", None)
    tag = collection.schedule_tag(item.href) \
        if collection is not None and hasattr(collection, "schedule_tag") \
        and item.href else None
    return None if tag is None else element("C:schedule-tag", '"%s"' % tag)


def _item_values(item: Any, tags: Sequence[str]) -> Dict[str, Value]:
    if SCHEDULE_TAG not in tags:
        return {}
    return {SCHEDULE_TAG: schedule_tag_element(item)}


def values_for(ctx: Context, item: Any, tags: Sequence[str]
               ) -> Dict[str, Value]:
    if not isinstance(item, radicale_storage.BaseCollection):
        return _item_values(item, tags)
    if getattr(item, "schedule_kind", None):
        return _schedule_values(ctx, cast(Collection, item), tags)
    if item.is_principal:
        return _principal_values(ctx, item, tags)
    if item.tag == "VCALENDAR":
        return _calendar_values(ctx, item, tags)
    return {tag: None for tag in tags if tag in OWN}


def names_for(ctx: Context, item: Any) -> List[str]:
    """What DAV:propname lists for a resource, beyond Radicale's names."""
    if not isinstance(item, radicale_storage.BaseCollection):
        return [SCHEDULE_TAG] if schedule_tag_element(item) \
            is not None else []
    kind = getattr(item, "schedule_kind", None)
    if kind == paths.INBOX:
        return [SUPPORTED_PRIVILEGES, DEFAULT_CALENDAR]
    if kind == paths.OUTBOX:
        return [SUPPORTED_PRIVILEGES]
    if item.is_principal and item.path == ctx.user:
        return [INBOX_URL, OUTBOX_URL, ADDRESS_SET, USER_TYPE]
    if item.tag == "VCALENDAR":
        return [CALENDAR_TRANSP, MAX_ATTENDEES]
    return []


# -- editing a DAV:response ------------------------------------------------

def _propstats(response: ET.Element) -> Dict[str, Tuple[ET.Element,
                                                        ET.Element]]:
    """Map each status line to its (propstat, prop) pair."""
    result = {}
    for propstat in response.findall(clark("D:propstat")):
        status = propstat.find(clark("D:status"))
        prop = propstat.find(clark("D:prop"))
        if status is not None and prop is not None:
            result[status.text or ""] = (propstat, prop)
    return result


def _ensure_propstat(response: ET.Element, code: int,
                     existing: Dict[str, Tuple[ET.Element, ET.Element]]
                     ) -> ET.Element:
    line = xmlutils.make_response(code)
    if line not in existing:
        prop = element("D:prop")
        propstat = element("D:propstat", None, prop,
                           element("D:status", line))
        response.append(propstat)
        existing[line] = (propstat, prop)
    return existing[line][1]


def apply(response: ET.Element, values: Dict[str, Value]) -> None:
    """Put our values into a DAV:response, in place of Radicale's."""
    values = {tag: value for tag, value in values.items() if value is not KEEP}
    if not values:
        return
    existing = _propstats(response)
    ok = xmlutils.make_response(200)
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
        if tag in placed:
            continue
        if value is None:
            _ensure_propstat(response, 404, existing).append(ET.Element(tag))
        else:
            _ensure_propstat(response, 200, existing).append(value)
    for propstat, prop in list(existing.values()):
        if len(prop) == 0:
            response.remove(propstat)


def _advertise_search(response: ET.Element, item: Any) -> None:
    """Add Apple's principal search to the reports of the root collection
    and of principals (Radicale already lists the RFC 3744 ones)."""
    if not isinstance(item, radicale_storage.BaseCollection) or \
            (item.path and not item.is_principal):
        return
    ok = xmlutils.make_response(200)
    for propstat in response.findall(clark("D:propstat")):
        reports = propstat.find("%s/%s" % (clark("D:prop"), SUPPORTED_REPORTS))
        if reports is not None and propstat.findtext(clark("D:status")) == ok \
                and reports.find(".//" + CS_SEARCH) is None:
            reports.append(element("D:supported-report", None, element(
                "D:report", None, ET.Element(CS_SEARCH))))


def complete(ctx: Context, multistatus: ET.Element, items: Sequence[Any],
             requested: Sequence[str], mode: str) -> None:
    """Patch each DAV:response of ``multistatus`` (one per item)."""
    for response, item in zip(multistatus, items):
        if mode == "propname":
            names = names_for(ctx, item)
            if names:
                existing = _propstats(response)
                prop = _ensure_propstat(response, 200, existing)
                present = {child.tag for child in prop}
                prop.extend(ET.Element(tag) for tag in names
                            if tag not in present)
            continue
        if mode == "allprop":
            # Only fix what Radicale already listed (e.g. our values stored
            # as dead properties, or an inbox's resourcetype).
            tags = [child.tag for propstat in response
                    for prop in propstat.findall(clark("D:prop"))
                    for child in prop if child.tag in HANDLED]
        else:
            tags = [tag for tag in requested if tag in HANDLED]
        if tags:
            apply(response, values_for(ctx, item, tags))
        if SUPPORTED_REPORTS in tags:
            _advertise_search(response, item)


def _request_mode(xml_request: Optional[ET.Element]
                  ) -> Tuple[str, List[str]]:
    if xml_request is None or len(xml_request) == 0:
        return "allprop", []
    top = xml_request[0]
    if top.tag == clark("D:propname"):
        return "propname", []
    if top.tag == clark("D:prop"):
        return "prop", [prop.tag for prop in top]
    return "allprop", []


def wrap_xml_propfind(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap Radicale's xml_propfind (its parameters differ by version)."""
    names = list(inspect.signature(original).parameters)
    request_at = names.index("xml_request")
    items_at = names.index("allowed_items")

    def argument(args: Tuple[Any, ...], kwargs: Dict[str, Any], index: int
                 ) -> Any:
        return args[index] if index < len(args) else kwargs[names[index]]

    def xml_propfind(*args: Any, **kwargs: Any) -> Any:
        ctx = _context.get()
        if ctx is None:
            return original(*args, **kwargs)
        mode, requested = _request_mode(argument(args, kwargs, request_at))
        if mode == "prop" and HANDLED.isdisjoint(requested):
            return original(*args, **kwargs)
        items = list(argument(args, kwargs, items_at))
        if items_at < len(args):
            args = args[:items_at] + (items,) + args[items_at + 1:]
        else:
            kwargs[names[items_at]] = items
        multistatus = original(*args, **kwargs)
        if multistatus is not None:
            complete(ctx, multistatus, [entry[0] for entry in items],
                     requested, mode)
        return multistatus

    xml_propfind.__wrapped__ = original  # type: ignore[attr-defined]
    xml_propfind.__doc__ = original.__doc__
    return xml_propfind


def wrap_xml_report(original: Callable[..., Any]) -> Callable[..., Any]:
    """Fill CALDAV:schedule-tag into REPORT answers (multiget, query).

    Radicale answers the property with 404; for each such response the
    item is looked up by its href (the REPORT already holds the lock).
    """
    names = list(inspect.signature(original).parameters)
    request_at = names.index("xml_request")

    def xml_report(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        ctx = _context.get()
        if ctx is None:
            return result
        xml_request = args[request_at] if request_at < len(args) \
            else kwargs.get("xml_request")
        if xml_request is None or xml_request.find(
                ".//" + SCHEDULE_TAG) is None:
            return result
        multistatus = result[1] if isinstance(result, tuple) else result
        if multistatus is None:
            return result
        for response in multistatus.findall(clark("D:response")):
            url = response.findtext(clark("D:href")) or ""
            path = unquote(url)
            if ctx.base_prefix and path.startswith(ctx.base_prefix + "/"):
                path = path[len(ctx.base_prefix):]
            item = next(iter(ctx.storage.discover(path)), None)
            if item is None or isinstance(item, radicale_storage.BaseCollection):
                continue
            apply(response, _item_values(item, [SCHEDULE_TAG]))
        return result

    xml_report.__wrapped__ = original  # type: ignore[attr-defined]
    return xml_report
