"""The composition root: the storage Radicale loads, wired to scheduling.

``[storage] type = radicale_scheduling`` makes Radicale import the package
and take its ``Storage``: the storage adapter with the scheduler (delivery)
and the HTTP layer installed.
"""

from __future__ import annotations

from radicale import config
from radicale.log import logger

from radicale_scheduling import compat, delivery, http, storage


class Storage(storage.Storage):

    def __init__(self, configuration: config.Configuration) -> None:
        super().__init__(configuration)
        self.scheduler = delivery.connect(self)
        http.install()
        settings = self.settings
        if not settings.domain:
            compat.log_once(logger.info, "Scheduling: no scheduling_domain; "
                            "only user names that are e-mail addresses and "
                            "the addresses file give users mailto: "
                            "addresses")
        compat.log_once(logger.info, "Scheduling (RFC 6638) enabled: domain "
                        "%r, addresses file %r", settings.domain,
                        settings.addresses)
