"""What an agency does to its cases: open, list, read, update, close (and erase), share, add and list photos.

Every change is audited before it is made: a failure may leave an entry for an action that did not
complete, never an action without its entry.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta, timezone
from typing import Protocol, Sequence

from aws_lambda_powertools import Logger
from pydantic import BaseModel, Field

from facetrace.access import ShareStore, Viewer, owned_case, visible_case
from facetrace.audit import AuditAction, AuditLog, record
from facetrace.case import Case, CaseDetails, CaseStatus, CaseStore, optional_fields
from facetrace.keys import reference_key
from facetrace.photo import PhotoStatus
from facetrace.ports import ObjectStore
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
    erased: bool = Field(default=False, description="the photo was deleted after its case closed")
    url: str | None = Field(default=None, description="presigned GET of the photo when asked for (?urls=true; "
                            "the showing is audited); null otherwise, and once the photo is rejected or erased")


class CaseListing(Case):
    """A case as listed: its details and whether the viewer's agency owns it (else it was shared with it)."""

    owned: bool
    open_alerts: int = Field(default=0, description="alerts of the case waiting for review (status new)")


class CasePage(BaseModel):
    """One page of the cases an agency may see, newest first."""

    cases: list[CaseListing]
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for the next page; null on the last")


class CaseQuery(BaseModel):
    """Which cases to list: by status, a page at a time (newest first)."""

    status: CaseStatus | None = None
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=100)


class InvalidCursor(ValueError):
    """A page cursor this API did not give out (answered as 422)."""


class CaseClosed(ValueError):
    """The case is closed: its details and sharing can no longer change (answered as 409)."""


class ShareRefused(ValueError):
    """A case cannot be shared with that agency (unknown, or the owner itself); answered as 400."""


class CaseworkStore(CaseStore, ShareStore, AuditLog, Protocol):
    def update_case(self, case: Case) -> None: ...

    def visible_cases(self, agency_id: str, status: CaseStatus | None, before: tuple[datetime, str] | None,
                      limit: int) -> list[Case]:
        """Cases the agency owns or was shared, newest first (created_at, then id), those before `before` only."""
        ...

    def open_alert_counts(self, case_ids: Sequence[str]) -> dict[str, int]:
        """How many alerts of each of these cases wait for review (cases without any are left out)."""
        ...

    def erase_references(self, case_id: str, at: datetime, delete_after: datetime) -> int:
        """Erase the embeddings of the case's reference faces and set when its photos may go; return faces erased."""
        ...

    def reference_photos(self, case_id: str) -> list[ReferencePhoto]: ...


def create_case(store: CaseworkStore, viewer: Viewer, details: CaseDetails) -> Case:
    """Open a case for the viewer's agency (registered: access.signed_in checked it) and audit it."""
    case = Case(**details.model_dump(), agency_id=viewer.agency_id, id=str(uuid.uuid4()),
                created_at=datetime.now(timezone.utc))
    record(store, viewer, AuditAction.CASE_CREATED, case.id)
    store.add_case(case)
    return case


def view_case(store: CaseworkStore, viewer: Viewer, case_id: str) -> Case:
    """A case the viewer's agency may see; the reading is audited."""
    case = visible_case(store, viewer, case_id)
    record(store, viewer, AuditAction.CASE_VIEWED, case_id)
    return case


def list_cases(store: CaseworkStore, viewer: Viewer, query: CaseQuery) -> CasePage:
    """A page of the cases the viewer's agency owns or was shared, newest first, and the cursor of the next."""
    before = _decode_cursor(query.cursor) if query.cursor else None
    # One more than asked: whether it exists says if there is a next page.
    found = store.visible_cases(viewer.agency_id, query.status, before, query.limit + 1)
    page = found[:query.limit]
    cursor = _encode_cursor(page[-1]) if len(found) > query.limit else None
    waiting = store.open_alert_counts([c.id for c in page])
    listed = [CaseListing(**c.model_dump(), owned=c.agency_id == viewer.agency_id, open_alerts=waiting.get(c.id, 0))
              for c in page]
    return CasePage(cases=listed, next_cursor=cursor)


def _encode_cursor(case: Case) -> str:
    raw = f"{case.created_at.astimezone(timezone.utc).isoformat()}|{case.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, case_id = raw.split("|")
        return datetime.fromisoformat(at), str(uuid.UUID(case_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("must be a next_cursor this API returned") from None


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
    """Issue the presigned POST for a reference photo of an open case (owner only), audited with the photo's id."""
    _open_owned(store, viewer, case_id)
    ticket = uploads.reference(case_id, content_type)
    record(store, viewer, AuditAction.PHOTO_ADDED, case_id, object_ids=[ticket.receipt_id])
    return ticket


def reference_photos(store: CaseworkStore, viewer: Viewer, case_id: str, objects: ObjectStore | None = None,
                     url_ttl_s: int = 0) -> list[ReferencePhoto]:
    """A visible case's reference photos with each one's status, reason and verdict; given `objects`, also a
    presigned link to each photo still held, the showing audited first."""
    visible_case(store, viewer, case_id)
    photos = store.reference_photos(case_id)
    if objects is None:
        return photos
    # Only checked photos are kept (not rejected ones, nor duplicates, which point at their original), and an
    # erased one is gone: there is nothing to show for them.
    shown = [p for p in photos if p.status in (PhotoStatus.RECEIVED, PhotoStatus.PROCESSED) and not p.erased]
    if shown:
        record(store, viewer, AuditAction.PHOTOS_VIEWED, case_id, object_ids=[p.id for p in shown])
    links = {p.id: objects.presign_get(reference_key(case_id, p.id), url_ttl_s) for p in shown}
    return [p.model_copy(update={"url": links.get(p.id)}) for p in photos]


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
