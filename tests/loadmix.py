"""A mixed CalDAV scheduling load from many clients, and what must hold after.

Shared by tests/live/test_concurrency.py (bounded, asserts) and bench/load.py
(figures).  Clients speak HTTP to real ``python -m radicale`` processes
(one or several sharing a collections folder), each request on its own
connection, the way the standard library's http.client does:

- organizers' devices update their meetings (a SUMMARY counter, SEQUENCE)
  with If-Schedule-Tag-Match or If-Match, retrying on 412 as clients do;
  now and then only SEQUENCE moves, as clients that bump it on every save
  do;
- attendees answer with alternating PARTSTATs, also retrying on 412; a
  room answers on its own, an outside attendee is mailed (when the
  servers have SMTP);
- free-busy POSTs to outboxes, ordinary GET / PROPFIND / REPORT, inbox
  reading and clean-up.

``verify`` then checks, over HTTP, that no update was lost: every
attendee's last successful answer is on the organizer's copy (and on the
other attendees' copies), every attendee's copy shows the organizer's last
saved SUMMARY, the room accepted, one object per UID and user,
well-formed inbox messages.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import random
import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlparse

import vobject

PASSWORD = "radicale"
DOMAIN = "example.org"
ORGANIZERS = ("alice", "carol")
ATTENDEES = ("bob", "dave", "erin", "frank")
ROOM = "room-1"
USERS = ORGANIZERS + ATTENDEES + (ROOM,)
#: The scheduling_addresses file: room-1 answers invitations on its own.
ADDRESSES = "[room-1]\ntype = ROOM\nname = Meeting room 1\n"
EXTERNAL = "mailto:grandma@elsewhere.example"
ANSWERS = ("ACCEPTED", "DECLINED", "TENTATIVE")
NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}
#: Seconds a request may take before the client gives up (a deadlock).
REQUEST_TIMEOUT = 30.0
#: Connections tried per request when the server resets them unanswered.
CONNECT_ATTEMPTS = 3


def address(user: str) -> str:
    return "mailto:%s@%s" % (user, DOMAIN)


# -- HTTP ----------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: Dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())


@dataclass
class Stats:
    """Every request's kind, status and latency, from all threads."""

    latencies: Dict[str, List[float]] = field(default_factory=dict)
    statuses: Dict[Tuple[str, int], int] = field(default_factory=dict)
    failures: List[str] = field(default_factory=list)  # 5xx, timeouts
    resets: int = 0  # connections reset before an answer, then retried
    unexpected: List[str] = field(default_factory=list)  # wrong answers
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.monotonic)
    stopped: Optional[float] = None
    #: Seconds of load over several runs into the same Stats (0: one run).
    accumulated: float = 0.0

    def record(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            key = (kind, status)
            self.statuses[key] = self.statuses.get(key, 0) + 1

    def reset(self) -> None:
        with self.lock:
            self.resets += 1

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    def wrong(self, message: str) -> None:
        with self.lock:
            self.unexpected.append(message)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.statuses.items()
                   if status >= 500)

    @property
    def elapsed(self) -> float:
        return self.accumulated or \
            (self.stopped or time.monotonic()) - self.started

    def summary(self) -> List[str]:
        """Lines: per request kind, count, rate, latency percentiles."""
        elapsed = self.elapsed
        lines = ["%-22s %7s %7s %8s %8s %8s %8s  %s" % (
            "request", "count", "req/s", "p50 ms", "p90 ms", "p99 ms",
            "max ms", "statuses")]
        everything: List[float] = []
        for kind in sorted(self.latencies):
            values = sorted(self.latencies[kind])
            everything.extend(values)
            lines.append(_line(kind, values, elapsed, {
                status: n for (k, status), n in self.statuses.items()
                if k == kind}))
        lines.append(_line("all", sorted(everything), elapsed, {
            status: sum(n for (_, s), n in self.statuses.items()
                        if s == status)
            for status in {s for _, s in self.statuses}}))
        return lines


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(fraction * len(values)))]


def _line(kind: str, values: List[float], elapsed: float,
          statuses: Dict[int, int]) -> str:
    return "%-22s %7d %7.1f %8.1f %8.1f %8.1f %8.1f  %s" % (
        kind, len(values), len(values) / elapsed if elapsed else 0,
        percentile(values, 0.5) * 1000, percentile(values, 0.9) * 1000,
        percentile(values, 0.99) * 1000, (values[-1] if values else 0) * 1000,
        " ".join("%d:%d" % item for item in sorted(statuses.items())))


class Client:
    """One user's client: every request on a fresh connection to one of
    the servers (several processes may serve one folder)."""

    def __init__(self, urls: Sequence[str], user: str, stats: Stats,
                 rng: Optional[random.Random] = None) -> None:
        self.targets = [(urlparse(u).hostname, urlparse(u).port) for u in urls]
        self.user = user
        self.stats = stats
        self.rng = rng or random.Random()
        token = base64.b64encode(("%s:%s" % (user, PASSWORD)).encode())
        self.auth = "Basic " + token.decode()

    def request(self, kind: str, method: str, path: str, body: str = "",
                **headers: str) -> Reply:
        send = {"Authorization": self.auth,
                **{k.replace("_", "-"): v for k, v in headers.items()}}
        data = body.encode("utf-8")
        started = time.monotonic()
        for attempt in range(CONNECT_ATTEMPTS):
            host, port = self.rng.choice(self.targets)
            connection = http.client.HTTPConnection(host, port,
                                                    timeout=REQUEST_TIMEOUT)
            try:
                connection.request(method, path, data, send)
                response = connection.getresponse()
                reply = Reply(response.status, {k.lower(): v for k, v in
                                                response.getheaders()},
                              response.read())
                break
            except (ConnectionResetError, ConnectionRefusedError,
                    BrokenPipeError) as e:
                # Radicale's server (plain Radicale too) accepts one
                # connection at a time into a queue of 5; in a burst the
                # kernel resets what does not fit.  Clients connect again.
                self.stats.reset()
                if attempt + 1 < CONNECT_ATTEMPTS:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                error: OSError = e
            except OSError as e:  # includes socket.timeout: a hung request
                error = e
            finally:
                connection.close()
            self.stats.record(kind, 599, time.monotonic() - started)
            self.stats.fail("%s %s %s as %s: %s" % (kind, method, path,
                                                    self.user, error))
            return Reply(599, {}, b"")
        self.stats.record(kind, reply.status, time.monotonic() - started)
        if reply.status >= 500:
            self.stats.fail("%s %s %s as %s: %d %s" % (
                kind, method, path, self.user, reply.status, reply.text[:300]))
        return reply


# -- iCalendar -----------------------------------------------------------------

def meeting_text(uid: str, organizer: str, attendees: Sequence[str],
                 day: int, external: bool = False, room: bool = False
                 ) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//load//EN",
             "BEGIN:VEVENT", "UID:%s" % uid, "DTSTAMP:20260101T000000Z",
             "DTSTART:202603%02dT090000Z" % day,
             "DTEND:202603%02dT100000Z" % day,
             "SUMMARY:%s #0" % uid, "SEQUENCE:0",
             "ORGANIZER;CN=%s:%s" % (organizer, address(organizer)),
             "ATTENDEE;CN=%s;PARTSTAT=ACCEPTED:%s" % (organizer,
                                                      address(organizer))]
    for user in attendees:
        lines.append("ATTENDEE;CN=%s;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:%s"
                     % (user, address(user)))
    if external:
        lines.append("ATTENDEE;CN=Grandma;PARTSTAT=NEEDS-ACTION:%s"
                     % EXTERNAL)
    if room:
        lines.append("ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:%s"
                     % address(ROOM))
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def parse(text: str):
    return vobject.readOne(text)


def vevent(cal):
    return cal.vevent


def counter(summary: str) -> int:
    match = re.search(r"#(\d+)$", summary)
    return int(match.group(1)) if match else -1


def partstats(event) -> Dict[str, str]:
    result = {}
    for line in event.contents.get("attendee", []):
        who = str(line.value).lower()
        result[who] = (line.params.get("PARTSTAT") or ["NEEDS-ACTION"])[0]
    return result


def set_partstat(event, who: str, partstat: str) -> None:
    for line in event.contents.get("attendee", []):
        if str(line.value).lower() == who:
            line.params["PARTSTAT"] = [partstat]
            line.params.pop("RSVP", None)


def set_single(event, name: str, value: str) -> None:
    for line in list(event.contents.get(name, [])):
        event.remove(line)
    event.add(name).value = value


# -- the scenario ----------------------------------------------------------------

@dataclass
class Meeting:
    uid: str
    organizer: str
    attendees: Tuple[str, ...]
    external: bool = False
    room: bool = False
    saved: List[int] = field(default_factory=list)  # successful counters


@dataclass
class Scenario:
    urls: List[str]
    stats: Stats
    meetings: List[Meeting]
    mailing: bool = False
    #: (attendee, uid) -> the PARTSTAT of their last successful PUT
    answers: Dict[Tuple[str, str], str] = field(default_factory=dict)
    #: (user, uid) -> href of the user's copy
    hrefs: Dict[Tuple[str, str], str] = field(default_factory=dict)
    answers_lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, user: str, seed: int) -> Client:
        return Client(self.urls, user, self.stats, random.Random(seed))


DISCOVERY = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
             'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>'
             '<C:schedule-inbox-URL/><C:calendar-user-address-set/>'
             '</D:prop></D:propfind>')


def build(urls: List[str], stats: Stats, meetings_per_organizer: int = 2,
          mailing: bool = False) -> Scenario:
    """Users set up by their clients, meetings sent, copies found."""
    meetings = []
    for organizer in ORGANIZERS:
        for m in range(meetings_per_organizer):
            # Every attendee is in meetings of both organizers; not every
            # meeting has everyone.
            chosen = tuple(a for i, a in enumerate(ATTENDEES)
                           if (i + m) % 4 != 3)
            meetings.append(Meeting("load-%s-%d" % (organizer, m), organizer,
                                    chosen, external=mailing and m == 0,
                                    room=m == 1))
    scenario = Scenario(urls, stats, meetings, mailing)
    errors: List[str] = []

    def discover(user: str, seed: int) -> None:
        # The client makes its calendar (409: another device did), then
        # discovers scheduling, which creates no calendar.
        reply = scenario.client(user, seed).request(
            "setup", "MKCALENDAR", "/%s/calendar/" % user, "")
        if reply.status not in (201, 409):
            errors.append("calendar of %s: %d" % (user, reply.status))
        reply = scenario.client(user, seed).request(
            "setup", "PROPFIND", "/%s/" % user, DISCOVERY, Depth="0")
        if reply.status != 207:
            errors.append("discovery of %s: %d" % (user, reply.status))

    def organize(organizer: str, seed: int) -> None:
        discover(organizer, seed)
        for day, meeting in enumerate(meetings, start=2):
            if meeting.organizer != organizer:
                continue
            href = "/%s/calendar/%s.ics" % (organizer, meeting.uid)
            reply = scenario.client(organizer, seed + day).request(
                "setup", "PUT", href, meeting_text(
                    meeting.uid, organizer, meeting.attendees, day,
                    meeting.external, meeting.room),
                Content_Type="text/calendar")
            if reply.status != 201:
                errors.append("invitation %s: %d %s" % (
                    meeting.uid, reply.status, reply.text))
                continue
            meeting.saved.append(0)
            scenario.hrefs[(organizer, meeting.uid)] = href

    # First use happens all at once, on every server: each attendee's
    # client sets up (twice, as two devices would) while invitations are
    # delivered to them, so inbox, outbox and default calendar are made
    # by whichever request and process comes first.
    threads = [threading.Thread(target=organize, args=(o, 10 * i))
               for i, o in enumerate(ORGANIZERS)]
    threads += [threading.Thread(target=discover, args=(user, 100 + i))
                for i, user in enumerate(ATTENDEES * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT * 4)
    if errors or any(thread.is_alive() for thread in threads):
        raise AssertionError("setup failed: %s" % errors)
    for i, user in enumerate(ATTENDEES):
        for href, text in objects(scenario.client(user, 100 + i), user):
            uid = str(vevent(parse(text)).uid.value)
            scenario.hrefs[(user, uid)] = href
    return scenario


def objects(client: Client, user: str, kind: str = "setup"
            ) -> List[Tuple[str, str]]:
    """(href, text) of every object in every calendar of ``user``."""
    found = []
    for calendar in members(client, "/%s/" % user, kind, calendars=True):
        for href in members(client, calendar, kind):
            reply = client.request(kind, "GET", href)
            if reply.status == 200:
                found.append((href, reply.text))
    return found


PROPFIND_TYPES = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
                  '<D:resourcetype/><D:getetag/></D:prop></D:propfind>')


def members(client: Client, path: str, kind: str, calendars: bool = False
            ) -> List[str]:
    reply = client.request(kind, "PROPFIND", path, PROPFIND_TYPES, Depth="1")
    if reply.status != 207:
        client.stats.wrong("PROPFIND %s: %d" % (path, reply.status))
        return []
    result = []
    for response in ET.fromstring(reply.body).findall("D:response", NS):
        href = response.findtext("D:href", namespaces=NS) or ""
        if href.rstrip("/") == path.rstrip("/"):
            continue
        is_calendar = response.find(".//C:calendar", NS) is not None
        if calendars == is_calendar:
            result.append(href)
    return sorted(result)


# -- what clients do ---------------------------------------------------------------

def _conditional(reply: Reply, use_tag: bool) -> Dict[str, str]:
    if use_tag and reply.header("schedule-tag"):
        return {"If_Schedule_Tag_Match": reply.header("schedule-tag") or ""}
    return {"If_Match": reply.header("etag") or '"none"'}


def _save(client: Client, kind: str, href: str,
          edit: Callable[[object], bool], use_tag: bool,
          attempts: int = 8) -> Optional[object]:
    """GET, edit, PUT conditionally; again on 412.  The edited event of
    the successful PUT, or None."""
    for _ in range(attempts):
        got = client.request(kind + " GET", "GET", href)
        if got.status != 200:
            client.stats.wrong("GET %s as %s: %d" % (href, client.user,
                                                     got.status))
            return None
        cal = parse(got.text)
        if not edit(vevent(cal)):
            return None
        put = client.request(kind, "PUT", href, cal.serialize(),
                             Content_Type="text/calendar",
                             **_conditional(got, use_tag))
        if put.status in (200, 201, 204):
            return vevent(cal)
        if put.status != 412:
            if put.status < 500:
                client.stats.wrong("%s PUT %s as %s: %d %s" % (
                    kind, href, client.user, put.status, put.text[:300]))
            return None
    return None


def _organizer_edit(uid: str, touch_only: bool, chosen: Dict[str, object]
                    ) -> Callable[[object], bool]:
    """A new SUMMARY counter and SEQUENCE, or SEQUENCE alone (clients that
    bump it on every save)."""
    def edit(event) -> bool:
        number = counter(str(event.summary.value))
        if not touch_only:
            number += 1
            set_single(event, "summary", "%s #%d" % (uid, number))
        sequence = int(event.sequence.value) if "sequence" in \
            event.contents else 0
        set_single(event, "sequence", str(sequence + 1))
        chosen["number"] = number
        return True
    return edit


def organizer_device(scenario: Scenario, user: str, seed: int,
                     until: float, operations: int) -> None:
    client = scenario.client(user, seed)
    mine = [m for m in scenario.meetings if m.organizer == user]
    for n in range(operations):
        if time.monotonic() > until:
            return
        meeting = client.rng.choice(mine)
        chosen: Dict[str, object] = {}
        saved = _save(client, "organizer PUT",
                      scenario.hrefs[(user, meeting.uid)],
                      _organizer_edit(meeting.uid, n % 4 == 3, chosen),
                      use_tag=n % 2 == 0)
        if saved is not None:
            with scenario.answers_lock:
                meeting.saved.append(int(chosen["number"]))  # type: ignore


def _attendee_edit(me: str, n: int, chosen: Dict[str, str]
                   ) -> Callable[[object], bool]:
    """Another answer than the current one, alternating."""
    def edit(event) -> bool:
        current = partstats(event).get(me, "NEEDS-ACTION")
        choices = [a for a in ANSWERS if a != current]
        chosen["answer"] = choices[n % len(choices)]
        set_partstat(event, me, chosen["answer"])
        return True
    return edit


def attendee_device(scenario: Scenario, user: str, seed: int, until: float,
                    operations: int) -> None:
    client = scenario.client(user, seed)
    mine = [m for m in scenario.meetings if user in m.attendees]
    me = address(user)
    for n in range(operations):
        if time.monotonic() > until:
            return
        meeting = mine[n % len(mine)]
        chosen: Dict[str, str] = {}
        saved = _save(client, "attendee PUT",
                      scenario.hrefs[(user, meeting.uid)],
                      _attendee_edit(me, n, chosen), use_tag=n % 2 == 0)
        if saved is not None:
            with scenario.answers_lock:
                scenario.answers[(user, meeting.uid)] = chosen["answer"]


FREEBUSY = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//load//EN\r
METHOD:REQUEST\r
BEGIN:VFREEBUSY\r
UID:fb-{n}\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260301T000000Z\r
DTEND:20260401T000000Z\r
ORGANIZER:{organizer}\r
{attendees}END:VFREEBUSY\r
END:VCALENDAR\r
"""


def freebusy_device(scenario: Scenario, user: str, seed: int, until: float,
                    operations: int) -> None:
    client = scenario.client(user, seed)
    for n in range(operations):
        if time.monotonic() > until:
            return
        asked = client.rng.sample(USERS, 3)
        body = FREEBUSY.format(n=n, organizer=address(user), attendees="".join(
            "ATTENDEE:%s\r\n" % address(who) for who in asked))
        reply = client.request("free-busy POST", "POST",
                               "/%s/.schedule-outbox/" % user, body,
                               Content_Type="text/calendar")
        if reply.status != 200:
            if reply.status < 500:
                client.stats.wrong("free-busy POST as %s: %d %s" % (
                    user, reply.status, reply.text[:300]))
            continue
        answers = ET.fromstring(reply.body).findall("C:response", NS)
        statuses = [a.findtext("C:request-status", namespaces=NS) or ""
                    for a in answers]
        data = [a.findtext("C:calendar-data", namespaces=NS) or ""
                for a in answers]
        if len(answers) != 3 or not all(s.startswith("2.0") for s in statuses) \
                or not all("BEGIN:VFREEBUSY" in d for d in data):
            client.stats.wrong("free-busy answer for %s: %s" % (user,
                                                                statuses))


WEEK_QUERY = (
    '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>'
    '</D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    '<C:comp-filter name="VEVENT"><C:time-range start="20260302T000000Z" '
    'end="20260309T000000Z"/></C:comp-filter></C:comp-filter></C:filter>'
    '</C:calendar-query>')


def reader_device(scenario: Scenario, user: str, seed: int, until: float,
                  operations: int) -> None:
    """Ordinary synchronisation traffic: GET, PROPFIND, REPORT."""
    client = scenario.client(user, seed)
    mine = [uid for (who, uid) in scenario.hrefs if who == user]
    for n in range(operations):
        if time.monotonic() > until:
            return
        step = n % 3
        if step == 0 and mine:
            href = scenario.hrefs[(user, client.rng.choice(mine))]
            reply = client.request("GET", "GET", href)
            expected = (200,)
        elif step == 1:
            reply = client.request("PROPFIND", "PROPFIND",
                                   "/%s/calendar/" % user, PROPFIND_TYPES,
                                   Depth="1")
            expected = (207,)
        else:
            reply = client.request("REPORT", "REPORT", "/%s/calendar/" % user,
                                   WEEK_QUERY, Depth="1")
            expected = (207,)
        if reply.status not in expected and reply.status < 500:
            client.stats.wrong("%s as %s: %d" % (step, user, reply.status))


def inbox_device(scenario: Scenario, user: str, seed: int, until: float,
                 operations: int) -> None:
    """A client reading its inbox and deleting what it has processed."""
    client = scenario.client(user, seed)
    inbox = "/%s/.schedule-inbox/" % user
    known = {m.uid for m in scenario.meetings}
    for n in range(operations):
        if time.monotonic() > until:
            return
        for href in members(client, inbox, "inbox PROPFIND")[:5]:
            reply = client.request("inbox GET", "GET", href)
            if reply.status == 200:
                problem = inbox_problem(reply.text, known)
                if problem:
                    client.stats.wrong("inbox %s: %s" % (href, problem))
            elif reply.status < 500:
                client.stats.wrong("inbox GET %s: %d" % (href, reply.status))
                continue
            if n % 2 == 0:
                reply = client.request("inbox DELETE", "DELETE", href)
                if reply.status not in (200, 204) and reply.status < 500:
                    client.stats.wrong("inbox DELETE %s: %d" % (
                        href, reply.status))


def inbox_problem(text: str, known_uids) -> Optional[str]:
    """What is wrong with an inbox message, if anything."""
    try:
        cal = parse(text)
    except Exception as e:
        return "unparsable: %s" % e
    method = str(cal.method.value) if "method" in cal.contents else None
    if method not in ("REQUEST", "REPLY", "CANCEL"):
        return "METHOD %r" % method
    events = cal.contents.get("vevent", [])
    if len(events) != 1:
        return "%d VEVENTs" % len(events)
    uid = str(events[0].uid.value)
    if uid not in known_uids:
        return "unknown UID %r" % uid
    if "organizer" not in events[0].contents:
        return "no ORGANIZER"
    return None


EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//load//EN\r\n"
         "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
         "DTSTART:202603{day:02d}T{hour:02d}0000Z\r\n"
         "DTEND:202603{day:02d}T{hour:02d}3000Z\r\nSUMMARY:{summary}\r\n"
         "END:VEVENT\r\nEND:VCALENDAR\r\n")


def event_text(uid: str, n: int, summary: str = "") -> str:
    return EVENT.format(uid=uid, day=1 + n % 28, hour=8 + n % 10,
                        summary=summary or uid)


def seed_calendars(urls: List[str], stats: Stats, users: Sequence[str],
                   events: int) -> None:
    """An ordinary calendar with ``events`` events per user, made with
    MKCALENDAR and PUT as any client (plain Radicale or the plugin)."""
    body = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            '<D:displayname>Calendar</D:displayname></D:prop></D:set>'
            '</C:mkcalendar>')
    for i, user in enumerate(users):
        client = Client(urls, user, stats, random.Random(i))
        reply = client.request("setup", "MKCALENDAR", "/%s/plain/" % user,
                               body)
        if reply.status != 201:
            raise AssertionError("MKCALENDAR for %s: %d" % (user,
                                                            reply.status))
        for n in range(events):
            uid = "seed-%s-%d" % (user, n)
            client.request("setup", "PUT", "/%s/plain/%s.ics" % (user, uid),
                           event_text(uid, n), Content_Type="text/calendar")


def ordinary_device(urls: List[str], stats: Stats, user: str, seed: int,
                    until: float, operations: int) -> None:
    """Plain CalDAV, the part plain Radicale can do too: a client saving
    events (new and changed) and synchronising its calendar."""
    client = Client(urls, user, stats, random.Random(seed))
    calendar = "/%s/plain/" % user
    for n in range(operations):
        if time.monotonic() > until:
            return
        step = n % 4
        uid = "dev%d-%d" % (seed, n // 8)  # each event saved twice
        if step == 0:
            reply = client.request("PUT", "PUT", calendar + uid + ".ics",
                                   event_text(uid, n, "%s v%d" % (uid, n)),
                                   Content_Type="text/calendar")
            expected: Tuple[int, ...] = (201, 204)
        elif step == 1:
            reply = client.request("GET", "GET", calendar + uid + ".ics")
            expected = (200,)
        elif step == 2:
            reply = client.request("PROPFIND", "PROPFIND", calendar,
                                   PROPFIND_TYPES, Depth="1")
            expected = (207,)
        else:
            reply = client.request("REPORT", "REPORT", calendar,
                                   WEEK_QUERY, Depth="1")
            expected = (207,)
        if reply.status not in expected and reply.status < 500:
            stats.wrong("%s %s as %s: %d" % (step, calendar, user,
                                             reply.status))


def run_ordinary(urls: List[str], stats: Stats, users: Sequence[str],
                 clients: int, seconds: float, operations: int
                 ) -> List[threading.Thread]:
    until = time.monotonic() + seconds
    threads = [threading.Thread(
        target=ordinary_device, args=(urls, stats, users[i % len(users)],
                                      i, until, operations), daemon=True)
        for i in range(clients)]
    stats.started = time.monotonic()
    for thread in threads:
        thread.start()
    grace = until + REQUEST_TIMEOUT + 10
    for thread in threads:
        thread.join(max(0.0, grace - time.monotonic()))
    stats.stopped = time.monotonic()
    stats.accumulated += stats.stopped - stats.started
    return [thread for thread in threads if thread.is_alive()]


#: Clients of each role for the default mix (12 threads).
DEFAULT_MIX = {"organizer": 3, "attendee": 4, "free-busy": 2, "reader": 2,
               "inbox": 1}


def scaled_mix(clients: int) -> Dict[str, int]:
    """The default mix for about ``clients`` threads.  One device per
    attendee: two devices answering the same meeting could not tell
    which answer the server took last."""
    mix = {role: max(1, round(n * clients / sum(DEFAULT_MIX.values())))
           for role, n in DEFAULT_MIX.items()}
    mix["attendee"] = min(mix["attendee"], len(ATTENDEES))
    return mix


def run(scenario: Scenario, seconds: float, operations: int,
        mix: Optional[Dict[str, int]] = None) -> List[threading.Thread]:
    """Run the mix until ``seconds`` pass or each client did ``operations``;
    return the threads still alive after the deadline plus a grace
    (hung requests: a deadlock)."""
    mix = mix or DEFAULT_MIX
    if mix.get("attendee", 0) > len(ATTENDEES):
        raise ValueError("at most one device per attendee")
    until = time.monotonic() + seconds
    roles = {
        "organizer": (organizer_device, itertools.cycle(ORGANIZERS[:1] +
                                                        ORGANIZERS)),
        "attendee": (attendee_device, itertools.cycle(ATTENDEES)),
        "free-busy": (freebusy_device, itertools.cycle(ORGANIZERS +
                                                      ATTENDEES)),
        "reader": (reader_device, itertools.cycle(ATTENDEES + ORGANIZERS)),
        "inbox": (inbox_device, itertools.cycle(ORGANIZERS[:1] + ATTENDEES)),
    }
    threads = []
    seed = 1000
    for role, count in mix.items():
        target, users = roles[role]
        for _ in range(count):
            seed += 1
            threads.append(threading.Thread(
                target=_guarded, args=(scenario, target, next(users), seed,
                                       until, operations),
                name="%s-%d" % (role, seed), daemon=True))
    scenario.stats.started = time.monotonic()
    for thread in threads:
        thread.start()
    grace = until + REQUEST_TIMEOUT + 10
    for thread in threads:
        thread.join(max(0.0, grace - time.monotonic()))
    scenario.stats.stopped = time.monotonic()
    return [thread for thread in threads if thread.is_alive()]


def _guarded(scenario: Scenario, target, user: str, seed: int, until: float,
             operations: int) -> None:
    try:
        target(scenario, user, seed, until, operations)
    except Exception as e:  # a client's own bug must show, not vanish
        scenario.stats.wrong("%s as %s crashed: %r" % (target.__name__, user,
                                                       e))


# -- what must hold afterwards -------------------------------------------------------

def verify(scenario: Scenario) -> List[str]:
    """Every lost update, duplicate or malformed message, as text."""
    problems: List[str] = []
    copies: Dict[str, Dict[str, List[Tuple[str, str]]]] = {}
    for i, user in enumerate(USERS):
        client = scenario.client(user, 5000 + i)
        by_uid: Dict[str, List[Tuple[str, str]]] = {}
        for href, text in objects(client, user, "verify"):
            uid = str(vevent(parse(text)).uid.value)
            by_uid.setdefault(uid, []).append((href, text))
        copies[user] = by_uid
    for meeting in scenario.meetings:
        expected_summary = "%s #%d" % (meeting.uid, max(meeting.saved))
        room = (ROOM,) if meeting.room else ()
        for user in (meeting.organizer,) + meeting.attendees + room:
            found = copies[user].get(meeting.uid, [])
            if len(found) != 1:
                problems.append("%s has %d copies of %s: %s" % (
                    user, len(found), meeting.uid, [h for h, _ in found]))
                if not found:
                    continue
            event = vevent(parse(found[0][1]))
            summary = str(event.summary.value)
            if summary != expected_summary:
                problems.append("%s's copy of %s says %r, the organizer "
                                "last saved %r" % (user, meeting.uid,
                                                   summary, expected_summary))
            states = partstats(event)
            if meeting.room and states.get(address(ROOM)) != "ACCEPTED":
                problems.append("%s's copy of %s shows the room %s" % (
                    user, meeting.uid, states.get(address(ROOM))))
            for attendee in meeting.attendees:
                answer = scenario.answers.get((attendee, meeting.uid))
                if answer is None:
                    continue
                shown = states.get(address(attendee))
                if shown != answer:
                    problems.append(
                        "%s's copy of %s shows %s %s, whose last answer was "
                        "%s" % (user, meeting.uid, attendee, shown, answer))
    known = {m.uid for m in scenario.meetings}
    for i, user in enumerate(USERS):
        client = scenario.client(user, 6000 + i)
        inbox = "/%s/.schedule-inbox/" % user
        for href in members(client, inbox, "verify"):
            reply = client.request("verify", "GET", href)
            problem = inbox_problem(reply.text, known) \
                if reply.status == 200 else "GET %d" % reply.status
            if problem:
                problems.append("inbox message %s: %s" % (href, problem))
    return problems


def report(stats: Stats) -> str:
    lines = stats.summary()
    lines.append("server errors (5xx) or hung requests: %d; wrong answers: "
                 "%d; connections reset unanswered and tried again: %d"
                 % (len(stats.failures), len(stats.unexpected), stats.resets))
    return "\n".join(lines)
