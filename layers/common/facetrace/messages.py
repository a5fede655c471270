"""Versioned messages that travel between the pipeline's stages (S3 -> ingest -> worker -> match -> notify)."""

from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class PhotoKind(str, Enum):
    SIGHTING = "sighting"
    REFERENCE = "reference"
    SEARCH = "search"  # an agency's search by photo: searched once, never stored as a face
    FOOTAGE = "footage"  # a video clip (issue #14): its parts are jobs; each appearance becomes a sighting


# Where a photo can stop: reading it from storage, decoding it, finding and embedding its faces, matching them.
FailedStage = Literal["fetch", "decode", "faces", "match"]


class Message(BaseModel):
    """Base of every inter-stage message: frozen, strict about unknown fields, versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FootagePart(Message):
    """One part of a video clip: the seconds [start_s, end_s) of the clip, of `count` parts."""

    index: int = Field(ge=0)
    count: int = Field(ge=1)
    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)


class Job(Message):
    """Ingest -> worker: one validated photo to detect and embed (or one part of a video clip)."""

    version: Literal[1] = 1
    photo_id: str
    kind: PhotoKind
    case_id: str | None = None
    bucket: str
    key: str
    sha256: str | None = Field(default=None, description="of the pinned bytes; the worker refuses others")
    # Re-embedding after a model change (facetrace/reembed.py): the photo was processed before, by another model.
    # Optional within version 1: jobs from ingest leave all three unset.
    purpose: Literal["reembed"] | None = Field(default=None, description="why a processed photo is queued again")
    campaign_id: str | None = Field(default=None, description="the re-embedding campaign that queued it")
    model: str | None = Field(default=None, description="the model to embed it with; unset: the worker's own")
    # Footage (issue #14): which seconds of the clip this job covers. Optional within version 1.
    part: FootagePart | None = Field(default=None, description="the part of a footage clip (kind footage)")


class ModelInfo(Message):
    """Which face model produced an embedding; galleries never mix models."""

    name: str
    version: str
    dim: int = Field(gt=0)
    match_threshold: float
    alert_threshold: float


class Quality(Message):
    """Per-face quality assessment and the reasons a face is unfit, if any."""

    det_score: float
    face_px: float
    blur: float
    yaw: float
    usable_as_reference: bool
    usable_as_sighting: bool
    reasons: list[str] = []


class Face(Message):
    """One detected, aligned and embedded face."""

    index: int
    box: tuple[float, float, float, float]
    landmarks: list[tuple[float, float]]
    quality: Quality
    embedding_b64: str

    @classmethod
    def build(cls, index: int, box, landmarks, quality: Quality, embedding: np.ndarray) -> "Face":
        """Build a face message from numpy arrays (embedding stored as little-endian float32)."""
        vec = np.asarray(embedding, dtype="<f4")
        return cls(
            index=index,
            box=tuple(float(v) for v in box),
            landmarks=[(float(x), float(y)) for x, y in np.asarray(landmarks).reshape(-1, 2)],
            quality=quality,
            embedding_b64=base64.b64encode(vec.tobytes()).decode("ascii"),
        )

    def embedding(self) -> np.ndarray:
        """The L2-normalised embedding as float32."""
        return np.frombuffer(base64.b64decode(self.embedding_b64), dtype="<f4")


class FacesResult(Message):
    """Worker -> match: every face of one photo, or why the photo could not be processed."""

    version: Literal[1] = 1
    job: Job
    status: Literal["ok", "failed"]
    error: str | None = None
    stage: FailedStage | None = Field(default=None, description="where a failed photo stopped")
    model: ModelInfo | None = None
    image_width: int = 0
    image_height: int = 0
    faces: list[Face] = []
    faces_key: str | None = Field(default=None, description="S3 key of the faces when too big for SQS")


class Recipient(Message):
    """Who notify tells about an alert: an e-mail address, or an E.164 phone number for an SMS."""

    channel: Literal["email", "sms"]
    address: str


class AlertMessage(Message):
    """Match -> notify (via the alerts SNS topic): a candidate sighting of a missing person.

    `recipients` (added within version 1, so older messages still parse) are the agency's subscribers
    for this alert; empty means the agency's own e-mail and the SMS topic, as before subscriptions.
    """

    version: Literal[1] = 1
    alert_id: str
    case_id: str
    person_name: str
    agency_id: str
    agency_name: str
    agency_email: str
    sighting_id: str
    reference_photo_id: str
    face_index: int
    face_box: tuple[float, float, float, float]
    score: float
    model_name: str
    seen_at: datetime | None = None
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    created_at: datetime
    recipients: list[Recipient] = []


class DeliveryRecord(Message):
    """Notify -> record (via the deliveries queue): one attempt to tell an agency about an alert."""

    version: Literal[1] = 1
    alert_id: str
    channel: Literal["email", "sms"]
    recipient: str
    ok: bool
    provider_id: str | None = None
    error: str | None = None


class Track(Message):
    """One face followed across the sampled frames of a clip's part: one sighting face of a person."""

    track: int = Field(ge=0, description="its number within the part")
    start_s: float
    end_s: float
    best_s: float = Field(description="the time of its best-quality frame, whose still is stored")
    frames: int = Field(ge=1, description="sampled frames it was seen in")
    box: tuple[float, float, float, float] = Field(description="the face in the still")
    landmarks: list[tuple[float, float]]
    quality: Quality = Field(description="of the best frame")
    embedding_b64: str = Field(description="the track's representative embedding (see gpu_worker/tracking.py)")
    still_key: str | None = None
    still_width: int = 0
    still_height: int = 0
    path: list[tuple[float, float, float, float, float]] = Field(
        default_factory=list, description="(t, x1, y1, x2, y2) of the face in sampled frames, at most 240")

    def embedding(self) -> np.ndarray:
        """The L2-normalised representative embedding as float32."""
        return np.frombuffer(base64.b64decode(self.embedding_b64), dtype="<f4")


class TracksResult(Message):
    """Worker -> footage: the face tracks of one part of a clip, or why the part failed (with any tracks found
    before it did)."""

    version: Literal[1] = 1
    type: Literal["tracks"] = "tracks"
    job: Job
    status: Literal["ok", "failed"]
    error: str | None = None
    stage: FailedStage | None = None
    model: ModelInfo | None = None
    frames_total: int = Field(default=0, description="frames the part holds, from the stream's header")
    frames_decoded: int = 0
    frames_sampled: int = 0
    faces_found: int = 0
    tracks: list[Track] = []
    tracks_key: str | None = Field(default=None, description="S3 key of the tracks when too big for SQS")


class FootageProgress(Message):
    """Worker -> footage: how far a part has got, sent every few seconds while it runs."""

    version: Literal[1] = 1
    type: Literal["progress"] = "progress"
    clip_id: str
    part: int
    frames_total: int
    frames_done: int
    faces_found: int
