"""POST of COUNTER, DECLINECOUNTER or REFRESH to the schedule outbox: they
change no copy, so no PUT expresses them (as in
draft-desruisseaux-caldav-sched).  The body's ORGANIZER and ATTENDEE
decide; Originator and Recipient headers are optional.
"""

from __future__ import annotations

from http import client
from typing import List, Optional

from vobject.base import Component

from radicale_scheduling.compat import Response
from radicale_scheduling.delivery import explicit
from radicale_scheduling.http.request import Request, refused, xml_response
from radicale_scheduling.http.xml import element, recipient_response, to_bytes
from radicale_scheduling.itip import address, counter
from radicale_scheduling.itip.errors import SchedulingError


def _header_addresses(request: Request, name: str) -> List[str]:
    raw = request.environ.get("HTTP_" + name.upper(), "")
    return [address.normalize(part) for part in raw.split(",")
            if part.strip()]


def handle(request: Request, cal: Component) -> Response:
    originators = _header_addresses(request, "Originator")
    originator: Optional[str] = originators[0] if originators else None
    recipients = _header_addresses(request, "Recipient")
    storage = request.storage
    try:
        if len(originators) > 1:
            raise counter.invalid("One Originator only.")
        message = counter.read(cal)
        with storage.acquire_lock("w", request.user), \
                storage.journal.transaction():
            results = explicit.post(storage, request.user, message,
                                    originator, recipients)
    except SchedulingError as e:
        return refused(e, "C:valid-scheduling-message")
    root = element("C:schedule-response", None, *(
        recipient_response(recipient, answer)
        for recipient, answer in results))
    return xml_response(client.OK, to_bytes(root))
