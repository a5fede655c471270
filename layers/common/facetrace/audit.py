"""The audit trail: who read a face or decided about an alert or changed a case, when, and why (append-only)."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Protocol, Sequence

from pydantic import BaseModel, Field

from facetrace.access import ShareStore, Viewer, owned_case
from facetrace.case import CaseStore


class AuditAction(str, Enum):
    ALERT_VIEWED = "alert.viewed"  # a person was shown the sighting and reference photos of an alert
    ALERT_CONFIRMED = "alert.confirmed"
    ALERT_REJECTED = "alert.rejected"
    ALERT_DECISION_CHANGED = "alert.decision_changed"  # an earlier decision overridden (reason: old -> new: note)
    NEAR_MISS_VIEWED = "near_miss.viewed"  # photos of a match below the alert threshold were shown
    CASE_CREATED = "case.created"
    CASE_VIEWED = "case.viewed"  # the case's details were read
    PHOTOS_VIEWED = "case.photos_viewed"  # the case's reference photos were shown (object_ids: the photos)
    PHOTO_ADDED = "case.photo_added"  # an upload ticket for a reference photo was issued (object_ids: the photo)
    AGENCY_REGISTERED = "agency.registered"  # an operator registered the agency (user_sub: who)
    USER_INVITED = "agency.user_invited"  # an operator invited a member of the agency (object_ids: the e-mail)
    CASE_UPDATED = "case.updated"
    CASE_CLOSED = "case.closed"  # also erased the case's reference embeddings
    CASE_SHARED = "case.shared"
    SEARCH_CREATED = "search.created"  # an agency asked to search by photo (object_ids: the search)
    SEARCH_VIEWED = "search.viewed"  # its result was read (object_ids: the search, then the candidate cases)
    SUBSCRIPTION_ADDED = "subscription.added"  # who receives an agency's alerts
    SUBSCRIPTION_DELETED = "subscription.deleted"
    FOOTAGE_UPLOADED = "footage.uploaded"  # an upload ticket for a clip was issued (object_ids: the clip)
    FOOTAGE_VIEWED = "footage.viewed"  # a clip's progress and appearances, or an alert's stretch of it, was shown
    CAMERA_REGISTERED = "camera.registered"  # a camera got its key (object_ids: the camera)
    CAMERA_REVOKED = "camera.revoked"


class AuditEntry(BaseModel):
    """One audit row: the agency and user, the action and the ids it touched, when and why."""

    agency_id: str
    user_sub: str
    action: AuditAction
    case_id: str | None = None
    alert_id: str | None = None
    object_ids: list[str] = Field(default_factory=list)
    reason: str | None = None
    at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))


class AuditLog(Protocol):
    """Append and read; by design there is no way to change or remove an entry."""

    def append_audit(self, entry: AuditEntry) -> None: ...
    def audit_of_case(self, case_id: str) -> list[AuditEntry]: ...


class AuditedStore(CaseStore, ShareStore, AuditLog, Protocol):
    """What reading a case's audit trail needs."""


def record(log: AuditLog, viewer: Viewer, action: AuditAction, case_id: str | None = None,
           alert_id: str | None = None, object_ids: Sequence[str] = (), reason: str | None = None) -> None:
    """Append one entry for what the viewer just did."""
    log.append_audit(AuditEntry(agency_id=viewer.agency_id, user_sub=viewer.user_sub, action=action,
                                case_id=case_id, alert_id=alert_id, object_ids=list(object_ids), reason=reason))


def case_audit(store: AuditedStore, viewer: Viewer, case_id: str) -> list[AuditEntry]:
    """A case's audit trail, oldest first; only the owning agency may read it."""
    owned_case(store, viewer, case_id)
    return store.audit_of_case(case_id)
