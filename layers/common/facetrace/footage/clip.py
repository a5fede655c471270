"""Clips, cameras, parts and appearances, the rules a clip's header must meet, and what the store keeps of them."""

from __future__ import annotations

import hashlib

import math
from datetime import datetime
from enum import Enum
from typing import Protocol, Sequence

from pydantic import BaseModel, Field

from facetrace.messages import FootagePart, ModelInfo, Quality, Track

# What agencies record with: H.264, H.265 and MJPEG, in MP4/MOV, Matroska, AVI or a bare MJPEG stream.
CODECS = {"h264": "H.264", "hevc": "H.265", "mjpeg": "MJPEG"}
CONTAINERS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mjpeg")
CONTENT_TYPES = ("video/mp4", "video/quicktime", "video/x-matroska", "video/x-msvideo", "video/x-motion-jpeg")
# A part shorter than this fraction of the part length joins the one before it (no 3-second jobs).
MIN_PART_FRACTION = 0.2


class VideoRejected(ValueError):
    """The upload is not an acceptable video; the message says why, for the uploader."""


class VideoFacts(BaseModel):
    """What a clip's header says (and its first and last frames confirm)."""

    container: str
    codec: str
    width: int
    height: int
    fps: float
    duration_s: float
    frames: int = Field(description="frames in the stream, from the header or duration x rate")


class FootageLimits(BaseModel):
    """What ingest accepts: bytes, length, frame size and rate."""

    min_bytes: int = 1000
    max_bytes: int
    max_duration_s: float
    max_pixels: int
    max_fps: float
    min_side: int = 32


def check_size(size: int, limits: FootageLimits) -> None:
    """Refuse a clip by its byte size alone, before downloading it."""
    if size < limits.min_bytes:
        raise VideoRejected(f"file too small to be a video ({size} bytes)")
    if size > limits.max_bytes:
        raise VideoRejected(f"file too large ({size} bytes, limit {limits.max_bytes})")


def check_video(facts: VideoFacts, limits: FootageLimits) -> None:
    """Refuse a clip whose header breaks a rule (codec, frame size, rate, length), with the reason."""
    if facts.container not in CONTAINERS:
        raise VideoRejected(f"container {facts.container} is not accepted (MP4, MOV, MKV, AVI or MJPEG)")
    if facts.codec not in CODECS:
        raise VideoRejected(f"video codec {facts.codec} is not accepted ({', '.join(CODECS.values())})")
    w, h = facts.width, facts.height
    if w * h > limits.max_pixels:
        raise VideoRejected(f"frames too large ({w}x{h} pixels; limit {limits.max_pixels} pixels)")
    if min(w, h) < limits.min_side:
        raise VideoRejected(f"frames too small ({w}x{h} pixels; at least {limits.min_side} per side)")
    if not (0 < facts.fps <= limits.max_fps):
        raise VideoRejected(f"frame rate {facts.fps:g} per second is not between 0 and {limits.max_fps:g}")
    if not math.isfinite(facts.duration_s) or facts.duration_s <= 0:
        raise VideoRejected("the video's length is unknown or zero")
    if facts.duration_s > limits.max_duration_s:
        raise VideoRejected(f"video too long ({facts.duration_s:.0f} s; limit {limits.max_duration_s:.0f} s)")


def plan_parts(duration_s: float, part_s: float) -> list[FootagePart]:
    """Split a clip into parts of part_s seconds; a short remainder joins the last part."""
    count = max(1, math.ceil(duration_s / part_s))
    if count > 1 and duration_s - (count - 1) * part_s < MIN_PART_FRACTION * part_s:
        count -= 1
    bounds = [i * part_s for i in range(count)] + [duration_s]
    return [FootagePart(index=i, count=count, start_s=round(bounds[i], 3), end_s=round(bounds[i + 1], 3))
            for i in range(count)]


def frame_score(quality: Quality) -> float:
    """How good a face is for identification: usable first, then confident, large, frontal and sharp."""
    size = min(quality.face_px, 160.0) / 160.0
    sharp = min(quality.blur, 200.0) / 200.0
    frontal = max(0.0, math.cos(math.radians(quality.yaw)))
    return (1.0 if quality.usable_as_sighting else 0.0) + quality.det_score * size * frontal * (0.5 + 0.5 * sharp)


class Camera(BaseModel):
    """A camera an agency registered: it uploads to its own prefix with its own key."""

    id: str
    agency_id: str
    name: str
    place: str
    lat: float | None = None
    lon: float | None = None
    key_hash: str = Field(exclude=True, description="SHA-256 of the camera's secret key; the key itself is not kept")
    created_at: datetime
    revoked_at: datetime | None = None


class Clip(BaseModel):
    """A video clip: who it was issued to, where and when it was recorded, and what its header said."""

    id: str
    agency_id: str
    camera_id: str | None = None
    s3_key: str
    started_at: datetime
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    content_type: str
    created_at: datetime
    container: str | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration_s: float | None = None
    frames_total: int | None = None
    parts: int = 0
    erased_at: datetime | None = None


class ListedClip(Clip):
    """A clip as its agency's list shows it: the clip, its upload's status and reason, and how many appearances."""

    status: str | None = Field(default=None, description="the upload's status; None while no upload has arrived")
    reason: str | None = None
    appearances: int = 0


class PartStatus(str, Enum):
    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"


class ClipPart(BaseModel):
    """One part of a clip and how far the worker has got with it."""

    clip_id: str
    index: int
    start_s: float
    end_s: float
    status: PartStatus = PartStatus.QUEUED
    stage: str | None = None
    reason: str | None = None
    frames_total: int = 0
    frames_done: int = 0
    frames_sampled: int = 0
    faces_found: int = 0
    tracks: int = 0
    model_name: str | None = None

    def as_job_part(self) -> FootagePart:
        """The part as a job names it."""
        return FootagePart(index=self.index, count=1, start_s=self.start_s, end_s=self.end_s)


class PartOutcome(BaseModel):
    """What the worker reported for a part: its final status and counts, and the tracks it found."""

    status: PartStatus
    stage: str | None = None
    reason: str | None = None
    frames_total: int = 0
    frames_done: int = 0
    frames_sampled: int = 0
    faces_found: int = 0
    model: ModelInfo | None = None
    tracks: list[Track] = []


class StoredTrack(BaseModel):
    """A track as stored: the part it came from and the model that embedded it."""

    part: int
    model: ModelInfo
    track: Track


class Appearance(BaseModel):
    """One person's appearance in a clip: tracks of the same face close in time, one sighting photo (its best
    frame), alerting once per case."""

    clip_id: str
    number: int
    sighting_id: str
    model_name: str
    start_s: float
    end_s: float
    best_s: float
    tracks: list[tuple[int, int]] = Field(description="(part, track) of each track it joins")
    box: tuple[float, float, float, float]
    still_key: str | None = None
    path: list[tuple[float, float, float, float, float]] = []


class FootageStore(Protocol):
    """Cameras, clips, their parts, tracks and appearances."""

    def add_camera(self, camera: Camera) -> None: ...
    def get_camera(self, camera_id: str) -> Camera | None: ...
    def cameras_of(self, agency_id: str) -> list[Camera]: ...

    def revoke_camera(self, camera_id: str, agency_id: str, at: datetime) -> bool:
        """Revoke one of the agency's cameras' key; True when it was active."""
        ...

    def add_clip(self, clip: Clip) -> None: ...
    def get_clip(self, clip_id: str) -> Clip | None: ...

    def clips_of(self, agency_id: str, before: tuple[datetime, str] | None, limit: int) -> list[ListedClip]:
        """The agency's clips (its cameras' too), newest first (created_at, then id), those before `before` only."""
        ...

    def set_clip_facts(self, clip_id: str, facts: VideoFacts, parts: Sequence[FootagePart]) -> None:
        """Record the header's facts and the clip's parts (queued); idempotent."""
        ...

    def parts_of(self, clip_id: str) -> list[ClipPart]: ...

    def record_progress(self, clip_id: str, part: int, frames_total: int, frames_done: int, faces_found: int) -> None:
        """Note how far a queued part has got (counts only grow; a finished part keeps its final counts)."""
        ...

    def finish_part(self, clip_id: str, part: int, outcome: PartOutcome) -> bool:
        """Record a queued part's final status, counts and tracks; True when it changed (False: already final)."""
        ...

    def tracks_of(self, clip_id: str) -> list[StoredTrack]:
        """Every track of the clip's parts, by part and track number."""
        ...

    def add_appearance(self, appearance: Appearance) -> bool:
        """Record an appearance unless its sighting is recorded already; True when new."""
        ...

    def appearances_of(self, clip_id: str) -> list[Appearance]: ...
    def appearance_of_sighting(self, sighting_id: str) -> Appearance | None: ...

    def expired_footage(self, before: datetime, limit: int) -> list[Clip]:
        """Clips that arrived before `before`, not erased, none of whose appearances has a confirmed alert."""
        ...

    def erase_footage(self, clip_id: str, at: datetime) -> None:
        """Delete the clip's tracks, clear its place; mark it erased (its appearances' sightings are erased as
        sightings)."""
        ...


def file_sha256(path: str, chunk: int = 8 * 1024 * 1024) -> str:
    """The SHA-256 of a file, read a chunk at a time (a clip never fits in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
