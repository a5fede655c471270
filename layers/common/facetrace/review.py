"""Human review of alerts: list them, open one (photos shown, and audited), confirm or reject it.

A decision is final unless a reviewer explicitly changes it: a second review of a decided alert is refused
(AlreadyDecided, 409) unless it says `override` with a note, and the change is audited with the old and new
decision. Two reviewers deciding at once cannot both win: the store changes the alert only from the status
the reviewer saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Protocol, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from facetrace.access import NotVisible, ShareStore, Viewer, can_see, visible_case
from facetrace.alert import Alert, AlertStatus
from facetrace.audit import AuditAction, AuditLog, record
from facetrace.case import Case, CaseStore
from facetrace.face import FaceLocation
from facetrace.gallery import Candidate
from facetrace.photo import Photo, PhotoStore
from facetrace.ports import ObjectStore


class AlertQuery(BaseModel):
    """Which alerts to list: by status, case and creation time (newest first)."""

    status: AlertStatus | None = None
    case_id: str | None = None
    since: datetime | None = None
    limit: int = Field(default=100, ge=1, le=500)


class Decision(str, Enum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class ReviewRequest(BaseModel):
    """A reviewer's decision about an alert, and why."""

    model_config = ConfigDict(extra="forbid")  # a misspelt note is an error, not a note silently lost

    decision: Decision
    note: str | None = Field(default=None, max_length=2000)
    override: bool = Field(default=False, description="change the decision of an alert already decided; needs a "
                           "note saying why (audited as alert.decision_changed)")

    @field_validator("override")
    @classmethod
    def _override_says_why(cls, override: bool, info: ValidationInfo) -> bool:
        if override and not (info.data.get("note") or "").strip():
            raise ValueError("a note saying why is required to change a decision")
        return override


class AlreadyDecided(ValueError):
    """The alert was decided already (or meanwhile); changing it needs an explicit override (answered as 409)."""


class AlertListing(Alert):
    """An alert as listed in a queue: the alert and the name of the case's person."""

    person_name: str | None = None


class OtherCandidate(BaseModel):
    """Another case the same sighting face resembles (only cases the reviewer may see)."""

    case_id: str
    person_name: str
    score: float


class DecisionRecord(BaseModel):
    """One decision about an alert, as the audit trail holds it (oldest first in a detail)."""

    at: datetime
    agency_id: str
    user_sub: str
    action: AuditAction  # alert.confirmed, alert.rejected or alert.decision_changed
    reason: str | None = Field(default=None, description="the note; for a change 'old -> new: note'")


DECISIONS = (AuditAction.ALERT_CONFIRMED, AuditAction.ALERT_REJECTED, AuditAction.ALERT_DECISION_CHANGED)


class AlertDetail(BaseModel):
    """Everything a reviewer needs to decide about one alert."""

    alert: Alert
    case: Case
    seen_at: datetime | None = None
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    face_box: tuple[float, float, float, float] | None = None
    sighting_photo_url: str | None = Field(default=None, description="presigned GET; null once the photo is erased")
    reference_photo_url: str | None = Field(default=None, description="presigned GET; null once the photo is erased")
    urls_expire_in: int
    other_candidates: list[OtherCandidate] = Field(default_factory=list)
    decisions: list[DecisionRecord] = Field(default_factory=list, description="every decision and change, oldest first")


class ReviewStore(CaseStore, ShareStore, AuditLog, PhotoStore, Protocol):
    def get_alert(self, alert_id: str) -> Alert | None: ...

    def find_alerts(self, agency_id: str, status: AlertStatus | None, case_id: str | None,
                    since: datetime | None, limit: int) -> list[Alert]:
        """Alerts of cases the agency owns or was shared, newest first."""
        ...

    def set_review(self, alert_id: str, status: AlertStatus, agency_id: str, user_sub: str,
                   note: str | None, at: datetime, only_if: AlertStatus | None = None) -> bool:
        """Record a decision (when given only_if, only while the alert still has that status); True when stored."""
        ...

    def person_names(self, case_ids: Sequence[str]) -> dict[str, str]:
        """The person's name of each of these cases."""
        ...

    def face_location(self, face_id: int) -> FaceLocation | None: ...
    def candidates_of(self, sighting_face_id: int) -> list[Candidate]: ...


@dataclass(frozen=True)
class ReviewDeps:
    store: ReviewStore
    objects: ObjectStore
    url_ttl_s: int


def find_alerts(store: ReviewStore, viewer: Viewer, query: AlertQuery) -> list[AlertListing]:
    """Alerts the viewer's agency may see, with their person's name; another agency's case is NotVisible."""
    if query.case_id:
        visible_case(store, viewer, query.case_id)
    alerts = store.find_alerts(viewer.agency_id, query.status, query.case_id, query.since, query.limit)
    names = store.person_names([a.case_id for a in alerts])
    return [AlertListing(**a.model_dump(), person_name=names.get(a.case_id)) for a in alerts]


def visible_alert(store: ReviewStore, viewer: Viewer, alert_id: str) -> tuple[Alert, Case]:
    """The alert and its case if the viewer's agency may see the case, else NotVisible."""
    alert = store.get_alert(alert_id)
    if alert is None:
        raise NotVisible(f"alert {alert_id} not found")
    try:
        return alert, visible_case(store, viewer, alert.case_id)
    except NotVisible:
        raise NotVisible(f"alert {alert_id} not found") from None


def open_alert(deps: ReviewDeps, viewer: Viewer, alert_id: str) -> AlertDetail:
    """The alert with presigned links to both photos; the viewing is audited before any link is made."""
    store = deps.store
    alert, case = visible_alert(store, viewer, alert_id)
    sighting = store.get_photo(alert.sighting_id)
    face = store.face_location(alert.sighting_face_id)
    ref = store.face_location(alert.reference_face_id)
    reference = store.get_photo(ref.photo_id) if ref else None
    shown = [p for p in (sighting, reference) if p is not None and p.erased_at is None]
    record(store, viewer, AuditAction.ALERT_VIEWED, case.id, alert.id, [p.id for p in shown])
    return AlertDetail(
        alert=alert, case=case, seen_at=sighting.taken_at, place=sighting.place, lat=sighting.lat, lon=sighting.lon,
        face_box=face.box if face else None, sighting_photo_url=_url(deps, sighting, shown),
        reference_photo_url=_url(deps, reference, shown), urls_expire_in=deps.url_ttl_s,
        other_candidates=_others(store, viewer, alert), decisions=decision_history(store, case.id, alert.id),
    )


def review_alert(store: ReviewStore, viewer: Viewer, alert_id: str, request: ReviewRequest) -> Alert:
    """Record a reviewer's decision (audited first); changing an earlier decision needs `override` and a note."""
    alert, case = visible_alert(store, viewer, alert_id)
    decided = AlertStatus(request.decision.value)
    if alert.status is AlertStatus.NEW:
        action = AuditAction.ALERT_CONFIRMED if decided is AlertStatus.CONFIRMED else AuditAction.ALERT_REJECTED
        reason = request.note
    elif request.override:
        action, reason = AuditAction.ALERT_DECISION_CHANGED, f"{alert.status.value} -> {decided.value}: {request.note}"
    else:
        raise AlreadyDecided(f"alert {alert_id} was already {alert.status.value}; to change the decision send "
                             "override: true with a note saying why")
    record(store, viewer, action, case.id, alert.id, [alert.sighting_id], reason=reason)
    if not store.set_review(alert.id, decided, viewer.agency_id, viewer.user_sub, request.note,
                            datetime.now(timezone.utc), only_if=alert.status):
        # Another reviewer decided in between; the entry above records this attempt, which changed nothing.
        raise AlreadyDecided(f"alert {alert_id} was decided by someone else meanwhile; reload it")
    return store.get_alert(alert.id)


def decision_history(store: ReviewStore, case_id: str, alert_id: str) -> list[DecisionRecord]:
    """Every decision about the alert and every change of it, oldest first, from the audit trail."""
    entries = [e for e in store.audit_of_case(case_id) if e.alert_id == alert_id and e.action in DECISIONS]
    return [DecisionRecord(at=e.at, agency_id=e.agency_id, user_sub=e.user_sub, action=e.action, reason=e.reason)
            for e in sorted(entries, key=lambda e: e.at)]


def _url(deps: ReviewDeps, photo: Photo | None, shown: list[Photo]) -> str | None:
    return deps.objects.presign_get(photo.s3_key, deps.url_ttl_s) if photo in shown else None


def _others(store: ReviewStore, viewer: Viewer, alert: Alert) -> list[OtherCandidate]:
    # Candidates of cases the reviewer may not see stay hidden: they are other agencies' business.
    others = []
    for c in store.candidates_of(alert.sighting_face_id):
        case = store.get_case(c.case_id) if c.case_id != alert.case_id else None
        if case is not None and can_see(case, viewer, store):
            others.append(OtherCandidate(case_id=case.id, person_name=case.person_name, score=round(c.score, 4)))
    return others
