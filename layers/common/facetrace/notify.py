"""Notification: tell the agency that owns a case about an alert, by e-mail and SMS, once per channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger

from facetrace.case import Agency, Case, CaseStore
from facetrace.messages import AlertMessage
from facetrace.photo import reference_key, sighting_key
from facetrace.ports import Mailer, ObjectStore, Publisher

logger = Logger(child=True)

SMS_LIMIT = 160


class DeliveryStore(Protocol):
    def was_sent(self, alert_id: str, channel: str, recipient: str) -> bool: ...
    def record_delivery(
        self, alert_id: str, channel: str, recipient: str, ok: bool, provider_id: str | None, error: str | None
    ) -> None: ...


@dataclass(frozen=True)
class NotifyDeps:
    """Where notification reads from and sends to."""

    cases: CaseStore
    deliveries: DeliveryStore
    objects: ObjectStore
    mailer: Mailer
    sms: Publisher
    sender: str
    link_ttl_s: int


@dataclass(frozen=True)
class Email:
    subject: str
    text: str


def deliver_alert(alert: AlertMessage, deps: NotifyDeps) -> list[str]:
    """Send the alert's e-mail and SMS summary unless already sent; return the channels sent now."""
    case = deps.cases.get_case(alert.case_id)
    if case is None:
        raise LookupError(f"case {alert.case_id} of alert {alert.alert_id} not found")
    agency = deps.cases.get_agency(case.agency_id)
    email = compose_email(alert, case, agency, deps)
    sends = {
        ("email", agency.email): lambda: deps.mailer.send(deps.sender, [agency.email], email.subject, email.text),
        ("sms", "sms-topic"): lambda: deps.sms.publish(
            sms_summary(alert, case), attributes={"agency_id": agency.id, "case_id": case.id}
        ),
    }
    return [channel for (channel, to), send in sends.items() if _send_once(alert.alert_id, channel, to, send, deps)]


def _send_once(alert_id: str, channel: str, recipient: str, send, deps: NotifyDeps) -> bool:
    if deps.deliveries.was_sent(alert_id, channel, recipient):
        return False
    try:
        provider_id = send()
    except Exception as exc:
        # Recorded, then re-raised so SQS retries; channels already sent are skipped next time.
        deps.deliveries.record_delivery(alert_id, channel, recipient, False, None, str(exc)[:1000])
        raise
    deps.deliveries.record_delivery(alert_id, channel, recipient, True, provider_id, None)
    logger.info("alert delivered", extra={"alert_id": alert_id, "channel": channel})
    return True


def compose_email(alert: AlertMessage, case: Case, agency: Agency, deps: NotifyDeps) -> Email:
    """The plain-text e-mail an agency receives for an alert, with expiring links to both photos."""
    sighting_url = deps.objects.presign_get(sighting_key(alert.sighting_id), deps.link_ttl_s)
    reference_url = deps.objects.presign_get(reference_key(case.id, alert.reference_photo_id), deps.link_ttl_s)
    subject = f"FaceTrace alert: possible sighting of {case.person_name} (score {alert.score:.2f})"
    lines = [
        f"Dear {agency.name},",
        "",
        f"A photo uploaded to FaceTrace may show {case.person_name} (case {case.id}).",
        "This is a candidate match for human review, not an identification.",
        "",
        f"Score:     {alert.score:.3f} ({alert.model_name})",
        f"Seen at:   {_place(alert)}",
        f"Seen when: {alert.seen_at.isoformat() if alert.seen_at else 'unknown'}",
        f"Face box:  {', '.join(f'{v:.0f}' for v in alert.face_box)}",
        f"Alert id:  {alert.alert_id}",
        "",
        f"Sighting photo (link expires in {deps.link_ttl_s // 60} min): {sighting_url}",
        f"Reference photo: {reference_url}",
    ]
    return Email(subject, "\n".join(lines))


def sms_summary(alert: AlertMessage, case: Case) -> str:
    """An SMS-sized summary (at most 160 characters)."""
    text = f"FaceTrace: possible sighting of {case.person_name}, score {alert.score:.2f}, {_place(alert)}. Alert {alert.alert_id[:8]}"
    return text if len(text) <= SMS_LIMIT else text[: SMS_LIMIT - 1] + "…"


def _place(alert: AlertMessage) -> str:
    if alert.place:
        return alert.place
    if alert.lat is not None and alert.lon is not None:
        return f"{alert.lat:.5f},{alert.lon:.5f}"
    return "unknown place"
