"""Admin commands: the mail queue, and mail received for the server.

    python -m radicale_scheduling --config FILE queue [list|retry|send]
    python -m radicale_scheduling --config FILE receive [RECIPIENT ...] < mail

``receive`` is what a Postfix or Exim pipe transport, procmail or a sieve
``pipe`` action runs for each incoming mail (see README.md); its exit code
follows sysexits (0, 65, 67, 77).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from typing import List, Optional

from radicale import config as radicale_config
from radicale import storage as radicale_storage


def _storage(path: Optional[str]):
    from radicale_scheduling.delivery import outbound
    outbound.AUTOSTART = False  # a command does not start a mail sender
    paths = [(path, False)] if path else []
    configuration = radicale_config.load(paths)
    storage = radicale_storage.load(configuration)
    from radicale_scheduling.storage import Storage
    if not isinstance(storage, Storage):
        raise SystemExit("[storage] type is not radicale_scheduling in %s"
                         % (path or "the default configuration"))
    return storage


def _queue(storage, action: str) -> int:
    if storage.outbound is None:
        print("e-mail is off (scheduling_smtp_host is not set)")
        return 0
    if action == "retry":
        print("%d message(s) will be sent again" % storage.outbound.retry_all())
        action = "send"
    if action == "send":
        storage.outbound.run_once()
    for state in ("pending", "failed"):
        for entry in storage.outbound.entries(state):
            due = datetime.datetime.fromtimestamp(entry["next"]).strftime(
                "%Y-%m-%d %H:%M:%S")
            print("%-7s %-7s %-32s to %-30s attempts %d next %s %s" % (
                state, entry["method"], entry["uid"][:32],
                entry["recipient"][7:], entry["attempts"], due,
                entry["error"][:60]))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m radicale_scheduling",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="Radicale configuration file")
    commands = parser.add_subparsers(dest="command", required=True)
    queue = commands.add_parser("queue", help="list, retry or send the mail "
                                              "queue")
    queue.add_argument("action", nargs="?", default="list",
                       choices=("list", "retry", "send"))
    receive = commands.add_parser("receive",
                                  help="process one mail from stdin")
    receive.add_argument("recipients", nargs="*",
                         help="envelope recipients (else To/Cc)")
    args = parser.parse_args(argv)
    storage = _storage(args.config)
    if args.command == "queue":
        return _queue(storage, args.action)
    from radicale_scheduling.delivery import incoming
    # No more than the size limit and one byte is read: a larger mail is
    # refused (65) without being held in memory.
    raw = sys.stdin.buffer.read(storage.settings.max_resource_size + 1)
    code, text = incoming.process(storage, raw, args.recipients)
    print(text, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
