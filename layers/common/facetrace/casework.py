"""What an agency does to its cases beyond opening them: update, close (and erase), share, list photos.

Every change is audited before it is made: a failure may leave an entry for an action that did not
complete, never an action without its entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol

from aws_lambda_powertools import Logger
from pydantic import BaseModel, Field

from facetrace.access import ShareStore, Viewer, owned_case, visible_case
from facetrace.audit import AuditAction, AuditLog, record
from facetrace.case import Case, CaseDetails, CaseStatus, CaseStore, optional_fields
from facetrace.photo import PhotoStatus
from facetrace.upload import ContentType, Uploads, UploadTicket

logger = Logger(child=True)

CaseChanges = optional_fields(CaseDetails, "CaseChanges",
                              "The case details an agency may change, with the same rules; only the fields given change.")


class ReferencePhoto(BaseModel):
    """A case's reference photo and the verdict on its faces."""

    id: str
    status: PhotoStatus
    reason: str | None = None
    face_count: int | None = None
    usable_faces: int = 0
    verdict: str = Field(description="pending | enrolled | refused | rejected | failed")


class CaseClosed(ValueError):
    """The case is closed: its details and sharing can no longer change (answered as 409)."""


class ShareRefused(ValueError):
    """A case cannot be shared with that agency (unknown, or the owner itself); answered as 400."""


class CaseworkStore(CaseStore, ShareStore, AuditLog, Protocol):
    def update_case(self, case: Case) -> None: ...

    def erase_references(self, case_id: str, at: datetime, delete_after: datetime) -> int:
        """Erase the embeddings of the case's reference faces and set when its photos may go; return faces erased."""
        ...

    def reference_photos(self, case_id: str) -> list[ReferencePhoto]: ...


def update_case(store: CaseworkStore, viewer: Viewer, case_id: str, changes: CaseChanges) -> Case:
    """Change an open case's details (owner only) and audit which fields changed."""
    case = _open_owned(store, viewer, case_id)
    fields = changes.model_dump(exclude_unset=True)
    updated = case.model_copy(update=fields)
    record(store, viewer, AuditAction.CASE_UPDATED, case_id, object_ids=sorted(fields))
    store.update_case(updated)
    return updated


def close_case(store: CaseworkStore, viewer: Viewer, case_id: str, grace_days: int, reason: str | None = None) -> Case:
    """Close a case (owner only): its reference embeddings are erased now, its photos become deletable later."""
    case = owned_case(store, viewer, case_id)
    if case.status is CaseStatus.OPEN:
        record(store, viewer, AuditAction.CASE_CLOSED, case_id, reason=reason)
        store.set_case_status(case_id, CaseStatus.CLOSED)
    # Erasing again is harmless, so a retry after a failure half-way still erases.
    now = datetime.now(timezone.utc)
    erased = store.erase_references(case_id, now, now + timedelta(days=grace_days))
    logger.info("case closed", extra={"case_id": case_id, "embeddings_erased": erased})
    return case.model_copy(update={"status": CaseStatus.CLOSED})


def share_case(store: CaseworkStore, viewer: Viewer, case_id: str, agency_id: str) -> bool:
    """Let another agency read the case and review its alerts (owner only); True when newly shared."""
    _open_owned(store, viewer, case_id)
    if agency_id == viewer.agency_id or store.get_agency(agency_id) is None:
        raise ShareRefused(f"cannot share with agency {agency_id}")
    if store.is_shared_with(case_id, agency_id):
        return False
    record(store, viewer, AuditAction.CASE_SHARED, case_id, object_ids=[agency_id])
    return store.add_share(case_id, agency_id, viewer.user_sub)


def reference_upload(store: CaseworkStore, viewer: Viewer, case_id: str, content_type: ContentType,
                     uploads: Uploads) -> UploadTicket:
    """Issue the presigned POST for a reference photo of an open case (owner only)."""
    _open_owned(store, viewer, case_id)
    return uploads.reference(case_id, content_type)


def reference_photos(store: CaseworkStore, viewer: Viewer, case_id: str) -> list[ReferencePhoto]:
    """A visible case's reference photos with each one's status, reason and verdict."""
    visible_case(store, viewer, case_id)
    return store.reference_photos(case_id)


def verdict(status: PhotoStatus, usable_faces: int) -> str:
    """A reference photo's outcome in one word."""
    if status is PhotoStatus.PROCESSED:
        return "enrolled" if usable_faces else "refused"
    return {PhotoStatus.RECEIVED: "pending", PhotoStatus.REJECTED: "rejected"}.get(status, "failed")


def _open_owned(store: CaseworkStore, viewer: Viewer, case_id: str) -> Case:
    case = owned_case(store, viewer, case_id)
    if case.status is CaseStatus.CLOSED:
        raise CaseClosed(f"case {case_id} is closed")
    return case
