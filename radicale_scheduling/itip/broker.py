"""The iTIP broker: the engine's two entry points, as sabre/vobject's.

``parse_event``: what a change of a stored object (a PUT, DELETE or MOVE
of the owner's calendar object) sends to whom, and what to store.
``process_message``: what a received message does to the recipient's
object, and the messages the recipient's side sends in consequence.
Pure: the caller passes in what it knows of the world (who is a local
user, the clock, a room's busy time) and does the I/O.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable, FrozenSet, List, Mapping, Optional, Sequence, Set, Union

from vobject.base import Component

from radicale_scheduling.itip import attendee, delegation, inbound, rooms, text
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import status as st
from radicale_scheduling.itip.errors import InvalidCalendar, SchedulingError
from radicale_scheduling.itip.inbound import UserOf
from radicale_scheduling.itip.message import Message
from radicale_scheduling.itip.organizer import (
    check_same_organizer,
    is_organizer_object,
    organizer_change,
)
from radicale_scheduling.itip.revision import merge_attendee_states, set_schedule_status

ORGANIZER, ATTENDEE = "ORGANIZER", "ATTENDEE"


# -- a change of a stored object ---------------------------------------------

@dataclass
class Sending:
    """What a change of a stored object means.  ``role`` is "" when it is
    no scheduling object (store it as it is); ``stored`` None means the
    client's object is stored as sent."""

    role: str = ""
    stored: Optional[Component] = None
    messages: List[Message] = field(default_factory=list)
    #: Attendees who get a SCHEDULE-STATUS (RFC 6638 s3.2.9).
    attempted: Set[str] = field(default_factory=set)
    #: A new organizer object (the UID was no meeting of the owner).
    created: bool = False

    def record(self, statuses: Mapping[str, Union[st.Status, str]],
               answers: Sequence[Message] = ()) -> Optional[Component]:
        """``stored`` with the delivery statuses (RFC 6638 s3.2.9) and
        the answers rooms gave at once (s4.2) written in."""
        stored = self.stored
        if stored is None:
            return None
        codes = {who: value if isinstance(value, str) else value.code
                 for who, value in statuses.items()}
        if self.role == ORGANIZER:
            set_schedule_status(stored, {who: codes[who] for who in
                                         self.attempted if who in codes})
            for answer in answers:
                stored = inbound.apply_reply(answer.calendar, stored,
                                             answer.sender) or stored
            return stored
        for message in self.messages:
            code = codes.get(message.recipient)
            if code is not None and message.method == "REPLY":
                attendee.set_organizer_status(stored, code)
            elif code is not None:  # the REQUEST to a delegate (s4.2.5)
                set_schedule_status(stored, {message.recipient: code})
        return stored


def _check_values(cal: Component) -> None:
    """What is sent on is well formed: CALDAV:valid-calendar-data (RFC
    4791 s5.3.2.1), 400, nothing stored or sent."""
    try:
        ical.check_values(cal)
    except InvalidCalendar as e:
        raise SchedulingError("C:valid-calendar-data", str(e),
                              status=400) from e


def parse_event(old: Optional[Component], new: Optional[Component],
                addresses: FrozenSet[str], now: datetime.datetime, *,
                tag_matched: bool = False, schedule_reply: bool = True,
                organizers_view: Callable[[str], Optional[Component]]
                = lambda me: None) -> Sending:
    """The owner (``addresses``) changes ``old`` into ``new`` (None: a
    removal).  ``tag_matched``: written with If-Schedule-Tag-Match (RFC
    6638 s3.2.10.1); ``schedule_reply``: a removal declines (s8.1);
    ``organizers_view(me)``: the meeting as a local organizer sent it to
    ``me``, for an attendee copy the owner writes first.  Raises
    SchedulingError for a change the owner may not make."""
    if new is None:
        if is_organizer_object(old, addresses):
            change = organizer_change(old, None, addresses, now)
            return Sending(ORGANIZER, None, change.messages)
        me = attendee.my_address(old, addresses)
        if me is None or old is None or not schedule_reply:
            return Sending()
        return Sending(ATTENDEE, None, attendee.removal(old, me, now))
    check_same_organizer(new)
    old_org = is_organizer_object(old, addresses)
    new_org = is_organizer_object(new, addresses)
    if old_org and not new_org and any(
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
    if new_org:
        _check_values(new)
        if tag_matched and old_org:
            assert old is not None
            new = ical.clone(new)
            merge_attendee_states(old, new, addresses)
            delegation.merge_delegates(old, new)
        change = organizer_change(old if old_org else None, new, addresses,
                                  now)
        return Sending(ORGANIZER, change.stored, change.messages,
                       change.attempted, created=not old_org)
    if old_org:
        return Sending(ORGANIZER, None,
                       organizer_change(old, None, addresses, now).messages)
    return _attendee_event(old, new, addresses, now, tag_matched,
                           organizers_view)


def _attendee_event(old: Optional[Component], new: Component,
                    addresses: FrozenSet[str], now: datetime.datetime,
                    tag_matched: bool,
                    organizers_view: Callable[[str], Optional[Component]]
                    ) -> Sending:
    """An attendee's write to their copy (RFC 6638 s3.2.2)."""
    me_old = attendee.my_address(old, addresses)
    me_new = attendee.my_address(new, addresses)
    if me_old is None and me_new is not None:
        # A copy of a local organizer's meeting is checked against what
        # the organizer sent (as Apple's server does).
        old = organizers_view(me_new)
        me_old = me_new if old is not None else None
    if me_old is None or old is None:
        # Not scheduling at all, or an invitation the attendee stored
        # themselves (from a mail): kept as it is (s3.2.2.2).
        return Sending() if me_new is None else \
            Sending(ATTENDEE, ical.clone(new))
    if me_new != me_old or ical.organizers(new) != ical.organizers(old):
        raise SchedulingError(
            "C:allowed-attendee-scheduling-object-change",
            "An attendee cannot change the organizer of a meeting or "
            "remove themselves from it; delete it to decline.")
    _check_values(new)
    new = ical.clone(new)
    if tag_matched:
        merge_attendee_states(old, new, frozenset({me_old}))
    change = attendee.attendee_change(old, new, me_old, now)
    return Sending(ATTENDEE, change.stored, change.messages)


# -- a received message --------------------------------------------------------

@dataclass
class Received:
    """What a message does to its recipient's object.  ``copy`` (or, for
    a new invitation, ``text``: the shared body without METHOD, no parse)
    is the object to store; ``retag``: its schedule tag changes (RFC 6638
    s3.2.10); ``inbox``: the message is left in the schedule inbox."""

    status: st.Status = st.DELIVERED
    copy: Optional[Component] = None
    text: Optional[str] = None
    retag: bool = False
    inbox: bool = True
    follow_ups: List[Message] = field(default_factory=list)


def process_message(message: Message, stored: Optional[Component],
                    user: str, user_of: UserOf, now: datetime.datetime,
                    room: Optional[rooms.Room] = None) -> Received:
    """``message`` for local ``user``, whose object with its UID is
    ``stored``.  ``room``: the recipient is a room that answers."""
    if message.method == "REPLY":
        return _reply(message, stored, user, user_of, now)
    if room is not None and rooms.is_task(message):
        return Received(inbox=False,
                        follow_ups=rooms.refuse_task(message, now))
    if stored is not None and not inbound.same_organizer(
            stored, message.calendar, user_of):
        # RFC 5546 s3.2.2: only the organizer updates or cancels.
        return Received(st.NO_AUTHORITY, inbox=False)
    if message.quiet and stored is None:
        return Received(inbox=False)  # nothing to keep current
    result = Received(inbox=not message.quiet)
    if stored is None and message.method == "REQUEST":
        result.text = text.without_method(message.serialize())
        result.retag = True
    elif stored is not None:
        result.copy = inbound.apply(message.method, message.calendar,
                                    stored, message.recipient)
        if result.copy is not None:
            ical.remove_private(result.copy)
            result.retag = inbound.retag(stored, result.copy)
    if room is not None and message.method == "REQUEST" and \
            (result.copy is not None or result.text is not None):
        copy = result.copy or ical.parse(result.text or "")
        answers = rooms.answer(copy, message.recipient, now, room)
        if answers:
            result.copy, result.text = copy, None
            result.follow_ups.extend(answers)
    return result


def _reply(message: Message, stored: Optional[Component], user: str,
           user_of: UserOf, now: datetime.datetime) -> Received:
    """An attendee's REPLY to a local organizer (RFC 6638 s4.2); a quiet
    one is that answer shown in another attendee's copy."""
    if message.quiet:
        copy = inbound.apply_reply(message.calendar, stored, message.sender,
                                   record_status=False)
        return Received(copy=copy, inbox=False)
    if stored is not None and \
            {user_of(a) for a in inbound.organizers(stored)} != {user}:
        # Only a meeting the recipient organizes takes the reply.
        return Received(st.NO_AUTHORITY, inbox=False)
    updated = inbound.apply_reply(message.calendar, stored, message.sender)
    if updated is None or stored is None:
        return Received(inbox=False)  # no such meeting, or nothing new
    return Received(copy=updated, follow_ups=reply_follow_ups(
        message, stored, updated, user, user_of, now))


def reply_follow_ups(message: Message, before: Optional[Component],
                     meeting: Component, user: str, user_of: UserOf,
                     now: datetime.datetime) -> List[Message]:
    """What the organizer's side sends once a REPLY is in ``meeting``:
    the answer to the other local attendees' copies (RFC 6638 s4.2
    SHOULD; quiet), a new delegate to them (quiet), the meeting again to
    delegators whose delegate declined (RFC 5546 s4.2.5 MUST, s4.2.7),
    and to local delegates of an attendee outside the server, whose own
    REQUEST would not be taken (s5.2.2)."""
    def listed(cal: Optional[Component]) -> Set[str]:
        return {ical.address(x) for c in ical.components(cal)
                for x in ical.attendees(c)}

    def request(who: str, quiet: bool = False) -> List[Message]:
        found = delegation.request_for(meeting, who, message.recipient, now)
        if found is not None:
            found.quiet = quiet
        return [found] if found is not None else []

    result: List[Message] = []
    seen = {message.sender}
    for comp in ical.components(meeting):
        for line in ical.attendees(comp):
            who = ical.address(line)
            if who in seen or ical.agent(line) != "SERVER":
                continue
            seen.add(who)
            if user_of(who) not in (None, user):
                result.append(Message("REPLY", who, message.sender,
                                      message.body, message.uid, True))
    added = listed(meeting) - listed(before)
    if added:
        for who in sorted(listed(meeting) - added - {message.sender}):
            if user_of(who) not in (None, user):
                result.extend(request(who, quiet=True))
    for who in sorted(delegation.delegators_to_tell(
            message.calendar, meeting, message.sender)):
        result.extend(request(who))
    if user_of(message.sender) is None:
        for who in sorted(added):
            if user_of(who) is not None:
                result.extend(request(who))
    return result
