"""Alerts: a sighting face that resembles a case's reference face above the alert threshold; raising one
stores it once per (sighting, case) and publishes it to the alerts topic once."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import Enum
from typing import Protocol

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from facetrace.case import Agency, Case, CaseStore
from facetrace.face import FaceStore
from facetrace.gallery import Candidate
from facetrace.messages import AlertMessage
from facetrace.photo import Photo
from facetrace.ports import Publisher
from facetrace.subscription import SubscriptionStore, recipients

logger = Logger(child=True)


class AlertStatus(str, Enum):
    NEW = "new"  # awaiting human review
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Alert(BaseModel):
    """A candidate sighting that a person must confirm or reject."""

    id: str
    case_id: str
    sighting_id: str
    sighting_face_id: int
    reference_face_id: int
    score: float
    model_name: str
    status: AlertStatus = AlertStatus.NEW
    created_at: datetime
    published_at: datetime | None = None
    reviewed_at: datetime | None = None
    reviewed_by_agency: str | None = None
    reviewed_by_user: str | None = None
    review_note: str | None = None


class AlertStore(Protocol):
    def add_alert(self, alert: Alert) -> Alert:
        """Store the alert unless its (sighting, case) pair exists; return the stored alert either way."""
        ...

    def mark_published(self, alert_id: str, at: datetime) -> None: ...


def alert_message(
    alert: Alert, case: Case, agency: Agency, sighting: Photo, face_index: int, face_box, reference_photo_id: str
) -> AlertMessage:
    """The message published to the alerts topic: everything notify needs, so it needs no database."""
    return AlertMessage(
        alert_id=alert.id,
        case_id=alert.case_id,
        person_name=case.person_name,
        agency_id=agency.id,
        agency_name=agency.name,
        agency_email=agency.email,
        sighting_id=alert.sighting_id,
        reference_photo_id=reference_photo_id,
        face_index=face_index,
        face_box=tuple(face_box),
        score=round(alert.score, 4),
        model_name=alert.model_name,
        seen_at=sighting.taken_at,
        place=sighting.place,
        lat=sighting.lat,
        lon=sighting.lon,
        created_at=alert.created_at,
    )


class AlertingStore(CaseStore, FaceStore, AlertStore, SubscriptionStore, Protocol):
    """What raising an alert reads and writes."""


class AlertingDeps(Protocol):
    store: AlertingStore
    publisher: Publisher


def raise_alert(deps: AlertingDeps, sighting: Photo, model_name: str, face_id: int, face_index: int, box,
                candidate: Candidate) -> Alert | None:
    """Store the alert for (sighting, case) and publish it; the alert if it was published now, else None."""
    alert = deps.store.add_alert(Alert(
        id=str(uuid.uuid4()), case_id=candidate.case_id, sighting_id=sighting.id, sighting_face_id=face_id,
        reference_face_id=candidate.reference_face_id, score=candidate.score, model_name=model_name,
        created_at=datetime.now(timezone.utc),
    ))
    if alert.published_at is not None:
        return None
    ref_photo = deps.store.photo_of_face(alert.reference_face_id)
    case = deps.store.get_case(alert.case_id)
    agency = deps.store.get_agency(case.agency_id)
    message = alert_message(alert, case, agency, sighting, face_index, box, ref_photo).model_copy(
        update={"recipients": recipients(deps.store, agency, case.id, sighting.place)})
    deps.publisher.publish(message.model_dump_json(), subject="FaceTrace alert", attributes={"case_id": alert.case_id})
    deps.store.mark_published(alert.id, datetime.now(timezone.utc))
    logger.info("alert raised", extra={"alert_id": alert.id, "case_id": alert.case_id, "score": alert.score})
    return alert
