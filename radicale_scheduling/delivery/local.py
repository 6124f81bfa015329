"""Transports (listeners on "send this message", as in sabre/dav), and
delivery to users of this server (RFC 6638 s4.1, s4.3).

The broker decides what a message does to the recipient's object; this
module reads and writes it under the write lock: the copy first, the inbox
message last, so a client that sees the message also sees its effect.
"""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING, Optional, Tuple

from radicale import item as radicale_item
from radicale import pathutils
from radicale.log import logger
from vobject.base import Component

from radicale_scheduling.delivery.transport import Outcome
from radicale_scheduling.itip import broker, inbound, text
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import status as st
from radicale_scheduling.itip.message import Message
from radicale_scheduling.storage import busy, paths

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage
    from radicale_scheduling.storage.collection import Collection


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


def to_inbox(storage: Storage, user: str, message: Message) -> None:
    """The same message always lands under the same name: a retried
    request overwrites instead of delivering twice."""
    href = "%s.ics" % ical.digest(message.method, message.recipient, message.uid,
                                  text.without_stamps(message.serialize()))[:40]
    inbox = storage.collection(paths.collection_path(user, paths.INBOX))
    inbox.write_delivered(href, message.serialize())


def index_facts(cal: Component) -> Tuple[str, str, Tuple[int, int]]:
    """(UID, component, time range) as Radicale's cache computes them."""
    tag = radicale_item.find_tag(cal)
    return (ical.text(ical.components(cal)[0], "uid") or "", tag,
            radicale_item.find_time_range(cal, tag))


class LocalTransport:
    """Users of this server; rooms and resources (calendar-user-type ROOM or
    RESOURCE) answer on their own from their busy time (``itip.rooms``)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def handles(self, recipient: str) -> bool:
        return self.storage.directory.user_for_address(recipient) is not None

    def deliver(self, sender_user: str, message: Message) -> Outcome:
        user = self.storage.directory.user_for_address(message.recipient)
        if user is None or user == sender_user:
            return Outcome(st.DELIVERED)  # the sender's own copy
        if message.method == "REPLY" and message.quiet:
            return self._others_answer(user, message)
        self.storage.provision_locked(user)
        found = self.storage.find_uid(user, message.uid)
        result = broker.process_message(
            message, found[2].vobject_item if found else None, user,
            self.storage.directory.user_for_address,
            datetime.datetime.now(datetime.timezone.utc), busy.room(self.storage, user))
        if result.status == st.NO_AUTHORITY:
            logger.warning("Scheduling: %s from %r for %r refused: %r's object with that UID "
                           "belongs to another organizer", message.method, message.sender,
                           message.uid, user)
        if result.copy is not None or result.text is not None:
            self._write(user, message, found, result)
        if result.inbox:
            to_inbox(self.storage, user, message)
        logger.info("Scheduling: %s %s for %r to %r%s", "delivered" if result.status.ok
                    else "refused", message.method, message.uid, user,
                    "" if result.inbox else " (no inbox message)")
        return Outcome(result.status, tuple((user, m) for m in result.follow_ups))

    def _write(self, user: str, message: Message, found: Optional[tuple],
               result: broker.Received) -> None:
        if result.copy is not None:
            data, facts = result.copy.serialize(), index_facts(result.copy)
        else:
            assert result.text is not None
            if message.body.facts is None:  # a shared body is indexed once
                message.body.facts = index_facts(message.calendar)
            data, facts = result.text, message.body.facts
        if found is not None:
            collection, href = found[0], found[1]
        else:
            collection = self.storage.collection(self.storage.delivery_calendar_locked(
                user, facts[1]))
            href = new_href(collection, message.uid)
        if result.retag:  # a REPLY is not the organizer's change
            collection.set_schedule_tag(href, uuid.uuid4().hex)
        collection.write_delivered(href, data, facts)

    def _others_answer(self, user: str, message: Message) -> Outcome:
        """Another attendee's answer shown in ``user``'s copy; its schedule
        tag stays (RFC 6638 s3.2.10) and no inbox message is made."""
        found = self.storage.find_uid_file(user, message.uid)
        if found is not None:
            collection, href, stored = found
            updated = inbound.others_answer(message, stored)
            if updated is not None and updated != stored:
                # Only a PARTSTAT changed: UID and times stay as indexed.
                collection.write_delivered(href, updated, collection.facts(href))
        return Outcome(st.DELIVERED)
