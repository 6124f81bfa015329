"""Free-busy: POST to the outbox vs Radicale's own free-busy-query REPORT
on the same calendar and window, same run (issue: free-busy lookups).

The recipient's calendar is written into both storage folders before the
servers read it, as an existing install holds it: N events over two years,
one in twenty a weekly series.  Target: the POST no slower than the REPORT,
events outside the window close to free; ten recipients about ten times
one.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from common import measure, report, servers

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
         "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\n"
         "DTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:Busy {uid}\r\n{rule}"
         "END:VEVENT\r\nEND:VCALENDAR\r\n")
PROPS = ('{"tag": "VCALENDAR", "C:supported-calendar-component-set": '
         '"VEVENT"}')
WINDOWS = {"one week": ("20260302T000000Z", "20260309T000000Z"),
           "one month": ("20260301T000000Z", "20260401T000000Z")}


def fill(app, user: str, count: int) -> None:
    fill_folder(app.collection_root(), user, count)


def fill_folder(collection_root: str, user: str, count: int) -> None:
    """``count`` events over two years, one in twenty a weekly series, in
    ``user``'s calendar ``cal``, written as an existing install holds it."""
    folder = os.path.join(collection_root, user, "cal")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".Radicale.props"), "w") as f:
        f.write(PROPS)
    for i in range(count):
        day, hour = (i * 7) % 730, 8 + i % 10
        year, yday = 2025 + day // 365, day % 365
        month, mday = 1 + yday // 31 % 12, 1 + yday % 28
        start = "%04d%02d%02dT%02d0000Z" % (year, month, mday, hour)
        end = "%04d%02d%02dT%02d4500Z" % (year, month, mday, hour)
        rule = "RRULE:FREQ=WEEKLY;COUNT=20\r\n" if i % 20 == 0 else ""
        with open(os.path.join(folder, "e%d.ics" % i), "w",
                  newline="") as f:
            f.write(EVENT.format(uid="%s-%d" % (user, i), start=start,
                                 end=end, rule=rule))


def post_body(recipients, start, end) -> str:
    attendees = "".join("ATTENDEE:mailto:%s@example.org\r\n" % r
                        for r in recipients)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
            "METHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:fb\r\n"
            "DTSTAMP:20260101T000000Z\r\nDTSTART:%s\r\nDTEND:%s\r\n"
            "ORGANIZER:mailto:alice@example.org\r\n%sEND:VFREEBUSY\r\n"
            "END:VCALENDAR\r\n" % (start, end, attendees))


def report_body(start, end) -> str:
    return ('<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:'
            'params:xml:ns:caldav"><C:time-range start="%s" end="%s"/>'
            '</C:free-busy-query>' % (start, end))


def outbox_post(app, recipients, start, end):
    response = app.request("POST", "/alice/.schedule-outbox/",
                           post_body(recipients, start, end), user="alice",
                           content_type="text/calendar")
    assert response.status == 200, response.status


def run(count: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        apps = servers(folder)
        plugin = apps["plugin"]
        users = ["user%d" % i for i in range(10)]
        for app in apps.values():
            app.propfind("/alice/", "D:resourcetype")
            fill(app, "bob", count)
            app.request("REPORT", "/bob/cal/", report_body(  # warm caches
                "20200101T000000Z", "20300101T000000Z"), user="bob",
                depth="1")
        for user in users:  # ten recipients of count/10 events each
            fill(plugin, user, count // 10)
            outbox_post(plugin, [user], "20260101T000000Z",
                        "20261231T000000Z")
        print("Free-busy, recipient with %d events, median of %d"
              % (count, repeat))
        for name, (start, end) in WINDOWS.items():
            def lookup(app, i, start=start, end=end):
                if app is plugin:
                    outbox_post(app, ["bob"], start, end)
                else:  # plain Radicale: its own REPORT, as bob
                    response = app.request(
                        "REPORT", "/bob/cal/", report_body(start, end),
                        user="bob", depth="1")
                    assert response.status in (200, 207), response.status
            report("POST (plugin) vs REPORT (plain), %s" % name,
                   measure(apps, lookup, repeat))
        start, end = WINDOWS["one week"]
        one = measure({"plugin": plugin}, lambda app, i: outbox_post(
            app, users[:1], start, end), repeat)["plugin"]
        ten = measure({"plugin": plugin}, lambda app, i: outbox_post(
            app, users, start, end), repeat)["plugin"]
        print("%-46s 1: %8.2f ms  10: %8.2f ms  ratio %5.2f" % (
            "POST 1 vs 10 recipients (%d events each)" % (count // 10),
            one * 1000, ten * 1000, ten / one))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for count in (int(n) for n in args.events.split(",")):
        run(count, args.repeat)


if __name__ == "__main__":
    main()
