"""All or nothing across one scheduling operation: a redo journal.

An operation writes several files (attendees' copies, inbox messages,
queued mails, last the organizer's object); a process killed at any point
must never leave an invitation delivered to some attendees only.  Its
server-made writes are staged in memory, where its own reads see them; at
commit the complete list (the organizer's change included) is made durable
as one journal file, applied, and the journal removed.  Killed before the
journal exists (it appears by an atomic rename): nothing was written and
the client, which got no answer, retries.  Killed after: the next process
to take the write lock applies it again; every write is a whole file, so
twice is as once.  Radicale's lock is exclusive for writers across threads
and processes, so whoever takes it sees only journals of dead operations.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Protocol, Tuple

from radicale.log import logger

from radicale_scheduling import compat

#: Folder, inside Radicale's filesystem_folder, of unfinished operations.
FOLDER = ".Radicale.scheduling-journal"

Facts = Tuple[str, str, Tuple[int, int]]


class Target(Protocol):
    """A collection that makes a staged write of its own items."""

    def apply_staged(self, write: Write) -> None: ...


@dataclass
class Write:
    """One staged file write (``text``) or removal (``text is None``)."""

    path: str
    text: Optional[str]
    collection: Optional[Target] = None
    href: Optional[str] = None
    facts: Optional[Facts] = None


@dataclass
class Final:
    """The operation's own change, done by Radicale's code at commit;
    ``record`` is what recovery does instead: write ``text`` to ``path``,
    remove ``path`` (text None), or remove the folder ``tree``."""

    record: Dict[str, Any]
    perform: Callable[[], Any]


@dataclass
class Transaction:
    writes: Dict[str, Write] = field(default_factory=dict)
    final: Optional[Final] = None
    after_commit: List[Callable[[], None]] = field(default_factory=list)
    result: Any = None
    _folders: Dict[str, Dict[str, Write]] = field(default_factory=dict)
    #: (folder, UID) -> hrefs as the files hold them: nothing is written to
    #: a folder before commit, so one look per operation is enough.
    uid_lookups: Dict[Tuple[str, str], List[str]] = field(default_factory=dict)

    def stage(self, write: Write) -> None:
        # A later write of the same file replaces the earlier one but
        # keeps its place: the order of first writes is the order applied.
        self.writes[write.path] = write
        folder, name = os.path.split(write.path)
        self._folders.setdefault(folder, {})[name] = write

    def in_folder(self, folder: str) -> Dict[str, Write]:
        """The staged writes of the files directly in ``folder``."""
        return self._folders.get(folder, {})

    def finish_with(self, record: Dict[str, Any],
                    perform: Callable[[], Any]) -> None:
        """The last step, done after every staged write."""
        assert self.final is None, "one final step per operation"
        self.final = Final(record, perform)


_current: contextvars.ContextVar[Optional[Transaction]] = \
    contextvars.ContextVar("radicale_scheduling_transaction", default=None)


@dataclass
class _Batch:
    """Files written, and folders changed, whose sync waits (in order)."""

    files: List[str] = field(default_factory=list)
    folders: Dict[str, None] = field(default_factory=dict)


_batch: contextvars.ContextVar[Optional[_Batch]] = \
    contextvars.ContextVar("radicale_scheduling_sync_batch", default=None)


def current() -> Optional[Transaction]:
    """The transaction of the operation running in this thread, if any."""
    return _current.get()


def staged(path: str) -> Optional[Write]:
    """The running operation's staged write of ``path``, if any: its own
    reads see it."""
    txn = _current.get()
    return None if txn is None else txn.writes.get(path)


class Journal:
    """The journal of one storage (one collections folder)."""

    def __init__(self, storage: compat.Storage) -> None:
        self.storage = storage
        self.folder = os.path.join(
            os.path.expanduser(storage.configuration.get(
                "storage", "filesystem_folder")), FOLDER)

    # -- running an operation ---------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Stage the writes of one operation and commit them at the end.

        Nested use joins the outer operation.  An exception discards
        everything staged: a refused request changes nothing.
        """
        outer = _current.get()
        if outer is not None:
            yield outer
            return
        txn = Transaction()
        token = _current.set(txn)
        try:
            yield txn
        finally:
            _current.reset(token)
        # Reached only without an exception, and with reads going to the
        # files again.
        self._commit(txn)

    def _commit(self, txn: Transaction) -> None:
        name = None
        if txn.writes:
            records = [{"path": w.path, "text": w.text}
                       for w in txn.writes.values()]
            if txn.final is not None:
                records.append(txn.final.record)
            name = self._write_journal(records)
            with self._synced_at_end():
                for write in txn.writes.values():
                    self._apply(write)
        if txn.final is not None:
            txn.result = txn.final.perform()
        if name is not None:
            self._remove_journal(name)
        for callback in txn.after_commit:
            try:
                callback()
            except Exception as e:  # the data is safe; only a wake-up
                logger.warning("Scheduling: after commit: %s", e)

    def _write_journal(self, records: List[Dict[str, Any]]) -> str:
        name = "%s.json" % uuid.uuid4().hex
        self.write_file(os.path.join(self.folder, name),
                        json.dumps({"writes": records}))
        return name

    def _remove_journal(self, name: str) -> None:
        # Durably gone before anyone else writes: a journal replayed
        # after later changes would undo them.
        self.write_file(os.path.join(self.folder, name), None)

    def stage(self, write: Write) -> None:
        """Stage ``write`` in the running operation, else make it now."""
        txn = _current.get()
        if txn is not None:
            txn.stage(write)
        else:
            self._apply(write)

    def _apply(self, write: Write) -> None:
        if write.collection is not None and write.href is not None:
            write.collection.apply_staged(write)
        else:
            self.write_file(write.path, write.text)

    def write_file(self, path: str, text: Optional[str]) -> None:
        """Write (or, for None, remove) one file atomically, synced as
        ``[storage] _filesystem_fsync`` says: the package's one way to
        write a file.  A temporary file left by a crash ends in ".tmp"
        (recover removes those of the journal)."""
        folder = os.path.dirname(path)
        batch = _batch.get()
        if text is None:
            try:
                os.remove(path)
            except FileNotFoundError:
                return
        else:
            os.makedirs(folder, exist_ok=True)
            tmp = os.path.join(folder,
                               ".Radicale.tmp-%s.tmp" % uuid.uuid4().hex)
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(text)
                f.flush()
                if batch is None:
                    self.storage.fsync(f)
            os.replace(tmp, path)
            if batch is not None:
                batch.files.append(path)
        if batch is not None:
            batch.folders.setdefault(folder)
        else:
            self.storage.sync_directory(folder)

    @contextlib.contextmanager
    def _synced_at_end(self) -> Iterator[None]:
        """The files written inside are synced once all are written (and
        each folder once), not one by one: a commit's writes are made
        durable before its journal is removed, and until then a crash
        means the journal is applied again, so their order on disk does
        not matter.  Syncs in a row cost less than between the writes."""
        batch = _Batch()
        token = _batch.set(batch)
        try:
            yield
        finally:
            _batch.reset(token)
        for path in batch.files:
            try:
                with open(path, "rb") as f:
                    self.storage.fsync(f)
            except FileNotFoundError:
                continue  # written again and removed later in the batch
        for folder in batch.folders:
            self.storage.sync_directory(folder)

    # -- after a crash -----------------------------------------------------

    def pending(self) -> bool:
        """Did a process leave anything to finish?  (No lock needed.)"""
        try:
            return any(name.endswith((".json", ".tmp"))
                       for name in os.listdir(self.folder))
        except FileNotFoundError:
            return False

    def recover(self) -> int:
        """Finish the operations a dead process left; caller holds the
        write lock.  Returns how many were finished."""
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return 0
        done = 0
        for name in names:
            path = os.path.join(self.folder, name)
            if name.endswith(".tmp"):
                # A journal being written when the process died: its
                # operation wrote nothing yet.
                with contextlib.suppress(OSError):
                    os.remove(path)
                continue
            if not name.endswith(".json"):
                continue  # one set aside as unreadable, for the admin
            try:
                with open(path, encoding="utf-8") as f:
                    records = json.load(f)["writes"]
            except (OSError, ValueError, KeyError, TypeError) as e:
                logger.error("Scheduling: unreadable journal %r (%s); moved "
                             "aside", path, e)
                os.replace(path, path + ".broken")
                continue
            for record in records:
                self._redo(record)
            self._remove_journal(name)
            done += 1
        if done:
            logger.warning("Scheduling: finished %d scheduling operation(s) "
                           "interrupted by a crash", done)
        return done

    def _redo(self, record: Dict[str, Any]) -> None:
        tree = record.get("tree")
        if tree:
            if os.path.isdir(tree):
                shutil.rmtree(tree)
                self.storage.sync_directory(os.path.dirname(tree))
            return
        self.write_file(record["path"], record.get("text"))
