"""Footage in MySQL: cameras, clips, their parts, tracks and appearances."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Sequence

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.alerts import _COLUMNS as _ALERT, _alert
from facetrace.adapters.mysql.connection import Database
from facetrace.alert import Alert
from facetrace.footage.clip import (Appearance, Camera, Clip, ClipPart, ListedClip, PartOutcome, PartStatus,
                                    StoredTrack, VideoFacts)
from facetrace.messages import FootagePart, ModelInfo, Track

_CAMERA = ("id", "agency_id", "name", "place", "lat", "lon", "key_hash", "created_at", "revoked_at")
_CLIP = ("id", "agency_id", "camera_id", "s3_key", "started_at", "place", "lat", "lon", "content_type", "created_at",
         "container", "codec", "width", "height", "fps", "duration_s", "frames_total", "parts", "erased_at")
_PART = ("clip_id", "part", "start_s", "end_s", "status", "stage", "reason", "frames_total", "frames_done",
         "frames_sampled", "faces_found", "tracks", "model")
_APPEARANCE = ("sighting_id", "clip_id", "number", "model_name", "start_s", "end_s", "best_s", "tracks", "box",
               "still_key", "path")
_TIMES = ("created_at", "revoked_at", "started_at", "erased_at")


def _insert(table: str, columns: Sequence[str], ignore: bool = False) -> str:
    return (f"INSERT {'IGNORE ' if ignore else ''}INTO {table} ({', '.join(columns)})"
            f" VALUES ({', '.join(['%s'] * len(columns))})")


def _times(row: dict) -> dict:
    return {k: from_db(v) if k in _TIMES else v for k, v in row.items()}


class FootageRepository:
    """FootageStore on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------ cameras
    def add_camera(self, camera: Camera) -> None:
        row = {**camera.model_dump(), "key_hash": camera.key_hash}
        self._db.execute(_insert("cameras", _CAMERA), [to_db(row[c]) if c in _TIMES else row[c] for c in _CAMERA])

    def get_camera(self, camera_id: str) -> Camera | None:
        rows = self._db.query(f"SELECT {', '.join(_CAMERA)} FROM cameras WHERE id = %s", (camera_id,))
        return Camera(**_times(rows[0])) if rows else None

    def cameras_of(self, agency_id: str) -> list[Camera]:
        rows = self._db.query(f"SELECT {', '.join(_CAMERA)} FROM cameras WHERE agency_id = %s ORDER BY created_at, id",
                              (agency_id,))
        return [Camera(**_times(r)) for r in rows]

    def revoke_camera(self, camera_id: str, agency_id: str, at: datetime) -> bool:
        return self._db.execute("UPDATE cameras SET revoked_at = %s WHERE id = %s AND agency_id = %s"
                                " AND revoked_at IS NULL", (to_db(at), camera_id, agency_id)) == 1

    # ------------------------------------------------------------------ clips
    def add_clip(self, clip: Clip) -> None:
        row = clip.model_dump()
        self._db.execute(_insert("footage", _CLIP), [to_db(row[c]) if c in _TIMES else row[c] for c in _CLIP])

    def get_clip(self, clip_id: str) -> Clip | None:
        rows = self._db.query(f"SELECT {', '.join(_CLIP)} FROM footage WHERE id = %s", (clip_id,))
        return Clip(**_times(rows[0])) if rows else None

    def clips_of(self, agency_id: str, before: tuple[datetime, str] | None, limit: int) -> list[ListedClip]:
        where, args = ["f.agency_id = %s"], [agency_id]
        if before is not None:
            where.append("(f.created_at < %s OR (f.created_at = %s AND f.id < %s))")
            args += [to_db(before[0]), to_db(before[0]), before[1]]
        columns = ", ".join(f"f.{c}" for c in _CLIP)
        rows = self._db.query(
            f"SELECT {columns}, p.status, p.reason, (SELECT COUNT(*) FROM footage_appearances a WHERE a.clip_id = f.id)"
            f" AS appearances FROM footage f LEFT JOIN photos p ON p.id = f.id WHERE {' AND '.join(where)}"
            " ORDER BY f.created_at DESC, f.id DESC LIMIT %s", (*args, limit))
        return [ListedClip(**_times(r)) for r in rows]

    def set_clip_facts(self, clip_id: str, facts: VideoFacts, parts: Sequence[FootagePart]) -> None:
        with self._db.transaction():
            self._db.execute(
                "UPDATE footage SET container = %s, codec = %s, width = %s, height = %s, fps = %s, duration_s = %s,"
                " frames_total = %s, parts = %s WHERE id = %s",
                (facts.container, facts.codec, facts.width, facts.height, facts.fps, facts.duration_s, facts.frames,
                 len(parts), clip_id))
            self._db.executemany(_insert("footage_parts", ("clip_id", "part", "start_s", "end_s"), ignore=True),
                                 [(clip_id, p.index, p.start_s, p.end_s) for p in parts])

    def parts_of(self, clip_id: str) -> list[ClipPart]:
        rows = self._db.query(f"SELECT {', '.join(_PART)} FROM footage_parts WHERE clip_id = %s ORDER BY part",
                              (clip_id,))
        return [_part(r) for r in rows]

    def record_progress(self, clip_id: str, part: int, frames_total: int, frames_done: int, faces_found: int) -> None:
        self._db.execute(
            "UPDATE footage_parts SET frames_total = GREATEST(frames_total, %s), frames_done = GREATEST(frames_done,"
            " %s), faces_found = GREATEST(faces_found, %s) WHERE clip_id = %s AND part = %s AND status = 'queued'",
            (frames_total, frames_done, faces_found, clip_id, part))

    def finish_part(self, clip_id: str, part: int, outcome: PartOutcome) -> bool:
        with self._db.transaction():
            changed = self._db.execute(
                "UPDATE footage_parts SET status = %s, stage = %s, reason = %s, frames_total = %s, frames_done = %s,"
                " frames_sampled = %s, faces_found = %s, tracks = %s, model = %s"
                " WHERE clip_id = %s AND part = %s AND status = 'queued'",
                (outcome.status.value, outcome.stage, (outcome.reason or "")[:1000] or None, outcome.frames_total,
                 outcome.frames_done, outcome.frames_sampled, outcome.faces_found, len(outcome.tracks),
                 outcome.model.model_dump_json() if outcome.model else None, clip_id, part)) == 1
            if changed:
                self._db.executemany(_insert("footage_tracks", ("clip_id", "part", "track", "data"), ignore=True),
                                     [(clip_id, part, t.track, t.model_dump_json()) for t in outcome.tracks])
        return changed

    def tracks_of(self, clip_id: str) -> list[StoredTrack]:
        rows = self._db.query(
            "SELECT t.part, t.data, p.model FROM footage_tracks t JOIN footage_parts p ON p.clip_id = t.clip_id"
            " AND p.part = t.part WHERE t.clip_id = %s AND p.model IS NOT NULL ORDER BY t.part, t.track", (clip_id,))
        return [StoredTrack(part=r["part"], model=ModelInfo.model_validate_json(r["model"]),
                            track=Track.model_validate_json(r["data"])) for r in rows]

    # ------------------------------------------------------------------ appearances
    def add_appearance(self, appearance: Appearance) -> bool:
        row = appearance.model_dump(mode="json")
        values = [json.dumps(row[c]) if c in ("tracks", "box", "path") else row[c] for c in _APPEARANCE]
        return self._db.execute(_insert("footage_appearances", _APPEARANCE, ignore=True), values) == 1

    def appearances_of(self, clip_id: str) -> list[Appearance]:
        rows = self._db.query(f"SELECT {', '.join(_APPEARANCE)} FROM footage_appearances WHERE clip_id = %s"
                              " ORDER BY number", (clip_id,))
        return [_appearance(r) for r in rows]

    def appearance_of_sighting(self, sighting_id: str) -> Appearance | None:
        rows = self._db.query(f"SELECT {', '.join(_APPEARANCE)} FROM footage_appearances WHERE sighting_id = %s",
                              (sighting_id,))
        return _appearance(rows[0]) if rows else None

    def alerts_of_sightings(self, sighting_ids: Sequence[str]) -> list[Alert]:
        if not sighting_ids:
            return []
        marks = ", ".join(["%s"] * len(sighting_ids))
        return [_alert(r) for r in self._db.query(
            f"SELECT {', '.join(_ALERT)} FROM alerts WHERE sighting_id IN ({marks}) ORDER BY created_at, id", list(sighting_ids))]

    # ------------------------------------------------------------------ retention
    def expired_footage(self, before: datetime, limit: int) -> list[Clip]:
        columns = ", ".join(f"f.{c}" for c in _CLIP)
        rows = self._db.query(
            f"SELECT {columns} FROM footage f JOIN photos p ON p.id = f.id WHERE f.erased_at IS NULL"
            " AND p.created_at < %s AND NOT EXISTS (SELECT 1 FROM footage_appearances a JOIN alerts al"
            " ON al.sighting_id = a.sighting_id WHERE a.clip_id = f.id AND al.status = 'confirmed')"
            " ORDER BY p.created_at LIMIT %s", (to_db(before), limit))
        return [Clip(**_times(r)) for r in rows]

    def erase_footage(self, clip_id: str, at: datetime) -> None:
        with self._db.transaction():
            self._db.execute("DELETE FROM footage_tracks WHERE clip_id = %s", (clip_id,))
            self._db.execute("UPDATE footage SET erased_at = COALESCE(erased_at, %s), place = NULL, lat = NULL,"
                             " lon = NULL WHERE id = %s", (to_db(at), clip_id))


def _part(row: dict) -> ClipPart:
    model = json.loads(row.pop("model")) if row.get("model") else None
    return ClipPart(**{**row, "clip_id": row["clip_id"], "index": row.pop("part"), "status": PartStatus(row["status"]),
                       "model_name": model["name"] if model else None})


def _appearance(row: dict) -> Appearance:
    return Appearance(**{**row, **{c: json.loads(row[c]) for c in ("tracks", "box", "path")}})
