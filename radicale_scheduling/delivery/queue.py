"""The mail queue's files: one JSON file per message in ``pending``,
``sending`` (claimed by a sender) or ``failed``, and in ``sent`` a record,
per meeting, recipient, sender and kind of message, of when the newest mail
sent was queued: nothing queued before it is sent after it (a REQUEST must
not follow its CANCEL)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Dict, List, Optional

from radicale import pathutils
from radicale.log import logger

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
    """Same meeting, recipient and sender (RFC 6638 s3.2.9: one delivery
    status per message), and a method that supersedes."""
    new, old = newer["method"], older["method"]
    return newer["uid"] == older["uid"] and newer["recipient"] == older["recipient"] and \
        newer["id"] != older["id"] and newer.get("sender") == older.get("sender") and \
        (new == old or (new in TRACKED and old in TRACKED))


class Queue:
    def __init__(self, storage: Storage, clock: Clock = time.time) -> None:
        self.storage, self.clock = storage, clock
        self.folder = storage.settings.queue_folder
        for name in (PENDING, SENDING, FAILED, SENT_RECORDS):
            os.makedirs(os.path.join(self.folder, name), exist_ok=True)
        self._pruned = 0.0
        self.wake = threading.Event()  # the sender's

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
            if not _well_formed(entry):  # set aside: it never stops the queue
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
