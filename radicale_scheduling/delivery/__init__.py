"""Delivering scheduling messages: locally (rooms answer), by mail.
``connect`` builds the storage's ``scheduler``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radicale.log import logger

from radicale_scheduling import compat

if TYPE_CHECKING:
    from radicale_scheduling.delivery.implicit import Scheduler
    from radicale_scheduling.storage import Storage


def connect(storage: Storage) -> Scheduler:
    from radicale_scheduling.delivery import dispatch, outbound
    from radicale_scheduling.delivery.implicit import Scheduler
    from radicale_scheduling.delivery.local import LocalTransport
    settings = storage.settings
    transports: list = [LocalTransport(storage)]
    if not settings.smtp_enabled:
        compat.log_once(logger.warning, "Scheduling: scheduling_smtp_host is not set, "
                        "so nobody outside this server hears of invitations (clients "
                        "stop mailing them once the server schedules)")
        return Scheduler(storage, transports)
    queue = outbound.shared(storage)
    compat.log_once(logger.info, "Scheduling: e-mail (iMIP) through %s port %d (%s) as "
                    "%r, queue in %r", settings.smtp_host, settings.smtp_port_used,
                    settings.smtp_security, settings.smtp_from, settings.queue_folder)
    return Scheduler(storage, transports + [dispatch.Mail(storage, queue)],
                     queue)
