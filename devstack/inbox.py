"""What moto's SES and SNS received: the local stand-in for an agency's inbox and phone."""

from __future__ import annotations

from dataclasses import dataclass

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends


@dataclass(frozen=True)
class SentEmail:
    source: str
    to: list[str]
    subject: str
    body: str


def sent_emails(region: str) -> list[SentEmail]:
    """Every e-mail SES accepted in this process's moto server, oldest first."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][region]
    return [
        SentEmail(m.source, list(m.destinations.get("ToAddresses", [])), m.subject, m.body)
        for m in backend.sent_messages
    ]
