"""Notification: tell an alert's recipients (the agency's subscribers, else its own e-mail) by e-mail and SMS.

All e-mail recipients get one SES e-mail (one call); each SMS number gets its own SNS publish, and without
any the summary goes to the SMS topic as before. Each send runs once and each recipient's delivery is reported.

Notify runs outside the VPC (SES has no API endpoint inside one) and needs no database: the alert
message carries what it needs, a `Once` guard (powertools idempotency in AWS) stops duplicates, and
each attempt is reported on the deliveries queue for the record function to store in MySQL.

The e-mail carries no photo and no link to one: an e-mail is forwarded, kept and read by whoever holds the
mailbox, and a presigned link would show the faces to anyone with it, unaudited. It links to the portal's
alert page instead, where a signed-in reviewer sees the photos and the viewing is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from aws_lambda_powertools import Logger

from facetrace.messages import AlertMessage, DeliveryRecord, Recipient
from facetrace.ports import Mailer, Publisher, Queue

logger = Logger(child=True)

SMS_LIMIT = 160
SMS_RECIPIENT = "sms-topic"


class SmsSender(Publisher, Protocol):
    def send_sms(self, phone_number: str, message: str) -> str:
        """Text one phone number directly (SNS `PhoneNumber`) and return the provider's message id."""
        ...


class Once(Protocol):
    def run(self, key: str, action: Callable[[], str]) -> str:
        """Run action the first time key is seen and return its result; later, return the stored result."""
        ...


@dataclass(frozen=True)
class NotifyDeps:
    """Where notification sends to and reports its deliveries."""

    mailer: Mailer
    sms: SmsSender
    deliveries: Queue
    once: Once
    sender: str
    portal_url: str | None = None  # the e-mail links to <portal_url>/alert.html?id=<alert>


@dataclass(frozen=True)
class Email:
    subject: str
    text: str


def deliver_alert(alert: AlertMessage, deps: NotifyDeps) -> list[DeliveryRecord]:
    """Send the alert's e-mail (one, to every e-mail recipient) and SMS summaries, each at most once, and
    report every recipient's delivery."""
    email = compose_email(alert, deps)
    to = recipients_of(alert)
    emails = [r.address for r in to if r.channel == "email"]
    phones = [r.address for r in to if r.channel == "sms"]
    text = sms_summary(alert)
    sends: list[tuple[str, list[str], Callable[[], str]]] = []
    if emails:
        sends.append(("email", emails, lambda: deps.mailer.send(deps.sender, emails, email.subject, email.text)))
    for phone in phones:
        sends.append(("sms", [phone], lambda phone=phone: deps.sms.send_sms(phone, text)))
    if not phones:
        sends.append(("sms", [SMS_RECIPIENT], lambda: deps.sms.publish(
            text, attributes={"agency_id": alert.agency_id, "case_id": alert.case_id})))
    records, errors = [], []
    for channel, addresses, send in sends:
        try:
            records.extend(_send(alert.alert_id, channel, addresses, send, deps))
        except Exception as exc:
            errors.append(exc)  # one channel's outage must not hold back the others
    if errors:
        raise errors[0]
    return records


def recipients_of(alert: AlertMessage) -> list[Recipient]:
    """The alert's recipients; a message without any (older, or from before subscriptions) goes to the agency."""
    return alert.recipients or [Recipient(channel="email", address=alert.agency_email)]


def _send(alert_id: str, channel: str, recipients: list[str], send: Callable[[], str],
          deps: NotifyDeps) -> list[DeliveryRecord]:
    # One guard per send: the key names every recipient of that one call (one for the agency's own e-mail,
    # so the key is the same as before subscriptions).
    try:
        provider_id = deps.once.run(f"{alert_id}:{channel}:{','.join(recipients)}", send)
    except Exception as exc:
        # Reported, then re-raised so SQS retries; a channel already sent is not sent again.
        for to in recipients:
            _report(deps, DeliveryRecord(alert_id=alert_id, channel=channel, recipient=to, ok=False,
                                         error=str(exc)[:1000]))
        raise
    records = [DeliveryRecord(alert_id=alert_id, channel=channel, recipient=to, ok=True, provider_id=provider_id)
               for to in recipients]
    for record in records:
        _report(deps, record)
    logger.info("alert delivered", extra={"alert_id": alert_id, "channel": channel, "recipients": len(recipients)})
    return records


def _report(deps: NotifyDeps, record: DeliveryRecord) -> None:
    deps.deliveries.send(record.model_dump_json(), dedup_id=f"{record.alert_id}:{record.channel}:{record.recipient}:{record.ok}")


def compose_email(alert: AlertMessage, deps: NotifyDeps) -> Email:
    """The plain-text e-mail an agency receives for an alert: who, where, when, and a link to review it."""
    subject = f"FaceTrace alert: possible sighting of {alert.person_name} (score {alert.score:.2f})"
    if deps.portal_url:
        review = f"Review it (sign-in required; the photos are shown there): {alert_page(deps.portal_url, alert.alert_id)}"
    else:
        review = "Review it in the FaceTrace portal (sign-in required; the photos are shown there)."
    lines = [
        f"Dear {alert.agency_name},",
        "",
        f"A photo uploaded to FaceTrace may show {alert.person_name} (case {alert.case_id}).",
        "This is a candidate match for human review, not an identification.",
        "",
        f"Score:     {alert.score:.3f} ({alert.model_name})",
        f"Seen at:   {_place(alert)}",
        f"Seen when: {alert.seen_at.isoformat() if alert.seen_at else 'unknown'}",
        f"Alert id:  {alert.alert_id}",
        "",
        review,
        "This e-mail holds no photo and no link to one: every viewing of the photos is audited.",
    ]
    return Email(subject, "\n".join(lines))


def alert_page(portal_url: str, alert_id: str) -> str:
    """The portal's page for reviewing one alert."""
    return f"{portal_url.rstrip('/')}/alert.html?id={alert_id}"


def sms_summary(alert: AlertMessage) -> str:
    """An SMS-sized summary (at most 160 characters)."""
    text = (f"FaceTrace: possible sighting of {alert.person_name}, score {alert.score:.2f}, {_place(alert)}. "
            f"Alert {alert.alert_id[:8]}")
    return text if len(text) <= SMS_LIMIT else text[: SMS_LIMIT - 1] + "…"


def _place(alert: AlertMessage) -> str:
    if alert.place:
        return alert.place
    if alert.lat is not None and alert.lon is not None:
        return f"{alert.lat:.5f},{alert.lon:.5f}"
    return "unknown place"
