"""The mail queue: iTIP messages for addresses outside the server.

A request never waits for the mail server.  Under the storage lock, in
the same operation as the organizer's copy, each message becomes one file
in ``<queue>/pending`` (written atomically and synced), and the attendee's
SCHEDULE-STATUS says 1.0 (pending).  A sender thread delivers what is due:
1.1 once the mail server accepted it, 5.1 while it retries after a
temporary failure (the wait doubles, at most 6 hours), 5.2 or 5.3 after a
permanent one or three days of trying (the file moves to ``failed``).

The same change always makes the same file name, so a retried request does
not queue a second mail, and a newer message for the same meeting and
recipient replaces an older one still waiting.  A sender claims a file by
renaming it into ``sending``; if the process dies right after the mail
server accepted a mail and before that is recorded, that one mail goes
out again after a restart: the only case of a second copy.

Every mail sent leaves a record in ``sent`` (one small file per meeting,
recipient, sender and kind of message, holding when the mail was queued).
A message queued before one that was already sent for the same meeting and
recipient is never sent after it: a claim left by a process that died, a
message put back after a temporary failure, or a failed one retried by
the admin is dropped instead (a REQUEST must not follow its CANCEL).
A message that cannot even be made into a mail fails alone (5.3) and
never holds up the ones behind it.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Deque, Dict, List, Optional

from radicale import pathutils
from radicale.log import logger

from radicale_scheduling.delivery import imip
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.organizer import Message
from radicale_scheduling.storage import journal

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage

PENDING, SENDING, FAILED, SENT_RECORDS = ("pending", "sending", "failed",
                                          "sent")
QUEUED, SENT, RETRYING, UNDELIVERABLE, REFUSED = ("1.0", "1.1", "5.1", "5.2",
                                                  "5.3")
GIVE_UP_AFTER = 3 * 24 * 3600
MAX_WAIT = 6 * 3600
#: Whether a storage starts its sender thread (the command line does not).
AUTOSTART = True
#: A claimed message older than this was left by a process that died.
STALE_CLAIM = 600
#: How long the record of a sent mail is kept (longer than any message
#: waits: GIVE_UP_AFTER, then an admin's retry).
SENT_RECORD_KEEP = 30 * 24 * 3600
#: The fields of a queue file, and their types.
_FIELDS: Dict[str, Any] = {
    "id": str, "recipient": str, "owner": str, "method": str, "uid": str,
    "ics": str, "attempts": int, "created": (int, float),
    "next": (int, float)}
_senders: Dict[str, Outbound] = {}
_senders_lock = threading.Lock()


def for_storage(storage: Storage) -> Outbound:
    """One queue object per queue folder and process: Radicale may load
    its storage more than once, and one sender thread is enough."""
    folder = storage.settings.queue_folder
    with _senders_lock:
        existing = _senders.get(folder)
        if existing is None:
            existing = _senders[folder] = Outbound(storage)
        else:
            existing.storage = storage
        return existing
_STAMP_LINE = re.compile(r"^DTSTAMP[:;][^\r\n]*\r?\n", re.MULTILINE)


#: Methods whose delivery status is recorded in the sender's copy
#: (RFC 6638 s3.2.9): COUNTER, DECLINECOUNTER and REFRESH change no copy.
TRACKED = ("REQUEST", "CANCEL", "REPLY", "ADD")


def _queued(entry: dict) -> float:
    """When a message was queued (files of older versions: created)."""
    return entry.get("queued", entry["created"])


def _well_formed(entry: object) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(entry.get(key), kind) for key, kind in _FIELDS.items()) \
        and isinstance(entry.get("sender", ""), str)


def _supersedes(new: str, old: str) -> bool:
    """A newer message replaces a waiting one only when it says the same
    kind of thing: an update or cancellation replaces an invitation, a
    declined proposal does not."""
    return new == old or (new in TRACKED and old in TRACKED)


def _replaces(newer: dict, older: dict) -> bool:
    """Whether queued ``newer`` makes ``older`` pointless: the same
    meeting, recipient and sender, and a method that supersedes (the
    rule of enqueue).  Another attendee's answer to the same outside
    organizer, or a DECLINECOUNTER beside an invitation, is a message of
    its own (RFC 6638 s3.2.9: one delivery status per message)."""
    return newer["uid"] == older["uid"] and \
        newer["recipient"] == older["recipient"] and \
        newer["id"] != older["id"] and \
        newer.get("sender") == older.get("sender") and \
        _supersedes(newer["method"], older["method"])


class Outbound:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.settings = storage.settings
        self.folder = self.settings.queue_folder
        for name in (PENDING, SENDING, FAILED, SENT_RECORDS):
            os.makedirs(os.path.join(self.folder, name), exist_ok=True)
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._sent: Dict[str, Deque[float]] = collections.defaultdict(
            collections.deque)
        self._lock = threading.Lock()
        self._pruned = 0.0

    # -- the queue -------------------------------------------------------------

    def _path(self, state: str, name: str) -> str:
        return os.path.join(self.folder, state, name)

    def _write(self, state: str, entry: dict) -> None:
        path = self._path(state, entry["id"] + ".json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(entry, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        directory = os.open(os.path.dirname(path), os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def entries(self, state: str = PENDING) -> List[dict]:
        result: List[dict] = []
        folder = os.path.join(self.folder, state)
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:  # the queue folder was removed
            return result
        for name in names:
            if not name.endswith(".json"):
                continue
            path = os.path.join(folder, name)
            try:
                with open(path, encoding="utf-8") as f:
                    entry = json.load(f)
            except FileNotFoundError:
                continue  # sent or replaced meanwhile
            except (OSError, ValueError) as e:
                entry = e
            if not _well_formed(entry):
                # Set aside for the admin: one bad file never stops the
                # queue (nor is it read again on every run).
                logger.warning("Scheduling: unreadable queue file %r (%s); "
                               "moved aside as .broken", name,
                               entry if isinstance(entry, Exception)
                               else "fields missing")
                with contextlib.suppress(OSError):
                    os.replace(path, path + ".broken")
                continue
            result.append(entry)
        return result

    def enqueue(self, message: Message, owner: str) -> str:
        """Queue ``message`` (caller holds the storage write lock).

        Inside a scheduling operation the queue file is one of its staged
        writes (storage/journal.py): the mail goes out only if the change
        that sends it is committed.
        """
        text = message.serialize()
        self.storage.check_size(text, "The message to %s" % message.recipient)
        key = ical.digest(message.method, message.recipient, message.uid,
                          _STAMP_LINE.sub("", text))[:32]
        txn = journal.current()
        for old in self.entries(PENDING):
            if old["uid"] == message.uid and \
                    old["recipient"] == message.recipient and \
                    old["id"] != key and \
                    old.get("sender") == message.sender and \
                    _supersedes(message.method, old["method"]):
                # A newer message for the same meeting and recipient,
                # from the same calendar user (two attendees' REPLYs to
                # one outside organizer are two messages).
                path = self._path(PENDING, old["id"] + ".json")
                if txn is not None:
                    txn.stage(journal.Write(path, None))
                else:
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
        now = time.time()
        entry = {
            "id": key, "recipient": message.recipient,
            "sender": message.sender, "owner": owner,
            "method": message.method, "uid": message.uid, "ics": text,
            "attempts": 0, "created": now, "next": now, "error": "",
            "queued": now}
        if txn is not None:
            txn.stage(journal.Write(self._path(PENDING, key + ".json"),
                                    json.dumps(entry)))
            txn.after_commit.append(self._wake.set)
        else:
            self._write(PENDING, entry)
            self._wake.set()
        return QUEUED

    def retry_all(self) -> int:
        """Send everything waiting now, failed messages included.

        Run by the ``queue retry`` command beside running servers: under
        the storage lock (no enqueue replaces a message meanwhile) and the
        claim lock (no sender takes one meanwhile), so that no message is
        brought back that was just sent or replaced.  A failed message
        that a newer waiting one replaced (``_replaces``) is dropped, not
        sent after it."""
        count = 0
        with self.storage.acquire_lock("w"), self._claim_lock():
            waiting = self.entries(PENDING)
            for state in (PENDING, FAILED):
                for entry in self.entries(state):
                    path = self._path(state, entry["id"] + ".json")
                    if state == FAILED and (
                            any(_replaces(other, entry) for other in waiting)
                            or self._sent_after(entry)):
                        os.remove(path)
                        continue
                    if not os.path.exists(path):
                        continue
                    entry["next"] = time.time()
                    if state == FAILED:
                        entry["created"], entry["attempts"] = time.time(), 0
                    self._write(PENDING, entry)
                    if state == FAILED:
                        os.remove(path)
                    count += 1
        self._wake.set()
        return count

    def _claim_lock(self):
        """Taking a message to send, across the processes sharing the
        queue (Radicale's file lock)."""
        return pathutils.RwLock(os.path.join(self.folder, ".lock")).acquire(
            "w")

    # -- sending ---------------------------------------------------------------

    def _recover_stale_claims(self) -> None:
        """Claims left by a process that died go back to wait, checked as
        a waiting message is (``_requeue``): one that a newer message
        replaced, or that is older than a mail already sent for the same
        meeting and recipient, is dropped, not sent after it."""
        try:
            names = os.listdir(os.path.join(self.folder, SENDING))
        except FileNotFoundError:
            return
        for name in names:
            path = self._path(SENDING, name)
            try:
                if not name.endswith(".json") or \
                        time.time() - os.stat(path).st_mtime <= STALE_CLAIM:
                    continue
            except FileNotFoundError:
                continue
            for entry in self.entries(SENDING):
                if entry["id"] + ".json" == name and \
                        self._sent_after(entry) and \
                        not self._sent_after(entry, itself=False):
                    # Sent, and the process died before removing it: the
                    # status it did not record.
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
                    self._status(entry, SENT)
                    break
                if entry["id"] + ".json" == name:
                    logger.warning("Scheduling: mail for %r to %r was being "
                                   "sent by a process that died",
                                   entry["uid"], entry["recipient"])
                    self._requeue(entry, SENDING)
                    break

    # -- what was sent ---------------------------------------------------------

    def _sent_path(self, entry: dict) -> str:
        kind = "TRACKED" if entry["method"] in TRACKED else entry["method"]
        return self._path(SENT_RECORDS, ical.digest(
            entry["uid"], entry["recipient"], entry.get("sender"),
            kind)[:40] + ".json")

    def _sent_record(self, entry: dict) -> Optional[dict]:
        try:
            with open(self._sent_path(entry), encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def _sent_after(self, entry: dict, itself: bool = True) -> bool:
        """Was a mail that replaces ``entry`` (the rule of enqueue) queued
        after it and sent already, or (``itself``) was ``entry`` sent?"""
        record = self._sent_record(entry)
        if record is None:
            return False
        queued, sent = _queued(entry), record.get("queued", 0)
        return sent > queued or (itself and sent == queued and
                                 record.get("message") == entry["id"])

    def _record_sent(self, entry: dict) -> None:
        """Remember the newest mail sent for its meeting and recipient."""
        with self._claim_lock():
            record = self._sent_record(entry)
            if record is not None and record.get("queued", 0) > \
                    _queued(entry):
                return
            path = self._sent_path(entry)
            self._write(SENT_RECORDS, {"id": os.path.basename(path)[:-5],
                                       "queued": _queued(entry),
                                       "message": entry["id"]})

    def _prune_sent_records(self, now: float) -> None:
        if now - self._pruned < 3600:
            return
        self._pruned = now
        folder = os.path.join(self.folder, SENT_RECORDS)
        with contextlib.suppress(FileNotFoundError), os.scandir(folder) as it:
            for item in it:
                with contextlib.suppress(OSError):
                    if now - item.stat().st_mtime > SENT_RECORD_KEEP:
                        os.remove(item.path)

    def start(self) -> None:
        if self._thread is not None:
            return
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
            self._wake.wait(timeout=wait)
            self._wake.clear()

    def run_once(self) -> float:
        """Send what is due; return seconds until the next is due."""
        now = time.time()
        soonest = 300.0
        self._recover_stale_claims()
        self._prune_sent_records(now)
        with self._lock:
            for entry in sorted(self.entries(PENDING),
                                key=lambda e: e["next"]):
                if entry["next"] > now:
                    soonest = min(soonest, entry["next"] - now)
                    continue
                if not self._within_rate(entry["owner"], now):
                    entry["next"] = now + 60
                    self._requeue(entry, PENDING)
                    soonest = min(soonest, 60.0)
                    continue
                self._send_one(entry, now)
            for entry in self.entries(PENDING):  # retries just scheduled
                soonest = min(soonest, entry["next"] - time.time())
        return max(soonest, 0.5)

    def _superseded(self, entry: dict, itself: bool = True) -> bool:
        """A newer message that replaces this one is waiting (the rule of
        enqueue: same meeting, recipient and sender, a method that
        supersedes) or was sent already (or, ``itself``, this one was).
        Another attendee's REPLY to the same outside organizer, or a
        DECLINECOUNTER beside a REQUEST, replaces nothing: each is its
        own message (RFC 6638 s3.2.9, one status per message)."""
        return any(_replaces(other, entry) and _queued(other) >= _queued(entry)
                   for other in self.entries(PENDING)) or \
            self._sent_after(entry, itself)

    def _requeue(self, entry: dict, state: str) -> None:
        """Put a message back to wait, unless a newer one replaced it
        meanwhile: sent later, the older mail would arrive last.  Under
        the storage lock, as enqueue is, so that neither misses the other
        (in any process)."""
        name = entry["id"] + ".json"
        with self.storage.acquire_lock("w", entry["owner"]):
            if not os.path.exists(self._path(state, name)):
                return  # replaced (and removed) by a newer message
            if self._superseded(entry):
                logger.info("Scheduling: mail for %r to %r replaced by a "
                            "newer one", entry["uid"], entry["recipient"])
                os.remove(self._path(state, name))
                return
            self._write(PENDING, entry)
            if state != PENDING:
                os.remove(self._path(state, name))

    def _within_rate(self, owner: str, now: float) -> bool:
        sent = self._sent[owner]
        while sent and sent[0] < now - 3600:
            sent.popleft()
        return len(sent) < self.settings.smtp_max_per_hour

    def _send_one(self, entry: dict, now: float) -> None:
        name = entry["id"] + ".json"
        try:
            # A claim is stale by its file's age (STALE_CLAIM), and a
            # rename keeps the age of the queued file, which may have
            # waited for hours: touched first, another process sharing
            # the queue does not take a mail being sent and send it again.
            with self._claim_lock():
                os.utime(self._path(PENDING, name))
                os.replace(self._path(PENDING, name),
                           self._path(SENDING, name))
        except FileNotFoundError:
            return  # another process took it
        if self._sent_after(entry):
            # A newer message for this meeting and recipient went out
            # since this one was queued (or this one did, and the process
            # died before its file was removed): sent now, it would
            # arrive last.
            logger.info("Scheduling: mail for %r to %r not sent: a newer "
                        "one was sent already", entry["uid"],
                        entry["recipient"])
            os.remove(self._path(SENDING, name))
            return
        try:
            mail = self._build(entry)
        except Exception as e:  # a message that cannot be a mail
            # Fails alone, for good: retried, it would fail again and hold
            # up every message behind it.
            entry["error"] = "cannot build the mail: %s" % e
            self._write(FAILED, entry)
            os.remove(self._path(SENDING, name))
            logger.warning("Scheduling: mail for %r to %r cannot be built, "
                           "given up: %s", entry["uid"], entry["recipient"],
                           e)
            self._status(entry, REFUSED)
            return
        try:
            self._smtp_send(mail)
        except _Permanent as e:
            entry["error"] = str(e)
            self._write(FAILED, entry)
            os.remove(self._path(SENDING, name))
            logger.warning("Scheduling: mail for %r to %r refused: %s",
                           entry["uid"], entry["recipient"], e)
            self._status(entry, e.status)
            return
        except (OSError, smtplib.SMTPException) as e:
            entry["attempts"] += 1
            entry["error"] = str(e) or type(e).__name__
            wait = min(self.settings.smtp_retry_seconds *
                       2 ** (entry["attempts"] - 1), MAX_WAIT)
            entry["next"] = now + wait
            if now - entry["created"] > GIVE_UP_AFTER:
                self._write(FAILED, entry)
                os.remove(self._path(SENDING, name))
                logger.warning("Scheduling: gave up mail for %r to %r: %s",
                               entry["uid"], entry["recipient"], e)
                self._status(entry, UNDELIVERABLE)
                return
            self._requeue(entry, SENDING)
            logger.warning("Scheduling: mail for %r to %r failed (%s), retry "
                           "in %d s", entry["uid"], entry["recipient"],
                           entry["error"], wait)
            if entry["attempts"] == 1:
                self._status(entry, RETRYING)
            return
        self._record_sent(entry)
        os.remove(self._path(SENDING, name))
        self._sent[entry["owner"]].append(now)
        logger.info("Scheduling: mailed %s for %r to %r", entry["method"],
                    entry["uid"], entry["recipient"])
        self._status(entry, SENT)

    def _build(self, entry: dict) -> EmailMessage:
        """The mail, made whole (headers checked) before connecting."""
        s = self.settings
        name = self.storage.directory.principal(entry["owner"]).display_name
        mail = imip.build(entry["method"], entry["ics"], entry["sender"],
                          entry["recipient"], s.smtp_from, name,
                          message_id="<%s@%s>" % (
                              entry["id"], s.smtp_from.rpartition("@")[2]))
        mail.as_bytes()  # what the email package refuses, it refuses here
        return mail

    def _smtp_send(self, mail: EmailMessage) -> None:
        s = self.settings
        port = s.smtp_port or {"ssl": 465, "starttls": 587}.get(
            s.smtp_security, 25)
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if s.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(s.smtp_host, port, timeout=30,
                                      context=context)
        else:
            client = smtplib.SMTP(s.smtp_host, port, timeout=30)
        with client:
            if s.smtp_security == "starttls":
                client.starttls(context=context)
            if s.smtp_username:
                client.login(s.smtp_username, s.smtp_password)
            try:
                client.send_message(mail, from_addr=s.smtp_from,
                                    to_addrs=[mail["To"]])
            except smtplib.SMTPRecipientsRefused as e:
                codes = [code for code, _ in e.recipients.values()]
                if codes and all(500 <= code < 600 for code in codes):
                    raise _Permanent(str(e.recipients), REFUSED) from e
                raise
            except smtplib.SMTPResponseException as e:
                if 500 <= e.smtp_code < 600:
                    error = e.smtp_error.decode("utf-8", "replace") if \
                        isinstance(e.smtp_error, bytes) else e.smtp_error
                    raise _Permanent("%d %s" % (e.smtp_code, error),
                                     UNDELIVERABLE) from e
                raise

    def _status(self, entry: dict, status: str) -> None:
        if entry["method"] not in TRACKED:
            return  # COUNTER and the like: no copy records them
        try:
            self.storage.set_delivery_status(
                entry["owner"], entry["uid"], entry["method"],
                entry["recipient"], status,
                superseded=lambda: self._superseded(entry, itself=False))
        except Exception:  # the mail's fate must not depend on this
            logger.exception("Scheduling: cannot record status %s for %r",
                             status, entry["uid"])


class _Permanent(Exception):
    def __init__(self, reason: str, status: str) -> None:
        super().__init__(reason)
        self.status = status

