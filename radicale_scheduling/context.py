"""What the storage needs to know about the request it serves.

Radicale calls the storage without the request; the HTTP layer puts the
scheduling-relevant parts here (who asks, Schedule-Reply,
If-Schedule-Tag-Match) and reads back what the storage did (the new
schedule tag, whether the stored object differs from the client's body).
Without a context the storage behaves exactly like Radicale's own, so
internal uses (storage verification, tools) never schedule anything.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Iterator, Optional


@dataclass
class RequestContext:
    user: str
    schedule_reply: bool = True  # RFC 6638 s8.1
    if_schedule_tag_match: Optional[str] = None  # RFC 6638 s8.3
    schedule_tag: Optional[str] = None  # set by the storage
    rewritten: bool = False  # the stored object differs from the body


_current: contextvars.ContextVar[Optional[RequestContext]] = \
    contextvars.ContextVar("radicale_scheduling_request", default=None)


def current() -> Optional[RequestContext]:
    return _current.get()


@contextlib.contextmanager
def serving(ctx: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
