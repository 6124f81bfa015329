"""Delivery to users of this server (RFC 6638 s4.1, s4.3).

The recipient's copy is created or updated first (where the UID already is
in their calendars, else in their default calendar); the message lands in
their schedule inbox only after that, so a client that sees the message
also sees its effect.  Runs under the storage's write lock.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Optional

from radicale import item as radicale_item
from radicale import pathutils
from radicale.log import logger
from vobject.base import Component

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import inbound
from radicale_scheduling.itip.organizer import Message
from radicale_scheduling.storage import paths

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage
    from radicale_scheduling.storage.collection import Collection

DELIVERED = "1.2"
#: The recipient's Radicale refuses to store the object: Radicale 3.1.x
#: cannot store an object made only of overridden instances (an invitation
#: to some instances of a series).
UNDELIVERABLE = "5.2"


def make_item(collection: Collection, cal: Component) -> radicale_item.Item:
    item = radicale_item.Item(collection_path=collection.path,
                              vobject_item=cal)
    item.prepare()
    return item


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
    body = tuple(ical.signature(c, ignore_partstat_of=None)
                 for c in ical.components(message.calendar))
    return "%s.ics" % ical.digest(message.method, message.recipient,
                                  message.uid, body)[:40]


def tag_after_update(old: Optional[Component], new: Component) -> str:
    """RFC 6638 s3.2.10: an attendee's schedule tag changes with the
    organizer's real changes, not with others' participation."""
    old_tag = ical.schedule_tag(old)
    if old is not None and old_tag:
        old_sig = [ical.signature(c) for c in ical.components(old)]
        new_sig = [ical.signature(c) for c in ical.components(new)]
        if sorted(old_sig) == sorted(new_sig):
            return old_tag
    return uuid.uuid4().hex


def deliver(storage: Storage, message: Message, user: str) -> str:
    """Process ``message`` for local ``user``; return the delivery status."""
    storage.provision_locked(user)
    found = storage.find_uid(user, message.uid)
    stored = found[2].vobject_item if found else None
    updated = inbound.apply(message.method, message.calendar, stored)
    inbox = storage.collection(paths.collection_path(user, paths.INBOX))
    writes = []
    try:
        if updated is not None:
            ical.set_schedule_tag(updated, tag_after_update(stored, updated))
            if found:
                collection, href = found[0], found[1]
            else:
                path = storage.ensure_default_calendar_locked(user)
                collection = storage.collection(path)
                href = new_href(collection, message.uid)
            writes.append((collection, href, make_item(collection, updated)))
    except ValueError as e:
        logger.warning("Scheduling: Radicale cannot store %r for %r: %s",
                       message.uid, user, e)
        return UNDELIVERABLE
    try:
        # The inbox message comes last: it appears once processing is done.
        writes.append((inbox, inbox_href(message),
                       make_item(inbox, message.calendar)))
    except ValueError as e:
        # Radicale 3.1 refuses a CANCEL of one instance as an item; the
        # copy is still updated, only the inbox notice is missing.
        logger.warning("Scheduling: Radicale cannot store the %s message "
                       "for %r in the inbox of %r: %s", message.method,
                       message.uid, user, e)
    for collection, href, item in writes:
        collection.store(href, item)
    logger.info("Scheduling: delivered %s for %r to %r", message.method,
                message.uid, user)
    return DELIVERED
