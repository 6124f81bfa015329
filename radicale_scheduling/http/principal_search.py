"""Principal searches, which Radicale lists but answers empty: RFC 3744
s9.4, s9.5 (caseless; match-type as Apple's server) and Apple's
CS:calendarserver-principal-search (every token in the name, user name or
an address).  Only logged-in users search; who is found: directory.py.

Scope: ``/``, a principal URL (python-caldav sends it; Radicale's
principals hold no principals) and, with
DAV:apply-to-principal-collection-set, any of the user's resources.
Beyond ``MAX_RESULTS``, a 507 response with
DAV:number-of-matches-within-limits beside the results (as Apple's server)
lets clients have the user type on.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http import client
from typing import Callable, Dict, FrozenSet, List, Optional, Tuple

import defusedxml.ElementTree as DefusedET

from radicale_scheduling import compat
from radicale_scheduling.compat import Response
from radicale_scheduling.http import directory, props
from radicale_scheduling.http.directory import Candidate
from radicale_scheduling.http.propfind import CS_SEARCH
from radicale_scheduling.http.request import Request, text_error, xml_response
from radicale_scheduling.http.xml import clark, element, href, to_bytes
from radicale_scheduling.principals import CUTYPES

#: Most principals in one answer (RFC 3744 s9.4 DAV:number-of-matches-
#: within-limits): enough for a completion list, little to harvest.
MAX_RESULTS = 50

PROPERTY_SEARCH = clark("D:principal-property-search")
SEARCH_PROPERTY_SET = clark("D:principal-search-property-set")
REPORTS = frozenset({PROPERTY_SEARCH, SEARCH_PROPERTY_SET, CS_SEARCH})
#: Cheap test on a REPORT body before parsing it.
_MARKERS = tuple(tag.partition("}")[2].encode() for tag in REPORTS)
_PROP = clark("D:prop")
_APPLY_TO_SET = clark("D:apply-to-principal-collection-set")

#: Searchable properties, in the order clients should offer them (s9.5).
SEARCHABLE: Tuple[Tuple[str, str], ...] = (
    (directory.DISPLAYNAME, "Display name"),
    (directory.ADDRESS_SET, "Calendar user address (e-mail)"),
    (directory.EMAIL_SET, "E-mail address"),
    (directory.USER_TYPE, "Calendar user type (INDIVIDUAL, ROOM, ...)"),
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


Matcher = Callable[[str], bool]


_MATCH_TYPES: Dict[str, Callable[[str, str], bool]] = {
    "contains": lambda value, wanted: wanted in value,
    "starts-with": str.startswith, "equals": str.__eq__}


def matcher(text: str, match_type: str = "contains") -> Matcher:
    """Caseless comparison of a value with the search string (s9.4)."""
    wanted = text.strip().casefold()
    compare = _MATCH_TYPES.get(match_type or "contains")
    if compare is None:
        raise BadSearch("match-type %r is not one of contains, starts-with, "
                        "equals." % match_type)
    return lambda value: compare(value.casefold(), wanted)


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
_STRUCTURE = frozenset({_PROP, clark("D:property-search"), _APPLY_TO_SET,
                        clark("CS:search-token"), clark("CS:limit")})


def _search(root: ET.Element, accept: Callable[[Candidate], bool],
            limit: int = MAX_RESULTS) -> Search:
    """The properties asked for: DAV:prop's children, and properties put
    beside it (python-caldav 3.6 sends an empty DAV:prop followed by
    C:calendar-home-set and D:displayname)."""
    prop = root.find(_PROP)
    tags = [] if prop is None else [child.tag for child in prop]
    tags.extend(child.tag for child in root if child.tag not in _STRUCTURE
                and child.tag not in tags)
    return Search(accept, tags, limit, root.find(_APPLY_TO_SET) is not None)


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

    return _search(root, accept)


def parse_cs_search(root: ET.Element) -> Search:
    """Apple's CS:calendarserver-principal-search."""
    tokens = [matcher(token.text) for token in
              root.findall(clark("CS:search-token"))
              if token.text and token.text.strip()]
    types = _CONTEXTS.get(root.get("context", ""), frozenset(CUTYPES))
    nresults = root.findtext(clark("CS:limit") + "/" + clark("CS:nresults"))
    try:
        limit = MAX_RESULTS if nresults is None else \
            min(MAX_RESULTS, int(nresults))
    except ValueError:
        raise BadSearch("CS:nresults must be a number, not %r."
                        % nresults) from None
    if limit < 1:
        raise BadSearch("CS:nresults must be at least 1.")

    def accept(candidate: Candidate) -> bool:
        if not tokens or candidate.principal.cutype not in types:
            return False
        strings = [candidate.display_name, candidate.user] + (
            candidate.values(directory.ADDRESS_SET) or [])
        return all(any(token(s) for s in strings) for token in tokens)

    return _search(root, accept, limit)


def search_property_set() -> ET.Element:
    """The s9.5 answer: what may be searched, most useful first."""
    root = element("D:principal-search-property-set")
    for tag, description in SEARCHABLE:
        text = element("D:description", description)
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        root.append(element("D:principal-search-property", None,
                            element("D:prop", None, ET.Element(tag)), text))
    return root


def answer(ctx: props.Context, search: Search, request_url: str
           ) -> ET.Element:
    with ctx.storage.acquire_lock("r", ctx.user):
        found = [c for c in directory.candidates(ctx.storage)
                 if search.accept(c)]
    multistatus = element("D:multistatus", None, *(
        directory.principal_response(ctx, candidate, search.props)
        for candidate in found[:search.limit]))
    if len(found) > search.limit:
        multistatus.append(element(
            "D:response", None, href(request_url),
            element("D:status", compat.status_line(507)),
            element("D:error", None,
                    element("D:number-of-matches-within-limits")),
            element("D:responsedescription",
                    "Only the first %d matches are listed; refine the "
                    "search." % search.limit)))
    return multistatus


def handle(request: Request, root: ET.Element) -> Response:
    """Answer a search REPORT (the body already parsed by ``wants``)."""
    if not request.user:
        return compat.NOT_ALLOWED  # Radicale asks for a login
    storage = request.storage
    segments = request.sane_path.split("/") if request.sane_path else []
    if len(segments) == 1 and \
            segments[0] not in storage.directory.known_users():
        return compat.NOT_FOUND
    if root.tag != CS_SEARCH and \
            request.environ.get("HTTP_DEPTH", "0").strip() != "0":
        return text_error(
            client.BAD_REQUEST, "This report is only defined with Depth: 0 "
            "(RFC 3744 sections 9.4 and 9.5).")
    if root.tag == SEARCH_PROPERTY_SET:
        if len(segments) > 1:
            return request.call_next()
        return xml_response(client.OK, to_bytes(search_property_set()),
                            "text/xml")
    try:
        search = parse_cs_search(root) if root.tag == CS_SEARCH \
            else parse_property_search(root)
    except BadSearch as e:
        return text_error(client.BAD_REQUEST, str(e))
    if len(segments) > 1 and not (search.apply_to_collection_set
                                  and request.owns_path):
        # Below a principal: no principals to find (Radicale's answer).
        return request.call_next()
    ctx = props.Context(storage, request.user, request.base_prefix)
    url = compat.make_href(request.base_prefix, "/" + request.sane_path +
                           ("/" if segments else ""))
    return xml_response(client.MULTI_STATUS,
                        to_bytes(answer(ctx, search, url)), "text/xml")
