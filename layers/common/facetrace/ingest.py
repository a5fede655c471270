"""Ingest: an upload arrived in S3; check it, pin the checked bytes, record it, and queue it for the face worker.

Browsers POST to `uploads/<key>`. Ingest reads exactly the bytes S3 announced (by ETag), checks them, writes
them once under `<key>` (never overwritten: that copy is the evidence every later stage reads and every alert
shows), records their SHA-256 and deletes the upload. A second write with the same ticket is refused and
recorded; the same bytes uploaded again become a duplicate of the photo already on record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from aws_lambda_powertools import Logger

from facetrace.case import CaseStatus, CaseStore
from facetrace.image_check import ImageRejected, Limits, check_image, check_size
from facetrace.messages import Job, PhotoKind
from facetrace.photo import ContentStore, DuplicateContent, Photo, PhotoStatus, PhotoStore, content_key
from facetrace.keys import UPLOADS, parse_upload_key
from facetrace.ports import ObjectInfo, ObjectStore, Queue
from facetrace.upload import decode_metadata

logger = Logger(child=True)

DUPLICATE_REASON = "the same photo was already received; it is processed once"
SECOND_WRITE = "a second upload with the same ticket; the first upload is kept"


class IngestStore(PhotoStore, ContentStore, CaseStore, Protocol):
    """What ingest reads and records: cases (open?), photos, who holds which bytes, refused writes."""


@dataclass(frozen=True)
class Upload:
    """One S3 notification: the upload's key and the ETag of the bytes it announced (None: whatever is there)."""

    key: str
    etag: str | None = None


@dataclass(frozen=True)
class IngestDeps:
    """Where ingest reads the upload from and records and queues it."""

    objects: ObjectStore
    store: IngestStore
    jobs: Queue
    bucket: str
    limits: Limits


def ingest_upload(upload: Upload, deps: IngestDeps) -> Photo | None:
    """Record an upload as received (pinned and queued), rejected, duplicate or refused; None if not ours."""
    try:
        kind, photo_id, case_id = parse_upload_key(upload.key)
    except ValueError:
        logger.warning("ignoring object FaceTrace did not issue", extra={"key": upload.key})
        return None
    existing = deps.store.get_photo(photo_id)
    if existing is not None:
        return _again(existing, upload, deps)
    read = deps.objects.read(upload.key, upload.etag)
    if read is None:
        # Replaced or removed since S3 announced it: the event for the newer bytes, if any, follows.
        logger.warning("upload changed before it was checked", extra={"photo_id": photo_id, "key": upload.key})
        return None
    photo = _inspect(upload, kind, photo_id, case_id, *read, deps)
    return _record(photo, read[0], upload, deps)


def _inspect(upload: Upload, kind: PhotoKind, photo_id: str, case_id: str | None, data: bytes, info: ObjectInfo,
             deps: IngestDeps) -> Photo:
    details = decode_metadata(info.metadata)
    case_open = kind is not PhotoKind.REFERENCE or _case_is_open(case_id, deps.store)
    sha256 = hashlib.sha256(data).hexdigest()
    base = dict(
        id=photo_id, kind=kind, case_id=case_id if case_open else None, s3_key=upload.key.removeprefix(UPLOADS),
        size_bytes=len(data), content_type=info.content_type, taken_at=details.taken_at, place=details.place,
        lat=details.lat, lon=details.lon, contact=details.contact, sha256=sha256,
    )
    try:
        if not case_open:
            raise ImageRejected(f"case {case_id} is not open")
        check_size(len(data), deps.limits)
        facts = check_image(data, deps.limits)
    except ImageRejected as exc:
        return Photo(**base, status=PhotoStatus.REJECTED, reason=str(exc))
    base.update(content_type=facts.content_type, width=facts.width, height=facts.height)
    return Photo(**base, status=PhotoStatus.RECEIVED, dedup_key=content_key(kind, sha256, case_id))


def _record(photo: Photo, data: bytes, upload: Upload, deps: IngestDeps) -> Photo:
    if photo.status is PhotoStatus.REJECTED:
        return _store(photo, upload, deps)  # rejected bytes are not kept, only the reason
    original = deps.store.photo_by_content(photo.dedup_key) if photo.dedup_key else None
    if original is not None and original.status is PhotoStatus.FAILED:
        deps.store.release_content(original.id)  # it will never be processed: these bytes get another try
    elif original is not None:
        return _duplicate(photo, original.id, upload, deps)
    if not _pin(photo, data, deps):
        failed = photo.model_copy(update=dict(status=PhotoStatus.FAILED, failed_stage="ingest", dedup_key=None,
                                              reason="the stored copy differs from the upload"))
        return _store(failed, upload, deps)
    try:
        return _queue(_store(photo, upload, deps), deps)
    except DuplicateContent as dup:
        # Another upload of the same bytes claimed them a moment earlier.
        deps.objects.delete(photo.s3_key)
        return _duplicate(photo, dup.original_id, upload, deps)


def _pin(photo: Photo, data: bytes, deps: IngestDeps) -> bool:
    """Write the checked bytes once under the photo's key; True when that key now holds exactly these bytes."""
    metadata = {"sha256": photo.sha256}
    if deps.objects.put_once(photo.s3_key, data, photo.content_type or "application/octet-stream", metadata):
        return True
    # Pinned by an earlier attempt at this same event that stopped before recording the photo.
    return deps.objects.head(photo.s3_key).metadata.get("sha256") == photo.sha256


def _store(photo: Photo, upload: Upload, deps: IngestDeps) -> Photo:
    if not deps.store.add_photo(photo):
        return _resume(deps.store.get_photo(photo.id), deps)
    deps.objects.delete(upload.key)
    logger.info("photo recorded", extra={"photo_id": photo.id, "kind": photo.kind.value, "status": photo.status.value,
                                         "sha256": photo.sha256, "reason": photo.reason})
    return photo


def _duplicate(photo: Photo, original_id: str, upload: Upload, deps: IngestDeps) -> Photo:
    duplicate = photo.model_copy(update=dict(status=PhotoStatus.DUPLICATE, duplicate_of=original_id,
                                             dedup_key=None, reason=DUPLICATE_REASON))
    return _store(duplicate, upload, deps)


def _again(existing: Photo, upload: Upload, deps: IngestDeps) -> Photo:
    # A duplicated or retried S3 event (same bytes), or a second write with the same ticket (other bytes).
    read = deps.objects.read(upload.key, upload.etag)
    if read is not None:
        data = read[0]
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 != existing.sha256:
            deps.store.add_refused_upload(existing.id, sha256, len(data), SECOND_WRITE)
            logger.warning("second upload refused", extra={"photo_id": existing.id, "sha256": sha256,
                                                           "size_bytes": len(data)})
        deps.objects.delete(upload.key)
    return _resume(existing, deps)


def _resume(photo: Photo, deps: IngestDeps) -> Photo:
    logger.info("event for a recorded photo", extra={"photo_id": photo.id, "status": photo.status.value})
    return _queue(photo, deps)


def _queue(photo: Photo, deps: IngestDeps) -> Photo:
    if photo.status is not PhotoStatus.RECEIVED or photo.job_sent_at is not None:
        return photo
    job = Job(photo_id=photo.id, kind=photo.kind, case_id=photo.case_id, bucket=deps.bucket, key=photo.s3_key,
              sha256=photo.sha256)
    deps.jobs.send(job.model_dump_json(), dedup_id=photo.id)
    now = datetime.now(timezone.utc)
    deps.store.mark_job_sent(photo.id, now)
    return photo.model_copy(update={"job_sent_at": now})


def _case_is_open(case_id: str | None, cases: CaseStore) -> bool:
    case = cases.get_case(case_id) if case_id else None
    return case is not None and case.status is CaseStatus.OPEN
