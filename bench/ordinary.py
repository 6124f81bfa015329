"""Ordinary traffic (no scheduling) through the plugin vs plain Radicale.

Target (issue: Foundation): at most 10% slower than plain Radicale.
"""

from __future__ import annotations

import argparse
import tempfile

from common import event, measure, report, servers

PRINCIPAL_PROPFIND = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:resourcetype/>'
    '<D:current-user-principal/><C:calendar-home-set/><D:displayname/>'
    '</D:prop></D:propfind>')
#: What a scheduling client asks at discovery; plain Radicale answers most
#: of it with 404, so this line shows the cost of the answers themselves.
DISCOVERY_PROPFIND = PRINCIPAL_PROPFIND.replace(
    "<D:displayname/>", "<D:displayname/><C:calendar-user-address-set/>"
    "<C:schedule-inbox-URL/><C:schedule-outbox-URL/><C:calendar-user-type/>")
CALENDAR_PROPFIND = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/>'
    '<D:resourcetype/></D:prop></D:propfind>')
WEEK_QUERY = (
    '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>'
    '<C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    '<C:comp-filter name="VEVENT"><C:time-range start="20260302T000000Z" '
    'end="20260309T000000Z"/></C:comp-filter></C:comp-filter></C:filter>'
    '</C:calendar-query>')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200,
                        help="events in the calendar (default 200)")
    parser.add_argument("--repeat", type=int, default=31)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        apps = servers(folder)
        for app in apps.values():
            app.request("PROPFIND", "/alice/", PRINCIPAL_PROPFIND,
                        user="alice", depth="0")
            assert app.mkcalendar("/alice/cal/").status == 201
            for i in range(args.items):
                app.request("PUT", "/alice/cal/seed-%d.ics" % i,
                            event("seed-%d" % i, i), user="alice")
        print("Ordinary requests, calendar of %d events, median of %d" % (
            args.items, args.repeat))
        report("principal PROPFIND (depth 0)", measure(
            apps, lambda app, i: app.request(
                "PROPFIND", "/alice/", PRINCIPAL_PROPFIND, user="alice",
                depth="0"), args.repeat))
        report("principal PROPFIND, scheduling discovery", measure(
            apps, lambda app, i: app.request(
                "PROPFIND", "/alice/", DISCOVERY_PROPFIND, user="alice",
                depth="0"), args.repeat))
        report("PUT of a new event", measure(
            apps, lambda app, i: app.request(
                "PUT", "/alice/cal/new-%d.ics" % i, event("new-%d" % i, i),
                user="alice"), args.repeat))
        report("calendar PROPFIND (depth 1)", measure(
            apps, lambda app, i: app.request(
                "PROPFIND", "/alice/cal/", CALENDAR_PROPFIND, user="alice",
                depth="1"), args.repeat))
        report("calendar-query REPORT, one week", measure(
            apps, lambda app, i: app.request(
                "REPORT", "/alice/cal/", WEEK_QUERY, user="alice",
                depth="1"), args.repeat))


if __name__ == "__main__":
    main()
