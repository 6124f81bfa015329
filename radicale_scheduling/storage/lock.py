"""Radicale's storage lock, taken writer first, finishing crashed work."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Iterator

from radicale import config, pathutils

from radicale_scheduling import compat
from radicale_scheduling.storage.journal import Journal

#: The lock file everyone passes first, beside Radicale's ``.Radicale.lock``.
TURNSTILE_FILE = ".Radicale.lock.turnstile"


class Locking(compat.Storage):

    journal: Journal

    def __init__(self, configuration: config.Configuration) -> None:
        super().__init__(configuration)
        self._turnstile = pathutils.RwLock(os.path.join(
            configuration.get("storage", "filesystem_folder"),
            TURNSTILE_FILE))
        self._lock_depth = threading.local()

    @contextlib.contextmanager
    def acquire_lock(self, mode: str, *args: Any, **kwargs: Any
                     ) -> Iterator[None]:
        """Radicale's lock, taken writer first; a writer first finishes
        any scheduling operation a killed process left (storage/journal.py).

        Radicale's shared/exclusive file lock grants new readers while a
        writer waits: under a stream of free-busy lookups a PUT waited for
        ever.  Everyone first passes a turnstile, a second file lock held
        exclusively only while taking Radicale's, so readers coming after a
        waiting writer wait behind it, in every thread and process.  A
        thread already holding the lock (a nested read, as Radicale's
        PROPFIND of shared collections does) takes Radicale's at once:
        waiting for a writer that waits for it would never end."""
        depth = getattr(self._lock_depth, "value", 0)
        with contextlib.ExitStack() as stack:
            with contextlib.nullcontext() if depth else \
                    self._turnstile.acquire("w"):
                stack.enter_context(super().acquire_lock(mode, *args, **kwargs))
            self._lock_depth.value = depth + 1
            try:
                if mode == "w":
                    self.journal.recover()
                yield
            finally:
                self._lock_depth.value = depth
