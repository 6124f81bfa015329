"""The composition root: the storage Radicale loads, wired to scheduling.

``[storage] type = radicale_scheduling`` makes Radicale import the package
and take its ``Storage``: the storage adapter with the scheduler (delivery)
and the HTTP layer installed.
"""

from __future__ import annotations

from typing import Callable, Optional, Set

from radicale import config
from radicale.log import logger

from radicale_scheduling import http, storage
from radicale_scheduling.delivery import outbound
from radicale_scheduling.storage.scheduling import Scheduler

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
        # TODO(merge): self.scheduler = delivery.connect(self)
        self.scheduler = Scheduler(self)
        settings = self.settings
        self.outbound: Optional[outbound.Outbound] = None
        if settings.smtp_enabled:
            self.outbound = outbound.for_storage(self)
            if outbound.AUTOSTART:
                self.outbound.start()
            _log_once(logger.info, "Scheduling: e-mail (iMIP) through "
                      "%s port %d (%s) as %r, queue in %r",
                      settings.smtp_host, settings.smtp_port_used,
                      settings.smtp_security, settings.smtp_from,
                      settings.queue_folder)
        else:
            _log_once(logger.warning, "Scheduling: scheduling_smtp_host is "
                      "not set, so nobody outside this server hears of "
                      "invitations (clients stop mailing them once the "
                      "server schedules)")
        http.install()
        if not settings.domain:
            _log_once(logger.info, "Scheduling: no scheduling_domain; only "
                      "user names that are e-mail addresses and the "
                      "addresses file give users mailto: addresses")
        _log_once(logger.info, "Scheduling (RFC 6638) enabled: domain %r, "
                  "addresses file %r", settings.domain,
                  settings.addresses_file)

    # TODO(merge): the transport branch moves this into delivery/.
    def set_delivery_status(self, owner: str, uid: str, method: str,
                            recipient: str, status: str,
                            superseded: Callable[[], bool] = lambda: False
                            ) -> None:
        """Record how a mailed message fared (RFC 6638 s3.2.9)."""
        from radicale_scheduling.itip import calendar as ical
        with self.acquire_lock("w", owner):
            found = None if superseded() else self.find_uid_file(owner, uid)
            if found is None:
                return
            collection, href, text = found
            cal = ical.parse(text)
            changed = False
            for comp in ical.components(cal):
                lines = ical.lines(comp, "organizer") if method == "REPLY" \
                    else [x for x in ical.attendees(comp)
                          if ical.address(x) == recipient]
                for line in lines:
                    if method == "REPLY" and ical.address(line) != recipient:
                        continue
                    current = ical.param(line, "SCHEDULE-STATUS") or ""
                    if method != "REPLY" and current.startswith("2."):
                        continue  # answered since this mail was queued
                    if current != status:
                        ical.set_param(line, "SCHEDULE-STATUS", status)
                        changed = True
            if changed:
                collection.write_delivered(href, cal.serialize(),
                                           collection.facts(href))
