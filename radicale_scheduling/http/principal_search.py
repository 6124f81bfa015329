"""Finding people to invite: principal searches.

Calendar clients complete an attendee's name by asking the server for
principals: ``DAV:principal-property-search`` and
``DAV:principal-search-property-set`` (RFC 3744 s9.4, s9.5), and Apple's
``CS:calendarserver-principal-search`` (search tokens and a context:
``attendee``, ``location``, ``resource``, ``user``, ``group``).  Radicale
lists these reports but answers them with an empty multistatus.

Who is found: every user the server knows (``Storage.known_users``:
principal folders, htpasswd users, the addresses file, so rooms and
resources too), under their display name: the addresses file's name, else
the DAV:displayname set on the principal (unless it is another user's
name), else the user name.  A folder at
the top that is a calendar or an address book is no principal.

Matching is caseless substring matching, the RFC's preferred default;
``DAV:match`` may ask ``match-type="starts-with"`` or ``"equals"`` (an
extension Apple's server understands).  Searchable: DAV:displayname,
CALDAV:calendar-user-address-set (each address with and without
``mailto:``), CALDAV:calendar-user-type and CS:email-address-set; a
property-search over anything else matches nobody (s9.4).  Several
property-searches are combined by ``test="allof"`` (the default) or
``"anyof"``.  Apple's search needs every token to appear in the name, the
user name or an address.

What is shown: the directory facts of ``properties.DIRECTORY`` (display
name, addresses, calendar-user type, principal URL, calendar home) of
anybody; of the searcher's own principal also its scheduling properties;
everything else is 404, as in PROPFIND.  Only logged-in users may search:
an anonymous request gets Radicale's own refusal (401, asking to log in).

Scope: the principal collection ``/`` (Radicale's principal-collection-set)
and, with ``DAV:apply-to-principal-collection-set``, any resource of the
user.  Radicale's principals have no principals below them, so a search
sent to a principal URL (python-caldav sends it to the account URL) is
taken as a search of the principal collection.  Below a principal,
without apply-to-principal-collection-set, there is nothing to find and
Radicale's own empty answer stands.

The cap: at most ``MAX_RESULTS`` (50) principals per answer, the first by
display name; when more match, the answer also holds a response for the
request URI with status 507 and ``DAV:number-of-matches-within-limits``
(the s9.4 postcondition, reported beside the results as Apple's server
does), so that clients show the first matches and the user types on.
Apple's ``CS:limit/CS:nresults`` lowers the cap.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http import client
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    FrozenSet,
    List,
    Optional,
    Sequence,
    Tuple,
)

import defusedxml.ElementTree as DefusedET
from radicale import httputils, xmlutils

from radicale_scheduling.http import compat, properties
from radicale_scheduling.http.compat import Response
from radicale_scheduling.http.xml import clark, element, href, to_bytes
from radicale_scheduling.principals import CUTYPES, Principal

if TYPE_CHECKING:
    from radicale_scheduling.http.handlers import Request
    from radicale_scheduling.storage import Storage

#: Most principals in one answer (RFC 3744 s9.4 DAV:number-of-matches-
#: within-limits): enough for a completion list, little to harvest.
MAX_RESULTS = 50

PROPERTY_SEARCH = clark("D:principal-property-search")
SEARCH_PROPERTY_SET = clark("D:principal-search-property-set")
CS_SEARCH = properties.CS_SEARCH
REPORTS = frozenset({PROPERTY_SEARCH, SEARCH_PROPERTY_SET, CS_SEARCH})
#: Cheap test on a REPORT body before parsing it.
_MARKERS = (b"principal-property-search", b"principal-search-property-set",
            b"calendarserver-principal-search")

_PROP = clark("D:prop")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: Searchable properties, in the order clients should offer them (s9.5).
SEARCHABLE: Tuple[Tuple[str, str], ...] = (
    (properties.DISPLAYNAME, "Display name"),
    (properties.ADDRESS_SET, "Calendar user address (e-mail)"),
    (properties.EMAIL_SET, "E-mail address"),
    (properties.USER_TYPE, "Calendar user type (INDIVIDUAL, ROOM, ...)"),
)

#: CS:calendarserver-principal-search contexts -> calendar-user types, as
#: Apple's server maps them (rooms are looked up as locations).
_CONTEXTS: Dict[str, FrozenSet[str]] = {
    "attendee": frozenset({"INDIVIDUAL", "GROUP", "RESOURCE", "UNKNOWN"}),
    "location": frozenset({"ROOM"}),
    "resource": frozenset({"RESOURCE"}),
    "user": frozenset({"INDIVIDUAL"}),
    "group": frozenset({"GROUP"}),
}


class BadSearch(Exception):
    """A malformed search: 400 with the reason."""


@dataclass(frozen=True)
class Candidate:
    """A principal as a search sees it."""

    principal: Principal
    display_name: str

    @property
    def user(self) -> str:
        return self.principal.user

    def values(self, tag: str) -> Optional[List[str]]:
        """The strings a search on ``tag`` compares, None if unsearchable."""
        addresses = self.principal.addresses
        if tag == properties.DISPLAYNAME:
            return [self.display_name]
        if tag == properties.ADDRESS_SET:
            return list(addresses) + [a[7:] for a in addresses]
        if tag == properties.EMAIL_SET:
            return [a[7:] for a in addresses]
        if tag == properties.USER_TYPE:
            return [self.principal.cutype]
        return None


Matcher = Callable[[str], bool]


def matcher(text: str, match_type: str = "contains") -> Matcher:
    """Caseless comparison of a value with the search string (s9.4)."""
    wanted = text.strip().casefold()
    if match_type == "starts-with":
        return lambda value: value.casefold().startswith(wanted)
    if match_type == "equals":
        return lambda value: value.casefold() == wanted
    if match_type in ("contains", ""):
        return lambda value: wanted in value.casefold()
    raise BadSearch("match-type %r is not one of contains, starts-with, "
                    "equals." % match_type)


# -- who is there --------------------------------------------------------

def candidates(storage: Storage) -> List[Candidate]:
    """Every principal of the server, sorted by display name.

    The addresses file's name, where the admin gave one, wins over the
    DAV:displayname a user set, and a set name that is another user's
    name (admin-given or user name) shows the user name instead: nobody
    appears in attendee completion as somebody else."""
    named = []
    for user in storage.directory.known_users():
        name = storage.principal_display_name(user)
        if name is None:
            continue  # a calendar or address book, no principal
        named.append((storage.directory.principal(user), name))
    taken: Dict[str, str] = {}
    for principal, _name in named:
        for other in (principal.user, principal.display_name):
            if other:
                taken.setdefault(other.casefold(), principal.user)
    found = []
    for principal, name in named:
        shown = principal.display_name or name or principal.user
        if taken.get(shown.casefold(), principal.user) != principal.user:
            shown = principal.user
        found.append(Candidate(principal, shown))
    found.sort(key=lambda c: (c.display_name.casefold(), c.user))
    return found


# -- requests --------------------------------------------------------------

def wants(body: bytes) -> Optional[ET.Element]:
    """The parsed body if it is one of these searches, else None."""
    if not any(marker in body for marker in _MARKERS):
        return None
    try:
        root = DefusedET.fromstring(body)
    except Exception:
        return None  # Radicale answers malformed XML with its own 400
    return root if root.tag in REPORTS else None


@dataclass
class Search:
    """One parsed search: which principals, which properties."""

    accept: Callable[[Candidate], bool]
    props: List[str]
    limit: int = MAX_RESULTS
    apply_to_collection_set: bool = False


#: Elements of the search requests themselves (not properties asked for).
_STRUCTURE = frozenset({_PROP, clark("D:property-search"),
                        clark("D:apply-to-principal-collection-set"),
                        clark("CS:search-token"), clark("CS:limit")})


def _requested_props(root: ET.Element) -> List[str]:
    """The properties asked for: DAV:prop's children, and properties put
    beside it (python-caldav 3.6 sends an empty DAV:prop followed by
    C:calendar-home-set and D:displayname)."""
    prop = root.find(_PROP)
    tags = [] if prop is None else [child.tag for child in prop]
    tags.extend(child.tag for child in root if child.tag not in _STRUCTURE
                and child.tag not in tags)
    return tags


def parse_property_search(root: ET.Element) -> Search:
    """DAV:principal-property-search (s9.4)."""
    test = root.get("test", "allof")
    if test not in ("allof", "anyof"):
        raise BadSearch("test must be allof or anyof, not %r." % test)
    pairs: List[Tuple[str, Matcher]] = []
    for search in root.findall(clark("D:property-search")):
        prop, match = search.find(_PROP), search.find(clark("D:match"))
        if prop is None or match is None or len(prop) == 0:
            raise BadSearch("Each DAV:property-search needs a DAV:prop and "
                            "a DAV:match.")
        test_match = matcher(match.text or "", match.get("match-type", ""))
        pairs.extend((child.tag, test_match) for child in prop)

    def one(candidate: Candidate, tag: str, test_match: Matcher) -> bool:
        values = candidate.values(tag)
        return values is not None and any(test_match(v) for v in values)

    combine = any if test == "anyof" else all

    def accept(candidate: Candidate) -> bool:
        # No property-search at all (python-caldav's "all principals"):
        # everybody, within the cap.
        return not pairs or combine(one(candidate, tag, test_match)
                                    for tag, test_match in pairs)

    return Search(accept, _requested_props(root), MAX_RESULTS,
                  root.find(clark("D:apply-to-principal-collection-set"))
                  is not None)


def parse_cs_search(root: ET.Element) -> Search:
    """Apple's CS:calendarserver-principal-search."""
    tokens = [matcher(token.text) for token in
              root.findall(clark("CS:search-token"))
              if token.text and token.text.strip()]
    types = _CONTEXTS.get(root.get("context", ""), frozenset(CUTYPES))
    limit = MAX_RESULTS
    nresults = root.findtext("%s/%s" % (clark("CS:limit"),
                                        clark("CS:nresults")))
    if nresults is not None:
        try:
            limit = min(limit, int(nresults))
        except ValueError:
            raise BadSearch("CS:nresults must be a number, not %r."
                            % nresults) from None
        if limit < 1:
            raise BadSearch("CS:nresults must be at least 1.")

    def accept(candidate: Candidate) -> bool:
        if not tokens or candidate.principal.cutype not in types:
            return False
        strings = [candidate.display_name, candidate.user] + (
            candidate.values(properties.ADDRESS_SET) or [])
        return all(any(token(s) for s in strings) for token in tokens)

    return Search(accept, _requested_props(root), limit,
                  root.find(clark("D:apply-to-principal-collection-set"))
                  is not None)


# -- answers ---------------------------------------------------------------

def _xml_response(status: int, root: ET.Element) -> Response:
    return compat.response(status, {"Content-Type": "text/xml; charset=utf-8"},
                           to_bytes(root))


def search_property_set() -> ET.Element:
    """The s9.5 answer: what may be searched, most useful first."""
    root = element("D:principal-search-property-set")
    for tag, description in SEARCHABLE:
        text = element("D:description", description)
        text.set(_XML_LANG, "en")
        root.append(element("D:principal-search-property", None,
                            element("D:prop", None, ET.Element(tag)), text))
    return root


def principal_response(ctx: properties.Context, candidate: Candidate,
                       tags: Sequence[str]) -> ET.Element:
    """One DAV:response: directory facts, the searcher's own scheduling
    properties, 404 for everything else."""
    response = element("D:response", None,
                       href(ctx.url("/%s/" % candidate.user)))
    if not tags:
        response.append(element("D:status", xmlutils.make_response(200)))
        return response
    values = properties.directory_values(
        ctx, candidate.principal,
        [tag for tag in tags if tag in properties.DIRECTORY],
        candidate.display_name)
    if candidate.user == ctx.user:
        rest = [tag for tag in tags
                if tag not in values and tag in properties.HANDLED]
        if rest:
            own = ctx.storage.collection("/%s/" % candidate.user)
            values.update(properties.values_for(ctx, own, rest))
    for tag in tags:
        values.setdefault(tag, None)
    properties.apply(response, values)
    return response


def _limit_response(url: str, limit: int) -> ET.Element:
    return element(
        "D:response", None, href(url),
        element("D:status", xmlutils.make_response(507)),
        element("D:error", None,
                element("D:number-of-matches-within-limits")),
        element("D:responsedescription",
                "Only the first %d matches are listed; refine the search."
                % limit))


def answer(ctx: properties.Context, search: Search, request_url: str
           ) -> ET.Element:
    with ctx.storage.acquire_lock("r", ctx.user):
        found = [c for c in candidates(ctx.storage) if search.accept(c)]
    multistatus = element("D:multistatus")
    for candidate in found[:search.limit]:
        multistatus.append(principal_response(ctx, candidate, search.props))
    if len(found) > search.limit:
        multistatus.append(_limit_response(request_url, search.limit))
    return multistatus


def handle(request: Request, root: ET.Element) -> Response:
    """Answer a search REPORT (the body already parsed by ``wants``)."""
    if not request.user:
        return httputils.NOT_ALLOWED  # Radicale asks for a login
    storage = request.storage
    segments = request.sane_path.split("/") if request.sane_path else []
    if len(segments) == 1 and segments[0] not in storage.directory.known_users():
        return httputils.NOT_FOUND
    if root.tag != CS_SEARCH and \
            request.environ.get("HTTP_DEPTH", "0").strip() != "0":
        return compat.text_error(
            client.BAD_REQUEST, "This report is only defined with Depth: 0 "
            "(RFC 3744 sections 9.4 and 9.5).")
    if root.tag == SEARCH_PROPERTY_SET:
        if len(segments) > 1:
            return request.call_next()
        return _xml_response(client.OK, search_property_set())
    try:
        search = parse_cs_search(root) if root.tag == CS_SEARCH \
            else parse_property_search(root)
    except BadSearch as e:
        return compat.text_error(client.BAD_REQUEST, str(e))
    if len(segments) > 1 and not (search.apply_to_collection_set
                                  and request.owns_path):
        # Below a principal: no principals to find (Radicale's answer).
        return request.call_next()
    ctx = properties.Context(storage, request.user, request.base_prefix)
    url = xmlutils.make_href(request.base_prefix, "/" + request.sane_path +
                             ("/" if segments else ""))
    return _xml_response(client.MULTI_STATUS, answer(ctx, search, url))


def directory_propfind(request: Request) -> Optional[Response]:
    """PROPFIND on another user's principal URL that the rights backend
    refuses: the directory facts a search shows (``properties.DIRECTORY``),
    404 for every other property asked, and nothing below the principal
    whatever the Depth.  python-caldav's ``get_vcal_address()`` and
    ``save_with_invites()`` read an attendee's calendar-user-address-set
    there (RFC 6638 s2.4.1).  None (Radicale's refusal stands) for a
    name that is no principal."""
    storage = request.storage
    user = request.sane_path
    with storage.acquire_lock("r", request.user):
        if user not in storage.directory.known_users():
            return None
        name = storage.principal_display_name(user)
    if name is None:
        return None  # a calendar or address book at the top
    principal = storage.directory.principal(user)
    candidate = Candidate(principal, name or principal.display_name or user)
    try:
        body = compat.read_body(request.environ)
        root = DefusedET.fromstring(body) if body.strip() else None
    except (DefusedET.ParseError, ValueError) as e:
        return compat.text_error(client.BAD_REQUEST,
                                 "Invalid XML request body: %s" % e)
    top = root[0] if root is not None and len(root) else None
    if top is not None and top.tag == clark("D:prop"):
        tags = [child.tag for child in top]
    else:  # allprop, propname or an empty body: the facts themselves
        tags = sorted(properties.DIRECTORY - {properties.RECORD_TYPE,
                                              properties.EMAIL_SET})
    ctx = properties.Context(storage, request.user, request.base_prefix)
    multistatus = element("D:multistatus", None,
                          principal_response(ctx, candidate, tags))
    if top is not None and top.tag == clark("D:propname"):
        for prop in multistatus.iter(clark("D:prop")):
            for child in prop:
                child.clear()
    return _xml_response(client.MULTI_STATUS, multistatus)
