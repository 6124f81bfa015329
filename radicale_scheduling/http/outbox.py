"""POST to the schedule outbox (RFC 6638 section 5)."""

from __future__ import annotations

from http import client
from typing import TYPE_CHECKING

from radicale_scheduling.http import compat
from radicale_scheduling.http.compat import Response

if TYPE_CHECKING:
    from radicale_scheduling.http.handlers import Request


def handle_post(request: Request) -> Response:
    return compat.text_error(
        client.NOT_IMPLEMENTED,
        "Free-busy requests to the outbox are not supported yet.")
