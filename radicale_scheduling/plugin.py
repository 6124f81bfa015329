"""The composition root: the storage Radicale loads, wired to scheduling.

``[storage] type = radicale_scheduling`` makes Radicale import the package
and take its ``Storage``: the storage adapter with the scheduler (delivery)
and the HTTP layer installed.
"""

from __future__ import annotations

from typing import Callable, Set

from radicale import config
from radicale.log import logger

from radicale_scheduling import delivery, http, storage

_logged: Set[str] = set()


def _log_once(log: Callable[..., None], message: str, *args: object) -> None:
    """Radicale 3.9 loads the storage twice (its sharing backend has its
    own): the configuration is announced once."""
    text = message % args
    if text not in _logged:
        _logged.add(text)
        log("%s", text)


class Storage(storage.Storage):

    def __init__(self, configuration: config.Configuration) -> None:
        super().__init__(configuration)
        self.scheduler = delivery.connect(self)
        http.install()
        settings = self.settings
        if not settings.domain:
            _log_once(logger.info, "Scheduling: no scheduling_domain; only "
                      "user names that are e-mail addresses and the "
                      "addresses file give users mailto: addresses")
        _log_once(logger.info, "Scheduling (RFC 6638) enabled: domain %r, "
                  "addresses file %r", settings.domain,
                  settings.addresses)
