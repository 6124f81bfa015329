"""The scheduling flows end to end, as users see them: python-caldav against
a real ``python -m radicale`` that mails through a real SMTP server
(aiosmtpd on 127.0.0.1), and answers fed back by ``python -m
radicale_scheduling receive`` as a mail server's pipe runs it.  tests/run
runs these (marker ``e2e``) on every Radicale series the package declares.
"""

import datetime
import os

import caldav
import live
import pytest
from live import smtp_server
from test_end_to_end import calendar_of

from helpers import PASSWORD, wait_for, write_file, write_users

pytestmark = pytest.mark.e2e

UTC = datetime.timezone.utc
ADDRESSES = "[alice]\nname = Alice Example\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A server with e-mail on, and the mail server it sends to."""
    folder = str(tmp_path_factory.mktemp("e2e"))
    mail_port = live.free_port()
    sink, controller = smtp_server(mail_port)
    server = None
    try:
        server = live.start(folder, "radicale", folder + "/collections",
                            write_users(folder), storage={
                                "scheduling_domain": "example.org",
                                "scheduling_addresses": write_file(
                                    folder, "addresses", ADDRESSES),
                                "scheduling_smtp_host": "127.0.0.1",
                                "scheduling_smtp_port": str(mail_port),
                                "scheduling_smtp_security": "none",
                                "scheduling_smtp_from": "calendar@example.org",
                                "scheduling_smtp_retry_seconds": "1"},
                            level="info")
        yield {"server": server, "sink": sink, "folder": folder}
    except RuntimeError as e:
        pytest.fail(str(e))
    finally:
        if server is not None:
            server.stop()
        controller.stop()


def dav(world, user):
    return caldav.DAVClient(url=world["server"].url, username=user,
                            password=PASSWORD)


def invite(principal, uid, attendee, summary="Planning", hour=9):
    principal.schedule_inbox()
    calendar = calendar_of(principal)
    event = calendar.save_event(
        dtstart=datetime.datetime(2026, 3, 2, hour, tzinfo=UTC),
        dtend=datetime.datetime(2026, 3, 2, hour + 1, tzinfo=UTC),
        summary=summary, uid=uid)
    event.add_organizer()
    event.add_attendee(attendee)
    event.save()
    return calendar


def attendee_line(event, address):
    event.load()
    lines = event.icalendar_component.get("attendee")
    lines = lines if isinstance(lines, list) else [lines]
    return [a for a in lines if str(a).lower() == address][0]


def inbox_items(principal, uid):
    return [item for item in principal.schedule_inbox().get_items()
            if ("UID:%s\r\n" % uid) in item.data.replace("\n", "\r\n")
            .replace("\r\r\n", "\r\n")]


def methods(items):
    return sorted(str(item.icalendar_instance.get("method")) for item in items)


def test_invite_and_decline_by_deleting_the_copy(world):
    with dav(world, "alice") as alice_dav, dav(world, "bob") as bob_dav:
        alice, bob = alice_dav.principal(), bob_dav.principal()
        bob.schedule_inbox()  # bob's account is set up
        calendar = invite(alice, "e2e-decline", "mailto:bob@example.org")
        [request] = inbox_items(bob, "e2e-decline")
        assert request.is_invite_request()
        copy = calendar_of(bob).event_by_uid("e2e-decline")
        copy.delete()
        # alice's copy shows the answer, and the REPLY is in her inbox.
        mine = calendar.event_by_uid("e2e-decline")
        assert attendee_line(mine, "mailto:bob@example.org").params[
            "PARTSTAT"] == "DECLINED"
        assert methods(inbox_items(alice, "e2e-decline")) == ["REPLY"]


def test_reschedule_asks_again(world):
    with dav(world, "alice") as alice_dav, dav(world, "carol") as carol_dav:
        alice, carol = alice_dav.principal(), carol_dav.principal()
        carol.schedule_inbox()
        calendar = invite(alice, "e2e-move", "mailto:carol@example.org")
        [request] = inbox_items(carol, "e2e-move")
        request.accept_invite()
        mine = calendar.event_by_uid("e2e-move")
        assert attendee_line(mine, "mailto:carol@example.org").params[
            "PARTSTAT"] == "ACCEPTED"
        # alice moves the meeting to the afternoon.
        component = mine.icalendar_component
        component.pop("DTSTART")
        component.pop("DTEND")
        component.add("dtstart", datetime.datetime(2026, 3, 2, 14, tzinfo=UTC))
        component.add("dtend", datetime.datetime(2026, 3, 2, 15, tzinfo=UTC))
        mine.save()
        theirs = calendar_of(carol).event_by_uid("e2e-move")
        theirs.load()
        assert theirs.icalendar_component["DTSTART"].dt == datetime.datetime(
            2026, 3, 2, 14, tzinfo=UTC)
        assert attendee_line(theirs, "mailto:carol@example.org").params[
            "PARTSTAT"] == "NEEDS-ACTION"
        updates = [item for item in inbox_items(carol, "e2e-move")
                   if "T140000Z" in item.data]
        assert methods(updates) == ["REQUEST"]
        assert int(updates[0].icalendar_component["SEQUENCE"]) >= 1


def test_free_busy_shows_the_meeting(world):
    with dav(world, "alice") as alice_dav, dav(world, "bob") as bob_dav:
        alice, bob = alice_dav.principal(), bob_dav.principal()
        bob.schedule_inbox()
        calendar_of(bob).save_event(
            dtstart=datetime.datetime(2026, 3, 3, 8, tzinfo=UTC),
            dtend=datetime.datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
            summary="Dentist", uid="e2e-dentist")
        answer = alice.freebusy_request(
            datetime.datetime(2026, 3, 3, tzinfo=UTC),
            datetime.datetime(2026, 3, 4, tzinfo=UTC),
            ["mailto:bob@example.org"])
        busy = answer.get("mailto:bob@example.org")
        data = (busy.data if hasattr(busy, "data") else str(busy)).replace(
            "\r\n ", "")
        assert "20260303T080000Z/20260303T093000Z" in data
        assert "Dentist" not in str(answer)


REPLY_MAIL = """\
From: Grandma <grandma@elsewhere.example>
To: bob@example.org
Subject: Accepted: {summary}
MIME-Version: 1.0
Content-Type: text/calendar; charset=UTF-8; method=REPLY

BEGIN:VCALENDAR
PRODID:-//Mail program//EN
VERSION:2.0
METHOD:REPLY
BEGIN:VEVENT
DTSTAMP:20260102T000000Z
UID:{uid}
SUMMARY:{summary}
ORGANIZER:mailto:bob@example.org
ATTENDEE;CN=Grandma;PARTSTAT=ACCEPTED:mailto:grandma@elsewhere.example
DTSTART:20260302T090000Z
DTEND:20260302T100000Z
SEQUENCE:0
END:VEVENT
END:VCALENDAR
"""


def test_mail_out_and_the_answer_back_in(world):
    """bob (no display name: python-caldav writes ``CN=None``) invites
    someone outside; she gets a standard invitation mail, and her answer,
    piped to ``receive``, shows in bob's copy."""
    sink = world["sink"]
    with dav(world, "bob") as bob_dav:
        bob = bob_dav.principal()
        calendar = invite(bob, "e2e-mail", "mailto:grandma@elsewhere.example",
                          summary="Tea")
        mails = wait_for(lambda: [m for m in sink.mails()
                                  if "Tea" in str(m["Subject"])])
        [mail] = mails
        assert mail["To"] == "grandma@elsewhere.example"
        parts = {p.get_content_type(): p for p in mail.iter_parts()}
        assert parts["text/calendar"].get_param("method") == "REQUEST"
        text = parts["text/plain"].get_content()
        assert "None" not in text and "None" not in str(mail["From"])
        body = parts["text/calendar"].get_content()
        body = body if isinstance(body, str) else body.decode()
        assert "CN=None" not in body and "ORGANIZER" in body
        assert "bob@example.org" in text
        result = live.command(
            "--config", world["server"].config_path, "receive",
            stdin=REPLY_MAIL.format(uid="e2e-mail", summary="Tea").encode(),
            cwd=os.path.dirname(world["folder"]))
        assert result.returncode == 0, result.stderr.decode()
        mine = calendar.event_by_uid("e2e-mail")
        assert attendee_line(mine, "mailto:grandma@elsewhere.example").params[
            "PARTSTAT"] == "ACCEPTED"
    log = world["server"].log()
    assert "Traceback" not in log
    assert log.count("Scheduling (RFC 6638) enabled") == 1
    assert "e-mail (iMIP) through 127.0.0.1 port %d (none)" % (
        sink_port(world)) in log


def sink_port(world):
    with open(world["server"].config_path) as f:
        for line in f:
            if line.startswith("scheduling_smtp_port"):
                return int(line.split("=")[1])
    raise AssertionError("no port")
