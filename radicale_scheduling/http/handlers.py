"""Per-method rules of the scheduling HTTP surface (RFC 6638), as a table:
each refuses what scheduling forbids and otherwise lets Radicale do the
work (``request.call_next``), so plain CalDAV and CardDAV are unchanged.
"""

from __future__ import annotations

from http import client
from typing import Callable, Dict, Optional

from radicale import pathutils

from radicale_scheduling import compat, context
from radicale_scheduling.compat import Response
from radicale_scheduling.http import directory, limits, outbox, principal_search, proppatch, props
from radicale_scheduling.http.request import Request, forbidden, refused, text_error, with_header
from radicale_scheduling.itip.errors import InvalidCalendar, SchedulingError
from radicale_scheduling.storage import paths

Handler = Callable[[Request], Response]


def guard(request: Request) -> Optional[Response]:
    """Only the owner enters an inbox or outbox (s2.1, s2.2), whatever the
    rights allow: scheduling messages are private even where calendars are
    shared."""
    schedule = request.schedule
    if schedule is None:
        return None
    if not request.user or request.user != schedule.user:
        return compat.NOT_ALLOWED
    request.storage.ensure_scheduling(request.user)
    return None


def handle_report(request: Request) -> Response:
    """REPORT: only the owner reads an inbox or outbox; answers carry
    CALDAV:schedule-tag when asked; principal searches find the server's
    users."""
    with props.answering(request.storage, request.user, request.base_prefix):
        search = principal_search.wants(request.body())
        if search is not None:
            return principal_search.handle(request, search)
        return request.call_next()


def handle_get(request: Request) -> Response:
    """GET, HEAD: a scheduling object carries its Schedule-Tag (s3.2.10)."""
    result = request.call_next()
    if result[0] != client.OK or request.path.endswith("/") or \
            request.schedule is not None:
        return result
    return _tagged(result, request.storage.item_schedule_tag(request.path))


def _tagged(result: Response, tag: Optional[str]) -> Response:
    return result if tag is None else \
        with_header(result, "Schedule-Tag", '"%s"' % tag)


def _scheduling_write(request: Request) -> Response:
    """Run Radicale's handler with the request's scheduling context."""
    match = request.environ.get("HTTP_IF_SCHEDULE_TAG_MATCH")
    reply = request.environ.get("HTTP_SCHEDULE_REPLY", "T").strip().upper()
    ctx = context.RequestContext(request.user, schedule_reply=reply != "F",
                                 if_schedule_tag_match=match)
    try:
        with context.serving(ctx):
            result = request.call_next()
    except SchedulingError as e:
        return refused(e)
    except InvalidCalendar as e:
        return text_error(client.BAD_REQUEST, str(e))
    if ctx.schedule_tag is not None and result[0] in (
            client.OK, client.CREATED, client.NO_CONTENT):
        if ctx.rewritten:
            # RFC 4791 s5.3.4: no ETag for a body the server changed.
            result = with_header(result, "ETag", None)
        result = _tagged(result, ctx.schedule_tag)
    return result


def handle_options(request: Request) -> Response:
    """Advertise calendar-auto-schedule (RFC 6638 s2), keep Radicale's."""
    result = request.call_next()
    dav = dict(result[1]).get("DAV")
    if dav is None or "calendar-auto-schedule" in dav:
        return result
    # calendarserver-principal-search: Apple's attendee lookup.
    return with_header(result, "DAV", dav + ", calendar-auto-schedule, "
                       "calendarserver-principal-search")


_DISCOVERY = (b"schedule-inbox-URL", b"schedule-outbox-URL",
              b"calendar-user-address-set")


def handle_propfind(request: Request) -> Response:
    schedule = request.schedule
    if schedule is not None and schedule.kind == paths.INBOX or \
            request.user and request.sane_path == request.user and \
            any(name in request.body() for name in _DISCOVERY):
        # The inbox shows schedule-default-calendar-URL: one of the user's
        # calendars is chosen now, if they have one.  None is created by
        # reading: a client that makes its own calendar next would find
        # one already there; the first invitation creates it (s4.3).
        request.storage.ensure_default_calendar(request.user, create=False)
    with props.answering(request.storage, request.user, request.base_prefix):
        result = request.call_next()
    if result[0] == client.FORBIDDEN and request.user and \
            "/" not in request.sane_path and request.sane_path and \
            not request.owns_path:
        return directory.other_principal(request) or result
    return result


def handle_proppatch(request: Request) -> Response:
    return proppatch.check_and_rewrite(request) or request.call_next()


def handle_put(request: Request) -> Response:
    schedule = request.schedule
    if schedule is not None:
        return forbidden(
            "The schedule %s is filled by the server; clients cannot PUT "
            "into it (RFC 6638 section 2)." % schedule.kind)
    refused = limits.check_put(request, request.body())
    return refused or _scheduling_write(request)


def handle_delete(request: Request) -> Response:
    schedule = request.schedule
    if schedule is not None and schedule.href is None:
        return forbidden(
            "The schedule %s belongs to the principal and cannot be "
            "deleted." % schedule.kind)
    return _default_calendar_needed(request) or _scheduling_write(request)


def _default_calendar_needed(request: Request) -> Optional[Response]:
    """RFC 6638 s4.3.1.1: the default calendar is not deleted, by its
    owner or by anyone rights let write it; nor, by someone else, the
    principal holding it (its owner may remove their whole account)."""
    parts = request.sane_path.split("/")
    owner = parts[0]
    if len(parts) > 2 or not owner or \
            len(parts) == 1 and owner == request.user or \
            not pathutils.is_safe_filesystem_path_component(owner):
        return None
    default = request.storage.default_calendar(owner)
    if not default or not (default.strip("/") + "/").startswith(
            request.sane_path + "/"):
        return None
    whose = "your" if owner == request.user else "%s's" % owner
    return refused(SchedulingError(
        "C:default-calendar-needed", "This calendar is where invitations "
        "are delivered (schedule-default-calendar-URL of %s inbox). Choose "
        "another default calendar first (RFC 6638 section 4.3)." % whose))


def handle_move(request: Request) -> Response:
    to_path = request.destination()
    for path in (request.sane_path, to_path or ""):
        schedule = paths.parse(path)
        if schedule is not None:
            return forbidden("Items cannot be moved into or out of a "
                             "schedule %s." % schedule.kind)
    result = _scheduling_write(request)
    if to_path is None or result[0] not in (client.CREATED,
                                            client.NO_CONTENT):
        return result
    with request.storage.acquire_lock("r", request.user):
        tag = request.storage.item_schedule_tag(to_path)
    return _tagged(result, tag)  # RFC 6638 s3.2.10: the destination's


def handle_mkcol(request: Request) -> Response:
    """MKCOL and MKCALENDAR: nothing may be created in the schedule space."""
    schedule = request.schedule
    if schedule is None:
        return request.call_next()
    return forbidden("The schedule %s is created by the server."
                     % schedule.kind)


def handle_post(request: Request) -> Response:
    schedule = request.schedule
    if schedule is None:
        return request.call_next()
    if schedule.kind != paths.OUTBOX or schedule.href is not None:
        return text_error(
            client.METHOD_NOT_ALLOWED,
            "POST is only accepted by the schedule outbox (RFC 6638 s5).")
    return outbox.handle_post(request)


def _guarded(handler: Handler) -> Handler:
    return lambda request: guard(request) or handler(request)


HANDLERS: Dict[str, Handler] = {"OPTIONS": handle_options, **{
    method: _guarded(handler) for method, handler in (
        ("DELETE", handle_delete), ("GET", handle_get), ("HEAD", handle_get),
        ("MKCALENDAR", handle_mkcol), ("MKCOL", handle_mkcol),
        ("MOVE", handle_move), ("POST", handle_post),
        ("PROPFIND", handle_propfind), ("PROPPATCH", handle_proppatch),
        ("PUT", handle_put), ("REPORT", handle_report))}}
