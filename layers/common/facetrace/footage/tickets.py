"""Upload tickets for clips (agencies and their cameras) and camera registration.

An agency asks for a ticket naming the clip's size, start time and place; a registered camera asks with its key
(its place is the camera's). The server chooses the key (`uploads/footage/<agency or camera>/<clip>`), records
the clip, and answers a presigned POST, or for a large clip a presigned multipart upload (one URL per part, then
POST /footage/{id}/complete). A camera's key is shown once; only its SHA-256 is kept, and a revoked key gets
nothing. A camera's still frames are ordinary sightings with the camera's place.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from facetrace.access import NotVisible, Viewer
from facetrace.audit import AuditAction, AuditLog, record
from facetrace.case import Place, SeenAt
from facetrace.footage.clip import Camera, Clip, FootageStore
from facetrace.keys import footage_key, upload_key
from facetrace.ports import ObjectStore
from facetrace.upload import ContentType, SightingDetails, UploadTicket, Uploads, new_receipt_id

FootageType = Literal["video/mp4", "video/quicktime", "video/x-matroska", "video/x-msvideo", "video/x-motion-jpeg"]
MAX_PARTS = 10_000  # S3's limit for one multipart upload


class FootageTooLarge(ValueError):
    """The clip is larger than any clip accepted; answered as 422 on size_bytes."""


class CameraRefused(PermissionError):
    """No camera with that id and key, or its key was revoked; answered as 401."""


class FootageRequest(BaseModel):
    """What a clip's uploader says about it: type, size, when the recording started, and (agencies) where."""

    model_config = ConfigDict(extra="forbid")

    content_type: FootageType = "video/mp4"
    size_bytes: int = Field(ge=1, description="the file's exact size: it decides between one POST and parts")
    started_at: SeenAt = Field(description="when the recording started (times in the clip count from here)")
    place: Place | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class CameraFootageRequest(BaseModel):
    """A camera's clip: its place is the camera's."""

    model_config = ConfigDict(extra="forbid")

    content_type: FootageType = "video/mp4"
    size_bytes: int = Field(ge=1)
    started_at: SeenAt


class CameraFrameRequest(BaseModel):
    """A camera's still frame: a sighting at the camera's place."""

    model_config = ConfigDict(extra="forbid")

    content_type: ContentType = "image/jpeg"
    taken_at: SeenAt


class FootageTicket(BaseModel):
    """How to upload a clip: one presigned POST (`url` + `fields`, the file last as `file`), or for a large clip
    one presigned PUT per part of `part_bytes` (keep each answer's ETag), then POST /footage/{clip_id}/complete."""

    clip_id: str
    method: Literal["post", "multipart"]
    url: str | None = None
    fields: dict[str, str] | None = None
    upload_id: str | None = None
    part_bytes: int | None = None
    part_urls: list[str] = Field(default_factory=list)
    max_bytes: int
    expires_in: int


class UploadedPart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    part_number: int = Field(ge=1, le=MAX_PARTS)
    etag: str = Field(min_length=1, max_length=200)


class CompleteRequest(BaseModel):
    """The parts of a multipart upload, as S3 answered each PUT."""

    model_config = ConfigDict(extra="forbid")

    upload_id: str = Field(min_length=1, max_length=1000)
    parts: list[UploadedPart] = Field(min_length=1, max_length=MAX_PARTS)


class NewCamera(BaseModel):
    """A camera to register: its name and where it looks."""

    model_config = ConfigDict(extra="forbid")

    name: Place = Field(min_length=1)
    place: Place = Field(min_length=1)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class CameraCredentials(BaseModel):
    """A registered camera and its key, shown this once: send it as X-Camera-Key."""

    camera: Camera
    key: str
    upload_prefix: str = Field(description="where its clips land in the bucket")


class MultipartObjects(ObjectStore, Protocol):
    def start_multipart(self, key: str, content_type: str) -> str:
        """Begin a multipart upload; its id."""
        ...

    def presign_part(self, key: str, upload_id: str, number: int, expires_in: int) -> str: ...

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None: ...


class TicketStore(FootageStore, AuditLog, Protocol):
    """Clips, cameras and the audit trail."""


@dataclass(frozen=True)
class FootageUploads:
    """Issues clip tickets within the limits: POST up to post_max_bytes, parts of part_bytes beyond."""

    objects: MultipartObjects
    max_bytes: int
    post_max_bytes: int
    part_bytes: int
    ttl_s: int

    def ticket(self, clip: Clip, owner_id: str, size: int) -> FootageTicket:
        """A ticket for the clip that ingest will pin under footage/<owner>/<clip>."""
        key = upload_key(footage_key(owner_id, clip.id))
        common = dict(clip_id=clip.id, max_bytes=self.max_bytes, expires_in=self.ttl_s)
        if size <= self.post_max_bytes:
            form = self.objects.presign_post(key, clip.content_type, 1, self.max_bytes, {}, self.ttl_s)
            return FootageTicket(method="post", url=form.url, fields=form.fields, **common)
        part_bytes = max(self.part_bytes, math.ceil(size / MAX_PARTS))
        upload_id = self.objects.start_multipart(key, clip.content_type)
        urls = [self.objects.presign_part(key, upload_id, n, self.ttl_s)
                for n in range(1, math.ceil(size / part_bytes) + 1)]
        return FootageTicket(method="multipart", upload_id=upload_id, part_bytes=part_bytes, part_urls=urls, **common)


def _too_large(size: int, uploads: FootageUploads) -> None:
    if size > uploads.max_bytes:
        raise FootageTooLarge(f"must be at most {uploads.max_bytes} bytes")


def agency_upload(store: TicketStore, viewer: Viewer, request: FootageRequest, uploads: FootageUploads) -> FootageTicket:
    """Record an agency's clip and issue its ticket; audited (footage.uploaded)."""
    _too_large(request.size_bytes, uploads)
    clip_id = new_receipt_id()
    clip = Clip(id=clip_id, agency_id=viewer.agency_id, s3_key=footage_key(viewer.agency_id, clip_id),
                started_at=request.started_at, place=request.place, lat=request.lat, lon=request.lon,
                content_type=request.content_type, created_at=datetime.now(timezone.utc))
    store.add_clip(clip)
    record(store, viewer, AuditAction.FOOTAGE_UPLOADED, object_ids=[clip.id])
    return uploads.ticket(clip, viewer.agency_id, request.size_bytes)


def camera(store: FootageStore, camera_id: str, key: str | None) -> Camera:
    """The camera if the key is its own and not revoked, else CameraRefused."""
    found = store.get_camera(camera_id)
    offered = hashlib.sha256((key or "").encode()).hexdigest()
    # Compared in constant time, and the same answer for an unknown camera and a wrong key.
    if found is None or found.revoked_at is not None or not hmac.compare_digest(found.key_hash, offered):
        raise CameraRefused("unknown camera or wrong key")
    return found


def camera_upload(store: TicketStore, camera_id: str, key: str | None, request: CameraFootageRequest,
                  uploads: FootageUploads) -> FootageTicket:
    """Record a camera's clip (at the camera's place, for its agency) and issue its ticket."""
    cam = camera(store, camera_id, key)
    _too_large(request.size_bytes, uploads)
    clip_id = new_receipt_id()
    clip = Clip(id=clip_id, agency_id=cam.agency_id, camera_id=cam.id, s3_key=footage_key(cam.id, clip_id),
                started_at=request.started_at, place=cam.place, lat=cam.lat, lon=cam.lon,
                content_type=request.content_type, created_at=datetime.now(timezone.utc))
    store.add_clip(clip)
    return uploads.ticket(clip, cam.id, request.size_bytes)


def camera_frame(store: FootageStore, camera_id: str, key: str | None, request: CameraFrameRequest,
                 uploads: Uploads) -> UploadTicket:
    """A sighting ticket for one still frame of a camera, at its place and the frame's time."""
    cam = camera(store, camera_id, key)
    details = SightingDetails(content_type=request.content_type, taken_at=request.taken_at, place=cam.place,
                              lat=cam.lat, lon=cam.lon)
    return uploads.sighting(details)


def complete_upload(store: FootageStore, owner_id: str, clip_id: str, request: CompleteRequest,
                    objects: MultipartObjects) -> Clip:
    """Finish a clip's multipart upload for its agency or camera (anyone else: NotVisible); ingest follows."""
    clip = store.get_clip(clip_id)
    if clip is None or owner_id not in (clip.agency_id, clip.camera_id):
        raise NotVisible(f"clip {clip_id} not found")
    owner = clip.camera_id or clip.agency_id
    parts = sorted((p.part_number, p.etag) for p in request.parts)
    objects.complete_multipart(upload_key(footage_key(owner, clip.id)), request.upload_id, parts)
    return clip


def register_camera(store: TicketStore, viewer: Viewer, new: NewCamera) -> CameraCredentials:
    """Register a camera for the viewer's agency and make its key (shown once); audited."""
    key = secrets.token_urlsafe(32)
    cam = Camera(id=str(uuid.uuid4()), agency_id=viewer.agency_id, name=new.name, place=new.place, lat=new.lat,
                 lon=new.lon, key_hash=hashlib.sha256(key.encode()).hexdigest(), created_at=datetime.now(timezone.utc))
    record(store, viewer, AuditAction.CAMERA_REGISTERED, object_ids=[cam.id], reason=f"{cam.name} at {cam.place}")
    store.add_camera(cam)
    return CameraCredentials(camera=cam, key=key, upload_prefix=f"uploads/footage/{cam.id}/")


def list_cameras(store: FootageStore, viewer: Viewer) -> list[Camera]:
    """The agency's own cameras (never another agency's)."""
    return store.cameras_of(viewer.agency_id)


def revoke_camera(store: TicketStore, viewer: Viewer, camera_id: str) -> None:
    """Revoke one of the agency's cameras' key (another agency's camera is NotVisible); audited."""
    cam = store.get_camera(camera_id)
    if cam is None or cam.agency_id != viewer.agency_id:
        raise NotVisible(f"camera {camera_id} not found")
    record(store, viewer, AuditAction.CAMERA_REVOKED, object_ids=[camera_id])
    store.revoke_camera(camera_id, viewer.agency_id, datetime.now(timezone.utc))

