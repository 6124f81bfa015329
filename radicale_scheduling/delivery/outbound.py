"""The mail queue and its sender, for addresses outside the server.

A request never waits for the mail server: it queues (SCHEDULE-STATUS 1.0);
the sender sets 1.1 once the mail server took it, 5.1 while it retries (the
wait doubling, at most 6 hours), 5.2 or 5.3 after a permanent failure or
three days.  One JSON file per message in ``pending``, ``sending`` (claimed
by renaming: only a process dying between the mail server's answer and its
record sends a mail twice) or ``failed``; in ``sent``, per meeting,
recipient, sender and kind of message, when the newest mail sent was
queued: nothing queued before it is sent after it (a REQUEST must not
follow its CANCEL).
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import smtplib
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Dict, List, Optional

from radicale import pathutils
from radicale.log import logger

from radicale_scheduling.delivery import imip
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import status as st
from radicale_scheduling.itip import text
from radicale_scheduling.itip.message import Message
from radicale_scheduling.itip.status import Status
from radicale_scheduling.storage import journal

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage

PENDING, SENDING, FAILED, SENT_RECORDS = "pending", "sending", "failed", "sent"
#: Longer than any message waits (three days), then an admin's retry.
SENT_RECORD_KEEP = 30 * 24 * 3600
_FIELDS: Dict[str, Any] = {
    "id": str, "recipient": str, "owner": str, "method": str, "uid": str, "ics": str,
    "attempts": int, "created": (int, float), "next": (int, float)}
#: Methods whose delivery status the sender's copy records (RFC 6638 s3.2.9):
#: COUNTER, DECLINECOUNTER and REFRESH change no copy.
TRACKED = ("REQUEST", "CANCEL", "REPLY", "ADD")
Clock = Callable[[], float]


def queued(entry: dict) -> float:
    return entry.get("queued", entry["created"])  # older files: created


def _well_formed(entry: object) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(entry.get(key), kind) for key, kind in _FIELDS.items()) and \
        isinstance(entry.get("sender", ""), str)


def replaces(newer: dict, older: dict) -> bool:
    """Same meeting, recipient and sender, and a method that supersedes (an
    update or cancellation replaces an invitation, a declined proposal
    none).  Another attendee's answer to the same outside organizer is a
    message of its own (RFC 6638 s3.2.9: one delivery status per message)."""
    new, old = newer["method"], older["method"]
    return newer["uid"] == older["uid"] and newer["recipient"] == older["recipient"] and \
        newer["id"] != older["id"] and newer.get("sender") == older.get("sender") and \
        (new == old or (new in TRACKED and old in TRACKED))


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


class Outbound:
    def __init__(self, storage: Storage, clock: Clock = time.time) -> None:
        self.storage, self.clock = storage, clock
        self.folder = storage.settings.queue_folder
        for name in (PENDING, SENDING, FAILED, SENT_RECORDS):
            os.makedirs(os.path.join(self.folder, name), exist_ok=True)
        self._pruned = 0.0
        self.wake = threading.Event()  # the sender's
        self._thread: Optional[threading.Thread] = None
        self._sent: Dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)
        self._lock = threading.Lock()

    def path(self, state: str, entry: dict) -> str:
        return os.path.join(self.folder, state, entry["id"] + ".json")

    def write(self, state: str, entry: dict) -> None:
        self.storage.journal.write_file(self.path(state, entry), json.dumps(entry))

    def remove(self, state: str, entry: dict) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path(state, entry))

    def entries(self, state: str = PENDING) -> List[dict]:
        result: List[dict] = []
        try:
            names = sorted(os.listdir(os.path.join(self.folder, state)))
        except FileNotFoundError:  # the queue folder was removed
            return result
        for name in (n for n in names if n.endswith(".json")):
            path = os.path.join(self.folder, state, name)
            try:
                with open(path, encoding="utf-8") as f:
                    entry = json.load(f)
            except FileNotFoundError:
                continue  # sent or replaced meanwhile
            except (OSError, ValueError) as e:
                entry = e
            if not _well_formed(entry):
                # Set aside for the admin: one bad file never stops the queue.
                logger.warning("Scheduling: unreadable queue file %r (%s); moved aside as "
                               ".broken", name, entry if isinstance(entry, Exception)
                               else "fields missing")
                with contextlib.suppress(OSError):
                    os.replace(path, path + ".broken")
                continue
            result.append(entry)
        return result

    def enqueue(self, message: Message, owner: str) -> Status:
        """Under the storage write lock; staged in the journal transaction,
        so the mail goes out only if the change commits.  The same change
        makes the same file name: a retried request queues no second mail."""
        ics = message.serialize()
        key = ical.digest(message.method, message.recipient, message.uid,
                          text.without_stamps(ics))[:32]
        now = self.clock()
        entry = {"id": key, "recipient": message.recipient, "sender": message.sender,
                 "owner": owner, "method": message.method, "uid": message.uid, "ics": ics,
                 "attempts": 0, "created": now, "next": now, "error": "", "queued": now}
        txn = journal.current()
        writes = [(self.path(PENDING, old), None) for old in self.entries(PENDING)
                  if replaces(entry, old)] + [(self.path(PENDING, entry), json.dumps(entry))]
        for path, text_or_none in writes:
            if txn is not None:
                txn.stage(journal.Write(path, text_or_none))
            else:
                self.storage.journal.write_file(path, text_or_none)
        if txn is not None:
            txn.after_commit.append(self.wake.set)
        else:
            self.wake.set()
        return st.PENDING

    def retry_all(self) -> int:
        """``queue retry``: under both locks, so that no message comes back
        that was just sent or replaced."""
        count = 0
        with self.storage.acquire_lock("w"), self.claim_lock():
            waiting = self.entries(PENDING)
            for state in (PENDING, FAILED):
                for entry in self.entries(state):
                    if state == FAILED and (any(replaces(other, entry) for other in waiting)
                                            or self.sent_after(entry)):
                        self.remove(state, entry)
                        continue
                    if not os.path.exists(self.path(state, entry)):
                        continue
                    entry["next"] = self.clock()
                    if state == FAILED:
                        entry["created"], entry["attempts"] = entry["next"], 0
                    self.write(PENDING, entry)
                    if state == FAILED:
                        self.remove(state, entry)
                    count += 1
        self.wake.set()
        return count

    def claim_lock(self) -> ContextManager[None]:  # across processes
        return pathutils.RwLock(os.path.join(self.folder, ".lock")).acquire("w")

    # -- what was sent -----------------------------------------------------

    def _sent_path(self, entry: dict) -> str:
        kind = "TRACKED" if entry["method"] in TRACKED else entry["method"]
        return os.path.join(self.folder, SENT_RECORDS, ical.digest(
            entry["uid"], entry["recipient"], entry.get("sender"), kind)[:40] + ".json")

    def _sent_record(self, entry: dict) -> Optional[dict]:
        try:
            with open(self._sent_path(entry), encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def sent_after(self, entry: dict, itself: bool = True) -> bool:
        """Was a mail that replaces ``entry`` queued after it and sent, or
        (``itself``) was ``entry`` sent?"""
        record = self._sent_record(entry)
        if record is None:
            return False
        sent = record.get("queued", 0)
        return sent > queued(entry) or (itself and sent == queued(entry) and
                                        record.get("message") == entry["id"])

    def record_sent(self, entry: dict) -> None:
        with self.claim_lock():
            record = self._sent_record(entry)
            if record is None or record.get("queued", 0) <= queued(entry):
                path = self._sent_path(entry)
                self.storage.journal.write_file(path, json.dumps({
                    "id": os.path.basename(path)[:-5], "queued": queued(entry),
                    "message": entry["id"]}))

    def prune_sent_records(self, now: float) -> None:
        if now - self._pruned < 3600:
            return
        self._pruned = now
        folder = os.path.join(self.folder, SENT_RECORDS)
        with contextlib.suppress(FileNotFoundError), os.scandir(folder) as it:
            for item in it:
                with contextlib.suppress(OSError):
                    if now - item.stat().st_mtime > SENT_RECORD_KEEP:
                        os.remove(item.path)

    def superseded(self, entry: dict, itself: bool = True) -> bool:
        """A newer message replacing this one waits or was sent."""
        return any(replaces(other, entry) and queued(other) >= queued(entry)
                   for other in self.entries(PENDING)) or self.sent_after(entry, itself)

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
