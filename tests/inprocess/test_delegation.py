"""Delegation over HTTP (RFC 5546 s3.2.2.3, s4.2.5-s4.2.7; RFC 6638
s3.2.2.1): every inbox and every copy, with a delegate on this server and
one reached by e-mail."""

from urllib.parse import unquote

import pytest
from live import smtp_server

from helpers import NS, wait_for
from radicale_scheduling.delivery import incoming
from scheduling_helpers import copies, hrefs, ics, inbox, methods, organize, put, unfold

CAL = "/alice/calendar/"
BOB = "mailto:bob@example.org"
CAROL = "mailto:carol@example.org"
DAVE = "mailto:dave@mail.example"
GRANDMA = "mailto:grandma@elsewhere.example"


def delegate(text, who, to, cn=""):
    """What a client does: ``who`` DELEGATED to ``to``, ``to`` added."""
    out = []
    for line in unfold(text).split("\r\n"):
        if line.startswith("ATTENDEE") and line.lower().endswith(":" + who):
            params = [p for p in line.split(":mailto:")[0].split(";")[1:]
                      if not p.startswith(("PARTSTAT", "RSVP",
                                           "DELEGATED-TO"))]
            out.append(";".join(["ATTENDEE"] + params + [
                "PARTSTAT=DELEGATED", 'DELEGATED-TO="%s"' % to]) + ":" + who)
            out.append('ATTENDEE;%sRSVP=TRUE;DELEGATED-FROM="%s":%s' % (
                "CN=%s;" % cn if cn else "", who, to))
            continue
        out.append(line)
    return "\r\n".join(out)


def set_partstat(text, who, partstat):
    out = []
    for line in unfold(text).split("\r\n"):
        if line.startswith("ATTENDEE") and line.lower().endswith(":" + who):
            head, value = line.split(":mailto:", 1)
            params = [p for p in head.split(";")[1:]
                      if not p.startswith(("PARTSTAT", "RSVP"))]
            line = ";".join(["ATTENDEE"] + params + [
                "PARTSTAT=" + partstat]) + ":mailto:" + value
        out.append(line)
    return "\r\n".join(out)


def dave_methods(server):
    """dave's inbox (his user name is an address: hrefs are quoted)."""
    user = "dave@mail.example"
    found = [h for h in hrefs(server, user, "/%s/.schedule-inbox/" % user)
             if not h.endswith("/")]
    return sorted(server.request("GET", unquote(h), user=user).text.split(
        "METHOD:", 1)[1].split("\r\n", 1)[0] for h in found)


def line_of(text, address):
    for line in unfold(text).split("\r\n"):
        if line.startswith("ATTENDEE") and line.lower().endswith(
                ":" + address):
            return line
    return None


def organizer_copy(server):
    return server.request("GET", CAL + "m1.ics", user="alice").text


def the_copy(server, user):
    [(href, text)] = copies(server, user, "m1")
    return href, text


@pytest.fixture
def invited(server):
    """alice invited bob to m1; carol and dave are not invited."""
    return organize(server, ics("m1", "bob"),
                    ("alice", "bob", "carol", "dave@mail.example"))


@pytest.fixture
def delegated(invited):
    """bob delegated m1 to carol."""
    href, text = the_copy(invited, "bob")
    response = put(invited, "bob", href, delegate(text, BOB, CAROL,
                                                  cn="carol"))
    assert response.status in (201, 204), response.text
    return invited


def test_delegating_tells_the_organizer_and_invites_the_delegate(delegated):
    server = delegated
    # The organizer: a REPLY with both lines (RFC 5546 s4.2.5), her copy
    # lists carol as bob's delegate.
    [(method, reply)] = inbox(server, "alice")
    assert method == "REPLY"
    assert "PARTSTAT=DELEGATED" in line_of(reply, BOB)
    assert "DELEGATED-FROM" in line_of(reply, CAROL)
    mine = organizer_copy(server)
    assert "PARTSTAT=DELEGATED" in line_of(mine, BOB)
    assert 'DELEGATED-TO="mailto:carol@example.org"' in line_of(mine, BOB)
    carol = line_of(mine, CAROL)
    assert 'DELEGATED-FROM="mailto:bob@example.org"' in carol
    assert "PARTSTAT=NEEDS-ACTION" in carol
    # The delegate: her copy and a REQUEST in her inbox.
    assert methods(server, "carol") == ["REQUEST"]
    [(_, request)] = inbox(server, "carol")
    assert "ORGANIZER;CN=alice:mailto:alice@example.org" in unfold(request)
    _, hers = the_copy(server, "carol")
    assert "DELEGATED-FROM" in line_of(hers, CAROL)
    # The delegator: his copy records the delivery to carol.
    _, his = the_copy(server, "bob")
    assert "SCHEDULE-STATUS=1.2" in line_of(his, CAROL)
    assert "PARTSTAT=DELEGATED" in line_of(his, BOB)
    assert methods(server, "bob") == ["REQUEST"]


def test_the_other_attendees_copies_list_the_delegate(server):
    """Issue 19 point 7: after bob delegates to dave, carol's copy shows
    dave (quietly: no message in carol's inbox for it)."""
    organize(server, ics("m1", "bob", "carol"),
             ("alice", "bob", "carol", "dave@mail.example"))
    href, text = the_copy(server, "bob")
    assert put(server, "bob", href, delegate(text, BOB, DAVE)).status in (
        201, 204)
    _, carols = the_copy(server, "carol")
    assert 'DELEGATED-FROM="mailto:bob@example.org"' in line_of(carols, DAVE)
    assert "PARTSTAT=DELEGATED" in line_of(carols, BOB)
    assert methods(server, "carol") == ["REQUEST"]
    assert dave_methods(server) == ["REQUEST"]


def test_the_delegate_answers_and_gets_the_organizers_updates(delegated):
    server = delegated
    href, text = the_copy(server, "carol")
    assert put(server, "carol", href,
               set_partstat(text, CAROL, "ACCEPTED")).status in (201, 204)
    mine = organizer_copy(server)
    assert "PARTSTAT=ACCEPTED" in line_of(mine, CAROL)
    assert "SCHEDULE-STATUS=2.0" in line_of(mine, CAROL)
    assert methods(server, "alice") == ["REPLY", "REPLY"]
    # bob's copy shows it too, quietly.
    assert "PARTSTAT=ACCEPTED" in line_of(the_copy(server, "bob")[1], CAROL)
    assert methods(server, "bob") == ["REQUEST"]
    # alice changes the meeting: carol and bob both hear of it.
    moved = mine.replace("SUMMARY:Planning", "SUMMARY:Planning in the new room")
    assert put(server, "alice", CAL + "m1.ics", moved).status in (201, 204)
    assert methods(server, "carol") == ["REQUEST", "REQUEST"]
    assert methods(server, "bob") == ["REQUEST", "REQUEST"]
    assert "new room" in the_copy(server, "carol")[1]


def test_a_declining_delegate_gives_the_meeting_back(delegated):
    server = delegated
    href, text = the_copy(server, "carol")
    assert put(server, "carol", href,
               set_partstat(text, CAROL, "DECLINED")).status in (201, 204)
    assert "PARTSTAT=DECLINED" in line_of(organizer_copy(server), CAROL)
    # RFC 5546 s4.2.7: the organizer sends bob the meeting again.
    assert methods(server, "bob") == ["REQUEST", "REQUEST"]
    href, his = the_copy(server, "bob")
    assert "PARTSTAT=DECLINED" in line_of(his, CAROL)
    # bob delegates to someone else now.
    response = put(server, "bob", href, delegate(his, BOB, DAVE))
    assert response.status in (201, 204), response.text
    mine = organizer_copy(server)
    assert 'DELEGATED-TO="mailto:dave@mail.example"' in line_of(mine, BOB)
    assert "DELEGATED-FROM" in line_of(mine, DAVE)
    assert dave_methods(server) == ["REQUEST"]


def test_the_delegate_may_delegate_on(delegated):
    server = delegated
    href, text = the_copy(server, "carol")
    response = put(server, "carol", href, delegate(text, CAROL, DAVE))
    assert response.status in (201, 204), response.text
    mine = organizer_copy(server)
    assert "PARTSTAT=DELEGATED" in line_of(mine, CAROL)
    assert 'DELEGATED-FROM="mailto:carol@example.org"' in line_of(mine, DAVE)
    assert dave_methods(server) == ["REQUEST"]
    assert methods(server, "alice") == ["REPLY", "REPLY"]


def test_the_organizer_removes_the_delegate(delegated):
    server = delegated
    mine = organizer_copy(server)
    without = "\r\n".join(line for line in unfold(mine).split("\r\n")
                          if line != line_of(mine, CAROL))
    assert put(server, "alice", CAL + "m1.ics", without).status in (201, 204)
    assert methods(server, "carol") == ["CANCEL", "REQUEST"]
    assert "STATUS:CANCELLED" in the_copy(server, "carol")[1]


@pytest.mark.parametrize("how", ["add", "two", "again", "invited"])
def test_delegation_cannot_add_people_to_someone_elses_meeting(delegated,
                                                               how):
    server = delegated
    href, text = the_copy(server, "bob")
    if how == "add":  # an attendee added without delegating
        body = text.replace("END:VEVENT",
                            "ATTENDEE:mailto:mallory@example.org\r\n"
                            "END:VEVENT")
    elif how == "two":  # a second delegate while carol has not declined
        body = delegate(set_partstat(text, BOB, "ACCEPTED"), BOB, DAVE)
    elif how == "again":  # a delegate line not named in DELEGATED-TO
        body = text.replace("END:VEVENT", 'ATTENDEE;DELEGATED-FROM="%s":%s'
                            '\r\nEND:VEVENT' % (BOB, DAVE))
    else:  # "delegating" to the organizer
        href, text = the_copy(server, "carol")
        body = delegate(text, CAROL, "mailto:alice@example.org")
    before = organizer_copy(server)
    user = "carol" if how == "invited" else "bob"
    response = put(server, user, href, body)
    assert response.status == 403
    error = response.xml
    assert error.find("C:allowed-attendee-scheduling-object-change",
                      NS) is not None
    assert organizer_copy(server) == before
    assert dave_methods(server) == []
    assert methods(server, "alice") == ["REPLY"]


def test_an_external_delegate_gets_mail_and_answers_by_mail(mailing,
                                                            mail_port):
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        assert put(server, "alice", CAL + "m1.ics", ics("m1", "bob")) \
            .status == 201
        href, text = the_copy(server, "bob")
        response = put(server, "bob", href, delegate(text, BOB, GRANDMA,
                                                     cn="Grandma"))
        assert response.status in (201, 204), response.text
        assert wait_for(lambda: len(sink.envelopes) == 1)
    finally:
        controller.stop()
    [mail] = sink.mails()
    assert sink.envelopes[0].rcpt_tos == ["grandma@elsewhere.example"]
    assert mail["Reply-To"].endswith("bob@example.org")
    parts = {p.get_content_type(): p for p in mail.iter_parts()}
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    body = parts["text/calendar"].get_content()
    body = body if isinstance(body, str) else body.decode()
    assert "DELEGATED-FROM" in line_of(body.replace("\n", "\r\n").replace(
        "\r\r\n", "\r\n"), GRANDMA)
    assert "DELEGATED-FROM" in line_of(organizer_copy(server), GRANDMA)
    # grandma accepts by mail; her reply counts.
    reply = ("From: Grandma <grandma@elsewhere.example>\n"
             "To: alice@example.org\nSubject: Accepted\nMIME-Version: 1.0\n"
             "Content-Type: text/calendar; method=REPLY\n\n"
             "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nMETHOD:REPLY\n"
             "BEGIN:VEVENT\nUID:m1\nDTSTAMP:20260102T000000Z\n"
             "ORGANIZER:mailto:alice@example.org\n"
             "ATTENDEE;PARTSTAT=ACCEPTED;DELEGATED-FROM=\"mailto:bob@example"
             ".org\":mailto:grandma@elsewhere.example\nEND:VEVENT\n"
             "END:VCALENDAR\n")
    code, why = incoming.process(server.storage, reply.encode())
    assert code == incoming.OK, why
    assert "PARTSTAT=ACCEPTED" in line_of(organizer_copy(server), GRANDMA)


def test_an_external_delegator_by_mail(mailing):
    server = mailing()
    assert put(server, "alice", CAL + "m1.ics", ics(
        "m1", "ATTENDEE:%s\n" % GRANDMA)).status == 201
    reply = ("From: Grandma <grandma@elsewhere.example>\n"
             "To: alice@example.org\nSubject: Delegated\nMIME-Version: 1.0\n"
             "Content-Type: text/calendar; method=REPLY\n\n"
             "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nMETHOD:REPLY\n"
             "BEGIN:VEVENT\nUID:m1\nDTSTAMP:20260102T000000Z\n"
             "ORGANIZER:mailto:alice@example.org\n"
             "ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"%s\":%s\n"
             "ATTENDEE;DELEGATED-FROM=\"%s\":%s\nEND:VEVENT\n"
             "END:VCALENDAR\n")
    # Naming a delegate without delegating to them: refused.
    forged = reply % (DAVE, GRANDMA, GRANDMA, CAROL)
    code, _ = incoming.process(server.storage, forged.encode())
    assert code == incoming.NOPERM
    assert line_of(organizer_copy(server), CAROL) is None
    code, why = incoming.process(server.storage, (
        reply % (CAROL, GRANDMA, GRANDMA, CAROL)).encode())
    assert code == incoming.OK, why
    mine = organizer_copy(server)
    assert "PARTSTAT=DELEGATED" in line_of(mine, GRANDMA)
    assert 'DELEGATED-FROM="mailto:grandma@elsewhere.example"' in \
        line_of(mine, CAROL)
    # grandma's own mail to carol would not be taken (she is not the
    # organizer): the organizer's server invites carol itself.
    assert methods(server, "carol") == ["REQUEST"]
    assert "DELEGATED-FROM" in line_of(the_copy(server, "carol")[1], CAROL)


def test_a_stale_organizer_client_keeps_the_delegate(invited):
    server = invited
    response = server.request("GET", CAL + "m1.ics", user="alice")
    stale, tag = response.text, response.headers["Schedule-Tag"]
    href, text = the_copy(server, "bob")
    assert put(server, "bob", href, delegate(text, BOB, CAROL)).status in (
        201, 204)
    # alice's client saves what it had, before the delegation; the reply
    # did not change the tag (RFC 6638 s3.2.10), so the server merges.
    edited = stale.replace("SUMMARY:Planning", "SUMMARY:Planning again")
    assert put(server, "alice", CAL + "m1.ics", edited,
               if_schedule_tag_match=tag).status in (201, 204)
    mine = organizer_copy(server)
    assert "DELEGATED-FROM" in line_of(mine, CAROL)
    assert 'DELEGATED-TO="mailto:carol@example.org"' in line_of(mine, BOB)
    assert "CANCEL" not in methods(server, "carol")
    assert "Planning again" in the_copy(server, "carol")[1]
    # A client that saw the delegate and leaves them out removes them.
    response = server.request("GET", CAL + "m1.ics", user="alice")
    without = "\r\n".join(
        line for line in unfold(response.text).split("\r\n")
        if line != line_of(response.text, CAROL))
    assert put(server, "alice", CAL + "m1.ics", without,
               if_schedule_tag_match=response.headers["Schedule-Tag"]
               ).status in (201, 204)
    assert line_of(organizer_copy(server), CAROL) is None
    assert "CANCEL" in methods(server, "carol")


def test_delegating_a_meeting_organized_outside(mailing, mail_port):
    invitation = (
        "From: Grandma <grandma@elsewhere.example>\nTo: bob@example.org\n"
        "Subject: Invitation\nMIME-Version: 1.0\n"
        "Content-Type: text/calendar; method=REQUEST\n\n"
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nMETHOD:REQUEST\n"
        "BEGIN:VEVENT\nUID:m1\nDTSTAMP:20260102T000000Z\n"
        "DTSTART:20260105T100000Z\nDTEND:20260105T110000Z\nSUMMARY:Tea\n"
        "ORGANIZER:%s\nATTENDEE;RSVP=TRUE:%s\nEND:VEVENT\nEND:VCALENDAR\n"
        % (GRANDMA, BOB))
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        code, why = incoming.process(server.storage,
                                     invitation.encode())
        assert code == incoming.OK, why
        href, text = the_copy(server, "bob")
        response = put(server, "bob", href, delegate(text, BOB, CAROL))
        assert response.status in (201, 204), response.text
        assert wait_for(lambda: len(sink.envelopes) == 1)
        # carol, on this server, has the meeting; her answer goes to
        # grandma by mail.
        assert methods(server, "carol") == ["REQUEST"]
        href, hers = the_copy(server, "carol")
        assert put(server, "carol", href, set_partstat(
            hers, CAROL, "ACCEPTED")).status in (201, 204)
        assert wait_for(lambda: len(sink.envelopes) == 2)
    finally:
        controller.stop()
    replies = []
    for mail in sink.mails():
        part = [p for p in mail.iter_parts()
                if p.get_content_type() == "text/calendar"][0]
        body = part.get_content()
        body = body if isinstance(body, str) else body.decode()
        replies.append(body.replace("\r\n", "\n").replace("\n", "\r\n"))
        assert part.get_param("method") == "REPLY"
    assert [e.rcpt_tos for e in sink.envelopes] == [
        ["grandma@elsewhere.example"]] * 2
    delegation_reply = next(r for r in replies if "DELEGATED-TO" in r)
    assert "PARTSTAT=DELEGATED" in line_of(delegation_reply, BOB)
    assert "DELEGATED-FROM" in line_of(delegation_reply, CAROL)
    carol_reply = next(r for r in replies if r is not delegation_reply)
    assert "PARTSTAT=ACCEPTED" in line_of(carol_reply, CAROL)


def test_replies_of_two_attendees_to_an_outside_organizer_both_wait(
        mailing, mail_clock):
    invitation = (
        "From: Grandma <grandma@elsewhere.example>\n"
        "To: bob@example.org, carol@example.org\n"
        "Subject: Invitation\nMIME-Version: 1.0\n"
        "Content-Type: text/calendar; method=REQUEST\n\n"
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nMETHOD:REQUEST\n"
        "BEGIN:VEVENT\nUID:m1\nDTSTAMP:20260102T000000Z\n"
        "DTSTART:20260105T100000Z\nDTEND:20260105T110000Z\nSUMMARY:Tea\n"
        "ORGANIZER:%s\nATTENDEE:%s\nATTENDEE:%s\nEND:VEVENT\n"
        "END:VCALENDAR\n" % (GRANDMA, BOB, CAROL))
    server = mailing()
    code, why = incoming.process(server.storage, invitation.encode())
    assert code == incoming.OK, why
    href, text = the_copy(server, "bob")
    assert put(server, "bob", href, delegate(text, BOB, DAVE)).status in (
        201, 204)
    server.propfind("/carol/", "D:resourcetype", user="carol")
    href, text = the_copy(server, "carol")
    assert put(server, "carol", href, set_partstat(
        text, CAROL, "ACCEPTED")).status in (201, 204)
    pending = server.storage.scheduler.outbound.entries()
    assert sorted((e["method"], e["sender"]) for e in pending) == [
        ("REPLY", BOB), ("REPLY", CAROL)]
