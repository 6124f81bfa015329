"""iTIP by e-mail (iMIP, RFC 6047): building the mail, sending it, reading one.

A readable text part and the ``text/calendar`` part mail programs show
buttons for.  Sent from ``scheduling_smtp_from`` with the calendar user as
Reply-To: it forges no one's domain.  Headers are built by ``email`` with
newlines removed first: none can be injected through a SUMMARY or a name.
"""

from __future__ import annotations

import datetime
import email.policy
import email.utils
import smtplib
import ssl
from email.message import EmailMessage
from typing import TYPE_CHECKING, List, Optional, Tuple

from vobject.base import Component

from radicale_scheduling.itip import address
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import status as st
from radicale_scheduling.itip.status import Status

if TYPE_CHECKING:
    from radicale_scheduling.options import Settings

_SUBJECTS = {"REQUEST": "Invitation", "CANCEL": "Cancelled", "REPLY": "Reply",
             "COUNTER": "New time proposed", "DECLINECOUNTER": "Proposal declined",
             "REFRESH": "Please send again"}
_ANSWERS = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentatively accepted",
            "DELEGATED": "delegated", "NEEDS-ACTION": "has not answered yet"}
#: The first lines of the text part, per method (%(asking)s: who sends it).
_OPENINGS = {"CANCEL": ["This meeting was cancelled: %(summary)s"],
             "COUNTER": ["%(asking)s proposes a change to: %(summary)s", "Proposed:"],
             "DECLINECOUNTER": ["The organizer declined your proposal for: %(summary)s"],
             "REFRESH": ["%(asking)s asks for the current version of: %(summary)s"]}
_CLOSINGS = {"REQUEST": "Your calendar program shows buttons to answer; the answer goes back "
                        "to the organizer.",
             "COUNTER": "To accept, move the meeting to the proposed time; your calendar "
                        "program may offer to do it."}
_DAY = "%A %d %B %Y"


def _clean(value: object, limit: int = 200) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _when(comp: Component) -> str:
    start = ical.first(comp, "dtstart")
    if start is None:
        return ""
    value, end = start.value, ical.first(comp, "dtend")
    if not isinstance(value, datetime.datetime):
        text = value.strftime(_DAY) + " (all day)"
        if end is not None and end.value - value > datetime.timedelta(days=1):
            text += " to " + (end.value - datetime.timedelta(days=1)).strftime(_DAY)
        return text
    zone = ical.param(start, "TZID") or ("UTC" if value.tzinfo is not None else "local time")
    text = value.strftime(_DAY + ", %H:%M")
    if end is not None and isinstance(end.value, datetime.datetime):
        text += "–" + end.value.strftime(
            "%H:%M" if end.value.date() == value.date() else "%d %B %H:%M")
    text += " (%s)" % zone
    if value.tzinfo is not None and zone != "UTC":
        text += ", %s UTC" % value.astimezone(datetime.timezone.utc).strftime("%H:%M")
    if ical.first(comp, "rrule") is not None:
        text += ", repeating (%s)" % _clean(ical.text(comp, "rrule"), 80)
    return text


def _bare(who: str) -> str:
    return address.email(who) or who


def _person(line) -> str:
    if line is None:
        return ""
    name, who = _clean(ical.person_name(line), 80), _bare(ical.address(line))
    return "%s <%s>" % (name, who) if name else who


def describe(method: str, cal: Component, sender: str) -> Tuple[str, str]:
    """Subject and readable text of a message, recipient-neutral."""
    comps = ical.components(cal)
    comp = next((c for c in comps if ical.rid(c) is None), comps[0]) if comps else None
    summary = _clean(ical.text(comp, "summary") if comp else "", 120) or "(no title)"
    lines: List[str] = []
    if method == "REPLY" and comp is not None:
        line = ical.attendee(comp, sender)
        answer = _ANSWERS.get(ical.partstat(line) if line else "", "answered")
        subject = "%s %s: %s" % (_clean(ical.person_name(line), 80) or _bare(sender), answer,
                                 summary)
        lines.append("%s %s the invitation to %s." % (_person(line) or sender, answer, summary))
    else:
        subject = "%s: %s" % (_SUBJECTS.get(method, method.title()), summary)
        asking = (_person(ical.attendee(comp, sender)) if comp else "") or _bare(sender)
        lines += [text % {"asking": asking, "summary": summary} for text in
                  _OPENINGS.get(method, ["You are invited to: %(summary)s"])]
    if comp is not None:
        lines += ["%s: %s" % (label, value) for label, value in (
            ("When", _when(comp)), ("Where", _clean(ical.text(comp, "location"), 200)),
            ("Organizer", _person(ical.first(comp, "organizer")))) if value]
        if len(comps) > 1 or (comps and ical.rid(comps[0]) is not None):
            lines.append("(This message concerns %d instance(s) of a repeating meeting.)"
                         % len([c for c in comps if ical.rid(c) is not None]))
    if method in _CLOSINGS:
        lines += ["", _CLOSINGS[method]]
    return _clean(subject, 180), "\n".join(lines) + "\n"


def build(method: str, ics: str, sender: str, recipient: str, from_address: str,
          sender_name: str = "", message_id: Optional[str] = None) -> EmailMessage:
    """The RFC 6047 message for one recipient."""
    cal = ical.parse(ics)
    subject, text = describe(method, cal, sender)
    if ical.drop_placeholder_names(cal):
        ics = cal.serialize()  # the mail program would show "None" as a name
    message = EmailMessage(policy=email.policy.SMTP)
    display = _clean(sender_name, 80) or _bare(sender)
    message["From"] = email.utils.formataddr(("%s (via calendar)" % display, from_address))
    message["Sender"] = from_address
    if address.email(sender):
        message["Reply-To"] = email.utils.formataddr((_clean(sender_name, 80), _bare(sender)))
    message["To"] = _bare(recipient)
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = message_id or email.utils.make_msgid(
        domain=from_address.rpartition("@")[2] or None)
    message.set_content(text)
    message.add_alternative(ics.encode("utf-8"), maintype="text", subtype="calendar",
                            params={"method": method, "charset": "UTF-8"}, cte="base64")
    return message


class Refused(Exception):
    """The mail server refused the mail for good."""

    def __init__(self, reason: str, status: Status) -> None:
        super().__init__(reason)
        self.status = status


def send(s: Settings, mail: EmailMessage) -> None:
    """Hand ``mail`` to the mail server; a 5xx answer raises Refused."""
    context = ssl.create_default_context()
    client = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port_used, timeout=30, context=context) \
        if s.smtp_security == "ssl" else smtplib.SMTP(s.smtp_host, s.smtp_port_used, timeout=30)
    with client:
        if s.smtp_security == "starttls":
            client.starttls(context=context)
        if s.smtp_username:
            client.login(s.smtp_username, s.smtp_password)
        try:
            client.send_message(mail, from_addr=s.smtp_from, to_addrs=[mail["To"]])
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise Refused(str(e.recipients), st.NO_SUPPORT) from e
            raise
        except smtplib.SMTPResponseException as e:
            if 500 <= e.smtp_code < 600:
                error = e.smtp_error.decode("utf-8", "replace") \
                    if isinstance(e.smtp_error, bytes) else e.smtp_error
                raise Refused("%d %s" % (e.smtp_code, error), st.NO_ROUTE) from e
            raise


def calendar_part(message) -> Optional[str]:
    """The iCalendar text of a received mail, if it carries one."""
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            payload = part.get_payload(decode=True)
            if payload is None:
                continue
            try:
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
            except LookupError:
                return payload.decode("utf-8", "replace")
    return None
