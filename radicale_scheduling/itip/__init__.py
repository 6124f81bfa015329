"""The iTIP engine (RFC 5546 as used by RFC 6638): pure, no I/O.

``organizer.organizer_change`` says which messages an organizer's change
sends to whom; ``inbound.apply`` turns a received message and the
recipient's stored object into the new object.  Both work on vobject
components, the objects Radicale's items carry.
"""

from radicale_scheduling.itip.errors import SchedulingError

__all__ = ["SchedulingError"]
