"""The mail sender: iTIP messages for addresses outside the server.

A request never waits for the mail server: it queues (SCHEDULE-STATUS 1.0);
the sender sets 1.1 once the mail server took it, 5.1 while it retries (the
wait doubling, at most 6 hours), 5.2 or 5.3 after a permanent failure or
three days.  A claim is a rename into ``sending``: only a process dying
between the mail server's answer and its record sends a mail twice.
"""

from __future__ import annotations

import collections
import os
import smtplib
import threading
import time
from typing import TYPE_CHECKING, Dict, Optional

from radicale.log import logger

from radicale_scheduling.delivery import imip
from radicale_scheduling.delivery.queue import FAILED, PENDING, SENDING, TRACKED, Clock, Queue
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import status as st
from radicale_scheduling.itip.status import Status

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage

GIVE_UP_AFTER = 3 * 24 * 3600
MAX_WAIT = 6 * 3600
#: A claimed message older than this was left by a process that died.
STALE_CLAIM = 600
_queues: Dict[str, Outbound] = {}
_by_hand: Dict[str, Clock] = {}
_queues_lock = threading.Lock()


def run_by_hand(folder: str, clock: Clock = time.time) -> None:
    """No sender thread for ``folder``: the admin commands and tests call
    ``run_once``."""
    _by_hand[os.path.realpath(folder)] = clock


def shared(storage: Storage) -> Outbound:
    """One queue per folder and process, its thread started unless it is run
    by hand: Radicale may load its storage more than once."""
    key = os.path.realpath(storage.settings.queue_folder)
    with _queues_lock:
        queue = _queues.get(key)
        if queue is None:
            queue = _queues[key] = Outbound(storage, _by_hand.get(key, time.time))
            if key not in _by_hand:
                queue.start()
        queue.storage = storage
        return queue


class Outbound(Queue):
    def __init__(self, storage: Storage, clock: Clock = time.time) -> None:
        super().__init__(storage, clock)
        self._thread: Optional[threading.Thread] = None
        self._sent: Dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, daemon=True,
                                            name="radicale-scheduling-mail")
            self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                wait = self.run_once()
            except Exception:  # never let the sender die
                logger.exception("Scheduling: mail sender failed")
                wait = 60.0
            self.wake.wait(timeout=wait)
            self.wake.clear()

    def run_once(self) -> float:
        """Send what is due; return seconds until the next is due."""
        now = self.clock()
        soonest = 300.0
        self._recover_stale_claims(now)
        self.prune_sent_records(now)
        with self._lock:
            for entry in sorted(self.entries(PENDING), key=lambda e: e["next"]):
                if entry["next"] > now:
                    soonest = min(soonest, entry["next"] - now)
                elif not self._within_rate(entry["owner"], now):
                    entry["next"] = now + 60
                    self._requeue(entry, PENDING)
                    soonest = min(soonest, 60.0)
                else:
                    self._send_one(entry, now)
            for entry in self.entries(PENDING):  # retries just scheduled
                soonest = min(soonest, entry["next"] - now)
        return max(soonest, 0.5)

    def _recover_stale_claims(self, now: float) -> None:
        """Claims of a process that died: sent, or back to wait."""
        for entry in self.entries(SENDING):
            try:
                if now - os.stat(self.path(SENDING, entry)).st_mtime <= STALE_CLAIM:
                    continue
            except FileNotFoundError:
                continue
            if self.sent_after(entry) and not self.sent_after(entry, itself=False):
                self.remove(SENDING, entry)
                self._status(entry, st.SENT)
                continue
            logger.warning("Scheduling: mail for %r to %r was being sent by a process that "
                           "died", entry["uid"], entry["recipient"])
            self._requeue(entry, SENDING)

    def _requeue(self, entry: dict, state: str) -> None:
        """Back to wait, unless a newer message replaced it meanwhile.  Under
        the storage lock, as enqueue is, so that neither misses the other."""
        with self.storage.acquire_lock("w", entry["owner"]):
            if not os.path.exists(self.path(state, entry)):
                return  # replaced (and removed) by a newer message
            if self.superseded(entry):
                logger.info("Scheduling: mail for %r to %r replaced by a newer one",
                            entry["uid"], entry["recipient"])
                self.remove(state, entry)
                return
            self.write(PENDING, entry)
            if state != PENDING:
                self.remove(state, entry)

    def _within_rate(self, owner: str, now: float) -> bool:
        sent = self._sent[owner]
        while sent and sent[0] < now - 3600:
            sent.popleft()
        return len(sent) < self.storage.settings.smtp_max_per_hour

    def _fail(self, entry: dict, error: str, status: Status, why: str = "given up") -> None:
        entry["error"] = error
        self.write(FAILED, entry)
        self.remove(SENDING, entry)
        logger.warning("Scheduling: mail for %r to %r %s: %s", entry["uid"],
                       entry["recipient"], why, error)
        self._status(entry, status)

    def _send_one(self, entry: dict, now: float) -> None:
        try:
            # Touched first: a claim is stale by its file's age, and a rename
            # keeps the age of a file that may have waited for hours.
            with self.claim_lock():
                os.utime(self.path(PENDING, entry), (now, now))
                os.replace(self.path(PENDING, entry), self.path(SENDING, entry))
        except FileNotFoundError:
            return  # another process took it
        if self.sent_after(entry):  # or this one, its sender dying after
            logger.info("Scheduling: mail for %r to %r not sent: a newer one was sent "
                        "already", entry["uid"], entry["recipient"])
            self.remove(SENDING, entry)
            return
        settings = self.storage.settings
        try:
            name = self.storage.directory.principal(entry["owner"]).display_name
            mail = imip.build(entry["method"], entry["ics"], entry["sender"], entry["recipient"],
                              settings.smtp_from, name,
                              "<%s@%s>" % (entry["id"], settings.smtp_from.rpartition("@")[2]))
            mail.as_bytes()  # what the email package refuses, it refuses here
        except Exception as e:  # retried, it would hold up every message behind
            return self._fail(entry, "cannot build the mail: %s" % e, st.NO_SUPPORT,
                              "cannot be built, given up")
        try:
            imip.send(settings, mail)
        except imip.Refused as e:
            return self._fail(entry, str(e), e.status, "refused")
        except (OSError, smtplib.SMTPException) as e:
            entry["attempts"] += 1
            wait = min(settings.smtp_retry_seconds * 2 ** (entry["attempts"] - 1), MAX_WAIT)
            entry["next"] = now + wait
            entry["error"] = str(e) or type(e).__name__
            if now - entry["created"] > GIVE_UP_AFTER:
                return self._fail(entry, entry["error"], st.NO_ROUTE)
            self._requeue(entry, SENDING)
            logger.warning("Scheduling: mail for %r to %r failed (%s), retry in %d s",
                           entry["uid"], entry["recipient"], entry["error"], wait)
            if entry["attempts"] == 1:
                self._status(entry, st.NOT_DELIVERED)
            return
        self.record_sent(entry)
        self.remove(SENDING, entry)
        self._sent[entry["owner"]].append(now)
        logger.info("Scheduling: mailed %s for %r to %r", entry["method"], entry["uid"],
                    entry["recipient"])
        self._status(entry, st.SENT)

    def _status(self, entry: dict, status: Status) -> None:
        """How a mail fared (RFC 6638 s3.2.9), on the attendee in the
        organizer's copy or on a REPLY's ORGANIZER; the schedule tag stays.
        An answer received meanwhile (2.x) says more."""
        method, owner, recipient = entry["method"], entry["owner"], entry["recipient"]
        if method not in TRACKED:
            return  # COUNTER and the like: no copy records them
        try:
            with self.storage.acquire_lock("w", owner):
                found = None if self.superseded(entry, itself=False) else \
                    self.storage.find_uid_file(owner, entry["uid"])
                if found is None:
                    return
                collection, href, text = found
                cal = ical.parse(text)
                changed = False
                for comp in ical.components(cal):
                    for line in ical.lines(comp, "organizer") if method == "REPLY" \
                            else ical.attendees(comp):
                        current = ical.param(line, "SCHEDULE-STATUS") or ""
                        if ical.address(line) != recipient or current == status.code or (
                                method != "REPLY" and current.startswith("2.")):
                            continue
                        ical.set_param(line, "SCHEDULE-STATUS", status.code)
                        changed = True
                if changed:
                    collection.write_delivered(href, cal.serialize(), collection.facts(href))
        except Exception:  # the mail's fate must not depend on this
            logger.exception("Scheduling: cannot record status %s for %r", status, entry["uid"])
