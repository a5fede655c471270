"""Photos: sightings from citizens, reference photos and search photos from agencies, and their life cycle."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Protocol

from pydantic import BaseModel

from facetrace.messages import PhotoKind


class PhotoStatus(str, Enum):
    RECEIVED = "received"  # in S3, checked, job queued
    PROCESSED = "processed"  # faces detected (possibly none) and matched
    REJECTED = "rejected"  # not an acceptable image; reason says why
    FAILED = "failed"  # processing failed repeatedly; reason says where


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


class PhotoStore(Protocol):
    def add_photo(self, photo: Photo) -> bool:
        """Insert the photo unless its id exists; True when it was new."""
        ...

    def get_photo(self, photo_id: str) -> Photo | None: ...

    def mark_job_sent(self, photo_id: str, at: datetime) -> None: ...

    def set_photo_status(
        self, photo_id: str, status: PhotoStatus, reason: str | None = None, face_count: int | None = None
    ) -> None: ...


_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# fullmatch, not match with "$": "$" also matches before a trailing newline.
_SIGHTING_KEY = re.compile(rf"sightings/(?P<photo>{_UUID})")
_REFERENCE_KEY = re.compile(rf"references/(?P<case>{_UUID})/(?P<photo>{_UUID})")
_SEARCH_KEY = re.compile(rf"searches/(?P<agency>{_UUID})/(?P<photo>{_UUID})")


def sighting_key(photo_id: str) -> str:
    """The S3 key the server assigns to a citizen's sighting."""
    return f"sightings/{photo_id}"


def reference_key(case_id: str, photo_id: str) -> str:
    """The S3 key the server assigns to an agency's reference photo."""
    return f"references/{case_id}/{photo_id}"


def search_key(agency_id: str, search_id: str) -> str:
    """The S3 key the server assigns to an agency's search photo."""
    return f"searches/{agency_id}/{search_id}"


def parse_key(key: str) -> tuple[PhotoKind, str, str | None]:
    """Return (kind, photo_id, case_id) for a key the server issued, else raise ValueError."""
    if m := _SIGHTING_KEY.fullmatch(key):
        return PhotoKind.SIGHTING, m["photo"], None
    if m := _REFERENCE_KEY.fullmatch(key):
        return PhotoKind.REFERENCE, m["photo"], m["case"]
    if m := _SEARCH_KEY.fullmatch(key):
        return PhotoKind.SEARCH, m["photo"], None
    raise ValueError(f"key {key!r} was not issued by FaceTrace")
