"""Server-side CalDAV scheduling (RFC 6638) for Radicale.

Enable it with one line in Radicale's configuration::

    [storage]
    type = radicale_scheduling

Radicale then loads ``radicale_scheduling.Storage``.  The package is laid
out by concern: ``storage/`` (the adapter over Radicale's filesystem
storage), ``http/`` (the request handling Radicale has no hook for),
``principals`` (who owns which calendar-user address) and ``options``.
"""

from radicale_scheduling.storage import Storage

__all__ = ["Storage"]
