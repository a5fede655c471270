"""In-memory fakes for footage (issue #14): the store's footage half and the bucket's large-object half.

They extend tests/fakes.py's MemoryStore and FakeObjects (kept in their own module so the footage work touches
the shared fakes not at all); tests/contract/test_footage_store_contract.py holds them to MySQLStore's behaviour.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timezone
from typing import Sequence

from facetrace.alert import Alert, AlertStatus
from facetrace.footage.clip import (Appearance, Camera, Clip, ClipPart, ListedClip, PartOutcome, PartStatus,
                                    StoredTrack, VideoFacts)
from facetrace.messages import FootagePart
from facetrace.ports import ObjectInfo
from tests.fakes import FakeObjects, MemoryStore, etag_of


class FootageMemoryStore(MemoryStore):
    """MemoryStore with cameras, clips, parts, tracks and appearances."""

    def __init__(self) -> None:
        super().__init__()
        self.cameras: dict[str, Camera] = {}
        self.clips: dict[str, Clip] = {}
        self.parts: dict[tuple[str, int], ClipPart] = {}
        self.part_models: dict[tuple[str, int], object] = {}
        self.tracks: dict[tuple[str, int, int], str] = {}
        self.appearances: dict[str, Appearance] = {}

    def add_camera(self, camera: Camera) -> None:
        self.cameras[camera.id] = camera

    def get_camera(self, camera_id: str) -> Camera | None:
        return self.cameras.get(camera_id)

    def cameras_of(self, agency_id: str) -> list[Camera]:
        return sorted((c for c in self.cameras.values() if c.agency_id == agency_id), key=lambda c: (c.created_at, c.id))

    def revoke_camera(self, camera_id: str, agency_id: str, at: datetime) -> bool:
        cam = self.cameras.get(camera_id)
        if cam is None or cam.agency_id != agency_id or cam.revoked_at is not None:
            return False
        self.cameras[camera_id] = cam.model_copy(update={"revoked_at": at})
        return True

    def add_clip(self, clip: Clip) -> None:
        self.clips[clip.id] = clip

    def get_clip(self, clip_id: str) -> Clip | None:
        return self.clips.get(clip_id)

    def clips_of(self, agency_id: str, before: tuple[datetime, str] | None, limit: int) -> list[ListedClip]:
        mine = [c for c in self.clips.values() if c.agency_id == agency_id
                and (before is None or (c.created_at, c.id) < before)]
        listed = []
        for clip in sorted(mine, key=lambda c: (c.created_at, c.id), reverse=True)[:limit]:
            photo = self.photos.get(clip.id)
            listed.append(ListedClip(**clip.model_dump(), status=photo.status.value if photo else None,
                                     reason=photo.reason if photo else None,
                                     appearances=sum(a.clip_id == clip.id for a in self.appearances.values())))
        return listed

    def set_clip_facts(self, clip_id: str, facts: VideoFacts, parts: Sequence[FootagePart]) -> None:
        self.clips[clip_id] = self.clips[clip_id].model_copy(update=dict(
            container=facts.container, codec=facts.codec, width=facts.width, height=facts.height, fps=facts.fps,
            duration_s=facts.duration_s, frames_total=facts.frames, parts=len(parts)))
        for p in parts:
            self.parts.setdefault((clip_id, p.index), ClipPart(clip_id=clip_id, index=p.index, start_s=p.start_s,
                                                               end_s=p.end_s))

    def parts_of(self, clip_id: str) -> list[ClipPart]:
        return [p for (c, _), p in sorted(self.parts.items()) if c == clip_id]

    def record_progress(self, clip_id: str, part: int, frames_total: int, frames_done: int, faces_found: int) -> None:
        found = self.parts.get((clip_id, part))
        if found is None or found.status is not PartStatus.QUEUED:
            return
        self.parts[(clip_id, part)] = found.model_copy(update=dict(
            frames_total=max(found.frames_total, frames_total), frames_done=max(found.frames_done, frames_done),
            faces_found=max(found.faces_found, faces_found)))

    def finish_part(self, clip_id: str, part: int, outcome: PartOutcome) -> bool:
        found = self.parts.get((clip_id, part))
        if found is None or found.status is not PartStatus.QUEUED:
            return False
        self.parts[(clip_id, part)] = found.model_copy(update=dict(
            status=outcome.status, stage=outcome.stage, reason=(outcome.reason or "")[:1000] or None,
            frames_total=outcome.frames_total, frames_done=outcome.frames_done, frames_sampled=outcome.frames_sampled,
            faces_found=outcome.faces_found, tracks=len(outcome.tracks),
            model_name=outcome.model.name if outcome.model else None))
        self.part_models[(clip_id, part)] = outcome.model
        for t in outcome.tracks:
            self.tracks.setdefault((clip_id, part, t.track), t.model_dump_json())
        return True

    def tracks_of(self, clip_id: str) -> list[StoredTrack]:
        from facetrace.messages import Track

        return [StoredTrack(part=p, model=self.part_models[(c, p)], track=Track.model_validate_json(data))
                for (c, p, _), data in sorted(self.tracks.items()) if c == clip_id and self.part_models.get((c, p))]

    def add_appearance(self, appearance: Appearance) -> bool:
        if appearance.sighting_id in self.appearances:
            return False
        self.appearances[appearance.sighting_id] = appearance
        return True

    def appearances_of(self, clip_id: str) -> list[Appearance]:
        return sorted((a for a in self.appearances.values() if a.clip_id == clip_id), key=lambda a: a.number)

    def appearance_of_sighting(self, sighting_id: str) -> Appearance | None:
        return self.appearances.get(sighting_id)

    def alerts_of_sightings(self, sighting_ids: Sequence[str]) -> list[Alert]:
        return sorted((a for a in self.alerts.values() if a.sighting_id in set(sighting_ids)),
                      key=lambda a: (a.created_at, a.id))

    def expired_footage(self, before: datetime, limit: int) -> list[Clip]:
        confirmed = {a.sighting_id for a in self.alerts.values() if a.status is AlertStatus.CONFIRMED}
        kept = {a.clip_id for a in self.appearances.values() if a.sighting_id in confirmed}
        due = [c for c in self.clips.values() if c.erased_at is None and c.id in self.photos
               and self.photo_created[c.id] < before and c.id not in kept]
        return sorted(due, key=lambda c: self.photo_created[c.id])[:limit]

    def erase_footage(self, clip_id: str, at: datetime) -> None:
        for key in [k for k in self.tracks if k[0] == clip_id]:
            del self.tracks[key]
        clip = self.clips[clip_id]
        self.clips[clip_id] = clip.model_copy(update={"erased_at": clip.erased_at or at, "place": None, "lat": None,
                                                      "lon": None})


class FootageObjects(FakeObjects):
    """FakeObjects with streaming downloads, server-side copies and multipart uploads."""

    def __init__(self) -> None:
        super().__init__()
        self.multipart: dict[str, tuple[str, str]] = {}  # upload id -> (key, content type)
        self.parts: dict[tuple[str, int], bytes] = {}

    def download(self, key: str, path: str, etag: str | None = None) -> ObjectInfo | None:
        read = self.read(key, etag)
        if read is None:
            return None
        with open(path, "wb") as handle:
            handle.write(read[0])
        return read[1]

    def add_file(self, key: str, path, content_type: str = "video/mp4") -> str:
        """Put a file's bytes under key; its ETag."""
        with open(path, "rb") as handle:
            body = handle.read()
        self.add(key, body, content_type)
        return etag_of(body)

    def copy_once(self, source_key: str, key: str, etag: str | None, content_type: str,
                  metadata: dict[str, str]) -> bool:
        if key in self.objects:
            return False
        body = self.objects[source_key][0]
        if etag and etag.strip('"') != etag_of(body):
            raise ValueError("precondition failed: the source changed")
        self.objects[key] = (body, content_type, dict(metadata))
        return True

    def start_multipart(self, key: str, content_type: str) -> str:
        upload_id = uuid.uuid4().hex
        self.multipart[upload_id] = (key, content_type)
        return upload_id

    def presign_part(self, key: str, upload_id: str, number: int, expires_in: int) -> str:
        return f"https://uploads.test/{key}?uploadId={upload_id}&partNumber={number}"

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        stored_key, content_type = self.multipart.pop(upload_id)
        assert stored_key == key
        self.add(key, b"".join(self.parts.pop((upload_id, n)) for n, _ in parts), content_type)


def copy_file(src, dst) -> None:
    """Copy a clip (tests write clips once and reuse them)."""
    shutil.copyfile(src, dst)


NOW = datetime.now(timezone.utc)
