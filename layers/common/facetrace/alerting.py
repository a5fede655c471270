"""Raising an alert: stored once per (sighting, case), published to the alerts topic once."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Protocol

from aws_lambda_powertools import Logger

from facetrace.alert import Alert, AlertStore, alert_message
from facetrace.case import CaseStore
from facetrace.face import FaceStore
from facetrace.gallery import Candidate
from facetrace.photo import Photo
from facetrace.ports import Publisher
from facetrace.subscription import SubscriptionStore, recipients

logger = Logger(child=True)


class AlertingDeps(Protocol):
    cases: CaseStore
    faces: FaceStore
    alerts: AlertStore
    publisher: Publisher
    subscriptions: SubscriptionStore | None  # None: the agency's own e-mail receives every alert


def raise_alert(deps: AlertingDeps, sighting: Photo, model_name: str, face_id: int, face_index: int, box,
                candidate: Candidate) -> Alert | None:
    """Store the alert for (sighting, case) and publish it; the alert if it was published now, else None."""
    alert = deps.alerts.add_alert(Alert(
        id=str(uuid.uuid4()), case_id=candidate.case_id, sighting_id=sighting.id, sighting_face_id=face_id,
        reference_face_id=candidate.reference_face_id, score=candidate.score, model_name=model_name,
        created_at=datetime.now(timezone.utc),
    ))
    if alert.published_at is not None:
        return None
    ref_photo = deps.faces.photo_of_face(alert.reference_face_id)
    case = deps.cases.get_case(alert.case_id)
    agency = deps.cases.get_agency(case.agency_id)
    message = alert_message(alert, case, agency, sighting, face_index, box, ref_photo).model_copy(
        update={"recipients": recipients(deps.subscriptions, agency, case.id, sighting.place)})
    deps.publisher.publish(message.model_dump_json(), subject="FaceTrace alert", attributes={"case_id": alert.case_id})
    deps.alerts.mark_published(alert.id, datetime.now(timezone.utc))
    logger.info("alert raised", extra={"alert_id": alert.id, "case_id": alert.case_id, "score": alert.score})
    return alert
