"""The privileges of the schedule inbox and outbox (RFC 6638 s6, RFC 3744
s5.3, s5.4): the owner's, and the tree a client shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from radicale_scheduling.http.xml import element
from radicale_scheduling.storage import paths

_INBOX = ("C:schedule-deliver", "C:schedule-deliver-invite",
          "C:schedule-deliver-reply", "C:schedule-query-freebusy")
_OUTBOX = ("C:schedule-send", "C:schedule-send-invite",
           "C:schedule-send-reply", "C:schedule-send-freebusy")
_OWNER = {
    # The owner reads and empties the inbox and sets its properties; nobody
    # PUTs into it (D:bind is absent).  Delivery is the server's, on behalf
    # of any calendar user, so schedule-deliver is granted to all.
    paths.INBOX: ("D:read", "D:read-current-user-privilege-set",
                  "D:write-properties", "D:unbind") + _INBOX,
    paths.OUTBOX: ("D:read", "D:read-current-user-privilege-set") + _OUTBOX,
}
_DESCRIPTIONS = {
    "D:all": "Any operation",
    "D:read": "Read the collection and its items",
    "D:read-current-user-privilege-set": "Read your own privileges",
    "D:write-properties": "Change properties",
    "D:unbind": "Remove items",
    "C:schedule-deliver": "Deliver scheduling messages",
    "C:schedule-deliver-invite": "Deliver invitations",
    "C:schedule-deliver-reply": "Deliver replies",
    "C:schedule-query-freebusy": "Ask for free-busy time",
    "C:schedule-send": "Send scheduling messages",
    "C:schedule-send-invite": "Send invitations",
    "C:schedule-send-reply": "Send replies",
    "C:schedule-send-freebusy": "Send free-busy requests",
}


def _privilege(name: str) -> ET.Element:
    return element("D:privilege", None, element(name))


def current(kind: str) -> ET.Element:
    return element("D:current-user-privilege-set", None,
                   *(_privilege(name) for name in _OWNER[kind]))


def _supported(name: str, *children: ET.Element,
               abstract: bool = False) -> ET.Element:
    node = element("D:supported-privilege", None, _privilege(name))
    if abstract:
        node.append(element("D:abstract"))
    node.append(element("D:description", _DESCRIPTIONS[name]))
    node.extend(children)
    return node


def supported(kind: str) -> ET.Element:
    inbox = kind == paths.INBOX
    top, *names = _INBOX if inbox else _OUTBOX
    schedule = _supported(top, *map(_supported, names))
    extra = [_supported("D:write-properties"), _supported("D:unbind")] \
        if inbox else []
    read = _supported("D:read",
                      _supported("D:read-current-user-privilege-set"))
    tree = _supported("D:all", read, *extra, schedule, abstract=True)
    return element("D:supported-privilege-set", None, tree)
