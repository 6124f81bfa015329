"""Sending COUNTER, DECLINECOUNTER and REFRESH (RFC 5546 s3.2.6-s3.2.8).

A COUNTER or DECLINECOUNTER changes nobody's copy (the organizer accepts by
saving the meeting anew); a REFRESH to an organizer here is answered at once.
Only an attendee counters or asks, only the organizer declines, and only to
attendees (RFC 5546 s6.1.6): a refusal raises SchedulingError first.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple

from radicale.log import logger

from radicale_scheduling.delivery import dispatch
from radicale_scheduling.itip import counter
from radicale_scheduling.itip import status as st
from radicale_scheduling.itip.counter import Explicit
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.message import Message
from radicale_scheduling.itip.status import Status

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage

_VALID = "C:valid-scheduling-message"


def response(status: Status, default: Optional[Status] = None) -> str:
    """The REQUEST-STATUS of a schedule-response (RFC 5546 s3.6) for a
    delivery status (RFC 6638 s3.2.9)."""
    if status == st.DELIVERED:
        return str(st.SUCCESS)
    if status.code[0] == "5":
        return str(st.NOT_DELIVERED)
    return str(status if status in (st.PENDING, st.INVALID_USER) or default is None
               else default)


def _forbidden(reason: str, precondition: str = "D:need-privileges") -> SchedulingError:
    return SchedulingError(precondition, reason, 403)


def meeting(storage: Storage, user: str, uid: str):
    found = storage.find_uid(user, uid)
    return found[2].vobject_item if found is not None else None


def refresh(storage: Storage, user: str, meeting, sender: str,
            organizer: str) -> Optional[Status]:
    """Answers ``sender``'s REFRESH at once (RFC 5546 s3.2.7); None when the
    server does not schedule them (SCHEDULE-AGENT)."""
    answer = counter.refresh_answer(meeting, sender, organizer,
                                    datetime.datetime.now(datetime.timezone.utc))
    return None if answer is None else dispatch.of(storage).deliver(user, answer)


def post(storage: Storage, user: str, message: Explicit, originator: Optional[str] = None,
         recipients: Iterable[str] = ()) -> List[Tuple[str, str]]:
    """POST to ``user``'s outbox, under the write lock: (recipient,
    REQUEST-STATUS) pairs."""
    if message.method in counter.FROM_ATTENDEE:
        return _from_attendee(storage, user, message, originator, list(recipients))
    return _decline(storage, user, message, originator, list(recipients))


def _from_attendee(storage: Storage, user: str, message: Explicit, originator: Optional[str],
                   recipients: List[str]) -> List[Tuple[str, str]]:
    directory, method = storage.directory, message.method
    mine = [a for a in message.attendees if directory.user_for_address(a) == user]
    if originator is not None:
        if directory.user_for_address(originator) != user:
            raise _forbidden("Originator %s is not one of your addresses." % originator)
        if originator not in message.attendees:
            raise counter.invalid("The Originator must be the ATTENDEE the %s is from." % method)
        mine = [originator]
    if not mine:
        raise _forbidden("A %s is sent by an attendee: none of its ATTENDEE lines is one of "
                         "your addresses." % method)
    if len(mine) > 1:
        raise counter.invalid("Several ATTENDEE lines are yours; say which one sends with the "
                              "Originator header.")
    sender, organizer = mine[0], message.organizer
    if any(r != organizer for r in recipients):
        raise counter.invalid("A %s goes to the ORGANIZER only." % method)
    organizer_user = directory.user_for_address(organizer)
    if organizer_user == user:
        raise counter.invalid("You organize this meeting.", 403)
    # The organizer's copy when the organizer is here, else the attendee's.
    found = meeting(storage, organizer_user or user, message.uid)
    if not counter.organizes(found, organizer) or not counter.is_attendee(found, sender):
        raise _forbidden("%s is not an attendee of a meeting %r organized by %s (RFC 5546 "
                         "section 6.1.6)." % (sender, message.uid, organizer), _VALID)
    if method == counter.REFRESH and organizer_user is not None:
        status = refresh(storage, organizer_user, found, sender, organizer)
        if status is None:
            raise _forbidden("The server does not schedule %s in this meeting "
                             "(SCHEDULE-AGENT)." % sender, _VALID)
        logger.info("Scheduling: REFRESH from %r for %r answered (%s)", sender, message.uid,
                    status)
        return [(organizer, response(status, st.SUCCESS))]
    outgoing = message.message(organizer, sender)
    dispatch.of(storage).check_mail_limit([outgoing])
    status = dispatch.of(storage).deliver(user, outgoing)
    logger.info("Scheduling: %s from %r for %r to %r (%s)", method, sender, message.uid,
                organizer, status)
    return [(organizer, response(status))]


def _decline(storage: Storage, user: str, message: Explicit, originator: Optional[str],
             recipients: List[str]) -> List[Tuple[str, str]]:
    organizer = message.organizer
    if storage.directory.user_for_address(organizer) != user or (
            originator is not None and originator != organizer):
        raise SchedulingError("C:valid-organizer", "A DECLINECOUNTER is sent by the meeting's "
                              "ORGANIZER, one of your addresses.", 403)
    found = meeting(storage, user, message.uid)
    if not counter.organizes(found, organizer):
        raise _forbidden("You organize no meeting %r." % message.uid, _VALID)
    targets = recipients or message.attendees
    strangers = [t for t in targets if not counter.is_attendee(found, t)]
    if strangers:
        raise _forbidden("Not attendees of %r: %s." % (message.uid, ", ".join(strangers)),
                         _VALID)
    shared = counter.body(message.calendar)
    outgoing = [Message(message.method, target, organizer, shared, message.uid)
                for target in targets]
    dispatcher = dispatch.of(storage)
    dispatcher.check_mail_limit(outgoing)
    result = [(m.recipient, response(dispatcher.deliver(user, m))) for m in outgoing]
    logger.info("Scheduling: DECLINECOUNTER for %r to %s", message.uid,
                ", ".join(t for t, _ in result))
    return result
