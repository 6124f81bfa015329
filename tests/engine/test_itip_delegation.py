"""Delegation in the iTIP engine, on its own (RFC 5546 s3.2.2.3,
s4.2.5-s4.2.7; RFC 6638 s3.2.2.1)."""

import datetime

import pytest

from radicale_scheduling.itip import attendee, delegation, inbound, instances
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.itip.organizer import organizer_change

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
ALICE = "mailto:alice@example.org"
BOB = "mailto:bob@example.org"
CAROL = "mailto:carol@example.org"
DAVE = "mailto:dave@example.org"
ERIN = "mailto:erin@example.org"


def organizer_event():
    return ical.parse(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        "UID:m1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\n"
        "DURATION:PT1H\r\nSUMMARY:Planning\r\nORGANIZER:%s\r\n"
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:%s\r\n"
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:%s\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n" % (ALICE, BOB, CAROL))


def bobs_copy():
    change = organizer_change(None, organizer_event(), frozenset({ALICE}),
                              NOW)
    [request] = [m for m in change.messages if m.recipient == BOB]
    return change.stored, inbound.apply("REQUEST", request.calendar, None)


def delegate(copy, who, to, extra_params=""):
    """What a client does: who DELEGATED to ``to``, ``to`` added."""
    text = copy.serialize().replace("\r\n ", "")
    lines = []
    for line in text.split("\r\n"):
        if line.startswith("ATTENDEE") and line.endswith(":" + who):
            line = 'ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO="%s":%s' % (
                to, who)
            lines.append(line)
            lines.append('ATTENDEE;RSVP=TRUE%s;DELEGATED-FROM="%s":%s' % (
                extra_params, who, to))
            continue
        lines.append(line)
    return ical.parse("\r\n".join(lines))


def answer(copy, who, partstat):
    cal = ical.clone(copy)
    for comp in ical.components(cal):
        ical.set_param(ical.attendee(comp, who), "PARTSTAT", partstat)
    return cal


def test_delegating_replies_with_both_lines_and_invites_the_delegate():
    _, copy = bobs_copy()
    change = attendee.attendee_change(copy, delegate(copy, BOB, DAVE), BOB,
                                      NOW)
    reply, request = change.messages
    assert (reply.method, reply.recipient, reply.sender) == \
        ("REPLY", ALICE, BOB)
    comp = ical.components(reply.calendar)[0]
    assert ical.partstat(ical.attendee(comp, BOB)) == "DELEGATED"
    assert delegation.delegated_to(ical.attendee(comp, BOB)) == [DAVE]
    assert delegation.delegated_from(ical.attendee(comp, DAVE)) == [BOB]
    assert ical.attendee(comp, CAROL) is None
    assert (request.method, request.recipient, request.sender) == \
        ("REQUEST", DAVE, BOB)
    comp = ical.components(request.calendar)[0]
    assert ical.organizer(comp) == ALICE
    assert ical.partstat(ical.attendee(comp, DAVE)) == "NEEDS-ACTION"
    assert "SCHEDULE-" not in request.serialize()


@pytest.mark.parametrize("edit", [
    # Adding someone without delegating.
    lambda t: t.replace("ATTENDEE;PARTSTAT=NEEDS-ACTION:" + CAROL,
                        "ATTENDEE:%s\r\nATTENDEE:%s" % (CAROL, DAVE)),
    # Two delegates at once.
    lambda t: t.replace('DELEGATED-TO="%s"' % DAVE,
                        'DELEGATED-TO="%s","%s"' % (DAVE, ERIN)).replace(
        "END:VEVENT", 'ATTENDEE;DELEGATED-FROM="%s":%s\r\nEND:VEVENT'
        % (BOB, ERIN)),
    # A delegate who does not name the delegator.
    lambda t: t.replace('DELEGATED-FROM="%s"' % BOB,
                        'DELEGATED-FROM="%s"' % CAROL),
    # A delegate nobody delegated to.
    lambda t: t.replace("END:VEVENT", "ATTENDEE:%s\r\nEND:VEVENT" % ERIN),
    # Delegating to an attendee already invited.
    lambda t: t.replace('DELEGATED-TO="%s"' % DAVE,
                        'DELEGATED-TO="%s"' % CAROL),
    # Delegating to the organizer.
    lambda t: t.replace(DAVE, ALICE),
])
def test_delegation_cannot_add_arbitrary_people(edit):
    _, copy = bobs_copy()
    text = delegate(copy, BOB, DAVE).serialize().replace("\r\n ", "")
    with pytest.raises(SchedulingError) as e:
        attendee.attendee_change(copy, ical.parse(edit(text)), BOB, NOW)
    assert e.value.precondition == \
        "C:allowed-attendee-scheduling-object-change"


def test_organizer_copy_lists_the_delegate_and_takes_their_answers():
    stored, copy = bobs_copy()
    change = attendee.attendee_change(copy, delegate(copy, BOB, DAVE), BOB,
                                      NOW)
    reply = change.messages[0]
    updated = inbound.apply_reply(reply.calendar, stored, BOB)
    comp = ical.components(updated)[0]
    assert ical.partstat(ical.attendee(comp, BOB)) == "DELEGATED"
    assert delegation.delegated_to(ical.attendee(comp, BOB)) == [DAVE]
    dave = ical.attendee(comp, DAVE)
    assert delegation.delegated_from(dave) == [BOB]
    assert ical.partstat(dave) == "NEEDS-ACTION"
    # The delegate's own REPLY now counts.
    daves_copy = inbound.apply("REQUEST", change.messages[1].calendar, None)
    accepted = attendee.attendee_change(
        daves_copy, answer(daves_copy, DAVE, "ACCEPTED"), DAVE, NOW)
    [dave_reply] = accepted.messages
    assert dave_reply.recipient == ALICE
    after = inbound.apply_reply(dave_reply.calendar, updated, DAVE)
    assert ical.partstat(ical.attendee(ical.components(after)[0],
                                       DAVE)) == "ACCEPTED"
    # Later organizer updates reach the delegate.
    moved = ical.clone(after)
    ical.components(moved)[0].summary.value = "New agenda"
    update = organizer_change(after, moved, frozenset({ALICE}), NOW)
    assert DAVE in {m.recipient for m in update.messages}


def test_a_forged_delegation_reply_adds_nobody():
    stored, copy = bobs_copy()
    reply = attendee.attendee_change(copy, delegate(copy, BOB, DAVE), BOB,
                                     NOW).messages[0]
    # Sent by carol, it does not add bob's delegate; nor does a delegate
    # line whose DELEGATED-FROM is someone else.
    assert inbound.apply_reply(reply.calendar, stored, CAROL) is None
    forged = ical.parse(reply.serialize().replace(
        'DELEGATED-FROM="%s"' % BOB, 'DELEGATED-FROM="%s"' % CAROL)
        .replace("DELEGATED-FROM=%s" % BOB, "DELEGATED-FROM=%s" % CAROL))
    updated = inbound.apply_reply(forged, stored, BOB)
    assert ical.attendee(ical.components(updated)[0], DAVE) is None
    assert delegation.reply_lines_allowed(forged, BOB) == {BOB}
    assert delegation.reply_lines_allowed(reply.calendar, BOB) == {BOB, DAVE}


def _delegated_to_erin(bob_copy):
    """bob's copy, delegated to erin instead of dave."""
    text = bob_copy.serialize().replace("\r\n ", "")
    return ical.parse(text.replace(
        'DELEGATED-TO="%s"' % DAVE, 'DELEGATED-TO="%s"' % ERIN)
        .replace("DELEGATED-TO=%s" % DAVE, 'DELEGATED-TO="%s"' % ERIN)
        .replace("END:VEVENT", 'ATTENDEE;DELEGATED-FROM="%s":%s\r\n'
                 'END:VEVENT' % (BOB, ERIN)))


def test_declined_delegation_tells_the_delegator_and_allows_another():
    stored, copy = bobs_copy()
    delegated = delegate(copy, BOB, DAVE)
    change = attendee.attendee_change(copy, delegated, BOB, NOW)
    stored = inbound.apply_reply(change.messages[0].calendar, stored, BOB)
    bob_now = change.stored
    # Another delegate while dave has not declined: refused.
    again = _delegated_to_erin(bob_now)
    with pytest.raises(SchedulingError):
        attendee.attendee_change(bob_now, again, BOB, NOW)
    # dave declines: the organizer must tell bob.
    daves_copy = inbound.apply("REQUEST", change.messages[1].calendar, None)
    declined = attendee.attendee_change(
        daves_copy, answer(daves_copy, DAVE, "DECLINED"), DAVE, NOW)
    stored = inbound.apply_reply(declined.messages[0].calendar, stored, DAVE)
    assert delegation.delegators_to_tell(declined.messages[0].calendar,
                                         stored, DAVE) == {BOB}
    request = delegation.request_for(stored, BOB, ALICE, NOW)
    bob_now = inbound.apply("REQUEST", request.calendar, bob_now)
    # Now bob may delegate to erin; the REPLY tells the organizer.
    again = _delegated_to_erin(bob_now)
    change = attendee.attendee_change(bob_now, again, BOB, NOW)
    assert [(m.method, m.recipient) for m in change.messages] == [
        ("REPLY", ALICE), ("REQUEST", ERIN)]
    stored = inbound.apply_reply(change.messages[0].calendar, stored, BOB)
    comp = ical.components(stored)[0]
    assert delegation.delegated_from(ical.attendee(comp, ERIN)) == [BOB]
    assert ical.partstat(ical.attendee(comp, DAVE)) == "DECLINED"


def test_a_delegate_may_delegate_on():
    stored, copy = bobs_copy()
    change = attendee.attendee_change(copy, delegate(copy, BOB, DAVE), BOB,
                                      NOW)
    stored = inbound.apply_reply(change.messages[0].calendar, stored, BOB)
    daves_copy = inbound.apply("REQUEST", change.messages[1].calendar, None)
    text = daves_copy.serialize().replace("\r\n ", "")
    lines = []
    for line in text.split("\r\n"):
        if line.startswith("ATTENDEE") and line.endswith(":" + DAVE):
            line = ('ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-FROM="%s";'
                    'DELEGATED-TO="%s":%s\r\nATTENDEE;DELEGATED-FROM="%s":%s'
                    % (BOB, ERIN, DAVE, DAVE, ERIN))
        lines.append(line)
    onwards = attendee.attendee_change(daves_copy,
                                       ical.parse("\r\n".join(lines)),
                                       DAVE, NOW)
    assert [(m.method, m.recipient) for m in onwards.messages] == [
        ("REPLY", ALICE), ("REQUEST", ERIN)]
    stored = inbound.apply_reply(onwards.messages[0].calendar, stored, DAVE)
    comp = ical.components(stored)[0]
    assert delegation.delegated_from(ical.attendee(comp, ERIN)) == [DAVE]
    assert delegation.delegated_to(ical.attendee(comp, DAVE)) == [ERIN]


def test_the_delegator_may_attend_again_and_drop_delegated_to():
    stored, copy = bobs_copy()
    change = attendee.attendee_change(copy, delegate(copy, BOB, DAVE), BOB,
                                      NOW)
    mine = change.stored
    again = ical.clone(mine)
    line = ical.attendee(ical.components(again)[0], BOB)
    ical.set_param(line, "PARTSTAT", "ACCEPTED")
    line.params.pop("DELEGATED-TO")
    [reply] = attendee.attendee_change(mine, again, BOB, NOW).messages
    assert ical.partstat(ical.attendee(ical.components(reply.calendar)[0],
                                       BOB)) == "ACCEPTED"
    # Naming a delegate without delegating is still refused.
    other = ical.clone(mine)
    line = ical.attendee(ical.components(other)[0], BOB)
    ical.set_param(line, "PARTSTAT", "ACCEPTED")
    line.params["DELEGATED-TO"] = [ERIN]
    with pytest.raises(SchedulingError):
        attendee.attendee_change(mine, other, BOB, NOW)


def test_delegating_one_instance_of_a_series():
    event = organizer_event()
    master = ical.components(event)[0]
    master.add("rrule").value = "FREQ=WEEKLY;COUNT=4"
    change = organizer_change(None, event, frozenset({ALICE}), NOW)
    [request] = [m for m in change.messages if m.recipient == BOB]
    copy = inbound.apply("REQUEST", request.calendar, None)
    instance = datetime.datetime(2026, 1, 12, 10, 0,
                                 tzinfo=datetime.timezone.utc)
    new = ical.clone(copy)
    override = instances.derived(ical.components(new)[0], instance)
    new.add(override)
    line = ical.attendee(override, BOB)
    ical.set_param(line, "PARTSTAT", "DELEGATED")
    line.params["DELEGATED-TO"] = [DAVE]
    added = override.add("attendee")
    added.value = DAVE
    added.params["DELEGATED-FROM"] = [BOB]
    reply, to_dave = attendee.attendee_change(copy, new, BOB, NOW).messages
    [answer] = ical.components(reply.calendar)
    assert ical.rid(answer) == "20260112T100000Z"
    assert ical.attendee(answer, DAVE) is not None
    # dave is invited to that instance only.
    assert [ical.rid(c) for c in ical.components(to_dave.calendar)] == [
        "20260112T100000Z"]
    stored = inbound.apply_reply(reply.calendar, change.stored, BOB)
    comps = ical.by_rid(stored)
    assert ical.attendee(comps[None], DAVE) is None
    assert delegation.delegated_from(
        ical.attendee(comps["20260112T100000Z"], DAVE)) == [BOB]
