"""Reading what scheduling did, the way a client would (HTTP only)."""

from helpers import NS, prop

#: The users of ``set_up``.
USERS = ("alice", "bob", "carol", "room-1")


def ics(uid, *attendees, organizer="alice", extra="", start="20260105T100000Z",
        end="20260105T110000Z", components="", summary="Planning"):
    """An event organized by ``organizer`` with the given attendees."""
    lines = "".join(a if a.startswith("ATTENDEE") else
                    "ATTENDEE;CN=%s:mailto:%s@example.org\n" % (a, a)
                    for a in attendees)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART:%s\r\nDTEND:%s\r\nSUMMARY:%s\r\n"
            "ORGANIZER;CN=%s:mailto:%s@example.org\r\n%s%sEND:VEVENT\r\n%s"
            "END:VCALENDAR\r\n" % (uid, start, end, summary, organizer,
                                   organizer, lines.replace("\n", "\r\n"),
                                   extra.replace("\n", "\r\n"), components))


def organize(server, text, users=("alice", "bob", "carol"),
             path="/alice/calendar/m1.ics"):
    """``users`` set up as a client's first visit does, then alice saves
    ``text`` at ``path`` in a new calendar; returns the server."""
    for user in users:
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar(path.rsplit("/", 1)[0] + "/").status == 201
    assert put(server, "alice", path, text).status == 201
    return server


def set_up(server):
    """Every user has a calendar; alice invited bob and carol to m1."""
    for user in USERS:  # each client makes its calendar, then discovers
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
        assert server.mkcalendar("/%s/calendar/" % user, user=user,
                                 components="VEVENT,VTODO,VJOURNAL"
                                 ).status == 201
        server.propfind("/%s/" % user, "C:schedule-inbox-URL", user=user)
        server.propfind("/%s/.schedule-inbox/" % user, "D:resourcetype",
                        user=user)
    assert put(server, "alice", "/alice/calendar/m1.ics",
               ics("m1", "bob", "carol")).status == 201
    return server


def put(server, user, path, text, **headers):
    return server.request("PUT", path, text, user=user,
                          content_type="text/calendar", **headers)


def hrefs(server, user, path):
    response = server.propfind(path, "D:resourcetype", user=user, depth="1")
    assert response.status == 207, response.text
    return [h for h in response.responses() if h != path]


def inbox(server, user):
    """The (METHOD, text) of every message in the user's inbox."""
    result = []
    for href in hrefs(server, user, "/%s/.schedule-inbox/" % user):
        text = server.request("GET", href, user=user).text
        method = text.split("METHOD:", 1)[1].split("\r\n", 1)[0].strip()
        result.append((method, text))
    return sorted(result)


def methods(server, user):
    return [method for method, _ in inbox(server, user)]


def calendars(server, user):
    response = server.propfind("/%s/" % user, "D:resourcetype", user=user,
                               depth="1")
    result = []
    for href, element in response.responses().items():
        types = prop(element, "D:resourcetype")
        if types is not None and types.find("C:calendar", NS) is not None:
            result.append(href)
    return sorted(result)


def copies(server, user, uid):
    """(href, text) of every object with ``uid`` in the user's calendars."""
    found = []
    for calendar in calendars(server, user):
        for href in hrefs(server, user, calendar):
            text = server.request("GET", href, user=user).text
            if "UID:%s\r\n" % uid in text:
                found.append((href, text))
    return found


def copy(server, user, uid):
    found = copies(server, user, uid)
    assert len(found) == 1, (user, uid, found)
    return found[0][1]


def unfold(text):
    return text.replace("\r\n ", "").replace("\r\n\t", "")


def answer(text, who, partstat):
    """The attendee's client sets its own PARTSTAT."""
    lines = []
    for line in unfold(text).split("\r\n"):
        if line.startswith("ATTENDEE") and line.lower().endswith(
                "mailto:%s@example.org" % who):
            params, value = line.split(":mailto:")
            params = ";".join(p for p in params.split(";")
                              if not p.startswith(("PARTSTAT", "RSVP")))
            line = "%s;PARTSTAT=%s:mailto:%s" % (params, partstat, value)
        lines.append(line)
    return "\r\n".join(lines)


def attendee_line(text, who):
    for line in unfold(text).split("\r\n"):
        if line.startswith("ATTENDEE") and line.lower().endswith(
                "mailto:%s@example.org" % who):
            return line
    return None
