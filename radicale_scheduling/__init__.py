"""Server-side CalDAV scheduling (RFC 6638) for Radicale.

Enable it with one line in Radicale's configuration::

    [storage]
    type = radicale_scheduling

Radicale then takes ``radicale_scheduling.Storage`` (from ``plugin``, the
composition root), loaded on first use so that the engine
(``radicale_scheduling.itip``) imports without Radicale.  README.md
describes the layers.
"""

from typing import Any

__all__ = ["Storage"]


def __getattr__(name: str) -> Any:
    if name == "Storage":
        from radicale_scheduling.plugin import Storage
        return Storage
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
