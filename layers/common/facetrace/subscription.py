"""Subscriptions: who an agency wants told about its alerts, by e-mail or SMS, per case or for all its cases,
anywhere or only for sightings in a region.

A region is plain text matched, case-insensitively, as a substring of the sighting's place as the citizen
typed it ("Genève" matches "Quai du Mont-Blanc, Genève"). It is the simplest honest rule: a sighting with
only coordinates, or with a place spelled differently, matches no region and goes to the subscriptions
without one. When no subscription matches an alert (or the agency has none), the agency's own e-mail
address receives it, so that an alert never goes to nobody.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Literal, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from facetrace.access import NotVisible, ShareStore, Viewer, owned_case
from facetrace.audit import AuditAction, AuditLog, record
from facetrace.case import Agency, CaseStore
from facetrace.messages import Recipient

Channel = Literal["email", "sms"]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"  # E.164, as SNS wants it


class NewSubscription(BaseModel):
    """What an agency asks for: a channel and address, optionally one of its cases and a region."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not a wish silently lost

    case_id: UUID | None = Field(default=None, description="one of the agency's cases; none = all its cases")
    region: str | None = Field(default=None, min_length=1, max_length=200,
                               description="text that the sighting's place must contain (case-insensitive); none = anywhere")
    channel: Channel
    address: str = Field(min_length=3, max_length=254, description="an e-mail address, or an E.164 phone number for sms")

    # A field validator (channel is validated first) so that the error names the address.
    @field_validator("address")
    @classmethod
    def _address_fits_channel(cls, address: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")
        if channel is None:
            return address  # the channel itself is wrong, and said so
        if not re.match(EMAIL_PATTERN if channel == "email" else PHONE_PATTERN, address):
            raise ValueError(f"must be {'an e-mail address' if channel == 'email' else 'an E.164 phone number (+41791234567)'}")
        return address


class Subscription(BaseModel):
    """A stored subscription of one agency."""

    id: str
    agency_id: str
    case_id: str | None = None
    region: str | None = None
    channel: Channel
    address: str
    created_at: datetime


class SubscriptionStore(Protocol):
    def add_subscription(self, subscription: Subscription, by_user: str) -> None: ...

    def subscriptions_of(self, agency_id: str) -> list[Subscription]:
        """The agency's subscriptions, oldest first."""
        ...

    def delete_subscription(self, subscription_id: str, agency_id: str) -> bool:
        """Delete the agency's subscription; False when it has none with that id."""
        ...


class SubscribingStore(SubscriptionStore, CaseStore, ShareStore, AuditLog, Protocol):
    """What the subscription routes need."""


def list_subscriptions(store: SubscriptionStore, viewer: Viewer) -> list[Subscription]:
    """The viewer's agency's subscriptions, and no other agency's."""
    return store.subscriptions_of(viewer.agency_id)


def add_subscription(store: SubscribingStore, viewer: Viewer, request: NewSubscription) -> Subscription:
    """Add a subscription for the viewer's agency (for a case, only one it owns); audited first."""
    case_id = str(request.case_id) if request.case_id is not None else None
    if case_id is not None:
        owned_case(store, viewer, case_id)
    subscription = Subscription(id=str(uuid.uuid4()), agency_id=viewer.agency_id, case_id=case_id,
                                region=request.region, channel=request.channel, address=request.address,
                                created_at=datetime.now(timezone.utc))
    record(store, viewer, AuditAction.SUBSCRIPTION_ADDED, case_id, object_ids=[subscription.id],
           reason=f"{subscription.channel} {subscription.address}")
    store.add_subscription(subscription, viewer.user_sub)
    return subscription


def delete_subscription(store: SubscribingStore, viewer: Viewer, subscription_id: str) -> None:
    """Delete one of the viewer's agency's subscriptions; another agency's is NotVisible (404)."""
    found = next((s for s in store.subscriptions_of(viewer.agency_id) if s.id == subscription_id), None)
    if found is None:
        raise NotVisible(f"subscription {subscription_id} not found")
    record(store, viewer, AuditAction.SUBSCRIPTION_DELETED, found.case_id, object_ids=[found.id],
           reason=f"{found.channel} {found.address}")
    store.delete_subscription(subscription_id, viewer.agency_id)


def applies(subscription: Subscription, case_id: str, place: str | None) -> bool:
    """True when the subscription wants this case's alert for a sighting at this place."""
    if subscription.case_id is not None and subscription.case_id != case_id:
        return False
    if subscription.region is not None:
        return place is not None and subscription.region.casefold() in place.casefold()
    return True


def recipients(store: SubscriptionStore, agency: Agency, case_id: str, place: str | None) -> list[Recipient]:
    """Who receives an alert of the agency's case seen at place: its matching subscriptions (each address once),
    or its own e-mail when none matches."""
    found: list[Recipient] = []
    for s in store.subscriptions_of(agency.id):
        recipient = Recipient(channel=s.channel, address=s.address)
        if applies(s, case_id, place) and recipient not in found:
            found.append(recipient)
    return found or [Recipient(channel="email", address=agency.email)]
