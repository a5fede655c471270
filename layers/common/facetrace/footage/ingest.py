"""An uploaded clip: checked from its header, pinned, recorded and split into part jobs.

Like a photo (facetrace/ingest.py), but a clip may be gigabytes: it is streamed to a temporary file (never held
in memory), hashed there, probed by the video library from its header (and its first and last frames, which
catch a broken or truncated container), then pinned under `footage/<owner>/<clip>` by a server-side copy of
exactly the bytes S3 announced. A clip needs a ticket: its row (agency, camera, place, start time) is written
when the ticket is issued, and an upload nobody issued is rejected.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from aws_lambda_powertools import Logger

from facetrace.footage.clip import (Clip, FootageLimits, FootageStore, VideoFacts, VideoRejected, check_size,
                                   file_sha256, plan_parts)
from facetrace.ingest import DUPLICATE_REASON, IngestStore, SECOND_WRITE, Upload
from facetrace.keys import UPLOADS, footage_owner, parse_upload_key
from facetrace.messages import FootagePart, Job, PhotoKind
from facetrace.photo import DuplicateContent, Photo, PhotoStatus
from facetrace.ports import ObjectInfo, ObjectStore, Queue

logger = Logger(child=True)

NO_TICKET = "no upload ticket was issued for this clip"
ETAG_META = "upload-etag"  # the pinned copy's note of which upload it was copied from


class FootageObjects(ObjectStore, Protocol):
    """The bucket, with what large objects need: streaming to a file and server-side copies."""

    def download(self, key: str, path: str, etag: str | None = None) -> ObjectInfo | None:
        """Stream the object to a file; None if it is gone or (given an ETag) no longer those bytes."""
        ...

    def copy_once(self, source_key: str, key: str, etag: str | None, content_type: str,
                  metadata: dict[str, str]) -> bool:
        """Copy the object (only the version with this ETag) unless `key` exists; False when it existed."""
        ...


class VideoProbe(Protocol):
    def probe(self, path: str, limits: FootageLimits) -> VideoFacts:
        """The clip's facts from its header, checked against the limits before anything is decoded; then its
        first and last frames are decoded. VideoRejected with the reason otherwise."""
        ...


class FootageIngestStore(IngestStore, FootageStore, Protocol):
    """Photos (the clip's life cycle, as for any upload) and the clip's own rows."""


@dataclass(frozen=True)
class FootageIngestDeps:
    """Where ingest reads a clip from, probes it, records it and queues its parts."""

    objects: FootageObjects
    store: FootageIngestStore
    jobs: Queue
    bucket: str
    limits: FootageLimits
    probe: VideoProbe
    part_s: float
    workdir: str | None = None  # where the clip is copied to be probed (Lambda: /tmp)


def is_footage(key: str) -> bool:
    """True for an inbox key of a clip (uploads/footage/...)."""
    try:
        return parse_upload_key(key)[0] is PhotoKind.FOOTAGE
    except ValueError:
        return False


def ingest_footage(upload: Upload, deps: FootageIngestDeps) -> Photo | None:
    """Record an uploaded clip as received (pinned, parts queued), rejected, duplicate or refused; None if not
    ours or no longer there."""
    try:
        _, clip_id, _ = parse_upload_key(upload.key)
        owner = footage_owner(upload.key)
    except ValueError:
        logger.warning("ignoring object FaceTrace did not issue", extra={"key": upload.key})
        return None
    existing = deps.store.get_photo(clip_id)
    if existing is not None:
        return _again(existing, upload, deps)
    clip = deps.store.get_clip(clip_id)
    with tempfile.TemporaryDirectory(dir=deps.workdir, prefix="clip-") as folder:
        path = os.path.join(folder, "clip")
        info = deps.objects.download(upload.key, path, upload.etag)
        if info is None:
            logger.warning("upload changed before it was checked", extra={"photo_id": clip_id, "key": upload.key})
            return None
        photo, facts = _inspect(upload, clip, owner, clip_id, path, info, deps)
    return _record(photo, facts, upload, deps)


def _inspect(upload: Upload, clip: Clip | None, owner: str, clip_id: str, path: str, info: ObjectInfo,
             deps: FootageIngestDeps) -> tuple[Photo, VideoFacts | None]:
    sha256 = file_sha256(path)
    base = dict(id=clip_id, kind=PhotoKind.FOOTAGE, s3_key=upload.key.removeprefix(UPLOADS), size_bytes=info.size,
                content_type=info.content_type, sha256=sha256)
    if clip is not None:
        base.update(taken_at=clip.started_at, place=clip.place, lat=clip.lat, lon=clip.lon)
    try:
        if clip is None or owner not in (clip.agency_id, clip.camera_id):
            raise VideoRejected(NO_TICKET)
        check_size(info.size, deps.limits)
        facts = deps.probe.probe(path, deps.limits)
    except VideoRejected as exc:
        return Photo(**base, status=PhotoStatus.REJECTED, reason=str(exc)), None
    photo = Photo(**base, status=PhotoStatus.RECEIVED, width=facts.width, height=facts.height,
                  dedup_key=f"footage:{sha256}")
    return photo, facts



def _record(photo: Photo, facts: VideoFacts | None, upload: Upload, deps: FootageIngestDeps) -> Photo:
    if photo.status is PhotoStatus.REJECTED:
        return _store(photo, upload, deps)  # rejected bytes are not kept, only the reason
    original = deps.store.photo_by_content(photo.dedup_key)
    if original is not None and original.status is PhotoStatus.FAILED:
        deps.store.release_content(original.id)  # it will never be searched: these bytes get another try
    elif original is not None:
        return _duplicate(photo, original.id, upload, deps)
    if not _pin(photo, upload, deps):
        failed = photo.model_copy(update=dict(status=PhotoStatus.FAILED, failed_stage="ingest", dedup_key=None,
                                              reason="the stored copy differs from the upload"))
        return _store(failed, upload, deps)
    # The parts first: a retried event that finds the photo recorded resumes from its parts.
    deps.store.set_clip_facts(photo.id, facts, _plan(facts, deps))
    try:
        return _queue(_store(photo, upload, deps), deps)
    except DuplicateContent as dup:
        deps.objects.delete(photo.s3_key)
        return _duplicate(photo, dup.original_id, upload, deps)


def _plan(facts: VideoFacts, deps: FootageIngestDeps) -> list[FootagePart]:
    return plan_parts(facts.duration_s, deps.part_s)


def _pin(photo: Photo, upload: Upload, deps: FootageIngestDeps) -> bool:
    """Copy exactly the checked upload under the clip's key, once; True when that key now holds these bytes."""
    metadata = {"sha256": photo.sha256, ETAG_META: _etag(upload.etag)}
    content_type = photo.content_type or "application/octet-stream"
    if deps.objects.copy_once(upload.key, photo.s3_key, upload.etag, content_type, metadata):
        return True
    return deps.objects.head(photo.s3_key).metadata.get("sha256") == photo.sha256


def _store(photo: Photo, upload: Upload, deps: FootageIngestDeps) -> Photo:
    if not deps.store.add_photo(photo):
        return _queue(deps.store.get_photo(photo.id), deps)
    deps.objects.delete(upload.key)
    logger.info("clip recorded", extra={"photo_id": photo.id, "kind": photo.kind.value, "status": photo.status.value,
                                        "sha256": photo.sha256, "reason": photo.reason, "size_bytes": photo.size_bytes})
    return photo


def _duplicate(photo: Photo, original_id: str, upload: Upload, deps: FootageIngestDeps) -> Photo:
    duplicate = photo.model_copy(update=dict(status=PhotoStatus.DUPLICATE, duplicate_of=original_id,
                                             dedup_key=None, reason=DUPLICATE_REASON))
    return _store(duplicate, upload, deps)


def _again(existing: Photo, upload: Upload, deps: FootageIngestDeps) -> Photo:
    # A retried event (the same upload), or a second write with the same ticket (other bytes): the clip on record
    # stays, the upload goes. The pinned copy remembers the upload's ETag, so gigabytes need not be read again.
    if deps.objects.exists(upload.key):
        info = deps.objects.head(upload.key)
        pinned = deps.objects.head(existing.s3_key) if deps.objects.exists(existing.s3_key) else None
        same = pinned is not None and upload.etag is not None and pinned.metadata.get(ETAG_META) == _etag(upload.etag)
        if not same:
            deps.store.add_refused_upload(existing.id, None, info.size, SECOND_WRITE)
            logger.warning("second upload refused", extra={"photo_id": existing.id, "size_bytes": info.size})
        deps.objects.delete(upload.key)
    return _queue(existing, deps)


def _etag(etag: str | None) -> str:
    return (etag or "").strip('"')


def _queue(photo: Photo, deps: FootageIngestDeps) -> Photo:
    if photo.status is not PhotoStatus.RECEIVED or photo.job_sent_at is not None:
        return photo
    parts = deps.store.parts_of(photo.id)
    for part in parts:
        job = Job(photo_id=photo.id, kind=PhotoKind.FOOTAGE, bucket=deps.bucket, key=photo.s3_key,
                  sha256=photo.sha256, part=FootagePart(index=part.index, count=len(parts), start_s=part.start_s,
                                                        end_s=part.end_s))
        deps.jobs.send(job.model_dump_json(), dedup_id=f"{photo.id}:{part.index}")
    now = datetime.now(timezone.utc)
    deps.store.mark_job_sent(photo.id, now)
    logger.info("clip queued", extra={"photo_id": photo.id, "parts": len(parts)})
    return photo.model_copy(update={"job_sent_at": now})
