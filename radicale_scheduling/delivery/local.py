"""Delivery to users of this server (RFC 6638 s4.1, s4.3).

The recipient's copy is created or updated first (where the UID already is
in their calendars, else in their default calendar); the message lands in
their schedule inbox only after that, so a client that sees the message
also sees its effect.  Runs under the storage's write lock.

A quiet message (an update that only keeps a copy current, see
itip.organizer.Message) updates an existing copy and leaves no inbox
message; it makes no copy where there is none.

Work per recipient is kept to what that recipient needs: a new invitation
becomes their copy by text (the shared message body minus METHOD), only an
update of an existing copy is merged object by object.
"""

from __future__ import annotations

import datetime
import re
import uuid
from typing import TYPE_CHECKING, List, Optional, Tuple

from radicale import item as radicale_item
from radicale import pathutils
from radicale.log import logger
from vobject.base import Component

from radicale_scheduling.delivery import autoreply
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import delegation, inbound
from radicale_scheduling.itip.organizer import Message
from radicale_scheduling.storage import paths

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage
    from radicale_scheduling.storage.collection import Collection

DELIVERED = "1.2"
#: The recipient's object with this UID belongs to another organizer (or
#: to no meeting at all): a UID collision, or someone posing as that
#: meeting's organizer.  RFC 5546 s3.6.21 "No authority"; nothing changes.
NO_AUTHORITY = "3.8"
_METHOD_LINE = re.compile(r"^METHOD:[^\r\n]*\r?\n", re.MULTILINE)
_STAMP_LINE = re.compile(r"^DTSTAMP[:;][^\r\n]*\r?\n", re.MULTILINE)


def new_href(collection: Collection, uid: str) -> str:
    """A file name for a server-created object: the UID when it is safe."""
    candidate = "%s.ics" % uid
    if len(candidate) > 100 or \
            not pathutils.is_safe_filesystem_path_component(candidate) or \
            collection.exists_href(candidate):
        candidate = "%s.ics" % ical.digest("uid", uid)[:40]
    if collection.exists_href(candidate):
        candidate = "%s.ics" % uuid.uuid4().hex
    return candidate


def inbox_href(message: Message) -> str:
    """The same message always lands under the same name: a retried
    request overwrites instead of delivering twice."""
    body = _STAMP_LINE.sub("", message.serialize())
    return "%s.ics" % ical.digest(message.method, message.recipient,
                                  message.uid, body)[:40]


def tag_after_update(old_tag: Optional[str], old: Optional[Component],
                     new: Component) -> str:
    """RFC 6638 s3.2.10: an attendee's schedule tag changes with the
    organizer's real changes (a new revision included), not with others'
    participation."""
    if old is not None and old_tag:
        old_sig = [(ical.signature(c), ical.sequence(c))
                   for c in ical.components(old)]
        new_sig = [(ical.signature(c), ical.sequence(c))
                   for c in ical.components(new)]
        if sorted(old_sig) == sorted(new_sig):
            return old_tag
    return uuid.uuid4().hex


def _as_copy_text(message_text: str) -> str:
    """The stored form of an invitation: no METHOD."""
    return _METHOD_LINE.sub("", message_text, count=1)


def index_facts(cal: Component) -> Tuple[str, str, Tuple[int, int]]:
    """(UID, component, time range) as Radicale's cache computes them."""
    tag = radicale_item.find_tag(cal)
    return (ical.text(ical.components(cal)[0], "uid") or "", tag,
            radicale_item.find_time_range(cal, tag))


def _message_facts(message: Message) -> Tuple[str, str, Tuple[int, int]]:
    # A shared body is indexed once for all its recipients.
    if message.body.facts is None:
        message.body.facts = index_facts(message.calendar)
    return message.body.facts


def organizers(cal: Optional[Component]) -> set:
    return {ical.organizer(c) for c in ical.components(cal)} - {None}


def _organizer_users(storage: Storage, addresses: set) -> set:
    return {storage.directory.user_for_address(a) for a in addresses}


def same_organizer(storage: Storage, stored: Component,
                   message: Component) -> bool:
    """Is ``message`` from the organizer of ``stored``?  The same address,
    or addresses of the same local user (who may switch between them)."""
    old, new = organizers(stored), organizers(message)
    if old == new:
        return bool(old)
    users = _organizer_users(storage, old | new)
    return bool(old) and bool(new) and len(users) == 1 and None not in users


def _deliver_reply(storage: Storage, message: Message, user: str) -> str:
    """An attendee's REPLY to a local organizer (RFC 6638 s4.2).

    Only a meeting the recipient organizes is touched: an object with the
    same UID that the recipient merely attends (someone else's meeting)
    is no target for this reply.
    """
    found = storage.find_uid(user, message.uid)
    stored = found[2].vobject_item if found else None
    if stored is not None and \
            _organizer_users(storage, organizers(stored)) != {user}:
        logger.warning("Scheduling: REPLY from %r for %r refused: %r's "
                       "object with that UID is not organized by %r",
                       message.sender, message.uid, user, message.recipient)
        return NO_AUTHORITY
    updated = inbound.apply_reply(message.calendar, stored, message.sender)
    if updated is None or found is None:
        logger.info("Scheduling: REPLY from %r for %r ignored: %r has no "
                    "such meeting, or it changes nothing", message.sender,
                    message.uid, user)
        return DELIVERED
    # The schedule tag stays: a reply is not the organizer's change.
    found[0].write_delivered(found[1], updated.serialize(),
                             index_facts(updated))
    _tell_other_attendees(storage, message, user, updated)
    _show_delegates(storage, message, user, stored, updated)
    _tell_delegators(storage, message, user, updated)
    _invite_local_delegates(storage, message, user, stored, updated)
    inbox = storage.collection(paths.collection_path(user, paths.INBOX))
    inbox.write_delivered(inbox_href(message), message.serialize())
    logger.info("Scheduling: processed REPLY from %r for %r", message.sender,
                message.uid)
    return DELIVERED


def _invite_local_delegates(storage: Storage, message: Message,
                            organizer_user: str, before: Component,
                            meeting: Component) -> None:
    """An attendee outside the server delegated to a user of this
    server: their REQUEST would come by mail from someone who is not the
    organizer, which the server does not take.  The organizer's server
    sends the delegate the meeting itself (RFC 5546 s5.2.2: update the
    delegate with the correct version)."""
    if storage.directory.user_for_address(message.sender) is not None:
        return  # a local delegator's REQUEST was delivered already
    known = {ical.address(x) for c in ical.components(before)
             for x in ical.attendees(c)}
    now = datetime.datetime.now(datetime.timezone.utc)
    for who in sorted({ical.address(x) for c in ical.components(meeting)
                       for x in ical.attendees(c)} - known):
        if storage.directory.user_for_address(who) is None:
            continue  # the delegator's own mail reaches them
        request = delegation.request_for(meeting, who, message.recipient,
                                         now)
        if request is not None:
            storage.scheduler.deliver(organizer_user, request)


def _show_delegates(storage: Storage, message: Message,
                    organizer_user: str, before: Component,
                    meeting: Component) -> None:
    """A delegation added someone to the meeting: the other local
    attendees' copies list the delegate too, quietly (no inbox message),
    as when the organizer adds an attendee."""
    def listed(cal: Component) -> set:
        return {ical.address(x) for c in ical.components(cal)
                for x in ical.attendees(c)}
    added = listed(meeting) - listed(before)
    if not added:
        return
    now = datetime.datetime.now(datetime.timezone.utc)
    for who in sorted(listed(meeting) - added - {message.sender}):
        user = storage.directory.user_for_address(who)
        if user is None or user == organizer_user:
            continue
        request = delegation.request_for(meeting, who, message.recipient,
                                         now)
        if request is not None:
            request.quiet = True
            storage.scheduler.deliver(organizer_user, request)


def _tell_delegators(storage: Storage, message: Message,
                     organizer_user: str, meeting: Component) -> None:
    """A delegate declined: the organizer sends the delegator the meeting
    again, so that they may attend or delegate to someone else (RFC 5546
    s4.2.5 MUST, s4.2.7).  The server does it for a local organizer."""
    now = datetime.datetime.now(datetime.timezone.utc)
    for who in sorted(delegation.delegators_to_tell(
            message.calendar, meeting, message.sender)):
        request = delegation.request_for(meeting, who, message.recipient,
                                         now)
        if request is not None:
            status = storage.scheduler.deliver(organizer_user, request)
            logger.info("Scheduling: %r declined %r delegated by %r: "
                        "REQUEST sent again (%s)", message.sender,
                        message.uid, who, status)


def _tell_other_attendees(storage: Storage, message: Message,
                          organizer_user: str, meeting: Component) -> None:
    """The other local attendees' copies show the new participation
    (RFC 6638 s4.2 SHOULD).  Their schedule tag stays (s3.2.10), and no
    inbox message is made: it would only be noise for them."""
    answers = ical.by_rid(message.calendar)
    whole = list(answers) == [None]
    state = None
    if whole:
        line = ical.attendee(answers[None], message.sender)
        state = ical.partstat(line) if line is not None else None
    seen = {message.sender}
    for comp in ical.components(meeting):
        for line in ical.attendees(comp):
            who = ical.address(line)
            if who in seen or ical.agent(line) != "SERVER":
                continue
            seen.add(who)
            user = storage.directory.user_for_address(who)
            if user is None or user == organizer_user:
                continue
            found = storage.find_uid_file(user, message.uid)
            if found is None:
                continue
            collection, href, text = found
            updated_text = ical.patch_partstat(text, message.sender, state) \
                if whole and state else None
            if updated_text is None:
                updated = inbound.apply_reply(
                    message.calendar, ical.parse(text), message.sender,
                    record_status=False)
                updated_text = updated.serialize() if updated else None
            if updated_text is not None and updated_text != text:
                # Only a PARTSTAT changed: UID and times stay as indexed.
                collection.write_delivered(href, updated_text,
                                           collection.facts(href))


def deliver(storage: Storage, message: Message, user: str,
            replies: Optional[List[Message]] = None) -> str:
    """Process ``message`` for local ``user``; return the delivery status.

    A room or resource answers a request on its own; its REPLY is added to
    ``replies`` for the caller to process (the organizer's own copy may be
    in the middle of being written).
    """
    storage.provision_locked(user)
    if message.method == "REPLY":
        return _deliver_reply(storage, message, user)
    if storage.directory.principal(user).cutype in autoreply.AUTO_TYPES and \
            autoreply.is_task(message):
        return autoreply.refuse_task(message, replies)
    found = storage.find_uid(user, message.uid)
    if found is not None and \
            not same_organizer(storage, found[2].vobject_item,
                               message.calendar):
        # RFC 5546 s3.2.2: only the organizer updates or cancels a meeting.
        # Another organizer's REQUEST or CANCEL with the same UID must not
        # replace or cancel the recipient's object.
        logger.warning("Scheduling: %s from %r for %r refused: %r already "
                       "has that UID from another organizer",
                       message.method, message.sender, message.uid, user)
        return NO_AUTHORITY
    if message.quiet and found is None:
        return DELIVERED  # nothing to keep current: no copy is made
    text: Optional[str] = None
    updated: Optional[Component] = None
    facts = None
    tag: Optional[str] = None
    if found is None and message.method == "REQUEST":
        text = _as_copy_text(message.serialize())
        tag = uuid.uuid4().hex
        facts = _message_facts(message)
    elif found is not None:
        stored = found[2].vobject_item
        updated = inbound.apply(message.method, message.calendar, stored,
                                message.recipient)
        if updated is not None:
            ical.remove_private(updated)
            tag = tag_after_update(found[0].schedule_tag(found[1]), stored,
                                   updated)
            text = updated.serialize()
            facts = index_facts(updated)
    if text is not None and message.method == "REQUEST" and \
            replies is not None and \
            storage.directory.principal(user).cutype in autoreply.AUTO_TYPES:
        copy = updated if updated is not None else ical.parse(text)
        answers = autoreply.answer(storage, user, message.recipient, copy,
                                   datetime.datetime.now(datetime.timezone.utc))
        if answers:
            text = copy.serialize()
            facts = index_facts(copy)
            replies.extend(answers)
    if text is not None:
        if found is not None:
            collection, href = found[0], found[1]
        else:
            assert facts is not None  # set with text
            collection = storage.collection(
                storage.delivery_calendar_locked(user, facts[1]))
            href = new_href(collection, message.uid)
        if tag is not None:
            collection.set_schedule_tag(href, tag)
        collection.write_delivered(href, text, facts)
    # The inbox message comes last: it appears once processing is done.
    if message.quiet:
        logger.info("Scheduling: kept the copy of %r of %r current (no "
                    "inbox message)", message.uid, user)
        return DELIVERED
    inbox = storage.collection(paths.collection_path(user, paths.INBOX))
    inbox.write_delivered(inbox_href(message), message.serialize())
    logger.info("Scheduling: delivered %s for %r to %r", message.method,
                message.uid, user)
    return DELIVERED


def notice_reply(storage: Storage, message: Message, organizer_user: str,
                 meeting: Component) -> None:
    """After a reply was applied to the organizer's copy in the same
    operation: the inbox notice and the other attendees' copies."""
    _tell_other_attendees(storage, message, organizer_user, meeting)
    storage.provision_locked(organizer_user)
    inbox = storage.collection(paths.collection_path(organizer_user,
                                                     paths.INBOX))
    inbox.write_delivered(inbox_href(message), message.serialize())
