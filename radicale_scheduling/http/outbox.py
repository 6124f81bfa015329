"""POST to the schedule outbox: free-busy lookups (RFC 6638 s5, s10,
RFC 5546 s3.3.2); COUNTER, DECLINECOUNTER and REFRESH go to explicit.py.
Only the owner posts (the guard), as one of their own addresses; a
malformed request is refused before any calendar is read.
"""

from __future__ import annotations

import datetime
from http import client
from typing import Dict, List, Tuple

from radicale.log import logger
from vobject.base import Component

from radicale_scheduling.compat import Response
from radicale_scheduling.http import explicit
from radicale_scheduling.http.request import Request, content_length, refused, xml_response
from radicale_scheduling.http.xml import element, recipient_response, to_bytes
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import counter, freebusy, recurrence, status
from radicale_scheduling.itip.errors import InvalidCalendar, SchedulingError
from radicale_scheduling.itip.status import Status
from radicale_scheduling.storage import Storage, busy

UTC = datetime.timezone.utc
#: How long a free-busy request may be, before anything is parsed.
MAX_BODY = 1024 * 1024
#: Per recipient (RFC 5546 s3.6.16): the recipient's calendars need more
#: than scheduling_freebusy_max_occurrences instances.
TOO_COSTLY = Status(status.NO_SUPPORT.code, status.NO_SUPPORT.text +
                    ";too many recurrence instances in the window")
NOT_HERE = Status(status.INVALID_USER.code,
                  "Not a calendar user of this server")


def _invalid(reason: str, status: int = client.BAD_REQUEST
             ) -> SchedulingError:
    return SchedulingError("C:valid-scheduling-message", reason, status)


def _read(request: Request) -> Component:
    content_type = request.environ.get("CONTENT_TYPE", "")
    if content_type and "text/calendar" not in content_type.lower():
        raise SchedulingError("C:supported-calendar-data", "A scheduling "
                              "message is text/calendar.",
                              client.UNSUPPORTED_MEDIA_TYPE)
    if content_length(request.environ) > MAX_BODY:
        raise SchedulingError("C:max-resource-size", "A scheduling message "
                              "is at most %d bytes." % MAX_BODY,
                              client.REQUEST_ENTITY_TOO_LARGE)
    try:
        return ical.parse(request.body().decode("utf-8"))
    except (UnicodeDecodeError, InvalidCalendar) as e:
        raise SchedulingError("C:valid-calendar-data", "The body is not "
                              "iCalendar: %s" % e, client.BAD_REQUEST) from e


def _freebusy(cal: Component):
    method = (ical.text(cal, "method") or "").upper()
    if method != "REQUEST":
        raise _invalid(
            "The outbox takes free-busy requests (METHOD:REQUEST with a "
            "VFREEBUSY) and COUNTER, DECLINECOUNTER or REFRESH (got %r). "
            "Invitations, answers and cancellations are sent by saving "
            "the event in a calendar (RFC 6638 section 3.2)."
            % (method or None))
    comps = [c for c in cal.getChildren() if isinstance(c, Component)
             and c.name != "VTIMEZONE"]
    if len(comps) != 1 or comps[0].name != "VFREEBUSY":
        raise _invalid("A free-busy request holds exactly one VFREEBUSY; "
                       "invitations are sent by saving the event in a "
                       "calendar (RFC 6638 section 3.2).")
    return comps[0]


def _window(request: Request, vfb) -> Tuple[datetime.datetime,
                                              datetime.datetime]:
    start, end = ical.first(vfb, "dtstart"), ical.first(vfb, "dtend")
    if start is None or end is None:
        raise _invalid("DTSTART and DTEND are required.")
    try:
        begin = recurrence.to_utc(start.value, UTC)
        finish = recurrence.to_utc(end.value, UTC)
    except ValueError as e:
        raise _invalid("DTSTART and DTEND must be dates or times.") from e
    if finish <= begin:
        raise _invalid("DTEND must be after DTSTART.")
    limit = request.storage.settings.freebusy_max_days
    if finish - begin > datetime.timedelta(days=limit):
        raise _invalid("The window is longer than %d days (scheduling_"
                       "freebusy_max_days)." % limit, client.FORBIDDEN)
    return begin, finish


def _check(request: Request, vfb) -> List:
    organizer = ical.organizer(vfb)
    if organizer is None:
        raise _invalid("ORGANIZER is required.")
    if request.storage.directory.user_for_address(organizer) != request.user:
        raise SchedulingError("C:valid-organizer", "ORGANIZER must be one "
                              "of your own addresses.")
    attendees = ical.attendees(vfb)
    if not attendees:
        raise _invalid("At least one ATTENDEE is required.")
    limit = request.storage.settings.freebusy_max_recipients
    if len(attendees) > limit:
        raise _invalid("At most %d recipients per request (scheduling_"
                       "freebusy_max_recipients)." % limit, client.FORBIDDEN)
    return attendees


def handle_post(request: Request) -> Response:
    try:
        cal = _read(request)
        if (ical.text(cal, "method") or "").upper() in counter.EXPLICIT:
            return explicit.handle(request, cal)
        vfb = _freebusy(cal)
        begin, end = _window(request, vfb)
        attendees = _check(request, vfb)
    except SchedulingError as e:
        return refused(e, "C:valid-scheduling-message")
    storage = request.storage
    now = datetime.datetime.now(UTC)
    root = element("C:schedule-response")
    answered: Dict[str, Tuple[Status, List[freebusy.Period]]] = {}
    for line in attendees:
        recipient = ical.address(line)
        user = storage.directory.user_for_address(recipient)
        if user is None:
            unknown = status.INVALID_USER if storage.directory\
                .is_local_domain(recipient) else NOT_HERE
            root.append(recipient_response(str(line.value), unknown))
            continue
        if user not in answered:  # one user's several addresses: once
            answered[user] = _busy(storage, user, begin, end)
        outcome, periods = answered[user]
        data = freebusy.reply(vfb, line, periods, now).serialize() \
            if outcome == status.SUCCESS else ""
        root.append(recipient_response(str(line.value), outcome, data))
    return xml_response(client.OK, to_bytes(root))


def _busy(storage: Storage, user: str, begin: datetime.datetime,
          end: datetime.datetime) -> Tuple[Status, List[freebusy.Period]]:
    """One recipient's status and busy time, locked only while reading;
    a failure is that recipient's status (RFC 6638 s5, RFC 5546 s3.6)."""
    try:
        with storage.acquire_lock("r", user):
            sources = busy.gather(storage, user, begin, end)
        budget = recurrence.Budget(storage.settings.freebusy_max_occurrences)
        return status.SUCCESS, busy.periods_of(sources, begin, end, budget)
    except recurrence.TooManyOccurrences:
        logger.warning("Scheduling: free-busy of %r expands more than %d "
                       "occurrences (scheduling_freebusy_max_occurrences)",
                       user, storage.settings.freebusy_max_occurrences)
        return TOO_COSTLY, []
    except Exception as e:  # one broken calendar must not fail the others
        logger.warning("Scheduling: free-busy of %r failed: %s", user, e,
                       exc_info=True)
        return status.NO_SUPPORT, []
