"""Implicit scheduling on writes (RFC 6638 s3.2.3): PUT, DELETE, MOVE.

Runs inside Radicale's ``Collection.upload`` and ``delete``, under the write
lock it holds: the iTIP engine says what the change means, the dispatcher
delivers the messages, and the organizer's object is stored last.  No other
request sees a half-done operation; a refusal raises SchedulingError before
anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import uuid
from typing import TYPE_CHECKING, Callable, FrozenSet, List, Optional

from radicale import item as radicale_item
from vobject.base import Component

from radicale_scheduling.context import RequestContext
from radicale_scheduling.delivery import rules
from radicale_scheduling.delivery.dispatch import Dispatcher
from radicale_scheduling.itip import attendee, delegation, inbound
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.organizer import (
    Message,
    check_same_organizer,
    is_organizer_object,
    merge_attendee_states,
    organizer_change,
    set_schedule_status,
)
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
        old_item = collection._get(href) if collection.exists_href(href) else None
        rules.check_tag(ctx, collection, href)
        if not rules.mentions_organizer(item.serialize()) and not rules.mentions_organizer(
                old_item.serialize() if old_item is not None else None):
            return collection.store_last(href, item)
        new = item.vobject_item
        old = old_item.vobject_item if old_item is not None else None
        check_same_organizer(new)
        owner = collection.owner
        addresses = rules.owner_addresses(self.storage, owner, old, new)
        old_org = is_organizer_object(old, addresses)
        new_org = is_organizer_object(new, addresses)
        rules.check_roles(old, new, old_org, new_org, addresses)
        if not old_org and not new_org:
            return self._attendee_upload(collection, href, item, ctx, old, new, addresses)
        if new_org:
            rules.check_values(new)
            rules.check_unique(self.storage, collection, item.uid)
            if not old_org:
                rules.check_not_attending(self.storage, owner, item.uid, new, addresses)
            if ctx.if_schedule_tag_match is not None and old_org:
                new = ical.clone(new)
                merge_attendee_states(old, new, addresses)
                delegation.merge_delegates(old, new)
            change = organizer_change(old if old_org else None, new, addresses, _now())
        else:
            change = organizer_change(old, None, addresses, _now())
        rules.check_sender(ctx, owner, change.messages)
        self.check_mail_limit(change.messages)
        replies: List[Message] = []
        statuses = self.send(owner, change.messages, replies)
        if not new_org:
            return collection.store_last(href, item)
        stored = change.stored
        assert stored is not None
        set_schedule_status(stored, {who: statuses[who].code for who in change.attempted
                                     if who in statuses})
        # Rooms and resources answered at once: their answer goes into the
        # organizer's copy being stored (RFC 6638 s4.2).
        for reply in replies:
            stored = inbound.apply_reply(reply.calendar, stored, reply.sender) or stored
        result = self._store(collection, href, stored, ctx)
        for reply in replies:
            self.notice_reply(reply, owner, stored)
        return result

    def _store(self, collection: Collection, href: str, stored: Component,
               ctx: RequestContext):
        """A client-written scheduling object gets a new schedule tag (RFC 6638
        s3.2.10: a direct change always changes it)."""
        tag = uuid.uuid4().hex
        ical.remove_private(stored)
        stored_item = radicale_item.Item(collection_path=collection.path, vobject_item=stored)
        stored_item.prepare()
        self.storage.check_size(stored_item.serialize(), "This meeting")
        result = collection.store_last(href, stored_item, tag)
        ctx.schedule_tag, ctx.rewritten = tag, True
        return result

    def _attendee_upload(self, collection: Collection, href: str, item: radicale_item.Item,
                         ctx: RequestContext, old: Optional[Component], new: Component,
                         addresses: FrozenSet[str]):
        """An attendee's write to their copy (RFC 6638 s3.2.2)."""
        me_old = attendee.my_address(old, addresses)
        me_new = attendee.my_address(new, addresses)
        if me_old is None and me_new is not None:
            old = rules.organizers_view(self.storage, collection.owner, new, me_new, addresses)
            me_old = me_new if old is not None else None
        if me_old is None:
            if me_new is None:
                return collection.store_last(href, item)  # no scheduling at all
            # An invitation the attendee stored themselves (e.g. from a mail):
            # kept as it is, nothing is sent (s3.2.2.2).
            return self._store(collection, href, ical.clone(new), ctx)
        if me_new != me_old or {ical.organizer(c) for c in ical.components(new)} != {
                ical.organizer(c) for c in ical.components(old)}:
            raise SchedulingError(rules.ATTENDEE_CHANGE, "An attendee cannot change the "
                                  "organizer of a meeting or remove themselves from it; "
                                  "delete it to decline.")
        rules.check_values(new)
        new = ical.clone(new)
        if ctx.if_schedule_tag_match is not None:
            attendee.merge_other_attendees(old, new, me_old)
        change = attendee.attendee_change(old, new, me_old, _now())
        rules.check_sender(ctx, collection.owner, change.messages)
        statuses = self.send(collection.owner, change.messages)
        stored = change.stored
        assert stored is not None
        for message in change.messages:
            status = statuses.get(message.recipient)
            if status is None:
                continue
            if message.method == "REPLY":
                attendee.set_organizer_status(stored, status.code)
            else:  # the REQUEST to a delegate (RFC 5546 s4.2.5)
                set_schedule_status(stored, {message.recipient: status.code})
        return self._store(collection, href, stored, ctx)

    def delete(self, collection: Collection, href: str, ctx: RequestContext) -> None:
        """Removal of one item (RFC 6638 s3.2.1.3): CANCEL to the attendees, or
        the attendee's declining REPLY."""
        old_item = collection._get(href) if collection.exists_href(href) else None
        if old_item is None:
            return
        rules.check_tag(ctx, collection, href, "")
        if not rules.mentions_organizer(old_item.serialize()):
            return
        old = old_item.vobject_item
        addresses = rules.owner_addresses(self.storage, collection.owner, old)
        if is_organizer_object(old, addresses):
            messages = organizer_change(old, None, addresses, _now()).messages
        else:
            me = attendee.my_address(old, addresses)
            if me is None or not ctx.schedule_reply:
                return
            messages = attendee.removal(old, me, _now())
        rules.check_sender(ctx, collection.owner, messages)
        self.send(collection.owner, messages)

    def move(self, source: Collection, href: str, target: Collection, to_href: str,
             ctx: RequestContext, plain_move: Callable[[], None]) -> None:
        """MOVE of one item (RFC 6638 s3.2.3.4), under the write lock.

        Between one owner's calendars nothing is sent (s3.2.3.4, "None").  A
        meeting leaving its owner's calendars is removed there by DELETE's
        rules (s3.2.3.2), and the destination gets what a PUT of it would
        (s3.2.3.1); both and the messages are one journal operation.
        ``plain_move`` is Radicale's own."""
        old_item = source._get(href) if source.exists_href(href) else None
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
            txn.stage(journal.Write(os.path.join(source._filesystem_path, href), None))
            source.set_schedule_tag(href, None)
            moved = radicale_item.Item(collection_path=target.path, text=text)
            moved.prepare()
            self.upload(target, to_href, moved, inner)
        return None
