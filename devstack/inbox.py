"""What moto's SES and SNS received: the local stand-in for an agency's inbox and phone."""

from __future__ import annotations

from dataclasses import dataclass

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends


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


@dataclass(frozen=True)
class SentText:
    to: str  # a phone number, or "topic <name>" for a message published to an SMS topic
    message: str


def sent_texts(region: str) -> list[SentText]:
    """Every SMS SNS accepted in this process's moto server: direct texts, then each topic's publishes."""
    backend = sns_backends[DEFAULT_ACCOUNT_ID][region]
    direct = [SentText(number, message) for number, message in backend.sms_messages.values()]
    published = [SentText(f"topic {topic.name}", sent[1]) for topic in backend.topics.values()
                 if "sms" in topic.name.lower() for sent in topic.sent_notifications]
    return direct + published
