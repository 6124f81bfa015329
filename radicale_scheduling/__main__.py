"""Admin commands: the mail queue, and mail received for the server.

``receive`` is what a Postfix or Exim pipe transport, procmail or a sieve
``pipe`` action runs for each incoming mail (see README.md).  Errors are one
line on stderr; nothing is created before the configuration is valid.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from typing import Dict, List, Optional

from radicale import config as radicale_config
from radicale import storage as radicale_storage

from radicale_scheduling.itip.address import email

#: sysexits.h: a configuration error; an internal error; try again later.
EX_CONFIG = 78
EX_SOFTWARE = 70
EX_TEMPFAIL = 75

PROG = "python -m radicale_scheduling"

ACTIONS = """\
actions:
  queue [list]   show the mail queue (waiting and failed messages)
  queue retry    send every waiting and failed message now; says which
                 were sent and which failed
  queue send     send the messages that are due now; says the same
  receive [RECIPIENT ...]
                 process one mail (iMIP) read from stdin; RECIPIENTs are
                 the envelope recipients (else the mail's To and Cc)

--config defaults to Radicale's own (RADICALE_CONFIG, /etc/radicale/config,
~/.config/radicale/config).  Exit codes (sysexits): 0 done, 65 not an iTIP
mail or malformed, 67 no such meeting or recipient, 70 internal error,
75 temporary failure (disk, lock: try again), 77 sender not allowed,
78 configuration error."""


class ConfigError(Exception):
    """The configuration cannot be used: one line, exit 78."""


def _storage(path: Optional[str]):
    """The configuration's storage, checked before Radicale creates any folder."""
    from radicale_scheduling import options
    from radicale_scheduling.delivery import outbound
    where = path or "the default configuration"
    try:
        configuration = radicale_config.load(radicale_config.parse_compound_paths(
            radicale_config.DEFAULT_CONFIG_PATH, os.environ.get("RADICALE_CONFIG"), path))
        if configuration.get("storage", "type") != "radicale_scheduling":
            raise ConfigError("[storage] type is %r, not radicale_scheduling, in %s" % (
                configuration.get("storage", "type"), where))
        settings = options.Settings.from_configuration(
            configuration.copy(options.PLUGIN_CONFIG_SCHEMA))
        outbound.run_by_hand(settings.queue_folder)
        storage = radicale_storage.load(configuration)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(str(e) or type(e).__name__) from e
    return storage


def _to(entry: dict) -> str:
    return email(entry["recipient"]) or entry["recipient"]


def _line(entry: dict, state: str) -> str:
    due = datetime.datetime.fromtimestamp(entry["next"]).strftime("%Y-%m-%d %H:%M:%S")
    return "%-7s %-7s %-32s to %-30s attempts %d next %s %s" % (
        state, entry["method"], entry["uid"][:32], _to(entry),
        entry["attempts"], due, entry["error"][:60])


def _send(outbound) -> int:
    """Send what is due and say, per message, what became of it."""
    before: Dict[str, dict] = {e["id"]: e for e in outbound.entries("pending")}
    outbound.run_once()
    pending = {e["id"]: e for e in outbound.entries("pending")}
    failed = {e["id"]: e for e in outbound.entries("failed")}
    sent = failures = 0
    for key, entry in before.items():
        what = "%s for %r to %s" % (entry["method"], entry["uid"], _to(entry))
        if key in failed:
            failures += 1
            print("failed  %s: %s (given up)" % (what, failed[key]["error"]))
        elif key in pending and pending[key]["attempts"] > entry["attempts"]:
            failures += 1
            print("failed  %s: %s (retried later)" % (what, pending[key]["error"]))
        elif key in pending:
            print("waiting %s (not due yet, or the hourly limit)" % what)
        else:
            sent += 1
            print("sent    %s" % what)
    print("%d sent, %d failed" % (sent, failures))
    return 0


def _queue(storage, action: str) -> int:
    outbound = storage.scheduler.outbound
    if outbound is None:
        print("e-mail is off (scheduling_smtp_host is not set)")
        return 0
    if action == "retry":
        outbound.retry_all()
    if action in ("retry", "send"):
        # Claims left by a process that died are due too (run_once).
        if not outbound.entries("pending") and not outbound.entries("sending"):
            print("the mail queue is empty: nothing to send")
            return 0
        return _send(outbound)
    lines = [_line(entry, state) for state in ("pending", "failed")
             for entry in outbound.entries(state)]
    print("\n".join(lines) if lines else "the mail queue is empty")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=(__doc__ or "").split("\n")[0], epilog=ACTIONS,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="Radicale configuration file")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{queue,receive}")
    queue = commands.add_parser(
        "queue", help="the mail queue: list (default), retry or send",
        epilog=ACTIONS, formatter_class=argparse.RawDescriptionHelpFormatter)
    queue.add_argument("action", nargs="?", default="list", choices=("list", "retry", "send"),
                       help="list: show it; retry: send everything now; send: send what is due")
    receive = commands.add_parser("receive", help="process one mail from stdin")
    receive.add_argument("recipients", nargs="*", help="envelope recipients (else To/Cc)")
    args = parser.parse_args(argv)
    try:
        storage = _storage(args.config)
    except ConfigError as e:
        print("%s: configuration error: %s" % (PROG, " ".join(str(e).split())),
              file=sys.stderr)
        return EX_CONFIG
    try:
        if args.command == "queue":
            return _queue(storage, args.action)
        from radicale_scheduling.delivery import incoming
        # No more than the size limit and one byte is read: a larger mail
        # is refused (65) without being held in memory.
        raw = sys.stdin.buffer.read(storage.settings.max_resource_size + 1)
        code, text = incoming.process(storage, raw, args.recipients)
    except OSError as e:
        # A full disk, a lock or permission: a mail server tries again.
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return EX_TEMPFAIL
    except Exception as e:  # one line for the admin, not a traceback
        print("%s: internal error: %s: %s" % (PROG, type(e).__name__, e), file=sys.stderr)
        return EX_SOFTWARE
    print(text, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
