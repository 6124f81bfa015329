"""What a write may not do (RFC 6638 s3.2): each check raises SchedulingError
while nothing is written or sent yet."""

from __future__ import annotations

from typing import TYPE_CHECKING, FrozenSet, List, Optional

from vobject.base import Component

from radicale_scheduling.context import RequestContext
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.instances import view
from radicale_scheduling.itip.organizer import is_organizer_object

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage
    from radicale_scheduling.storage.collection import Collection

ATTENDEE_CHANGE = "C:allowed-attendee-scheduling-object-change"


def mentions_organizer(text: Optional[str]) -> bool:
    return text is not None and "\nORGANIZER" in text.upper()


def check_tag(ctx: RequestContext, collection: Collection, href: str,
              by: str = "by its organizer or attendee ") -> None:
    """If-Schedule-Tag-Match (RFC 6638 s3.2.10)."""
    header = ctx.if_schedule_tag_match
    if header is not None and header.strip().strip('"') != collection.schedule_tag(href):
        raise SchedulingError(None, "If-Schedule-Tag-Match: the object was changed %ssince"
                              % by, status=412)


def check_sender(ctx: RequestContext, owner: str, messages: list) -> None:
    """Only the owner sends in the owner's name (RFC 6638 App. B.6): rights
    to write into a calendar are no right to invite as its owner."""
    if messages and ctx.user != owner:
        raise SchedulingError("D:need-privileges", "Only %s can send invitations and "
                              "cancellations in their name (schedule-send on their outbox)."
                              % owner)


def owner_addresses(storage: Storage, owner: str, *cals: Optional[Component]
                    ) -> FrozenSet[str]:
    """The owner's addresses, and any in ``cals`` naming them (a principal
    URL)."""
    directory = storage.directory
    addresses = set(directory.principal(owner).addresses)
    for cal in cals:
        for comp in ical.components(cal):
            for line in ical.lines(comp, "organizer") + ical.attendees(comp):
                who = ical.address(line)
                if who not in addresses and directory.user_for_address(who) == owner:
                    addresses.add(who)
    return frozenset(addresses)


def check_unique(storage: Storage, collection: Collection, uid: str) -> None:
    """RFC 6638 s3.2.4.1: one scheduling object per UID and owner."""
    found = storage.find_uid(collection.owner, uid, exclude=collection.path)
    if found is not None:
        other = "/%s/%s" % (found[0].path, found[1])
        raise SchedulingError("C:unique-scheduling-object-resource",
                              "A meeting with this UID already exists at %s." % other,
                              href=other)


def _local_meeting(storage: Storage, user: str, uid: str) -> Optional[Component]:
    found = storage.find_uid(user, uid)
    meeting = found[2].vobject_item if found is not None else None
    if meeting is None or not is_organizer_object(
            meeting, owner_addresses(storage, user, meeting)):
        return None
    return meeting


def _invited(meeting: Component, addresses: FrozenSet[str]) -> bool:
    return any(ical.attendee(c, a) is not None
               for c in ical.components(meeting) for a in addresses)


def check_not_attending(storage: Storage, owner: str, uid: str, new: Component,
                        addresses: FrozenSet[str]) -> None:
    """Nobody makes themselves the organizer of a meeting they are invited to
    (whatever copy they deleted before)."""
    users = {storage.directory.user_for_address(ical.address(x))
             for c in ical.components(new) for x in ical.attendees(c)}
    for user in sorted(u for u in users if u and u != owner):
        meeting = _local_meeting(storage, user, uid)
        if meeting is not None and _invited(meeting, addresses):
            raise SchedulingError(ATTENDEE_CHANGE, "This UID is %s's meeting, which you are "
                                  "invited to; only %s can change it." % (user, user))


def organizers_view(storage: Storage, owner: str, new: Component, me: str,
                    addresses: FrozenSet[str]) -> Optional[Component]:
    """A new attendee copy is checked against the local organizer's meeting
    as sent to ``me`` (as Apple's server does); None when no user here
    organizes it.  Refused: ``me`` not invited ("party crash"), or another
    ORGANIZER named for a meeting ``me`` attends."""
    directory = storage.directory
    comps = ical.components(new)
    uid = ical.text(comps[0], "uid") or "" if comps else ""
    organizer = next(iter({ical.organizer(c) for c in comps} - {None}), None)
    organizer_user = directory.user_for_address(organizer) if organizer else None
    listed = {directory.user_for_address(ical.address(x)) for c in comps
              for x in ical.attendees(c)}
    users: List[Optional[str]] = [organizer_user, *sorted(u for u in listed if u)]
    for user in dict.fromkeys(users):
        meeting = None if user is None or user == owner else _local_meeting(storage, user, uid)
        if meeting is None:
            continue
        if user != organizer_user:
            if _invited(meeting, addresses):
                raise SchedulingError(ATTENDEE_CHANGE, "This UID is %s's meeting, which you "
                                      "are invited to: its ORGANIZER cannot be changed." % user)
            continue
        seen = view(meeting, me)
        if not seen:
            raise SchedulingError(ATTENDEE_CHANGE, "You are not invited to this meeting of "
                                  "%s; only the organizer can invite." % user)
        result = ical.new_calendar(meeting, None)
        for key in ical.iter_instances_keys(seen):
            comp = ical.add_component(result, seen[key])
            ical.strip_server_params(comp)
            ical.remove_alarms(comp)
        return result
    return None
