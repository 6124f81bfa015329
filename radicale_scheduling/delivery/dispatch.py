"""The dispatcher: each message goes to the first transport that handles its
recipient; what a delivery sets off (``Outcome.follow_ups``) is routed in
the same journal operation."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, cast

from radicale.log import logger
from vobject.base import Component

from radicale_scheduling.delivery import local
from radicale_scheduling.delivery.transport import Outcome, Transport
from radicale_scheduling.itip import address, broker
from radicale_scheduling.itip import status as st
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.message import Message
from radicale_scheduling.itip.status import Status

if TYPE_CHECKING:
    from radicale_scheduling.delivery.outbound import Outbound
    from radicale_scheduling.storage import Storage

class Mail:
    """iMIP out (RFC 6047): addresses outside the server's domain."""

    def __init__(self, storage: Storage, queue: Outbound) -> None:
        self.storage, self.queue = storage, queue

    def handles(self, recipient: str) -> bool:
        return address.email(recipient) is not None and \
            not self.storage.directory.is_local_domain(recipient)

    def deliver(self, sender_user: str, message: Message) -> Outcome:
        if message.quiet:
            return Outcome(st.NO_ROUTE)  # only refreshes a copy: no mail
        self.storage.check_size(message.serialize(), "The message to %s" % message.recipient)
        return Outcome(self.queue.enqueue(message, sender_user))


class Dispatcher:
    def __init__(self, storage: Storage, transports: Sequence[Transport],
                 outbound: Optional[Outbound] = None) -> None:
        self.storage, self.transports, self.outbound = storage, list(transports), outbound

    def _transport(self, recipient: str) -> Optional[Transport]:
        return next((t for t in self.transports if t.handles(recipient)), None)

    def route(self, sender_user: str, message: Message) -> Outcome:
        transport = self._transport(message.recipient)
        if transport is not None:
            return transport.deliver(sender_user, message)
        if self.storage.directory.is_local_domain(message.recipient):
            logger.info("Scheduling: %s for %r to unknown local address %r", message.method,
                        message.uid, message.recipient)
            return Outcome(st.INVALID_USER)
        if not message.quiet:
            logger.info("Scheduling: no route for %s to %r (e-mail delivery is not "
                        "configured)", message.method, message.recipient)
        return Outcome(st.NO_ROUTE)

    def send(self, sender_user: str, messages: Sequence[Message],
             replies: Optional[List[Message]] = None) -> Dict[str, Status]:
        """The status per recipient.  Rooms' answers go to ``replies`` when
        given (into the organizer's copy being written)."""
        statuses: Dict[str, Status] = {}
        follow_ups: List[Tuple[str, Message]] = []
        for message in messages:
            outcome = self.route(sender_user, message)
            statuses[message.recipient] = outcome.status
            follow_ups.extend(outcome.follow_ups)
        for user, message in follow_ups:
            if replies is not None and message.method == "REPLY" and not message.quiet:
                replies.append(message)  # a room's answer
            else:
                self.send(user, [message])
        return statuses

    def deliver(self, sender_user: str, message: Message) -> Status:
        return self.send(sender_user, [message])[message.recipient]

    def notice_reply(self, reply: Message, organizer_user: str, meeting: Component) -> None:
        """A reply applied to the organizer's copy: the other attendees' copies
        and the inbox notice."""
        for follow_up in broker.reply_follow_ups(
                reply, meeting, meeting, organizer_user,
                self.storage.directory.user_for_address,
                datetime.datetime.now(datetime.timezone.utc)):
            if follow_up.quiet and follow_up.method == "REPLY":
                self.deliver(organizer_user, follow_up)
        self.storage.provision_locked(organizer_user)
        local.to_inbox(self.storage, organizer_user, reply)

    def check_mail_limit(self, messages: Sequence[Message]) -> None:
        """One change mails at most scheduling_smtp_max_recipients people: a
        meeting with 10,000 attendees is no spam relay."""
        external = {m.recipient for m in messages
                    if not m.quiet and isinstance(self._transport(m.recipient), Mail)}
        limit = self.storage.settings.smtp_max_recipients
        if len(external) > limit:
            raise SchedulingError(None, "This change would e-mail %d people outside the "
                                  "server; at most %d are allowed "
                                  "(scheduling_smtp_max_recipients)." % (len(external), limit))


def of(storage: Storage) -> Dispatcher:
    return cast(Dispatcher, storage.scheduler)

