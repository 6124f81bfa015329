"""Recurring meetings that are not one simple series (issue 19 point 3),
through real requests: what each user's client sees (stored copies, inbox)
when the organizer invites to some instances only, truncates a series,
adds or removes its rule, invites someone to one instance, when an
attendee declines one instance, across a DST change, and all day."""

import pytest

from scheduling_helpers import (
    answer,
    attendee_line,
    copies,
    copy,
    inbox,
    methods,
    put,
    unfold,
)

CAL = "/alice/calendar/"
PATH = CAL + "r.ics"
BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def vevent(start, *attendees, rid=None, end=None, extra="", uid="r",
           summary="Weekly", sequence=0):
    """One VEVENT organized by alice; ``start``/``end``/``rid`` are whole
    property tails (``:20260105T100000Z`` or ``;VALUE=DATE:20260105``)."""
    lines = ["BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20260101T000000Z",
             "SEQUENCE:%d" % sequence]
    if rid:
        lines.append("RECURRENCE-ID" + rid)
    lines.append("DTSTART" + start)
    if end:
        lines.append("DTEND" + end)
    lines += ["SUMMARY:" + summary,
              "ORGANIZER;CN=alice:mailto:alice@example.org"]
    lines += ["ATTENDEE;CN=%s:mailto:%s@example.org" % (a, a)
              for a in attendees]
    lines += [x for x in extra.split("\n") if x]
    lines.append("END:VEVENT")
    return "\r\n".join(lines) + "\r\n"


def calendar(*comps, timezones=""):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" +
            timezones.replace("\n", "\r\n") + "".join(comps) +
            "END:VCALENDAR\r\n")


def weekly(*attendees, rule="RRULE:FREQ=WEEKLY;COUNT=6", extra="",
           sequence=0):
    return vevent(":20260105T100000Z", *attendees, end=":20260105T110000Z",
                  extra=rule + "\n" + extra, sequence=sequence)


def instance(day, *attendees, summary="Weekly", hour="10", sequence=0):
    return vevent(":202601%sT%s0000Z" % (day, hour), *attendees,
                  rid=":202601%sT100000Z" % day,
                  end=":202601%sT%s3000Z" % (day, hour),
                  summary=summary, sequence=sequence)


def rids(text):
    return sorted(line.split(":", 1)[1] for line in unfold(text).split("\r\n")
                  if line.startswith("RECURRENCE-ID"))


def line_of(text, name):
    found = [x for x in unfold(text).split("\r\n") if x.startswith(name)]
    return found[0] if found else None


@pytest.fixture
def users(server):
    for user in ("alice", "bob", "carol"):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar(CAL).status == 201
    return server


def time_range_query(server, user, path, start, end):
    body = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>'
            '</D:prop><C:filter><C:comp-filter name="VCALENDAR">'
            '<C:comp-filter name="VEVENT"><C:time-range start="%s" end="%s"/>'
            '</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>'
            % (start, end))
    response = server.request("REPORT", path, body, user=user, depth="1")
    assert response.status == 207, response.text
    return sorted(response.responses())


# -- invited to two instances only -----------------------------------------

def test_an_invitation_to_two_instances_only_is_stored_and_delivered(users):
    response = put(users, "alice", PATH, calendar(
        instance("05", "bob"), instance("12", "bob")))
    assert response.status == 201, response.text
    assert methods(users, "bob") == ["REQUEST"]
    [(href, mine)] = copies(users, "bob", "r")
    assert rids(mine) == ["20260105T100000Z", "20260112T100000Z"]
    assert "RRULE" not in mine
    # Radicale lists it and finds each instance by time.
    assert time_range_query(users, "bob", "/bob/calendar/",
                            "20260112T000000Z", "20260113T000000Z") == [href]
    assert time_range_query(users, "bob", "/bob/calendar/",
                            "20260106T000000Z", "20260111T000000Z") == []
    # bob accepts one of them: alice sees that answer on that instance.
    accepted = mine.replace(
        "RECURRENCE-ID:20260112T100000Z", "RECURRENCE-ID:20260112T100000Z"
        "\r\nX-MARK:1")
    lines, seen = [], False
    for line in unfold(accepted).split("\r\n"):
        seen = seen or line == "X-MARK:1"
        if seen and line.startswith("ATTENDEE") and "bob@" in line:
            line = line.replace("ATTENDEE", "ATTENDEE;PARTSTAT=ACCEPTED", 1)
            seen = False
        if line != "X-MARK:1":
            lines.append(line)
    assert put(users, "bob", href, "\r\n".join(lines)).status in (201, 204)
    organizer = users.request("GET", PATH, user="alice").text
    parts = unfold(organizer).split("RECURRENCE-ID:20260112T100000Z")
    assert "PARTSTAT=ACCEPTED" in attendee_line(parts[1], "bob")
    assert "PARTSTAT=ACCEPTED" not in parts[0].split("BEGIN:VEVENT")[-1]
    # alice deletes the meeting: both instances are cancelled for bob,
    # and the CANCEL is listed in his inbox.
    assert users.request("DELETE", PATH, user="alice").status == 200
    assert methods(users, "bob") == ["CANCEL", "REQUEST"]
    cancel = inbox(users, "bob")[0][1]
    assert rids(cancel) == ["20260105T100000Z", "20260112T100000Z"]
    assert unfold(copy(users, "bob", "r")).count("STATUS:CANCELLED") == 2


def test_a_copy_of_instances_only_can_be_deleted_by_the_attendee(users):
    put(users, "alice", PATH, calendar(instance("05", "bob"),
                                       instance("12", "bob")))
    [(href, _)] = copies(users, "bob", "r")
    assert users.request("DELETE", href, user="bob").status == 200
    assert copies(users, "bob", "r") == []
    organizer = users.request("GET", PATH, user="alice").text
    assert unfold(organizer).count("PARTSTAT=DECLINED") == 2


def plain(day, *attendees):
    """An override that changes nothing but who attends."""
    return vevent(":202601%sT100000Z" % day, *attendees,
                  rid=":202601%sT100000Z" % day, end=":202601%sT110000Z" % day)


def test_instances_only_grow_and_shrink(users):
    """bob, at two instances of alice's series, is added to a third, then
    taken off the first: his copy follows, the first is cancelled.  carol,
    at the whole series, sees the overrides only as who comes when."""
    put(users, "alice", PATH, calendar(
        weekly("carol"), plain("05", "bob", "carol"),
        plain("12", "bob", "carol")))
    assert rids(copy(users, "bob", "r")) == ["20260105T100000Z",
                                             "20260112T100000Z"]
    put(users, "alice", PATH, calendar(
        weekly("carol"), plain("05", "bob", "carol"),
        plain("12", "bob", "carol"), plain("19", "bob", "carol")))
    bob = copy(users, "bob", "r")
    assert rids(bob) == ["20260105T100000Z", "20260112T100000Z",
                         "20260119T100000Z"]
    assert "FREQ=WEEKLY" not in bob
    put(users, "alice", PATH, calendar(
        weekly("carol"), plain("05", "carol"),
        plain("12", "bob", "carol"), plain("19", "bob", "carol")))
    assert methods(users, "bob") == ["CANCEL", "REQUEST", "REQUEST"]
    cancel = inbox(users, "bob")[0][1]
    assert rids(cancel) == ["20260105T100000Z"]
    first = [c for c in unfold(copy(users, "bob", "r")).split("BEGIN:VEVENT")
             if "RECURRENCE-ID:20260105T100000Z" in c]
    assert len(first) == 1 and "STATUS:CANCELLED" in first[0]
    # carol, at the whole series, heard of none of this as news; her copy
    # shows who comes when.
    assert methods(users, "carol") == ["REQUEST"]
    carol = unfold(copy(users, "carol", "r"))
    assert rids(carol) == ["20260105T100000Z", "20260112T100000Z",
                           "20260119T100000Z"]
    assert attendee_line(carol.split("RECURRENCE-ID:20260119T100000Z")[1],
                         "bob") is not None


# -- the organizer truncates the series --------------------------------------

def test_truncating_a_series_cancels_the_instances_it_removes(users):
    put(users, "alice", PATH, calendar(
        weekly("bob"), instance("26", "bob", "carol", summary="Review"),
        instance("19", "bob", summary="Moved", hour="14")))
    assert methods(users, "carol") == ["REQUEST"]
    assert rids(copy(users, "bob", "r")) == ["20260119T100000Z",
                                             "20260126T100000Z"]
    # New COUNT: three instances remain; the client keeps its overrides.
    response = put(users, "alice", PATH, calendar(
        weekly("bob", rule="RRULE:FREQ=WEEKLY;COUNT=3"),
        instance("26", "bob", "carol", summary="Review"),
        instance("19", "bob", summary="Moved", hour="14")))
    assert response.status in (201, 204)
    bob = copy(users, "bob", "r")
    assert "COUNT=3" in line_of(bob, "RRULE")
    assert rids(bob) == ["20260119T100000Z"]  # the 26th went away
    assert methods(users, "bob") == ["REQUEST", "REQUEST"]
    # carol was only at the 26th: it is cancelled for her.
    assert methods(users, "carol") == ["CANCEL", "REQUEST"]
    assert "STATUS:CANCELLED" in copy(users, "carol", "r")
    # bob accepts the shorter series from his copy.
    [(href, mine)] = copies(users, "bob", "r")
    assert put(users, "bob", href, answer(mine, "bob", "ACCEPTED")).status \
        in (201, 204)
    assert "PARTSTAT=ACCEPTED" in attendee_line(
        users.request("GET", PATH, user="alice").text, "bob")
    # The same with UNTIL, the overrides already dropped by the client.
    response = put(users, "alice", PATH, calendar(
        weekly("bob", rule="RRULE:FREQ=WEEKLY;UNTIL=20260112T235959Z")))
    assert response.status in (201, 204)
    bob = copy(users, "bob", "r")
    assert "UNTIL=20260112T235959Z" in line_of(bob, "RRULE")
    assert rids(bob) == []


# -- adding and removing the rule --------------------------------------------

def test_adding_and_removing_the_rule(users):
    single = vevent(":20260105T100000Z", "bob", end=":20260105T110000Z")
    put(users, "alice", PATH, calendar(single))
    href, mine = copies(users, "bob", "r")[0]
    assert put(users, "bob", href, answer(mine, "bob", "ACCEPTED")).status \
        in (201, 204)
    # A rule added: a new revision that needs a new answer.
    put(users, "alice", PATH, calendar(weekly("bob")))
    bob = copy(users, "bob", "r")
    assert "COUNT=6" in line_of(bob, "RRULE")
    assert "PARTSTAT=ACCEPTED" not in attendee_line(bob, "bob")
    assert "SEQUENCE:1" in bob
    # An override with carol, then the rule removed: the override is no
    # instance any more, so it goes away and carol's instance is cancelled.
    put(users, "alice", PATH, calendar(
        weekly("bob", sequence=1),
        instance("12", "bob", "carol", sequence=1)))
    assert methods(users, "carol") == ["REQUEST"]
    put(users, "alice", PATH, calendar(
        vevent(":20260105T100000Z", "bob", end=":20260105T110000Z",
               sequence=1),
        instance("12", "bob", "carol", sequence=1)))
    bob = copy(users, "bob", "r")
    assert "RRULE" not in bob and rids(bob) == []
    assert "SEQUENCE:2" in bob
    assert methods(users, "carol") == ["CANCEL", "REQUEST"]
    assert "STATUS:CANCELLED" in copy(users, "carol", "r")


# -- one more attendee on one instance ---------------------------------------

def test_an_attendee_invited_to_one_instance_only(users):
    put(users, "alice", PATH, calendar(weekly("bob")))
    put(users, "alice", PATH, calendar(
        weekly("bob"), instance("19", "bob", "carol")))
    carol = copy(users, "carol", "r")
    assert "RRULE" not in carol and rids(carol) == ["20260119T100000Z"]
    assert methods(users, "carol") == ["REQUEST"]
    bob = copy(users, "bob", "r")
    assert "mailto:carol@example.org" in unfold(bob)  # bob sees her there
    # carol accepts her instance: alice's override shows it.
    [(href, mine)] = copies(users, "carol", "r")
    assert put(users, "carol", href,
               answer(mine, "carol", "ACCEPTED")).status in (201, 204)
    assert "PARTSTAT=ACCEPTED" in attendee_line(
        users.request("GET", PATH, user="alice").text, "carol")
    # carol removed again: that instance is cancelled for her alone.
    put(users, "alice", PATH, calendar(weekly("bob"),
                                       instance("19", "bob")))
    assert methods(users, "carol") == ["CANCEL", "REQUEST"]
    cancel = inbox(users, "carol")[0][1]
    assert rids(cancel) == ["20260119T100000Z"]
    assert "STATUS:CANCELLED" in copy(users, "carol", "r")
    assert "mailto:carol@example.org" not in unfold(copy(users, "bob", "r"))


# -- an attendee declines or deletes one instance ----------------------------

def decline_one(server, user, day):
    """The attendee's client declines one instance: an override of its own."""
    [(href, mine)] = copies(server, user, "r")
    master = unfold(mine).split("BEGIN:VEVENT")[1].split("END:VEVENT")[0]
    override = master.replace("RRULE:FREQ=WEEKLY;COUNT=6\r\n", "")
    override = override.replace(
        "DTSTART:20260105T100000Z", "RECURRENCE-ID:202601%sT100000Z\r\n"
        "DTSTART:202601%sT100000Z" % (day, day)).replace(
        "DTEND:20260105T110000Z", "DTEND:202601%sT110000Z" % day)
    override = answer(override, user, "DECLINED")
    text = unfold(mine).replace("END:VCALENDAR",
                                "BEGIN:VEVENT%sEND:VEVENT\r\nEND:VCALENDAR"
                                % override)
    assert put(server, user, href, text).status in (201, 204)
    return href


def test_declining_one_instance_then_the_organizer_cancels_it(users):
    put(users, "alice", PATH, calendar(weekly("bob", "carol")))
    decline_one(users, "bob", "12")
    organizer = users.request("GET", PATH, user="alice").text
    assert rids(organizer) == ["20260112T100000Z"]
    assert "PARTSTAT=DECLINED" in attendee_line(
        unfold(organizer).split("RECURRENCE-ID")[1], "bob")
    # alice cancels that instance (EXDATE; her client drops the override).
    assert put(users, "alice", PATH, calendar(weekly(
        "bob", "carol", extra="EXDATE:20260112T100000Z"))).status in (201,
                                                                     204)
    for user in ("bob", "carol"):
        assert "EXDATE:20260112T100000Z" in copy(users, user, "r")
        assert rids(copy(users, user, "r")) == []
        assert methods(users, user)[0] == "CANCEL"
    # Then the whole series: both get a CANCEL, their copies say so.
    assert users.request("DELETE", PATH, user="alice").status == 200
    for user in ("bob", "carol"):
        assert methods(users, user).count("CANCEL") == 2
        assert "STATUS:CANCELLED" in copy(users, user, "r")


def test_deleting_one_instance_then_the_organizer_cancels_the_series(users):
    put(users, "alice", PATH, calendar(weekly("bob")))
    [(href, mine)] = copies(users, "bob", "r")
    # bob's client deletes one instance: an EXDATE in his copy.
    text = unfold(mine).replace("RRULE:FREQ=WEEKLY;COUNT=6",
                                "RRULE:FREQ=WEEKLY;COUNT=6\r\n"
                                "EXDATE:20260119T100000Z")
    assert put(users, "bob", href, text).status in (201, 204)
    organizer = users.request("GET", PATH, user="alice").text
    assert rids(organizer) == ["20260119T100000Z"]
    assert "PARTSTAT=DECLINED" in attendee_line(organizer.split(
        "RECURRENCE-ID")[1], "bob")
    # alice cancels the series; bob's copy is cancelled, his EXDATE kept.
    users.request("DELETE", PATH, user="alice")
    bob = copy(users, "bob", "r")
    assert "STATUS:CANCELLED" in bob
    assert "EXDATE:20260119T100000Z" in bob
    assert methods(users, "bob") == ["CANCEL", "REQUEST"]


# -- across a DST change --------------------------------------------------

def berlin(start_day, *attendees, rid_day=None, hour="10", rid_utc=False,
           extra="", sequence=0):
    rid = None
    if rid_day:
        rid = (";TZID=Europe/Berlin:202603%sT100000" % rid_day) \
            if not rid_utc else (":202603%sT%s0000Z" % (
                rid_day, "09" if rid_day < "29" else "08"))
    return vevent(";TZID=Europe/Berlin:202603%sT%s0000" % (start_day, hour),
                  *attendees, rid=rid,
                  end=";TZID=Europe/Berlin:202603%sT%s3000" % (start_day,
                                                                hour),
                  extra=extra, sequence=sequence)


def test_overrides_on_both_sides_of_a_dst_change(users):
    """Weekly at 10:00 Berlin time from 16 March 2026; summer time
    starts on 29 March.  Overrides on the 23rd (CET) and 30th (CEST)."""
    rule = "RRULE:FREQ=WEEKLY;COUNT=4"
    put(users, "alice", PATH, calendar(
        berlin("16", "bob", extra=rule),
        berlin("23", "bob", "carol", rid_day="23", hour="11"),
        berlin("30", "bob", "carol", rid_day="30", hour="11"),
        timezones=BERLIN))
    carol = copy(users, "carol", "r")
    assert "FREQ=WEEKLY" not in carol and len(rids(carol)) == 2
    assert "TZID:Europe/Berlin" in carol
    # bob declines the CEST instance, writing its RECURRENCE-ID in UTC
    # (08:00Z is 10:00 in Berlin after the change): the same instance.
    [(href, mine)] = copies(users, "bob", "r")
    text = unfold(mine)
    comps = text.split("BEGIN:VEVENT")
    for i, comp in enumerate(comps):
        if "RECURRENCE-ID;TZID=Europe/Berlin:20260330T100000" in comp:
            comp = comp.replace(
                "RECURRENCE-ID;TZID=Europe/Berlin:20260330T100000",
                "RECURRENCE-ID:20260330T080000Z")
            comps[i] = answer(comp, "bob", "DECLINED")
    assert put(users, "bob", href, "BEGIN:VEVENT".join(comps)).status in (
        201, 204)
    organizer = users.request("GET", PATH, user="alice").text
    assert len(rids(organizer)) == 2  # no third override: the same instant
    cest = unfold(organizer).split("20260330T100000")[1]
    assert "PARTSTAT=DECLINED" in attendee_line(cest, "bob")
    # alice renames the series and moves the CEST override to noon: the
    # overrides on both sides are still instances of the series (10:00
    # Berlin is 09:00Z before the change and 08:00Z after), so nothing
    # is dropped and carol keeps exactly her two instances.
    put(users, "alice", PATH, calendar(
        berlin("16", "bob", extra=rule + "\nLOCATION:Room 2", sequence=1),
        berlin("23", "bob", "carol", rid_day="23", hour="11", sequence=1),
        berlin("30", "bob", "carol", rid_day="30", hour="12", sequence=1),
        timezones=BERLIN))
    carol = copy(users, "carol", "r")
    assert len(rids(carol)) == 2
    assert "DTSTART;TZID=Europe/Berlin:20260330T120000" in carol
    assert "LOCATION:Room 2" in copy(users, "bob", "r")
    assert len(rids(users.request("GET", PATH, user="alice").text)) == 2
    # alice cancels the CEST instance, naming it in UTC in her EXDATE.
    put(users, "alice", PATH, calendar(
        berlin("16", "bob", sequence=1, extra=rule +
               "\nLOCATION:Room 2\nEXDATE:20260330T080000Z"),
        berlin("23", "bob", "carol", rid_day="23", hour="11", sequence=1),
        timezones=BERLIN))
    assert methods(users, "carol")[0] == "CANCEL"
    carol = copy(users, "carol", "r")
    cancelled = [c for c in unfold(carol).split("BEGIN:VEVENT")[1:]
                 if "STATUS:CANCELLED" in c]
    assert len(cancelled) == 1 and "20260330" in cancelled[0]
    bob = copy(users, "bob", "r")
    assert len(rids(bob)) == 1 and "EXDATE" in bob


# -- all day ---------------------------------------------------------------

def test_recurring_all_day_meeting_with_overrides(users):
    master = vevent(";VALUE=DATE:20260105", "bob",
                    end=";VALUE=DATE:20260106",
                    extra="RRULE:FREQ=WEEKLY;COUNT=4")
    moved = vevent(";VALUE=DATE:20260113", "bob", "carol",
                   rid=";VALUE=DATE:20260112", end=";VALUE=DATE:20260114",
                   summary="Offsite")
    assert put(users, "alice", PATH, calendar(master, moved)).status == 201
    carol = copy(users, "carol", "r")
    assert rids(carol) == ["20260112"]
    assert "DTSTART;VALUE=DATE:20260113" in carol
    # bob declines the moved day (his client names it as a date).
    [(href, mine)] = copies(users, "bob", "r")
    parts = unfold(mine).split("RECURRENCE-ID")
    parts[1] = answer(parts[1], "bob", "DECLINED")
    assert put(users, "bob", href, "RECURRENCE-ID".join(parts)).status in (
        201, 204)
    organizer = users.request("GET", PATH, user="alice").text
    assert "PARTSTAT=DECLINED" in attendee_line(
        unfold(organizer).split("RECURRENCE-ID")[1], "bob")
    # Truncated to two days: the moved day (the second) stays.
    put(users, "alice", PATH, calendar(
        vevent(";VALUE=DATE:20260105", "bob", end=";VALUE=DATE:20260106",
               extra="RRULE:FREQ=WEEKLY;UNTIL=20260112"), moved))
    assert rids(copy(users, "carol", "r")) == ["20260112"]
    assert methods(users, "carol") == ["REQUEST"]
    # A day cancelled: carol's instance.
    put(users, "alice", PATH, calendar(
        vevent(";VALUE=DATE:20260105", "bob", end=";VALUE=DATE:20260106",
               extra="RRULE:FREQ=WEEKLY;UNTIL=20260112\n"
                     "EXDATE;VALUE=DATE:20260112")))
    assert methods(users, "carol") == ["CANCEL", "REQUEST"]
    assert "EXDATE;VALUE=DATE:20260112" in copy(users, "bob", "r")
    found = time_range_query(users, "bob", "/bob/calendar/",
                             "20260105T000000Z", "20260106T000000Z")
    assert len(found) == 1


# -- by mail (iMIP) ---------------------------------------------------------

def grandma_mail(text, to="bob@example.org"):
    from email.message import EmailMessage
    mail = EmailMessage()
    mail["From"] = "Grandma <grandma@elsewhere.example>"
    mail["To"] = to
    mail["Subject"] = "Invitation"
    mail["Message-ID"] = "<two-instances@elsewhere.example>"
    mail.set_content("Two Sundays")
    mail.add_alternative(text.encode(), maintype="text", subtype="calendar",
                         params={"method": "REQUEST", "charset": "utf-8"})
    return mail.as_bytes()


def test_instances_only_by_mail_in_and_out(mailing, mail_port,  # noqa: F811
                                           tmp_path):
    """grandma (outside) invites bob to two instances by mail, with the
    ``receive`` command a pipe transport runs; alice invites her to two
    instances and the mail carries both."""
    import os

    from live import command, smtp_server

    from helpers import wait_for, write_file
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        invitation = calendar(*[
            c.replace("ORGANIZER;CN=alice:mailto:alice@example.org",
                      "ORGANIZER;CN=Grandma:mailto:grandma@elsewhere.example")
            for c in (instance("05", "bob"), instance("12", "bob"))])
        invitation = invitation.replace("VERSION:2.0", "VERSION:2.0\r\n"
                                        "METHOD:REQUEST", 1)
        config = write_file(str(tmp_path), "config", """\
            [storage]
            type = radicale_scheduling
            filesystem_folder = {folder}
            scheduling_domain = example.org
            [logging]
            level = warning
            """.format(folder=os.path.join(str(tmp_path), "collections")))
        result = command("--config", config, "receive", "bob@example.org",
                         stdin=grandma_mail(invitation))
        assert result.returncode == 0, result.stderr.decode()
        assert b"Traceback" not in result.stderr
        assert methods(server, "bob") == ["REQUEST"]
        mine = copy(server, "bob", "r")
        assert rids(mine) == ["20260105T100000Z", "20260112T100000Z"]
        assert "grandma@elsewhere.example" in unfold(mine)
        # Out: alice invites grandma to two instances only.
        grandma = ("ATTENDEE;CN=Grandma:mailto:grandma@elsewhere.example")
        two = calendar(*[c.replace("END:VEVENT", grandma + "\r\nEND:VEVENT")
                         for c in (instance("05", "carol"),
                                   instance("12", "carol"))])
        two = two.replace("UID:r", "UID:mailed")
        assert put(server, "alice", CAL + "mailed.ics", two).status == 201
        assert wait_for(lambda: len(sink.envelopes) == 1)
    finally:
        controller.stop()
    [mail] = sink.mails()
    [part] = [p for p in mail.walk() if p.get_content_type() ==
              "text/calendar"]
    body = part.get_content()
    body = body if isinstance(body, str) else body.decode()
    assert rids(body) == ["20260105T100000Z", "20260112T100000Z"]
    assert "RRULE" not in body


def test_instances_only_cancelled_by_mail(mailing):  # noqa: F811
    """grandma's CANCEL of both instances, by mail: bob's copy says so and
    the message is listed in his inbox."""
    from radicale_scheduling.delivery import incoming
    server = mailing()
    comps = [c.replace("ORGANIZER;CN=alice:mailto:alice@example.org",
                       "ORGANIZER;CN=Grandma:mailto:grandma@elsewhere.example")
             for c in (instance("05", "bob"), instance("12", "bob"))]
    invitation = calendar(*comps).replace("VERSION:2.0", "VERSION:2.0\r\n"
                                          "METHOD:REQUEST", 1)
    code, text = incoming.process(server.storage,
                                  grandma_mail(invitation))
    assert code == incoming.OK, text
    cancel = calendar(*[c.replace("SEQUENCE:0", "SEQUENCE:1\r\n"
                                  "STATUS:CANCELLED") for c in comps])
    cancel = cancel.replace("VERSION:2.0", "VERSION:2.0\r\nMETHOD:CANCEL", 1)
    mail = grandma_mail(cancel).replace(b"method=\"REQUEST\"",
                                        b"method=\"CANCEL\"").replace(
        b"method=REQUEST", b"method=CANCEL")
    code, text = incoming.process(server.storage, mail)
    assert code == incoming.OK, text
    assert methods(server, "bob") == ["CANCEL", "REQUEST"]
    assert rids(inbox(server, "bob")[0][1]) == ["20260105T100000Z",
                                                "20260112T100000Z"]
    assert unfold(copy(server, "bob", "r")).count("STATUS:CANCELLED") == 2
