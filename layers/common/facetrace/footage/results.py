"""What the worker reports about a clip: progress while a part runs, then each part's tracks; once every part
has a final state the clip's appearances are searched and alerted, and the clip gets its own final state.

Every appearance becomes a sighting photo (its best frame, stored by the worker under stills/) with one face:
the appearance's embedding. It is then matched exactly as a citizen's photo is (facetrace.match.process_faces):
faces and matches stored, one alert per (sighting, case), so one per (appearance, case). Its id is derived from
the clip and its first track, so a result delivered twice, or two parts finishing at once, give the same
appearances and the same alerts, once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Callable, Protocol

import numpy as np
from aws_lambda_powertools import Logger
from pydantic import Field, TypeAdapter

from facetrace.footage.appearances import Group, join_tracks
from facetrace.footage.clip import Appearance, Clip, ClipPart, FootageStore, PartOutcome, PartStatus
from facetrace.keys import still_key
from facetrace.match import MatchDeps, MatchStore, Thresholds, process_faces
from facetrace.messages import Face, FacesResult, FootageProgress, Job, ModelInfo, PhotoKind, Track, TracksResult
from facetrace.photo import Photo, PhotoStatus
from facetrace.ports import ObjectStore

logger = Logger(child=True)

FootageMessage = Annotated[TracksResult | FootageProgress, Field(discriminator="type")]
MESSAGES = TypeAdapter(FootageMessage)
_TRACKS = TypeAdapter(list[Track])
# Appearance sightings get ids of their own, stable for a clip and its first track.
APPEARANCES = uuid.UUID("5b0f6c0e-7a43-4b53-9d0c-3f1f3d7f1a14")
UNIT_TOLERANCE = 1e-2


class FootageResultStore(FootageStore, MatchStore, Protocol):
    """Clips and their parts, and everything matching an appearance's sighting needs."""


@dataclass(frozen=True)
class FootageDeps:
    """The store, the bucket (offloaded tracks), matching's dependencies and the joining rule."""

    store: FootageResultStore
    objects: ObjectStore
    match: MatchDeps
    thresholds: Callable[[ModelInfo], Thresholds]
    bucket: str
    join_gap_s: float = 5.0


@dataclass
class FootageOutcome:
    """What one footage message changed."""

    clip_id: str
    part: int | None = None
    part_status: str | None = None
    finished: bool = False
    appearances: int = 0
    alerts: list[str] = field(default_factory=list)
    failed_stage: str | None = None


def parse_message(body: str) -> TracksResult | FootageProgress:
    """A footage queue message (a part's tracks or its progress), or ValidationError."""
    return MESSAGES.validate_json(body)


def handle_footage_message(message: TracksResult | FootageProgress, deps: FootageDeps) -> FootageOutcome:
    """Record a part's progress, or its result; finish the clip once every part has one."""
    if isinstance(message, FootageProgress):
        deps.store.record_progress(message.clip_id, message.part, message.frames_total, message.frames_done,
                                   message.faces_found)
        return FootageOutcome(message.clip_id, message.part)
    return record_part(message, deps)


def record_part(result: TracksResult, deps: FootageDeps) -> FootageOutcome:
    """Store one part's tracks (or why it failed); when it was the last part, finish the clip."""
    job = result.job
    if job.part is None or job.kind is not PhotoKind.FOOTAGE:
        raise ValueError(f"job for {job.photo_id} is not a part of a clip")
    clip = deps.store.get_clip(job.photo_id)
    if clip is None or deps.store.get_photo(job.photo_id) is None:
        raise LookupError(f"clip {job.photo_id} is not recorded")
    outcome = _outcome(_resolve(result, deps.objects))
    changed = deps.store.finish_part(clip.id, job.part.index, outcome)
    logger.info("part finished", extra={"photo_id": clip.id, "part": job.part.index, "status": outcome.status.value,
                                        "stage": outcome.stage, "reason": (outcome.reason or "")[:300],
                                        "tracks": len(outcome.tracks), "changed": changed})
    finished = finish_clip(clip, deps)
    finished.part, finished.part_status = job.part.index, outcome.status.value
    return finished


def _resolve(result: TracksResult, objects: ObjectStore) -> TracksResult:
    if result.tracks_key is None:
        return result
    tracks = _TRACKS.validate_json(objects.get(result.tracks_key))
    return result.model_copy(update={"tracks": tracks, "tracks_key": None})


def _outcome(result: TracksResult) -> PartOutcome:
    counts = dict(frames_total=result.frames_total, frames_done=result.frames_decoded,
                  frames_sampled=result.frames_sampled, faces_found=result.faces_found)
    problem = invalid_tracks(result)
    if problem is not None:
        return PartOutcome(status=PartStatus.FAILED, stage="match", reason=f"invalid track data: {problem}", **counts)
    if result.status == "failed" or result.model is None:
        # Tracks found before a part failed (a clip broken half-way) are still searched: nothing found is lost.
        return PartOutcome(status=PartStatus.FAILED, stage=result.stage or "faces",
                           reason=result.error or "the worker gave no reason", model=result.model,
                           tracks=result.tracks if result.model else [], **counts)
    return PartOutcome(status=PartStatus.DONE, model=result.model, tracks=result.tracks, **counts)


def invalid_tracks(result: TracksResult) -> str | None:
    """Why a result's tracks cannot be stored or searched (embedding size, values, length, numbers), or None."""
    if not result.tracks:
        return None
    if result.model is None:
        return "tracks without a model"
    numbers = [t.track for t in result.tracks]
    if len(set(numbers)) != len(numbers):
        return f"track numbers repeat: {numbers}"
    for track in result.tracks:
        try:
            vector = track.embedding()
        except ValueError as exc:
            return f"track {track.track}: embedding is unreadable ({exc})"
        if vector.shape != (result.model.dim,) or not np.all(np.isfinite(vector)):
            return f"track {track.track}: embedding is not {result.model.dim} finite values"
        if abs(float(np.linalg.norm(vector)) - 1.0) > UNIT_TOLERANCE:
            return f"track {track.track}: embedding is not of unit length"
    return None


def finish_clip(clip: Clip, deps: FootageDeps) -> FootageOutcome:
    """Once every part has a final state: join the tracks, search and alert each appearance, and give the clip
    its final state (failed, naming the parts that failed, when any did). Idempotent."""
    parts = deps.store.parts_of(clip.id)
    outcome = FootageOutcome(clip.id)
    if not parts or any(p.status is PartStatus.QUEUED for p in parts):
        return outcome
    groups = join_tracks(deps.store.tracks_of(clip.id), deps.join_gap_s)
    for number, group in enumerate(groups):
        outcome.alerts += _search_appearance(clip, number, group, deps)
    outcome.finished, outcome.appearances = True, len(groups)
    failed = [p for p in parts if p.status is PartStatus.FAILED]
    if failed:
        reason = "; ".join(_failure(p, len(parts)) for p in failed)
        if deps.store.fail_photo(clip.id, failed[0].stage or "faces", reason[:1000]):
            outcome.failed_stage = failed[0].stage or "faces"
    else:
        deps.store.set_photo_status(clip.id, PhotoStatus.PROCESSED, face_count=len(groups))
    logger.info("clip finished", extra={"photo_id": clip.id, "appearances": len(groups), "alerts": len(outcome.alerts),
                                        "failed_parts": len(failed)})
    return outcome


def _failure(part: ClipPart, count: int) -> str:
    return (f"part {part.index + 1} of {count} ({part.start_s:g}-{part.end_s:g} s) failed at {part.stage}: "
            f"{part.reason}")


def sighting_id(clip_id: str, group: Group) -> str:
    """The appearance's sighting photo id: stable for the clip, its model and its first track."""
    first = min((m.part, m.track.track) for m in group.members)
    return str(uuid.uuid5(APPEARANCES, f"{clip_id}:{group.model.name}:{first[0]}:{first[1]}"))


def _search_appearance(clip: Clip, number: int, group: Group, deps: FootageDeps) -> list[str]:
    best = group.best()
    track = best.track
    photo = Photo(id=sighting_id(clip.id, group), kind=PhotoKind.SIGHTING,
                  s3_key=track.still_key or still_key(clip.id, best.part, track.track), status=PhotoStatus.RECEIVED,
                  content_type="image/jpeg", width=track.still_width or None, height=track.still_height or None,
                  taken_at=clip.started_at + timedelta(seconds=track.best_s), place=clip.place, lat=clip.lat,
                  lon=clip.lon)
    deps.store.add_photo(photo)  # False on a second delivery: the same appearance, searched again idempotently
    deps.store.add_appearance(Appearance(
        clip_id=clip.id, number=number, sighting_id=photo.id, model_name=group.model.name, start_s=group.start_s,
        end_s=group.end_s, best_s=track.best_s, tracks=sorted((m.part, m.track.track) for m in group.members),
        box=track.box, still_key=photo.s3_key, path=group.path()))
    face = Face.build(0, track.box, track.landmarks, track.quality, group.embedding())
    job = Job(photo_id=photo.id, kind=PhotoKind.SIGHTING, bucket=deps.bucket, key=photo.s3_key)
    result = FacesResult(job=job, status="ok", model=group.model, image_width=track.still_width,
                         image_height=track.still_height, faces=[face])
    matched = process_faces(result, deps.match, deps.thresholds(group.model))
    logger.info("appearance searched", extra={"photo_id": clip.id, "sighting_id": photo.id, "number": number,
                                              "start_s": group.start_s, "end_s": group.end_s,
                                              "tracks": len(group.members), "alerts": len(matched.alerts)})
    return matched.alerts
