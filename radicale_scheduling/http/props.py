"""The DAV properties scheduling answers (RFC 6638 s2, s9; RFC 4791
s5.2.9; Apple's calendarserver extensions), one small object each."""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, NamedTuple, Optional, Sequence

from radicale import storage as radicale_storage

from radicale_scheduling import compat
from radicale_scheduling.http import privileges
from radicale_scheduling.http.xml import clark, element, href
from radicale_scheduling.itip import address
from radicale_scheduling.principals import Principal
from radicale_scheduling.storage import DEFAULT_CALENDAR_KEY, TRANSP_KEY, Storage, paths

KEEP = object()  # leave Radicale's answer for this property as it is
Value = Any  # an ET.Element, None (404) or KEEP

#: Kinds of resources, as values_for tells them apart.
ITEM, CALENDAR, COLLECTION = "item", "calendar", "collection"
INBOX, OUTBOX = paths.INBOX, paths.OUTBOX
#: The requesting user's own principal, and anybody else's.
OWN, OTHER = "own-principal", "other-principal"


class Context(NamedTuple):
    storage: Storage
    user: str
    base_prefix: str

    def url(self, path: str) -> str:
        return compat.make_href(self.base_prefix, path)


_context: contextvars.ContextVar[Optional[Context]] = contextvars.ContextVar(
    "radicale_scheduling_propfind", default=None)


@contextlib.contextmanager
def answering(storage: Storage, user: str, base_prefix: str) -> Iterator[None]:
    """Within this, PROPFIND and REPORT answers are completed here."""
    token = _context.set(Context(storage, user, base_prefix))
    try:
        yield
    finally:
        _context.reset(token)


current = _context.get


Getter = Callable[[Context, Any], Value]
#: (context, principal, display name) -> what a directory shows.
PublicGetter = Callable[[Context, Principal, str], Value]


@dataclass(frozen=True)
class Property:
    name: str
    #: Resource kind -> its value there.
    values: Dict[str, Getter] = field(default_factory=dict)
    #: Scheduling's alone: 404 on any other collection.
    scheduling: bool = False
    #: A directory fact: what anyone may read of any principal.
    public: Optional[PublicGetter] = None
    #: Where DAV:propname names it (where it has a value).
    listed: FrozenSet[str] = frozenset()
    #: False: server-computed (DAV:cannot-modify-protected-property).
    settable: bool = True

    @property
    def tag(self) -> str:
        return clark(self.name)


def _absent(ctx: Context, resource: Any) -> Value:
    return None


def _fact(name: str, public: PublicGetter) -> Property:
    """A directory fact, also a principal collection's value; none on an
    inbox or outbox."""
    def get(ctx: Context, collection: Any) -> Value:
        return public(ctx, ctx.storage.directory.principal(collection.path),
                      "")
    return Property(name, {INBOX: _absent, OUTBOX: _absent, OWN: get,
                           OTHER: get}, public=public,
                    listed=frozenset({OWN}), settable=False)


def _schedule_url(kind: str) -> Getter:
    def get(ctx: Context, collection: Any) -> Value:
        return element("C:schedule-%s-URL" % kind, None, href(
            ctx.url(paths.collection_path(collection.path, kind))))
    return get


def _address_set(ctx: Context, principal: Principal, name: str) -> Value:
    hrefs = [href(a) for a in principal.addresses]
    hrefs.append(href(ctx.url("/%s/" % principal.user)))
    return element("C:calendar-user-address-set", None, *hrefs)


def _own_display_name(ctx: Context, collection: Any) -> Value:
    """The admin's name for the user (addresses file) until the user sets
    one; else Radicale's answer (404)."""
    if collection.get_meta("D:displayname"):
        return KEEP
    name = ctx.storage.directory.principal(collection.path).display_name
    return element("D:displayname", name) if name else KEEP


def _schedule_resourcetype(ctx: Context, collection: Any) -> Value:
    return element("D:resourcetype", None, element("D:collection"),
                   element("C:schedule-" + collection.schedule_kind))


def _default_calendar(ctx: Context, inbox: Any) -> Value:
    node = element("C:schedule-default-calendar-URL")
    default = inbox.get_meta(DEFAULT_CALENDAR_KEY)
    if default:
        node.append(href(ctx.url(default)))
    return node


def _transp(ctx: Context, calendar: Any) -> Value:
    # As free-busy reads it: anything but "transparent" (also a dead
    # property stored by plain Radicale) is opaque.
    transp = "transparent" if calendar.get_meta(TRANSP_KEY) == \
        "transparent" else "opaque"
    return element("C:schedule-calendar-transp", None,
                   element("C:" + transp))


def schedule_tag(ctx: Optional[Context], item: Any) -> Value:
    """CALDAV:schedule-tag of a stored object (RFC 6638 s9.3), if any;
    a listing's items from one look at the collection's tags."""
    collection = getattr(item, "collection", None)
    tag = collection.listed_tag(item) \
        if collection is not None and hasattr(collection, "listed_tag") \
        and item.href else None
    return None if tag is None else element("C:schedule-tag", '"%s"' % tag)


def _record_type(ctx: Context, principal: Principal, name: str) -> Value:
    record = {"INDIVIDUAL": "users", "GROUP": "groups", "RESOURCE":
              "resources", "ROOM": "locations"}.get(principal.cutype)
    return None if record is None else element("CS:record-type", record)


def _home(name: str) -> PublicGetter:
    # On Radicale the calendar home is the principal URL.
    return lambda ctx, principal, _: element(
        name, None, href(ctx.url("/%s/" % principal.user)))


_SCHEDULE = (INBOX, OUTBOX)
PROPERTIES = (
    Property("C:schedule-inbox-URL", {OWN: _schedule_url(INBOX)},
             scheduling=True, listed=frozenset({OWN}), settable=False),
    Property("C:schedule-outbox-URL", {OWN: _schedule_url(OUTBOX)},
             scheduling=True, listed=frozenset({OWN}), settable=False),
    _fact("C:calendar-user-address-set", _address_set),
    _fact("C:calendar-user-type",
          lambda ctx, p, _: element("C:calendar-user-type", p.cutype)),
    Property("D:supported-privilege-set", dict.fromkeys(
        _SCHEDULE, lambda ctx, c: privileges.supported(c.schedule_kind)),
        listed=frozenset(_SCHEDULE), settable=False),
    Property("C:schedule-default-calendar-URL", {INBOX: _default_calendar},
             scheduling=True, listed=frozenset({INBOX})),
    Property("C:schedule-calendar-transp", {CALENDAR: _transp},
             scheduling=True, listed=frozenset({CALENDAR})),
    Property("C:max-attendees-per-instance", {  # RFC 4791 s5.2.9
        CALENDAR: lambda ctx, c: element(
            "C:max-attendees-per-instance",
            str(ctx.storage.settings.max_attendees))},
        scheduling=True, listed=frozenset({CALENDAR}), settable=False),
    Property("C:schedule-tag", {ITEM: schedule_tag}, scheduling=True,
             listed=frozenset({ITEM}), settable=False),
    Property("D:current-user-privilege-set", dict.fromkeys(
        _SCHEDULE, lambda ctx, c: privileges.current(c.schedule_kind)),
        settable=False),
    Property("D:resourcetype", dict.fromkeys(
        _SCHEDULE, _schedule_resourcetype),
        public=lambda ctx, p, _: element(
            "D:resourcetype", None, element("D:collection"),
            element("D:principal")),
        settable=False),
    Property("D:displayname", {OWN: _own_display_name},
             public=lambda ctx, p, name: element("D:displayname",
                                                 name or p.user)),
    Property("D:principal-URL", public=_home("D:principal-URL")),
    Property("C:calendar-home-set", public=_home("C:calendar-home-set")),
    Property("CS:email-address-set", public=lambda ctx, p, _: element(
        "CS:email-address-set", None, *(
            element("CS:email-address", address.email(a))
            for a in p.addresses))),
    Property("CS:record-type", public=_record_type),
)
REGISTRY: Dict[str, Property] = {p.tag: p for p in PROPERTIES}

SUPPORTED_REPORTS = clark("D:supported-report-set")
#: What PROPFIND answers complete (the reports: principal searches).
HANDLED = frozenset({p.tag for p in PROPERTIES if p.values or p.scheduling}
                    | {SUPPORTED_REPORTS})
#: Directory facts: what any logged-in user may learn of any principal in
#: a principal search, to address invitations.  Calendars, inboxes and
#: everything else stay private.
DIRECTORY = frozenset(p.tag for p in PROPERTIES if p.public)
#: Server-computed (PROPPATCH: DAV:cannot-modify-protected-property).
PROTECTED = frozenset(p.tag for p in PROPERTIES if not p.settable)


def kind_of(ctx: Context, resource: Any) -> str:
    if not isinstance(resource, radicale_storage.BaseCollection):
        return ITEM
    schedule = getattr(resource, "schedule_kind", None)
    if schedule:
        return schedule
    if resource.is_principal:
        return OWN if resource.path == ctx.user else OTHER
    return CALENDAR if resource.tag == "VCALENDAR" else COLLECTION


def values_for(ctx: Context, resource: Any, tags: Sequence[str]
               ) -> Dict[str, Value]:
    """Our values of ``tags`` on a resource; tags not ours are left out.
    Items carry the schedule tag only."""
    kind = kind_of(ctx, resource)
    values: Dict[str, Value] = {}
    for tag in tags:
        prop = REGISTRY.get(tag)
        if prop is None:
            continue
        get = prop.values.get(kind)
        if get is not None:
            values[tag] = get(ctx, resource)
        elif prop.scheduling and kind != ITEM:
            values[tag] = None
    return values


def names_for(ctx: Context, resource: Any) -> List[str]:
    """What DAV:propname lists for a resource, beyond Radicale's names."""
    kind = kind_of(ctx, resource)
    return [p.tag for p in PROPERTIES if kind in p.listed and
            p.values[kind](ctx, resource) not in (None, KEEP)]


def public_values(ctx: Context, principal: Principal, tags: Sequence[str],
                  display_name: str = "") -> Dict[str, Value]:
    """The directory facts of any principal, for the tags asked."""
    return {tag: REGISTRY[tag].public(  # type: ignore[misc]
        ctx, principal, display_name) for tag in tags if tag in DIRECTORY}
