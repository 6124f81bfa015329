"""Principal search (attendee completion) on a server with many users.

Plain Radicale answers the search with an empty multistatus at once, so its
column is the floor of a REPORT, not a like-for-like figure: the plugin's
column is what one keystroke of attendee completion costs.  Half the users
have a principal folder with a display name, the other half are htpasswd
users only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile

from common import add_users, measure, report, servers

SEARCH = (
    '<?xml version="1.0"?><D:principal-property-search xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav" test="anyof">'
    '<D:property-search><D:prop><D:displayname/></D:prop>'
    '<D:match>%s</D:match></D:property-search>'
    '<D:property-search><D:prop><C:calendar-user-address-set/></D:prop>'
    '<D:match>%s</D:match></D:property-search>'
    '<D:prop><D:displayname/><C:calendar-user-address-set/>'
    '<C:calendar-user-type/></D:prop></D:principal-property-search>')


def populate(app, users: int) -> None:
    names = ["user-%05d" % n for n in range(users)]
    add_users(app, names)
    root = app.collection_root()
    for n, name in enumerate(names[::2]):
        os.makedirs(os.path.join(root, name))
        with open(os.path.join(root, name, ".Radicale.props"), "w") as f:
            json.dump({"D:displayname": "Person %05d" % (2 * n)}, f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", default="100,1000",
                        help="comma-separated user counts (default 100,1000)")
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    for users in (int(n) for n in args.users.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            apps = servers(folder)
            # Plain Radicale logs a warning per search it does not know.
            logging.getLogger("radicale").setLevel(logging.ERROR)
            for app in apps.values():
                app.request("PROPFIND", "/alice/", user="alice", depth="0")
                populate(app, users)
            print("Principal search, %d users, median of %d" % (
                users, args.repeat))
            for typed in ("person 0001", "user-0"):
                body = SEARCH % (typed, typed)
                report("search %r (%d users)" % (typed, users), measure(
                    apps, lambda app, i, body=body: app.request(
                        "REPORT", "/", body, user="alice", depth="0"),
                    args.repeat))


if __name__ == "__main__":
    main()
