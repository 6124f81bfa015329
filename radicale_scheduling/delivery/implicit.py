"""Implicit scheduling on PUT, DELETE and MOVE (RFC 6638 s3.2.3), inside
Radicale's ``upload`` and ``delete`` under its write lock: the engine says
what the change means, the dispatcher delivers, the organizer's object is
stored last; a refusal raises SchedulingError before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import uuid
from typing import TYPE_CHECKING, Callable, List, Optional

from radicale import item as radicale_item

from radicale_scheduling.context import RequestContext
from radicale_scheduling.delivery import rules
from radicale_scheduling.delivery.dispatch import Dispatcher
from radicale_scheduling.itip import broker
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.message import Message
from radicale_scheduling.storage import journal

if TYPE_CHECKING:
    from radicale_scheduling.storage.collection import Collection


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Scheduler(Dispatcher):
    """The dispatcher, and what storage calls on PUT, DELETE and MOVE."""

    def upload(self, collection: Collection, href: str, item: radicale_item.Item,
               ctx: RequestContext):
        if ical.drop_placeholder_names(item.vobject_item):
            # A client's CN=None reaches nobody's copy, inbox or mail.
            item = radicale_item.Item(collection_path=collection.path,
                                      vobject_item=item.vobject_item)
            item.prepare()
        old_item = collection.get_item(href) if collection.exists_href(href) else None
        rules.check_tag(ctx, collection, href)
        if not rules.mentions_organizer(item.serialize()) and not rules.mentions_organizer(
                old_item.serialize() if old_item is not None else None):
            return collection.store_last(href, item)
        new = item.vobject_item
        old = old_item.vobject_item if old_item is not None else None
        owner = collection.owner
        addresses = rules.owner_addresses(self.storage, owner, old, new)
        sending = broker.parse_event(
            old, new, addresses, _now(), tag_matched=ctx.if_schedule_tag_match is not None,
            organizers_view=lambda me: rules.organizers_view(self.storage, owner, new, me,
                                                             addresses))
        if not sending.role:
            return collection.store_last(href, item)
        if sending.role == broker.ORGANIZER and sending.stored is not None:
            rules.check_unique(self.storage, collection, item.uid)
            if sending.created:
                rules.check_not_attending(self.storage, owner, item.uid, new, addresses)
        rules.check_sender(ctx, owner, sending.messages)
        # Rooms and resources answer an organizer at once: their answer goes
        # into the organizer's copy being stored (RFC 6638 s4.2).
        replies: Optional[List[Message]] = None
        if sending.role == broker.ORGANIZER:
            self.check_mail_limit(sending.messages)
            replies = []
        statuses = self.send(owner, sending.messages, replies)
        stored = sending.record(statuses, replies or ())
        if stored is None:
            return collection.store_last(href, item)
        # A direct change always changes the schedule tag (RFC 6638 s3.2.10).
        tag = uuid.uuid4().hex
        ical.remove_private(stored)
        stored_item = radicale_item.Item(collection_path=collection.path, vobject_item=stored)
        stored_item.prepare()
        self.storage.check_size(stored_item.serialize(), "This meeting")
        result = collection.store_last(href, stored_item, tag)
        ctx.schedule_tag, ctx.rewritten = tag, True
        for reply in replies or ():
            self.notice_reply(reply, owner, stored)
        return result

    def delete(self, collection: Collection, href: str, ctx: RequestContext) -> None:
        """CANCEL to the attendees, or the attendee's declining REPLY (RFC 6638
        s3.2.1.3)."""
        old_item = collection.get_item(href) if collection.exists_href(href) else None
        if old_item is None:
            return
        rules.check_tag(ctx, collection, href, "")
        if not rules.mentions_organizer(old_item.serialize()):
            return
        old = old_item.vobject_item
        addresses = rules.owner_addresses(self.storage, collection.owner, old)
        sending = broker.parse_event(old, None, addresses, _now(),
                                     schedule_reply=ctx.schedule_reply)
        rules.check_sender(ctx, collection.owner, sending.messages)
        self.send(collection.owner, sending.messages)

    def move(self, source: Collection, href: str, target: Collection, to_href: str,
             ctx: RequestContext, plain_move: Callable[[], None]) -> None:
        """RFC 6638 s3.2.3.4: nothing is sent between one owner's calendars;
        otherwise DELETE's rules at the source, PUT's at the destination,
        in one journal operation.  ``plain_move`` is Radicale's own."""
        old_item = source.get_item(href) if source.exists_href(href) else None
        if old_item is None:
            return plain_move()
        rules.check_tag(ctx, source, href)  # s3.2.10.2: the moved resource's
        text = old_item.serialize()
        same_file = source.path == target.path and href == to_href
        overwritten = None if same_file or not target.exists_href(to_href) \
            else target.read_text(to_href)
        same_owner = source.owner == target.owner
        if same_file or not rules.mentions_organizer(text) and \
                not rules.mentions_organizer(overwritten) or same_owner and overwritten is None:
            return plain_move()
        inner = dataclasses.replace(ctx, if_schedule_tag_match=None)
        with self.storage.journal.transaction() as txn:
            if not same_owner:
                self.delete(source, href, inner)
            # Staged before the destination is worked out, so that its checks
            # (the UID among the owner's calendars) see it gone.
            txn.stage(journal.Write(os.path.join(source.folder, href), None))
            source.set_schedule_tag(href, None)
            moved = radicale_item.Item(collection_path=target.path, text=text)
            moved.prepare()
            self.upload(target, to_href, moved, inner)
        return None
