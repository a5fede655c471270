"""Photos in MySQL."""

from __future__ import annotations

from datetime import datetime

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.photo import Photo, PhotoStatus

_COLUMNS = (
    "id", "kind", "case_id", "s3_key", "status", "reason", "content_type", "size_bytes", "width", "height",
    "face_count", "taken_at", "place", "lat", "lon", "contact", "job_sent_at",
)
_TIMES = ("taken_at", "job_sent_at")


class PhotoRepository:
    """PhotoStore on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_photo(self, photo: Photo) -> bool:
        row = photo.model_dump(mode="python")
        values = [to_db(row[c]) if c in _TIMES else getattr(row[c], "value", row[c]) for c in _COLUMNS]
        placeholders = ", ".join(["%s"] * len(_COLUMNS))
        inserted = self._db.execute(
            f"INSERT INTO photos ({', '.join(_COLUMNS)}) VALUES ({placeholders}) ON DUPLICATE KEY UPDATE id = id", values
        )
        return inserted == 1

    def get_photo(self, photo_id: str) -> Photo | None:
        rows = self._db.query(f"SELECT {', '.join(_COLUMNS)} FROM photos WHERE id = %s", (photo_id,))
        if not rows:
            return None
        row = rows[0]
        return Photo(**{**row, **{c: from_db(row[c]) for c in _TIMES}})

    def mark_job_sent(self, photo_id: str, at: datetime) -> None:
        self._db.execute("UPDATE photos SET job_sent_at = %s WHERE id = %s", (to_db(at), photo_id))

    def set_photo_status(
        self, photo_id: str, status: PhotoStatus, reason: str | None = None, face_count: int | None = None
    ) -> None:
        self._db.execute(
            "UPDATE photos SET status = %s, reason = %s, face_count = COALESCE(%s, face_count) WHERE id = %s",
            (status.value, reason[:1000] if reason else None, face_count, photo_id),
        )
