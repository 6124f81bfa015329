"""Implicit scheduling on writes (RFC 6638 s3.2.3): PUT, DELETE, MOVE.

Radicale writes an item with ``Collection.upload`` and removes it with
``Collection.delete``, both under its storage write lock.  This module runs
inside those calls: it decides from the old and new object what the change
means (the iTIP engine), delivers the messages, and stores the organizer's
object last.  Everything happens under the one lock Radicale already holds,
so no other request sees a half-done operation; a refusal raises
SchedulingError before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import uuid
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, List, Optional

from radicale import item as radicale_item
from radicale.log import logger
from vobject.base import Component

from radicale_scheduling.context import RequestContext
from radicale_scheduling.delivery import local
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
    view,
)
from radicale_scheduling.storage import journal

if TYPE_CHECKING:

    from radicale_scheduling.storage import Storage
    from radicale_scheduling.storage.collection import Collection

#: SCHEDULE-STATUS for addresses that are neither local users nor
#: reachable: no way to deliver (RFC 6638 s3.2.9).  E-mail delivery (iMIP)
#: replaces this for external addresses once configured.
NO_ROUTE = "5.2"
#: An address in the server's own domain that names no user.
UNKNOWN_USER = "3.7"


def _mentions_organizer(text: Optional[str]) -> bool:
    return text is not None and "\nORGANIZER" in text.upper()


def tag_matches(header: str, current: Optional[str]) -> bool:
    return current is not None and header.strip().strip('"') == current


def _check_values(cal: Component) -> None:
    """What a scheduling PUT sends on is well formed (ical.check_values):
    400 with CALDAV:valid-calendar-data (RFC 4791 s5.3.2.1), nothing
    stored or sent."""
    try:
        ical.check_values(cal)
    except ical.InvalidCalendar as e:
        raise SchedulingError("C:valid-calendar-data", str(e),
                              status=400) from e


class Scheduler:
    """Implicit scheduling for one storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # -- addresses ---------------------------------------------------------

    def owner_addresses(self, owner: str, *cals: Optional[Component]
                        ) -> FrozenSet[str]:
        """The owner's addresses, and any address in ``cals`` naming them
        (their principal URL, for clients that use it)."""
        addresses = set(self.storage.directory.principal(owner).addresses)
        for cal in cals:
            for comp in ical.components(cal):
                for line in ical.lines(comp, "organizer") + \
                        ical.attendees(comp):
                    who = ical.address(line)
                    if who not in addresses and \
                            self.storage.directory.user_for_address(who) == owner:
                        addresses.add(who)
        return frozenset(addresses)

    # -- PUT ---------------------------------------------------------------

    def upload(self, collection: Collection, href: str,
               item: radicale_item.Item, ctx: RequestContext):
        if ical.drop_placeholder_names(item.vobject_item):
            # A client's CN=None reaches nobody's copy, inbox or mail.
            item = radicale_item.Item(collection_path=collection.path,
                                      vobject_item=item.vobject_item)
            item.prepare()
        new_text = item.serialize()
        old_item = collection._get(href) if collection.exists_href(href) \
            else None
        old_text = old_item.serialize() if old_item is not None else None
        if ctx.if_schedule_tag_match is not None:
            if not tag_matches(ctx.if_schedule_tag_match,
                               collection.schedule_tag(href)):
                raise SchedulingError(
                    None, "If-Schedule-Tag-Match: the object was changed by "
                    "its organizer or attendee since", status=412)
        if not _mentions_organizer(new_text) and \
                not _mentions_organizer(old_text):
            return collection.store_last(href, item)
        new = item.vobject_item
        old = old_item.vobject_item if old_item is not None else None
        check_same_organizer(new)
        owner = collection.owner
        addresses = self.owner_addresses(owner, old, new)
        old_org = is_organizer_object(old, addresses)
        new_org = is_organizer_object(new, addresses)
        if old_org and not new_org and ical.components(new) and any(
                ical.organizer(c) not in (None, *addresses)
                for c in ical.components(new)):
            raise SchedulingError(
                "C:allowed-organizer-scheduling-object-change",
                "The ORGANIZER of a scheduled meeting cannot be changed; "
                "cancel it and invite again instead.")
        if not old_org and new_org and \
                attendee.my_address(old, addresses) is not None:
            raise SchedulingError(
                "C:allowed-attendee-scheduling-object-change",
                "An attendee cannot make themselves the organizer of a "
                "meeting (RFC 6638 section 3.2.2.1).")
        now = datetime.datetime.now(datetime.timezone.utc)
        if not old_org and not new_org:
            return self._attendee_upload(collection, href, item, ctx, old,
                                         new, addresses, now)
        if new_org:
            _check_values(new)
            self._check_unique(collection, href, item.uid)
            if not old_org:
                self._check_not_attending(owner, item.uid, new, addresses)
            if ctx.if_schedule_tag_match is not None and old_org:
                new = ical.clone(new)
                merge_attendee_states(old, new, addresses)
                delegation.merge_delegates(old, new)
            change = organizer_change(old if old_org else None, new,
                                      addresses, now)
        else:
            change = organizer_change(old, None, addresses, now)
        self._check_sender(ctx, owner, change.messages)
        self._check_mail_limit(change.messages)
        replies: List[Message] = []
        statuses = self.send(owner, change.messages, replies)
        if not new_org:
            return collection.store_last(href, item)
        stored = change.stored
        assert stored is not None
        set_schedule_status(stored, {who: statuses.get(who, local.DELIVERED)
                                     for who in change.attempted
                                     if who in statuses})
        # Rooms and resources answered at once: their answer goes into the
        # organizer's copy being stored (RFC 6638 s4.2).
        for reply in replies:
            stored = inbound.apply_reply(reply.calendar, stored,
                                         reply.sender) or stored
        result = self._store_scheduling_object(collection, href, stored, ctx)
        for reply in replies:
            local.notice_reply(self.storage, reply, owner, stored)
        return result

    def _store_scheduling_object(self, collection: Collection, href: str,
                                 stored: Component, ctx: RequestContext):
        """Store a client-written scheduling object with a new schedule tag
        (RFC 6638 s3.2.10: a direct change always changes the tag)."""
        tag = uuid.uuid4().hex
        ical.remove_private(stored)
        stored_item = radicale_item.Item(collection_path=collection.path,
                                        vobject_item=stored)
        stored_item.prepare()
        self.storage.check_size(stored_item.serialize(), "This meeting")
        result = collection.store_last(href, stored_item, tag)
        ctx.schedule_tag, ctx.rewritten = tag, True
        return result

    def _attendee_upload(self, collection: Collection, href: str,
                         item: radicale_item.Item, ctx: RequestContext,
                         old: Optional[Component], new: Component,
                         addresses: FrozenSet[str],
                         now: datetime.datetime):
        """An attendee's write to their copy (RFC 6638 s3.2.2)."""
        me_old = attendee.my_address(old, addresses)
        me_new = attendee.my_address(new, addresses)
        if me_old is None and me_new is not None:
            # A copy of a local organizer's meeting is checked against
            # what the organizer sent (Apple's server does the same).
            old = self._organizers_view(collection.owner, new, me_new,
                                        addresses)
            me_old = me_new if old is not None else None
        if me_old is None:
            if me_new is None:
                return collection.store_last(href, item)  # not scheduling at all
            # An invitation the attendee stored themselves (e.g. from a
            # mail): kept as it is, nothing is sent (s3.2.2.2).
            return self._store_scheduling_object(collection, href,
                                                 ical.clone(new), ctx)
        if me_new != me_old or {ical.organizer(c) for c in
                                ical.components(new)} != {
                ical.organizer(c) for c in ical.components(old)}:
            raise SchedulingError(
                "C:allowed-attendee-scheduling-object-change",
                "An attendee cannot change the organizer of a meeting or "
                "remove themselves from it; delete it to decline.")
        _check_values(new)
        new = ical.clone(new)
        if ctx.if_schedule_tag_match is not None:
            attendee.merge_other_attendees(old, new, me_old)
        change = attendee.attendee_change(old, new, me_old, now)
        self._check_sender(ctx, collection.owner, change.messages)
        statuses = self.send(collection.owner, change.messages)
        stored = change.stored
        assert stored is not None
        for message in change.messages:
            status = statuses.get(message.recipient)
            if status is None:
                continue
            if message.method == "REPLY":
                attendee.set_organizer_status(stored, status)
            else:  # the REQUEST to a delegate (RFC 5546 s4.2.5)
                set_schedule_status(stored, {message.recipient: status})
        return self._store_scheduling_object(collection, href, stored, ctx)

    def _local_meeting(self, user: str, uid: str
                       ) -> Optional[Component]:
        """``user``'s own meeting with this UID (they organize it)."""
        found = self.storage.find_uid(user, uid)
        if found is None:
            return None
        meeting = found[2].vobject_item
        if not is_organizer_object(meeting, self.owner_addresses(user,
                                                                  meeting)):
            return None
        return meeting

    def _check_not_attending(self, owner: str, uid: str, new: Component,
                             addresses: FrozenSet[str]) -> None:
        """Nobody makes themselves the organizer of a meeting they are
        invited to: a new meeting of the owner with the UID of a local
        organizer's meeting that lists the owner is refused (whatever
        copy the owner deleted before)."""
        listed = {ical.address(x) for c in ical.components(new)
                  for x in ical.attendees(c)}
        users = {self.storage.directory.user_for_address(a) for a in listed}
        for user in sorted(u for u in users if u and u != owner):
            meeting = self._local_meeting(user, uid)
            if meeting is not None and any(
                    ical.attendee(c, a) is not None
                    for c in ical.components(meeting) for a in addresses):
                raise SchedulingError(
                    "C:allowed-attendee-scheduling-object-change",
                    "This UID is %s's meeting, which you are invited to; "
                    "only %s can change it." % (user, user))

    def _organizers_view(self, owner: str, new: Component, me: str,
                         addresses: FrozenSet[str]) -> Optional[Component]:
        """For a new attendee copy of a local organizer's meeting: the
        meeting as the organizer sent it to ``me``, to check the copy
        against; None when no user named in it organizes this UID here.
        Refused when ``me`` is not invited ("party crash"), and when the
        copy names another ORGANIZER for a meeting ``me`` attends."""
        comps = ical.components(new)
        uid = ical.text(comps[0], "uid") or "" if comps else ""
        organizer = next(iter({ical.organizer(c) for c in comps} - {None}),
                         None)
        organizer_user = self.storage.directory.user_for_address(organizer) \
            if organizer else None
        listed = {self.storage.directory.user_for_address(ical.address(x))
                  for c in comps for x in ical.attendees(c)}
        users = [organizer_user] + sorted(u for u in listed if u)
        for user in dict.fromkeys(users):
            if user is None or user == owner:
                continue
            meeting = self._local_meeting(user, uid)
            if meeting is None:
                continue
            if user != organizer_user:
                if any(ical.attendee(c, a) is not None
                       for c in ical.components(meeting) for a in addresses):
                    raise SchedulingError(
                        "C:allowed-attendee-scheduling-object-change",
                        "This UID is %s's meeting, which you are invited "
                        "to: its ORGANIZER cannot be changed." % user)
                continue
            seen = view(meeting, me)
            if not seen:
                raise SchedulingError(
                    "C:allowed-attendee-scheduling-object-change",
                    "You are not invited to this meeting of %s; only the "
                    "organizer can invite." % user)
            result = ical.new_calendar(meeting, None)
            for key in ical.iter_instances_keys(seen):
                comp = ical.add_component(result, seen[key])
                ical.strip_server_params(comp)
                ical.remove_alarms(comp)
            return result
        return None

    def _check_unique(self, collection: Collection, href: str,
                      uid: str) -> None:
        """RFC 6638 s3.2.4.1: one scheduling object per UID and owner."""
        found = self.storage.find_uid(collection.owner, uid,
                                      exclude=collection.path)
        if found is not None:
            other = "/%s/%s" % (found[0].path, found[1])
            raise SchedulingError(
                "C:unique-scheduling-object-resource",
                "A meeting with this UID already exists at %s." % other,
                href=other)

    # -- DELETE ------------------------------------------------------------

    def delete(self, collection: Collection, href: str,
               ctx: RequestContext) -> None:
        """Remove of one item (RFC 6638 s3.2.1.3): CANCEL to attendees."""
        old_item = collection._get(href) if collection.exists_href(href) \
            else None
        if old_item is None:
            return
        old = old_item.vobject_item if _mentions_organizer(
            old_item.serialize()) else None
        if ctx.if_schedule_tag_match is not None and \
                not tag_matches(ctx.if_schedule_tag_match,
                                collection.schedule_tag(href)):
            raise SchedulingError(
                None, "If-Schedule-Tag-Match: the object was changed since",
                status=412)
        if old is None:
            return
        addresses = self.owner_addresses(collection.owner, old)
        now = datetime.datetime.now(datetime.timezone.utc)
        if is_organizer_object(old, addresses):
            change = organizer_change(old, None, addresses, now)
            self._check_sender(ctx, collection.owner, change.messages)
            self.send(collection.owner, change.messages)
            return
        me = attendee.my_address(old, addresses)
        if me is not None and ctx.schedule_reply:
            messages = attendee.removal(old, me, now)
            self._check_sender(ctx, collection.owner, messages)
            self.send(collection.owner, messages)

    # -- MOVE --------------------------------------------------------------

    def move(self, source: Collection, href: str, target: Collection,
             to_href: str, ctx: RequestContext,
             plain_move: Callable[[], None]) -> None:
        """MOVE of one item (RFC 6638 s3.2.3.4), under the write lock.

        Between calendars of one owner nothing is sent: the meeting stays
        in her calendars (s3.2.3.4, "None").  A meeting that leaves its
        owner's calendars is removed there by DELETE's rules (s3.2.3.2:
        CANCEL or a declining REPLY, in the owner's name only), and the
        destination gets what a PUT of it would (s3.2.3.1: the
        organizer's and attendee's change rules against an overwritten
        object, the UID's uniqueness, nobody scheduling in another's
        name).  Source removal, messages and the destination's object
        are one journal operation.  ``plain_move`` is Radicale's own.
        """
        old_item = source._get(href) if source.exists_href(href) else None
        if old_item is None:
            return plain_move()
        # s3.2.10.2: the tag is the moved resource's.
        if ctx.if_schedule_tag_match is not None and not tag_matches(
                ctx.if_schedule_tag_match, source.schedule_tag(href)):
            raise SchedulingError(
                None, "If-Schedule-Tag-Match: the object was changed by "
                "its organizer or attendee since", status=412)
        text = old_item.serialize()
        same_file = source.path == target.path and href == to_href
        overwritten = None if same_file or not target.exists_href(to_href) \
            else target.read_text(to_href)
        same_owner = source.owner == target.owner
        if same_file or not _mentions_organizer(text) and \
                not _mentions_organizer(overwritten) or \
                same_owner and overwritten is None:
            return plain_move()
        inner = dataclasses.replace(ctx, if_schedule_tag_match=None)
        with self.storage.journal.transaction() as txn:
            if not same_owner:
                self.delete(source, href, inner)
            # Staged before the destination is worked out, so that its
            # checks (the UID among the owner's calendars) see it gone.
            txn.stage(journal.Write(
                os.path.join(source._filesystem_path, href), None))
            source.set_schedule_tag(href, None)
            moved = radicale_item.Item(collection_path=target.path,
                                       text=text)
            moved.prepare()
            self.upload(target, to_href, moved, inner)
        return None

    # -- sending -----------------------------------------------------------

    def _check_mail_limit(self, messages: list) -> None:
        """One change may mail at most scheduling_smtp_max_recipients
        people: a meeting with 10,000 attendees is no spam relay."""
        if self.storage.outbound is None:
            return
        external = {m.recipient for m in messages if not m.quiet
                    and self.storage.directory.user_for_address(m.recipient) is None
                    and not self.storage.directory.is_local_domain(
                        m.recipient)}
        limit = self.storage.settings.smtp_max_recipients
        if len(external) > limit:
            raise SchedulingError(
                None, "This change would e-mail %d people outside the "
                "server; at most %d are allowed "
                "(scheduling_smtp_max_recipients)." % (len(external), limit))

    @staticmethod
    def _check_sender(ctx: RequestContext, owner: str, messages: list
                      ) -> None:
        """Only the owner sends in the owner's name (RFC 6638 App. B.6).

        Rights may let another user write into the owner's calendar; that
        does not let them invite or cancel as the owner.
        """
        if messages and ctx.user != owner:
            raise SchedulingError(
                "D:need-privileges",
                "Only %s can send invitations and cancellations in their "
                "name (schedule-send on their outbox)." % owner)

    def send(self, sender_user: str, messages: list,
             replies: Optional[List[Message]] = None) -> Dict[str, str]:
        """Deliver messages; return the status per recipient.  Automatic
        answers (rooms) go to ``replies`` when given, else are sent on."""
        statuses: Dict[str, str] = {}
        answers: List[Message] = []
        for message in messages:
            statuses[message.recipient] = self.deliver(sender_user, message,
                                                       answers)
        if replies is not None:
            replies.extend(answers)
        else:
            for answer in answers:
                self.deliver(self.storage.directory.user_for_address(answer.sender)
                             or "", answer)
        return statuses

    def deliver(self, sender_user: str, message: Message,
                replies: Optional[List[Message]] = None) -> str:
        user = self.storage.directory.user_for_address(message.recipient)
        if user is not None and user != sender_user:
            return local.deliver(self.storage, message, user, replies)
        if user == sender_user:
            return local.DELIVERED
        if self.storage.directory.is_local_domain(message.recipient):
            logger.info("Scheduling: %s for %r to unknown local address %r",
                        message.method, message.uid, message.recipient)
            return UNKNOWN_USER
        if message.quiet:
            return NO_ROUTE  # only refreshes a copy: no mail for that
        if self.storage.outbound is not None and \
                message.recipient.startswith("mailto:"):
            return self.storage.outbound.enqueue(message, sender_user)
        logger.info("Scheduling: no route for %s to %r (e-mail delivery "
                    "is not configured)", message.method, message.recipient)
        return NO_ROUTE

