"""Photos: sightings from citizens, reference photos and search photos from agencies, and their life cycle."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Protocol

from pydantic import BaseModel

from facetrace.messages import PhotoKind


class PhotoStatus(str, Enum):
    RECEIVED = "received"  # in S3, checked, job queued
    PROCESSED = "processed"  # faces detected (possibly none) and matched
    REJECTED = "rejected"  # not an acceptable image; reason says why
    FAILED = "failed"  # processing failed; failed_stage says where, reason says why
    DUPLICATE = "duplicate"  # the same bytes are already on record (duplicate_of); processed once, there


class Photo(BaseModel):
    """A stored photo and what is known about where and when it was taken."""

    id: str
    kind: PhotoKind
    case_id: str | None = None
    s3_key: str
    status: PhotoStatus
    reason: str | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    face_count: int | None = None
    taken_at: datetime | None = None
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    contact: str | None = None
    job_sent_at: datetime | None = None
    erased_at: datetime | None = None  # S3 object, embeddings and contact erased after retention
    sha256: str | None = None  # of the bytes checked, pinned under s3_key and processed
    dedup_key: str | None = None  # claims those bytes for this photo (see content_key)
    duplicate_of: str | None = None
    failed_stage: str | None = None


class PhotoStore(Protocol):
    def add_photo(self, photo: Photo) -> bool:
        """Insert the photo unless its id exists; True when it was new."""
        ...

    def get_photo(self, photo_id: str) -> Photo | None: ...

    def mark_job_sent(self, photo_id: str, at: datetime) -> None: ...

    def set_photo_status(
        self, photo_id: str, status: PhotoStatus, reason: str | None = None, face_count: int | None = None
    ) -> None: ...

    def fail_photo(self, photo_id: str, stage: str, reason: str) -> bool:
        """Mark a photo failed at a stage unless it already reached a final state; True when it changed."""
        ...


class DuplicateContent(Exception):
    """add_photo found the photo's dedup_key already claimed by another photo."""

    def __init__(self, original_id: str) -> None:
        super().__init__(f"the same bytes are already on record as photo {original_id}")
        self.original_id = original_id


class ContentStore(Protocol):
    def photo_by_content(self, dedup_key: str) -> Photo | None:
        """The photo that claimed these bytes, if any (erased photos release their claim)."""
        ...

    def release_content(self, photo_id: str) -> None:
        """Let another photo claim this photo's bytes (it failed, so it will not be processed)."""
        ...

    def add_refused_upload(self, photo_id: str, sha256: str | None, size: int | None, reason: str) -> None:
        """Record a write to an upload key that was refused (its bytes are not kept)."""
        ...


FINAL = frozenset({PhotoStatus.PROCESSED, PhotoStatus.REJECTED, PhotoStatus.FAILED, PhotoStatus.DUPLICATE})


def content_key(kind: PhotoKind, sha256: str, case_id: str | None) -> str | None:
    """Who may not upload the same bytes twice: any sighting, or a reference within one case; searches repeat."""
    if kind is PhotoKind.SIGHTING:
        return f"sighting:{sha256}"
    if kind is PhotoKind.REFERENCE and case_id:
        return f"reference:{case_id}:{sha256}"
    return None
