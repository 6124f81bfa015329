"""The server's principals as other users see them, in principal searches
and in a PROPFIND of another user's principal: every user the server knows
(principal folders, htpasswd, the addresses file: rooms too), showing the
directory facts (``props.DIRECTORY``), on one's own principal also its
scheduling properties, everything else 404.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http import client
from typing import Dict, List, Optional, Sequence

import defusedxml.ElementTree as DefusedET

from radicale_scheduling import compat
from radicale_scheduling.compat import Response
from radicale_scheduling.http import propfind, props
from radicale_scheduling.http.request import Request, text_error, xml_response
from radicale_scheduling.http.xml import clark, element, href, to_bytes
from radicale_scheduling.itip import address
from radicale_scheduling.principals import Principal
from radicale_scheduling.storage import Storage

DISPLAYNAME = clark("D:displayname")
ADDRESS_SET = clark("C:calendar-user-address-set")
EMAIL_SET = clark("CS:email-address-set")
USER_TYPE = clark("C:calendar-user-type")


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
        if tag == DISPLAYNAME:
            return [self.display_name]
        if tag == USER_TYPE:
            return [self.principal.cutype]
        if tag not in (ADDRESS_SET, EMAIL_SET):
            return None
        # Worked out per search term only: a search reads every principal.
        emails = [address.email(a) or a for a in self.principal.addresses]
        return emails if tag == EMAIL_SET else \
            list(self.principal.addresses) + emails


def candidates(storage: Storage) -> List[Candidate]:
    """Every principal of the server, sorted by display name.  The admin's
    name (addresses file) wins over a user's DAV:displayname, and a name
    that is another user's shows the user name: nobody appears in attendee
    completion as somebody else."""
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


def principal_response(ctx: props.Context, candidate: Candidate,
                       tags: Sequence[str]) -> ET.Element:
    """One DAV:response: directory facts, the searcher's own scheduling
    properties, 404 for everything else."""
    response = element("D:response", None,
                       href(ctx.url("/%s/" % candidate.user)))
    if not tags:
        response.append(element("D:status", compat.status_line(200)))
        return response
    values = props.public_values(ctx, candidate.principal, tags,
                                 candidate.display_name)
    if candidate.user == ctx.user:
        rest = [tag for tag in tags
                if tag not in values and tag in props.HANDLED]
        if rest:
            own = ctx.storage.collection("/%s/" % candidate.user)
            values.update(props.values_for(ctx, own, rest))
    for tag in tags:
        values.setdefault(tag, None)
    propfind.apply(response, values)
    return response


def other_principal(request: Request) -> Optional[Response]:
    """PROPFIND on another user's principal that the rights refuse: the
    directory facts, 404 for the rest, nothing below whatever the Depth
    (python-caldav reads an attendee's calendar-user-address-set there,
    RFC 6638 s2.4.1).  None (Radicale's refusal stands) for no principal."""
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
        body = request.body()
        root = DefusedET.fromstring(body) if body.strip() else None
    except (DefusedET.ParseError, ValueError) as e:
        return text_error(client.BAD_REQUEST,
                          "Invalid XML request body: %s" % e)
    top = root[0] if root is not None and len(root) else None
    if top is not None and top.tag == clark("D:prop"):
        tags = [child.tag for child in top]
    else:  # allprop, propname or an empty body: the facts themselves
        tags = sorted(props.DIRECTORY - {clark("CS:record-type"), EMAIL_SET})
    ctx = props.Context(storage, request.user, request.base_prefix)
    multistatus = element("D:multistatus", None,
                          principal_response(ctx, candidate, tags))
    if top is not None and top.tag == clark("D:propname"):
        for prop in multistatus.iter(clark("D:prop")):
            for child in prop:
                child.clear()
    return xml_response(client.MULTI_STATUS, to_bytes(multistatus),
                        "text/xml")
