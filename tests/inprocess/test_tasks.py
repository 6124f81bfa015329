"""Assigned tasks over HTTP (RFC 5546 s3.4, RFC 6638 s3.2.2.1): a to-do
with attendees is delivered, answered, worked on and completed like a
meeting, and the organizer's copy shows who finished what."""

import pytest

from helpers import NS, prop
from scheduling_helpers import attendee_line, copies, copy, inbox, methods, put, unfold

CAL = "/alice/calendar/"


def todo(uid, *attendees, extra="", due="20260110T170000Z",
         summary="Write the report"):
    lines = "".join("ATTENDEE;CN=%s:mailto:%s@example.org\r\n" % (a, a)
                    for a in attendees)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            "BEGIN:VTODO\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART:20260105T100000Z\r\nDUE:%s\r\nSUMMARY:%s\r\n"
            "ORGANIZER;CN=alice:mailto:alice@example.org\r\n%s%s"
            "END:VTODO\r\nEND:VCALENDAR\r\n"
            % (uid, due, summary, lines, extra.replace("\n", "\r\n")))


def work(text, who, partstat=None, **props):
    """The assignee's client: their PARTSTAT and the task's progress."""
    out = []
    for line in unfold(text).split("\r\n"):
        name = line.split(":", 1)[0].split(";", 1)[0]
        if name.replace("-", "_").lower() in props:
            continue
        if partstat and line.startswith("ATTENDEE") and \
                line.lower().endswith("mailto:%s@example.org" % who):
            params, value = line.split(":mailto:")
            params = ";".join(p for p in params.split(";")
                              if not p.startswith(("PARTSTAT", "RSVP")))
            line = "%s;PARTSTAT=%s:mailto:%s" % (params, partstat, value)
        if line == "END:VTODO":
            out.extend("%s:%s" % (k.replace("_", "-").upper(), v)
                       for k, v in props.items() if v is not None)
        out.append(line)
    return "\r\n".join(out)


def prop_value(text, name):
    for line in unfold(text).split("\r\n"):
        if line.split(":", 1)[0].split(";", 1)[0] == name:
            return line.split(":", 1)[1]
    return None


@pytest.fixture
def team(server):
    for user in ("alice", "bob", "carol", "room-1"):
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar(CAL, components="VEVENT,VTODO").status == 201
    return server


def organizer_copy(server, uid="t1"):
    return server.request("GET", CAL + "%s.ics" % uid, user="alice").text


def assign(server, *attendees, uid="t1", **kwargs):
    response = put(server, "alice", CAL + "%s.ics" % uid,
                   todo(uid, *attendees, **kwargs))
    assert response.status in (201, 204), response.text
    return response


def test_a_task_reaches_the_assignee(team):
    assign(team, "bob")
    assert methods(team, "bob") == ["REQUEST"]
    [(method, message)] = inbox(team, "bob")
    assert "BEGIN:VTODO" in message and "DUE:20260110T170000Z" in message
    [(href, text)] = copies(team, "bob", "t1")
    assert href.startswith("/bob/calendar/")
    assert "BEGIN:VTODO" in text and "METHOD" not in text
    assert "SCHEDULE-STATUS=1.2" in attendee_line(organizer_copy(team), "bob")


def test_a_task_goes_to_a_calendar_that_takes_tasks(team):
    """bob's default calendar holds events only: the task goes into his
    calendar for tasks, and without one into a new "tasks" calendar."""
    assert team.mkcalendar("/carol/events/", user="carol").status == 201
    assert team.proppatch(
        "/carol/.schedule-inbox/",
        "<C:schedule-default-calendar-URL><D:href>/carol/events/</D:href>"
        "</C:schedule-default-calendar-URL>", user="carol").status == 207
    assign(team, "carol")
    [(href, _text)] = copies(team, "carol", "t1")
    assert href.startswith("/carol/tasks/")
    response = team.propfind("/carol/tasks/",
                             "C:supported-calendar-component-set",
                             "D:displayname", user="carol")
    element = response.responses()["/carol/tasks/"]
    comps = prop(element, "C:supported-calendar-component-set")
    assert [c.get("name") for c in comps.findall("C:comp", NS)] == ["VTODO"]
    # An event still goes to the default calendar; the next task to the
    # tasks calendar, which is not made twice.
    put(team, "alice", CAL + "m1.ics", todo("t2", "carol").replace(
        "VTODO", "VEVENT").replace("DUE:", "DTEND:"))
    assert copies(team, "carol", "t2")[0][0].startswith("/carol/events/")
    assign(team, "carol", uid="t3")
    assert copies(team, "carol", "t3")[0][0].startswith("/carol/tasks/")


def test_a_calendar_that_takes_tasks_is_used_before_making_one(team):
    assert team.mkcalendar("/bob/events/", user="bob").status == 201
    assert team.mkcalendar("/bob/chores/", user="bob",
                           components="VTODO").status == 201
    assert team.proppatch(
        "/bob/.schedule-inbox/",
        "<C:schedule-default-calendar-URL><D:href>/bob/events/</D:href>"
        "</C:schedule-default-calendar-URL>", user="bob").status == 207
    assign(team, "bob")
    assert copies(team, "bob", "t1")[0][0].startswith("/bob/chores/")
    assert "/bob/tasks/" not in team.propfind(
        "/bob/", "D:resourcetype", user="bob", depth="1").responses()


def test_progress_and_completion_flow_back(team):
    assign(team, "bob")
    href, text = copies(team, "bob", "t1")[0]
    response = put(team, "bob", href, work(text, "bob", "IN-PROCESS",
                                           percent_complete="50"))
    assert response.status in (201, 204), response.text
    mine = organizer_copy(team)
    assert "PARTSTAT=IN-PROCESS" in attendee_line(mine, "bob")
    assert prop_value(mine, "PERCENT-COMPLETE") == "50"
    assert prop_value(mine, "STATUS") == "IN-PROCESS"
    [(method, reply)] = inbox(team, "alice")
    assert method == "REPLY" and "PERCENT-COMPLETE:50" in reply
    # bob's client marks it done the usual way: STATUS, COMPLETED, 100 %.
    text = team.request("GET", href, user="bob").text
    response = put(team, "bob", href, work(
        text, "bob", status="COMPLETED", percent_complete="100",
        completed="20260108T120000Z"))
    assert response.status in (201, 204), response.text
    mine = organizer_copy(team)
    assert "PARTSTAT=COMPLETED" in attendee_line(mine, "bob")
    assert prop_value(mine, "STATUS") == "COMPLETED"
    assert prop_value(mine, "COMPLETED") == "20260108T120000Z"
    assert prop_value(mine, "PERCENT-COMPLETE") == "100"
    assert methods(team, "alice") == ["REPLY", "REPLY"]
    # bob's copy shows the PARTSTAT his progress implies.
    assert "PARTSTAT=COMPLETED" in attendee_line(
        team.request("GET", href, user="bob").text, "bob")


@pytest.mark.parametrize("partstat, status", [
    ("ACCEPTED", None), ("TENTATIVE", None), ("DECLINED", None),
    ("IN-PROCESS", "IN-PROCESS"), ("COMPLETED", "COMPLETED")])
def test_every_task_answer_reaches_the_organizer(team, partstat, status):
    assign(team, "bob")
    href, text = copies(team, "bob", "t1")[0]
    assert put(team, "bob", href, work(text, "bob", partstat)).status in (
        201, 204)
    mine = organizer_copy(team)
    assert "PARTSTAT=%s" % partstat in attendee_line(mine, "bob")
    assert prop_value(mine, "STATUS") == status
    [(method, reply)] = inbox(team, "alice")
    assert method == "REPLY" and "PARTSTAT=%s" % partstat in unfold(reply)
    # ...and back to NEEDS-ACTION ("not yet answered") is an answer too.
    text = team.request("GET", href, user="bob").text
    assert put(team, "bob", href, work(text, "bob", "NEEDS-ACTION",
                                       status=None, completed=None,
                                       percent_complete=None)).status \
        in (201, 204)
    mine = organizer_copy(team)
    assert "PARTSTAT=NEEDS-ACTION" in attendee_line(mine, "bob")
    assert prop_value(mine, "STATUS") in (None, "NEEDS-ACTION")


def test_several_assignees_show_who_finished_what(team):
    assign(team, "bob", "carol")
    for who in ("bob", "carol"):
        href, text = copies(team, who, "t1")[0]
        assert put(team, who, href, work(text, who, "COMPLETED")).status \
            in (201, 204)
        mine = organizer_copy(team)
        assert "PARTSTAT=COMPLETED" in attendee_line(mine, who)
        if who == "bob":
            assert prop_value(mine, "STATUS") == "IN-PROCESS"
            assert "PARTSTAT=COMPLETED" not in attendee_line(mine, "carol")
    assert prop_value(mine, "STATUS") == "COMPLETED"
    # carol's copy shows bob's answer too, without an inbox message.
    assert "PARTSTAT=COMPLETED" in attendee_line(copy(team, "carol", "t1"),
                                                 "bob")
    assert methods(team, "carol") == ["REQUEST"]


def test_an_update_keeps_the_assignees_progress(team):
    assign(team, "bob", "carol")
    href, text = copies(team, "bob", "t1")[0]
    put(team, "bob", href, work(text, "bob", "IN-PROCESS",
                                percent_complete="30"))
    # alice's client adds a description to her copy.
    mine = organizer_copy(team).replace("END:VTODO",
                                        "DESCRIPTION:Two pages\r\nEND:VTODO")
    assert put(team, "alice", CAL + "t1.ics", mine).status in (201, 204)
    assert "SEQUENCE" not in organizer_copy(team)
    mine = team.request("GET", href, user="bob").text
    assert "Two pages" in mine
    assert prop_value(mine, "PERCENT-COMPLETE") == "30"
    assert "PARTSTAT=IN-PROCESS" in attendee_line(mine, "bob")


def test_reassignment_and_deletion(team):
    assign(team, "bob")
    assign(team, "carol")
    assert methods(team, "bob") == ["CANCEL", "REQUEST"]
    assert "STATUS:CANCELLED" in copy(team, "bob", "t1")
    assert methods(team, "carol") == ["REQUEST"]
    # carol deletes her copy: she declines.
    href, _text = copies(team, "carol", "t1")[0]
    assert team.request("DELETE", href, user="carol").status == 200
    assert "PARTSTAT=DECLINED" in attendee_line(organizer_copy(team),
                                                "carol")
    # alice deletes the task: nobody left to tell but carol, who declined
    # and still gets the cancellation.
    assert team.request("DELETE", CAL + "t1.ics", user="alice").status \
        == 200
    assert methods(team, "carol") == ["CANCEL", "REQUEST"]


def test_a_new_due_date_asks_again_but_keeps_work_done(team):
    assign(team, "bob", "carol")
    href, text = copies(team, "bob", "t1")[0]
    put(team, "bob", href, work(text, "bob", "COMPLETED"))
    href, text = copies(team, "carol", "t1")[0]
    put(team, "carol", href, work(text, "carol", "ACCEPTED"))
    mine = organizer_copy(team)
    response = put(team, "alice", CAL + "t1.ics",
                   mine.replace("DUE:20260110T170000Z",
                                "DUE:20260117T170000Z"))
    assert response.status in (201, 204), response.text
    mine = organizer_copy(team)
    assert "PARTSTAT=COMPLETED" in attendee_line(mine, "bob")
    assert "PARTSTAT=NEEDS-ACTION" in attendee_line(mine, "carol")
    assert "SEQUENCE:1" in mine
    assert "DUE:20260117T170000Z" in copy(team, "carol", "t1")


def test_recurring_task_one_instance_completed(team):
    assign(team, "bob", extra="RRULE:FREQ=WEEKLY;COUNT=3\n")
    href, text = copies(team, "bob", "t1")[0]
    text = work(text, "bob", "ACCEPTED")
    assert put(team, "bob", href, text).status in (201, 204)
    text = team.request("GET", href, user="bob").text
    instance = ("BEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20260101T000000Z\r\n"
                "RECURRENCE-ID:20260112T100000Z\r\n"
                "DTSTART:20260112T100000Z\r\nDUE:20260117T170000Z\r\n"
                "SUMMARY:Write the report\r\n"
                "ORGANIZER;CN=alice:mailto:alice@example.org\r\n"
                "ATTENDEE;CN=bob;PARTSTAT=COMPLETED:mailto:bob@example.org"
                "\r\nSTATUS:COMPLETED\r\nPERCENT-COMPLETE:100\r\n"
                "END:VTODO\r\n")
    text = unfold(text).replace("END:VCALENDAR", instance + "END:VCALENDAR")
    assert put(team, "bob", href, text).status in (201, 204)
    blocks = unfold(organizer_copy(team)).split("BEGIN:VTODO")[1:]
    [override] = [b for b in blocks if "RECURRENCE-ID:20260112T100000Z" in b]
    [master] = [b for b in blocks if "RECURRENCE-ID" not in b]
    assert "PARTSTAT=COMPLETED" in attendee_line(override, "bob")
    assert "STATUS:COMPLETED" in override
    assert "PARTSTAT=ACCEPTED" in attendee_line(master, "bob")
    assert "STATUS:COMPLETED" not in master


def test_rooms_do_not_take_tasks(team):
    assign(team, "bob", "room-1")
    line = attendee_line(organizer_copy(team), "room-1")
    assert "PARTSTAT=DECLINED" in line
    assert copies(team, "room-1", "t1") == []
    assert methods(team, "room-1") == []
    # The room's refusal is processed like any answer; bob is unaffected.
    assert methods(team, "alice") == ["REPLY"]
    assert methods(team, "bob") == ["REQUEST"]


def test_free_busy_ignores_tasks(team):
    assign(team, "bob")
    href, text = copies(team, "bob", "t1")[0]
    put(team, "bob", href, work(text, "bob", "ACCEPTED"))
    put(team, "alice", CAL + "m1.ics", todo(
        "m1", "bob", due="20260120T110000Z").replace("VTODO", "VEVENT")
        .replace("DUE:", "DTEND:").replace("DTSTART:20260105",
                                          "DTSTART:20260120"))
    body = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            "METHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:fb1\r\n"
            "DTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\n"
            "DTEND:20260201T000000Z\r\n"
            "ORGANIZER:mailto:alice@example.org\r\n"
            "ATTENDEE:mailto:bob@example.org\r\nEND:VFREEBUSY\r\n"
            "END:VCALENDAR\r\n")
    response = team.request("POST", "/alice/.schedule-outbox/", body,
                            user="alice", content_type="text/calendar")
    assert response.status == 200, response.text
    busy = [line for line in unfold(response.text).split("\n")
            if line.startswith("FREEBUSY")]
    # Only the meeting: the task (DTSTART 5 Jan, DUE 10 Jan) is no busy time.
    assert len(busy) == 1 and "20260120T100000Z" in busy[0], busy


def test_assign_work_on_and_complete_a_task_with_python_caldav(live_server):
    import datetime

    import caldav

    def client(user):
        return caldav.DAVClient(url=live_server["url"], username=user,
                                password=live_server["password"])

    with client("alice") as alice_dav, client("bob") as bob_dav:
        alice, bob = alice_dav.principal(), bob_dav.principal()
        bob.schedule_inbox()  # bob's account exists and is set up
        alice.schedule_inbox()
        calendar = (alice.calendars() or [alice.make_calendar(
            name="Calendar", cal_id="calendar")])[0]
        task = calendar.save_todo(
            summary="Quarterly report", uid="e2e-task",
            due=datetime.datetime(2026, 3, 31, 17,
                                  tzinfo=datetime.timezone.utc))
        task.add_organizer()
        task.add_attendee("mailto:bob@example.org")
        task.save()
        [invite] = bob.schedule_inbox().get_items()
        assert invite.is_invite_request()
        [mine] = [t for c in bob.calendars() for t in c.todos()]
        assert str(mine.icalendar_component["UID"]) == "e2e-task"
        mine.icalendar_component["PERCENT-COMPLETE"] = 50
        mine.save()
        theirs = calendar.todo_by_uid("e2e-task")
        theirs.load()
        assert int(theirs.icalendar_component["PERCENT-COMPLETE"]) == 50
        mine.load()
        mine.complete()
        theirs = calendar.todo_by_uid("e2e-task")
        theirs.load()
        component = theirs.icalendar_component
        assert str(component["STATUS"]) == "COMPLETED"
        assert "COMPLETED" in component
        attendee = [a for a in (component.get("attendee")
                                if isinstance(component.get("attendee"), list)
                                else [component.get("attendee")])
                    if str(a).lower() == "mailto:bob@example.org"][0]
        assert attendee.params["PARTSTAT"] == "COMPLETED"
        # bob's list of things to do is empty now; alice got two answers.
        assert [t for c in bob.calendars() for t in c.todos()] == []
        replies = [m for m in alice.schedule_inbox().get_items()
                   if "METHOD:REPLY" in m.data]
        assert len(replies) == 2


def test_a_delegated_task_shows_the_delegates_progress(team):
    """bob, the only assignee, delegated the task to carol (RFC 5546
    s4.2.5): carol does the work, so alice's copy shows her progress as
    it would bob's."""
    from test_delegation import delegate
    assign(team, "bob")
    href, text = copies(team, "bob", "t1")[0]
    response = put(team, "bob", href, delegate(
        text, "mailto:bob@example.org", "mailto:carol@example.org",
        cn="carol"))
    assert response.status in (201, 204), response.text
    [(href, text)] = copies(team, "carol", "t1")
    response = put(team, "carol", href, work(text, "carol", "IN-PROCESS",
                                             percent_complete="50"))
    assert response.status in (201, 204), response.text
    mine = organizer_copy(team)
    assert "PARTSTAT=IN-PROCESS" in attendee_line(mine, "carol")
    assert "PARTSTAT=DELEGATED" in attendee_line(mine, "bob")
    assert prop_value(mine, "STATUS") == "IN-PROCESS"
    assert prop_value(mine, "PERCENT-COMPLETE") == "50"
    text = team.request("GET", href, user="carol").text
    response = put(team, "carol", href, work(
        text, "carol", status="COMPLETED", percent_complete="100",
        completed="20260108T120000Z"))
    assert response.status in (201, 204), response.text
    mine = organizer_copy(team)
    assert prop_value(mine, "STATUS") == "COMPLETED"
    assert prop_value(mine, "COMPLETED") == "20260108T120000Z"
    assert prop_value(mine, "PERCENT-COMPLETE") == "100"
