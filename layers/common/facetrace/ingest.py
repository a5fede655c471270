"""Ingest: an object arrived in S3; check it, record it, and queue it for the face worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from aws_lambda_powertools import Logger

from facetrace.case import CaseStatus, CaseStore
from facetrace.image_check import ImageRejected, Limits, check_image, check_size
from facetrace.messages import Job, PhotoKind
from facetrace.photo import Photo, PhotoStatus, PhotoStore, parse_key
from facetrace.ports import ObjectStore, Queue
from facetrace.upload import decode_metadata

logger = Logger(child=True)


@dataclass(frozen=True)
class IngestDeps:
    """Where ingest reads the upload from and records and queues it."""

    objects: ObjectStore
    photos: PhotoStore
    cases: CaseStore
    jobs: Queue
    bucket: str
    limits: Limits


def ingest_object(key: str, deps: IngestDeps) -> Photo | None:
    """Record an uploaded photo as received (and queue a job) or rejected with a reason; None if not ours."""
    try:
        kind, photo_id, case_id = parse_key(key)
    except ValueError:
        logger.warning("ignoring object FaceTrace did not issue", extra={"key": key})
        return None
    existing = deps.photos.get_photo(photo_id)
    if existing is not None:
        return _resume(existing, deps)
    photo = _inspect(key, kind, photo_id, case_id, deps)
    if not deps.photos.add_photo(photo):
        return _resume(deps.photos.get_photo(photo_id), deps)
    logger.info("photo recorded", extra={"photo_id": photo_id, "kind": kind.value, "status": photo.status.value})
    return _queue(photo, deps) if photo.status is PhotoStatus.RECEIVED else photo


def _resume(photo: Photo, deps: IngestDeps) -> Photo:
    # A duplicate S3 event, or a retry after the job could not be sent: queue at most once.
    logger.info("duplicate event", extra={"photo_id": photo.id, "status": photo.status.value})
    if photo.status is PhotoStatus.RECEIVED and photo.job_sent_at is None:
        return _queue(photo, deps)
    return photo


def _queue(photo: Photo, deps: IngestDeps) -> Photo:
    job = Job(photo_id=photo.id, kind=photo.kind, case_id=photo.case_id, bucket=deps.bucket, key=photo.s3_key)
    deps.jobs.send(job.model_dump_json(), dedup_id=photo.id)
    now = datetime.now(timezone.utc)
    deps.photos.mark_job_sent(photo.id, now)
    return photo.model_copy(update={"job_sent_at": now})


def _inspect(key: str, kind: PhotoKind, photo_id: str, case_id: str | None, deps: IngestDeps) -> Photo:
    info = deps.objects.head(key)
    details = decode_metadata(info.metadata)
    case_open = kind is not PhotoKind.REFERENCE or _case_is_open(case_id, deps.cases)
    base = dict(
        id=photo_id, kind=kind, case_id=case_id if case_open else None, s3_key=key, size_bytes=info.size,
        content_type=info.content_type, taken_at=details.taken_at, place=details.place, lat=details.lat,
        lon=details.lon, contact=details.contact,
    )
    try:
        if not case_open:
            raise ImageRejected(f"case {case_id} is not open")
        check_size(info.size, deps.limits)
        facts = check_image(deps.objects.get(key), deps.limits)
    except ImageRejected as exc:
        return Photo(**base, status=PhotoStatus.REJECTED, reason=str(exc))
    base.update(content_type=facts.content_type, width=facts.width, height=facts.height)
    return Photo(**base, status=PhotoStatus.RECEIVED)


def _case_is_open(case_id: str | None, cases: CaseStore) -> bool:
    case = cases.get_case(case_id) if case_id else None
    return case is not None and case.status is CaseStatus.OPEN
