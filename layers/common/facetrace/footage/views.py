"""What an agency sees of footage: its clips, newest first; a clip's status, progress and appearances (its own
clips), and for an alert raised by an appearance, the stretch of video to play (anyone who may see the alert).
Both of the latter are audited; the list shows no video and is not."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta, timezone
from typing import Protocol, Sequence

from pydantic import BaseModel, Field

from facetrace.access import NotVisible, Viewer, can_see
from facetrace.alert import Alert
from facetrace.audit import AuditAction, record
from facetrace.casework import InvalidCursor
from facetrace.footage.clip import Appearance, Clip, ClipPart, FootageStore, ListedClip, PartStatus
from facetrace.ports import ObjectStore
from facetrace.review import ReviewStore, visible_alert

# The alert page starts the clip this long before the appearance, so the reviewer sees the person arrive.
LEAD_IN_S = 5.0


class AppearanceView(BaseModel):
    """One appearance in a clip: when (seconds into the clip and wall-clock), its sighting and visible alerts."""

    number: int
    start_s: float
    end_s: float
    best_s: float
    seen_from: datetime
    seen_until: datetime
    sighting_id: str
    alert_ids: list[str] = Field(default_factory=list, description="alerts of cases this agency may see")


class ClipView(BaseModel):
    """A clip's status and progress (parts and frames done of all, faces found) and its appearances."""

    clip_id: str
    status: str = Field(description="pending (no upload yet), received (being searched), processed, rejected, "
                        "duplicate or failed")
    reason: str | None = None
    failed_stage: str | None = None
    camera_id: str | None = None
    started_at: datetime
    place: str | None = None
    content_type: str
    size_bytes: int | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration_s: float | None = None
    parts_total: int = 0
    parts_done: int = 0
    parts_failed: int = 0
    frames_total: int = 0
    frames_done: int = 0
    faces_found: int = 0
    progress: float = Field(0.0, description="frames done / frames in all parts, 0 to 1")
    parts: list[ClipPart] = Field(default_factory=list)
    appearances: list[AppearanceView] = Field(default_factory=list)


class ClipListing(BaseModel):
    """One clip in the agency's list: when and where it was recorded, by whom, its status and appearances."""

    clip_id: str
    status: str = Field(description="pending (no upload yet), received (being searched), processed, rejected, "
                        "duplicate or failed")
    reason: str | None = None
    camera_id: str | None = Field(default=None, description="the camera that uploaded it; null: the agency itself")
    started_at: datetime
    place: str | None = None
    content_type: str
    duration_s: float | None = None
    appearances: int = Field(0, description="appearances of a person found in it so far")
    uploaded_at: datetime = Field(description="when its upload ticket was issued (the list's order)")
    erased: bool = Field(False, description="the video was erased after retention")


class ClipPage(BaseModel):
    """One page of the agency's clips, newest first."""

    clips: list[ClipListing]
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for the next page; null on the last")


class AlertFootage(BaseModel):
    """The stretch of a clip an alert's appearance is in: play `clip_url` from `play_from_s`; the face is at
    `path` (t, x1, y1, x2, y2 in the clip's pixels) between start_s and end_s."""

    alert_id: str
    clip_id: str
    clip_url: str | None = Field(default=None, description="presigned GET; null once the clip is erased")
    content_type: str
    started_at: datetime
    place: str | None = None
    play_from_s: float
    start_s: float
    end_s: float
    best_s: float
    seen_from: datetime
    seen_until: datetime
    width: int | None = None
    height: int | None = None
    path: list[tuple[float, float, float, float, float]] = Field(default_factory=list)
    urls_expire_in: int


class ViewStore(FootageStore, ReviewStore, Protocol):
    def alerts_of_sightings(self, sighting_ids: Sequence[str]) -> list[Alert]:
        """Every alert of these sightings."""
        ...


def list_clips(store: FootageStore, viewer: Viewer, cursor: str | None, limit: int) -> ClipPage:
    """A page of the viewer's agency's clips (its cameras' too), newest first, and the cursor of the next."""
    before = _decode_cursor(cursor) if cursor else None
    # One more than asked: whether it exists says if there is a next page.
    found = store.clips_of(viewer.agency_id, before, limit + 1)
    page = found[:limit]
    return ClipPage(clips=[_listing(c) for c in page],
                    next_cursor=_encode_cursor(page[-1]) if len(found) > limit else None)


def _listing(clip: ListedClip) -> ClipListing:
    return ClipListing(clip_id=clip.id, status=clip.status or "pending", reason=clip.reason, camera_id=clip.camera_id,
                       started_at=clip.started_at, place=clip.place, content_type=clip.content_type,
                       duration_s=clip.duration_s, appearances=clip.appearances, uploaded_at=clip.created_at,
                       erased=clip.erased_at is not None)


def _encode_cursor(clip: Clip) -> str:
    raw = f"{clip.created_at.astimezone(timezone.utc).isoformat()}|{clip.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, clip_id = raw.split("|")
        return datetime.fromisoformat(at), str(uuid.UUID(clip_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("must be a next_cursor this API returned") from None


def clip_view(store: ViewStore, viewer: Viewer, clip_id: str) -> ClipView:
    """A clip of the viewer's agency (others: NotVisible) with progress and appearances; audited."""
    clip = store.get_clip(clip_id)
    if clip is None or clip.agency_id != viewer.agency_id:
        raise NotVisible(f"clip {clip_id} not found")
    record(store, viewer, AuditAction.FOOTAGE_VIEWED, object_ids=[clip.id])
    photo = store.get_photo(clip.id)
    parts = store.parts_of(clip.id)
    frames_total = sum(p.frames_total for p in parts) or (clip.frames_total or 0)
    frames_done = sum(min(p.frames_done, p.frames_total) if p.frames_total else p.frames_done for p in parts)
    view = ClipView(
        clip_id=clip.id, status=photo.status.value if photo else "pending", reason=photo.reason if photo else None,
        failed_stage=photo.failed_stage if photo else None, camera_id=clip.camera_id, started_at=clip.started_at,
        place=clip.place, content_type=clip.content_type, size_bytes=photo.size_bytes if photo else None,
        codec=clip.codec, width=clip.width, height=clip.height, fps=clip.fps, duration_s=clip.duration_s,
        parts_total=len(parts), parts_done=sum(p.status is PartStatus.DONE for p in parts),
        parts_failed=sum(p.status is PartStatus.FAILED for p in parts), frames_total=frames_total,
        frames_done=frames_done, faces_found=sum(p.faces_found for p in parts),
        progress=round(frames_done / frames_total, 4) if frames_total else 0.0, parts=parts,
        appearances=_appearances(store, viewer, clip, store.appearances_of(clip.id)),
    )
    return view


def _appearances(store: ViewStore, viewer: Viewer, clip: Clip, found: list[Appearance]) -> list[AppearanceView]:
    alerts: dict[str, list[str]] = {}
    for alert in store.alerts_of_sightings([a.sighting_id for a in found]):
        case = store.get_case(alert.case_id)
        # Another agency's case stays its own business: its alerts are not listed here.
        if case is not None and can_see(case, viewer, store):
            alerts.setdefault(alert.sighting_id, []).append(alert.id)
    return [AppearanceView(number=a.number, start_s=a.start_s, end_s=a.end_s, best_s=a.best_s,
                           seen_from=clip.started_at + timedelta(seconds=a.start_s),
                           seen_until=clip.started_at + timedelta(seconds=a.end_s), sighting_id=a.sighting_id,
                           alert_ids=sorted(alerts.get(a.sighting_id, [])))
            for a in sorted(found, key=lambda a: a.number)]


def alert_footage(store: ViewStore, objects: ObjectStore, url_ttl_s: int, viewer: Viewer, alert_id: str) -> AlertFootage:
    """The clip stretch of an alert raised by footage, with a presigned link; the viewing is audited before the
    link is made. An alert the viewer may not see, or one from a photo, is NotVisible."""
    alert, case = visible_alert(store, viewer, alert_id)
    appearance = store.appearance_of_sighting(alert.sighting_id)
    clip = store.get_clip(appearance.clip_id) if appearance else None
    if appearance is None or clip is None:
        raise NotVisible(f"alert {alert_id} has no footage")
    record(store, viewer, AuditAction.FOOTAGE_VIEWED, case.id, alert.id, [clip.id, alert.sighting_id])
    url = objects.presign_get(clip.s3_key, url_ttl_s) if clip.erased_at is None else None
    return AlertFootage(
        alert_id=alert.id, clip_id=clip.id, clip_url=url, content_type=clip.content_type, started_at=clip.started_at,
        place=clip.place, play_from_s=max(0.0, appearance.start_s - LEAD_IN_S), start_s=appearance.start_s,
        end_s=appearance.end_s, best_s=appearance.best_s,
        seen_from=clip.started_at + timedelta(seconds=appearance.start_s),
        seen_until=clip.started_at + timedelta(seconds=appearance.end_s), width=clip.width, height=clip.height,
        path=appearance.path, urls_expire_in=url_ttl_s,
    )
