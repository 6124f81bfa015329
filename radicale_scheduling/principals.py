"""Who is who: the server's users and their calendar-user addresses.

RFC 6638 s2.4.1 has each principal list its calendar-user addresses; s3.2
and s4 rely on the server mapping an address back to exactly one
principal.  Addresses come only from the admin: ``scheduling_domain``
(``alice`` is ``mailto:alice@<domain>``; a user name that is an e-mail
address is its own address) and the ``scheduling_addresses`` file.  Users
never claim one: that would let them receive someone else's invitations.

The addresses file is INI, one section per user::

    [alice]
    addresses = alice@family.example, mum@family.example
    type = INDIVIDUAL
    name = Alice Liddell
"""

from __future__ import annotations

import configparser
import os
import re
import threading
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Set, Tuple
from urllib.parse import unquote, urlparse

from radicale import pathutils
from radicale.log import logger

from radicale_scheduling.itip import address as addr

CUTYPES = ("INDIVIDUAL", "GROUP", "RESOURCE", "ROOM", "UNKNOWN")
_FILE_KEYS = {"addresses", "type", "name"}
Stamp = Optional[Tuple[int, int]]


class AddressConfigError(RuntimeError):
    """The addresses file or the domain give the same address to two users."""


@dataclass(frozen=True)
class Principal:
    """What the server knows about one user as a calendar user."""

    user: str
    addresses: Tuple[str, ...]  # mailto: URIs, preferred first
    cutype: str = "INDIVIDUAL"
    display_name: str = ""

    @property
    def email(self) -> str:
        """The preferred e-mail address, or "" when the user has none."""
        return addr.email(self.addresses[0]) or "" if self.addresses else ""


def file_stamp(path: str) -> Stamp:
    """When a file changed: its mtime and size (None: no such file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _parse_file(path: str) -> Dict[str, Principal]:
    parser = configparser.RawConfigParser(default_section="\0none")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, UnicodeDecodeError, configparser.Error) as e:
        raise AddressConfigError("scheduling_addresses: cannot read %s: %s"
                                 % (path, str(e).splitlines()[0])) from e
    entries: Dict[str, Principal] = {}
    for user in parser.sections():
        section = parser[user]
        unknown = set(section) - _FILE_KEYS
        if unknown:
            raise AddressConfigError(
                "scheduling_addresses: unknown key %r for user %r in %s "
                "(allowed: addresses, type, name)"
                % (sorted(unknown)[0], user, path))
        if not user or "/" in user or user in (".", ".."):
            raise AddressConfigError(
                "scheduling_addresses: %r is not a user name in %s"
                % (user, path))
        cutype = section.get("type", "INDIVIDUAL").strip().upper()
        if cutype not in CUTYPES:
            raise AddressConfigError(
                "scheduling_addresses: type %r of user %r in %s is not one "
                "of %s" % (cutype, user, path, ", ".join(CUTYPES)))
        addresses: List[str] = []
        for raw in re.split(r"[,\s]+", section.get("addresses", "")):
            email = addr.email(raw) if raw else None
            if raw and (email is None or not addr.is_email(email)):
                raise AddressConfigError(
                    "scheduling_addresses: %r of user %r in %s is not an "
                    "e-mail address" % (raw, user, path))
            if email and addr.mailto(email) not in addresses:
                addresses.append(addr.mailto(email))
        entries[user] = Principal(user, tuple(addresses), cutype,
                                  section.get("name", "").strip())
    return entries


class Directory:
    """Maps users to their addresses and addresses back to users.

    A user exists when it has a principal folder under ``root`` or the
    htpasswd file lists it; an implicit address of a user that does not
    exist is no local address.  The addresses file is re-read when it
    changes (no restart needed); a broken edit keeps the last good version
    and is logged.
    """

    def __init__(self, domain: str, addresses_file: str, root: str,
                 htpasswd_file: Optional[str] = None) -> None:
        self._domain = domain
        self._file = addresses_file
        self._root = root
        self._htpasswd_file = htpasswd_file
        self._htpasswd: Tuple[Stamp, Set[str]] = (None, set())
        self._lock = threading.Lock()
        self._mtime: Stamp = None
        self._entries: Dict[str, Principal] = {}
        self._owners: Dict[str, str] = {}
        if addresses_file:
            self._load(raise_errors=True)

    # -- the addresses file ------------------------------------------------

    def _load(self, raise_errors: bool) -> None:
        stamp = file_stamp(self._file)
        try:
            entries = _parse_file(self._file)
            owners = self._check_claims(entries)
        except AddressConfigError as e:
            if raise_errors:
                raise
            logger.error("%s (keeping the previous version)", e)
            self._mtime = stamp  # do not retry until the file changes again
            return
        self._entries, self._owners, self._mtime = entries, owners, stamp

    def _check_claims(self, entries: Dict[str, Principal]) -> Dict[str, str]:
        owners: Dict[str, str] = {}
        for user, entry in entries.items():
            for address in entry.addresses:
                email = addr.email(address) or ""
                # Its own address by construction: the domain address of a
                # user, or a user name that is this e-mail address.
                for implicit_owner in self._email_user_candidates(email):
                    if implicit_owner != user and (
                            implicit_owner in entries or
                            self.user_exists(implicit_owner)):
                        raise AddressConfigError(
                            "scheduling_addresses: %s is given to user %r "
                            "but is the address of user %r" % (
                                email, user, implicit_owner))
                if owners.get(address, user) != user:
                    raise AddressConfigError(
                        "scheduling_addresses: %s is claimed by both %r and "
                        "%r" % (email, owners[address], user))
                owners[address] = user
        return owners

    def _refresh(self) -> None:
        if self._file and file_stamp(self._file) != self._mtime:
            with self._lock:
                if file_stamp(self._file) != self._mtime:
                    self._load(raise_errors=False)

    # -- lookups -----------------------------------------------------------

    def implicit_addresses(self, user: str) -> Tuple[str, ...]:
        if addr.is_email(user):
            return (addr.normalize(user),)
        if self._domain:
            return (addr.mailto("%s@%s" % (user, self._domain)),)
        return ()

    def principal(self, user: str) -> Principal:
        self._refresh()
        entry = self._entries.get(user) or Principal(user, ())
        addresses = list(entry.addresses)
        for address in self.implicit_addresses(user):
            if address not in addresses and \
                    self._owners.get(address, user) == user:
                addresses.append(address)
        return Principal(user, tuple(addresses), entry.cutype,
                         entry.display_name)

    def user_for_address(self, address: str) -> Optional[str]:
        """The local user owning a calendar-user address, else None.

        A principal URL (``/bob/`` or ``https://host/base/bob/``, which
        clients use for users without an e-mail address) names its user."""
        self._refresh()
        email = addr.email(address)
        if email is None:
            address = addr.normalize(address)
            path = urlparse(address).path if "://" in address else address
            segments = [s for s in path.split("/") if s]
            if segments and not path.endswith(".ics") and \
                    self.user_exists(unquote(segments[-1])):
                return unquote(segments[-1])
            return None
        owner = self._owners.get(addr.mailto(email))
        if owner is not None:
            return owner
        for candidate in self._email_user_candidates(email):
            if candidate in self._entries or self.user_exists(candidate):
                return candidate
        return None

    def _email_user_candidates(self, email: str) -> Iterable[str]:
        yield email
        if self._domain:
            local, _, domain = email.rpartition("@")
            if domain == self._domain and local:
                yield local

    def is_local_domain(self, address: str) -> bool:
        """True for an address in the server's own domain (known or not)."""
        email = addr.email(address)
        return bool(self._domain) and email is not None and \
            email.rpartition("@")[2] == self._domain

    # -- users -------------------------------------------------------------

    def _htpasswd_users(self) -> Set[str]:
        """User names of the htpasswd file, when that is the auth backend."""
        stamp = file_stamp(self._htpasswd_file) if self._htpasswd_file else None
        if stamp is None:
            return set()
        if self._htpasswd[0] != stamp:
            try:
                with open(self._htpasswd_file or "", encoding="utf-8",
                          errors="replace") as f:
                    users = {line.split(":", 1)[0] for line in map(str.strip, f)
                             if line and not line.startswith("#")
                             and ":" in line}
            except OSError:
                return set()
            self._htpasswd = (stamp, users)
        return self._htpasswd[1]

    def user_exists(self, user: str) -> bool:
        """Is ``user`` a user of this server (for address lookups)?"""
        if not pathutils.is_safe_filesystem_path_component(user):
            return False
        return os.path.isdir(os.path.join(self._root, user)) or \
            user in self._htpasswd_users()

    def known_users(self) -> Set[str]:
        """Every user the server knows: principal folders, the htpasswd
        and addresses files (users of other auth backends appear once they
        have logged in)."""
        self._refresh()
        users = self._htpasswd_users() | set(self._entries)
        try:
            with os.scandir(self._root) as entries:
                users.update(entry.name for entry in entries
                             if entry.is_dir())
        except FileNotFoundError:
            pass
        return {user for user in users
                if pathutils.is_safe_filesystem_path_component(user)}
