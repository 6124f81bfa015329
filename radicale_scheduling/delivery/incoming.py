"""iTIP mail received for users of this server (RFC 6047), fed to the same
dispatcher as a local user's message.  The sender must be the calendar user
the message speaks for, else nothing changes.  The result is a sysexits
code, so that a mail transport can bounce or keep the mail.  The mail is
parsed before the write lock: a large one holds up nobody's writes.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
from typing import TYPE_CHECKING, Iterable, List, Optional, Set, Tuple

from radicale.log import logger

from radicale_scheduling.delivery import dispatch, explicit, imip, local
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import counter, delegation, instances
from radicale_scheduling.itip import status as st
from radicale_scheduling.itip.address import mailto
from radicale_scheduling.itip.errors import InvalidCalendar, SchedulingError
from radicale_scheduling.itip.message import Body, Message

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage

OK, DATAERR, NOUSER, NOPERM = 0, 65, 67, 77


def _addresses(values: Iterable[str]) -> List[str]:
    return [mailto(address) for _name, address in email.utils.getaddresses(list(values))
            if address]


def _single(values: Set[Optional[str]]) -> Optional[str]:
    return next(iter(values)) if len(values) == 1 else None


def process(storage: Storage, raw: bytes, recipients: Iterable[str] = ()) -> Tuple[int, str]:
    """(exit code, what happened): 0 processed, 65 not iTIP, malformed or too
    large, 67 no such meeting or recipient, 77 sender not allowed."""
    limit = storage.settings.max_resource_size
    if len(raw) > limit:
        return DATAERR, "the mail is larger than %d bytes (scheduling_max_resource_size)" % limit
    try:
        return _process(storage, raw, recipients)
    except SchedulingError as e:  # raised before anything is written
        return (NOPERM if e.status == 403 and e.precondition != "C:max-resource-size"
                else DATAERR, e.reason)


def _process(storage: Storage, raw: bytes, recipients: Iterable[str]) -> Tuple[int, str]:
    try:
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        senders = _addresses([str(mail.get("From", ""))])
    except Exception as e:  # malformed headers
        return DATAERR, "unreadable mail: %s" % e
    if len(senders) != 1:
        return DATAERR, "the mail has no single sender"
    sender = senders[0]
    if storage.directory.user_for_address(sender) is not None:  # forged: they log in here
        return NOPERM, ("%s is a user of this server: their scheduling goes through the "
                        "server, not by mail" % sender)
    text = imip.calendar_part(mail)
    if text is None:
        return DATAERR, "the mail carries no calendar data"
    try:
        cal = ical.parse(text)
        ical.check_values(cal)
    except InvalidCalendar as e:
        return DATAERR, str(e)
    ical.drop_placeholder_names(cal)
    method = (ical.text(cal, "method") or "").upper()
    comps = ical.components(cal)
    uid = _single({ical.text(c, "uid") for c in comps})
    if uid is None:
        return DATAERR, "the calendar data holds no single meeting"
    limit = storage.settings.max_attendees
    if ical.most_attendees_per_instance(cal) > limit:  # as a PUT would be
        return DATAERR, "the meeting has more than %d attendees (scheduling_max_attendees)" % limit
    organizer = _single({ical.organizer(c) for c in comps})
    if organizer is None:
        return DATAERR, "the meeting has no single ORGANIZER"
    if method == "REPLY":
        return _reply(storage, cal, uid, sender, organizer)
    if method in counter.FROM_ATTENDEE:
        return _from_attendee(storage, cal, sender)
    if method in ("REQUEST", "CANCEL", counter.DECLINECOUNTER):
        wanted = _addresses(list(recipients) or [
            str(mail.get(h, "")) for h in ("To", "Cc", "Delivered-To")])
        return _invitation(storage, cal, method, uid, sender, organizer, wanted)
    return DATAERR, "iTIP method %r is not handled by mail" % method


def _ready(cal, method: Optional[str]) -> Body:
    """The body serialized (a REQUEST's index facts found) before the lock."""
    body = Body(cal)
    body.text  # noqa: B018 (serializes once, cached)
    if method == "REQUEST":
        with contextlib.suppress(Exception):  # else found, as before, later
            body.facts = local.index_facts(cal)
    return body


def _reply(storage: Storage, cal, uid: str, sender: str, organizer: str) -> Tuple[int, str]:
    answering = {ical.address(line) for c in ical.components(cal) for line in ical.attendees(c)}
    # A delegator's REPLY also names their delegate (RFC 5546 s4.2.5).
    if sender not in answering or answering - delegation.reply_lines_allowed(cal, sender):
        return NOPERM, "a REPLY from %s may only answer for %s, not %s" % (
            sender, sender, ", ".join(sorted(answering)))
    user = storage.directory.user_for_address(organizer)
    if user is None:
        return NOUSER, "the organizer %s is no user here" % organizer
    body = _ready(cal, None)
    with storage.acquire_lock("w", user):
        found = storage.find_uid(user, uid)
        if found is None:
            return NOUSER, "%s has no meeting %r" % (user, uid)
        meeting = found[2].vobject_item
        if not any(ical.organizer(c) == organizer for c in ical.components(meeting)):
            return NOUSER, "%r of %s is not organized by them" % (uid, user)
        if not counter.is_attendee(meeting, sender):
            return NOPERM, "%s is not invited to %r" % (sender, uid)
        missing = instances.missing_instances(meeting, cal)
        if missing:  # an answer adds no occurrences
            return NOPERM, "%r has no instance %s" % (uid, ", ".join(missing))
        with storage.journal.transaction():
            status = dispatch.of(storage).deliver("", Message("REPLY", organizer, sender, body,
                                                              uid))
    if status == st.NO_AUTHORITY:
        return NOPERM, "%r of %s is not organized by %s" % (uid, user, organizer)
    return OK, "REPLY from %s for %r processed for %s" % (sender, uid, user)


def _from_attendee(storage: Storage, cal, sender: str) -> Tuple[int, str]:
    """An outside attendee's COUNTER ("propose new time" in Outlook) or
    REFRESH (RFC 5546 s3.2.6, s3.2.7)."""
    try:
        message = counter.read(cal)
    except SchedulingError as e:
        return DATAERR, e.reason
    organizer, uid = message.organizer, message.uid
    user = storage.directory.user_for_address(organizer)
    if user is None:
        return NOUSER, "the organizer %s is no user here" % organizer
    if message.method == counter.REFRESH and message.attendees != [sender]:
        return NOPERM, "a REFRESH from %s may only ask for %s" % (sender, sender)
    with storage.acquire_lock("w", user), storage.journal.transaction():
        meeting = explicit.meeting(storage, user, uid)
        if not counter.organizes(meeting, organizer):
            return NOUSER, "%s organizes no meeting %r" % (user, uid)
        if not counter.is_attendee(meeting, sender):
            return NOPERM, "%s is not invited to %r" % (sender, uid)
        if message.method == counter.REFRESH:
            status = explicit.refresh(storage, user, meeting, sender, organizer)
            if status is None:
                return NOPERM, "%s is not scheduled by the server" % sender
            what = "REFRESH from %s answered (%s)" % (sender, status.code)
        else:
            dispatch.of(storage).deliver("", message.message(organizer, sender))
            what = "%s from %s for %r delivered to %s" % (message.method, sender, uid, user)
    logger.info("Scheduling: %s", what)
    return OK, what


def _invitation(storage: Storage, cal, method: str, uid: str, sender: str,
                organizer: str, wanted: List[str]) -> Tuple[int, str]:
    if organizer != sender:
        return NOPERM, "a %s from %s names %s as organizer" % (method, sender, organizer)
    if storage.directory.user_for_address(organizer) is not None:
        return NOPERM, "%s is a user of this server and schedules through it, not by mail" \
            % organizer
    invited = {ical.address(line) for c in ical.components(cal) for line in ical.attendees(c)}
    targets: List[Tuple[str, str]] = [
        (address, user) for address in wanted if address in invited
        for user in [storage.directory.user_for_address(address)] if user is not None]
    if method == counter.DECLINECOUNTER:
        # Only about a meeting they have (RFC 5546 s3.2.8); it changes no
        # copy, the message just lands in the inbox.
        targets = [(a, u) for a, u in targets if storage.find_uid(u, uid) is not None]
    if not targets:
        return NOUSER, "none of the mail's recipients is invited here"
    # One journal operation: all recipients or none have it.
    body = _ready(cal, method)
    with storage.acquire_lock("w", targets[0][1]), storage.journal.transaction():
        statuses = dispatch.of(storage).send("", [
            Message(method, address, sender, body, uid) for address, _user in targets])
    done = [u for a, u in targets if statuses[a] != st.NO_AUTHORITY]
    refused = [u for a, u in targets if statuses[a] == st.NO_AUTHORITY]
    if not done:
        return NOPERM, "%s may not change %r: %s already %s it from another organizer" % (
            sender, uid, ", ".join(refused), "has" if len(refused) == 1 else "have")
    logger.info("Scheduling: %s from %s for %r delivered to %s", method, sender, uid,
                ", ".join(done))
    return OK, "%s for %r delivered to %s" % (method, uid, ", ".join(done))
