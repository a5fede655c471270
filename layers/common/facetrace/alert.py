"""Alerts: a sighting face that resembles a case's reference face above the alert threshold."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Protocol

from pydantic import BaseModel

from facetrace.case import Agency, Case
from facetrace.messages import AlertMessage
from facetrace.photo import Photo


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
