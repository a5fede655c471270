"""Photos in MySQL."""

from __future__ import annotations

from datetime import datetime

import pymysql

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.casework import ReferencePhoto, verdict
from facetrace.photo import FINAL, DuplicateContent, Photo, PhotoStatus

PHOTO_COLUMNS = _COLUMNS = (
    "id", "kind", "case_id", "s3_key", "status", "reason", "content_type", "size_bytes", "width", "height",
    "face_count", "taken_at", "place", "lat", "lon", "contact", "job_sent_at", "erased_at",
    "sha256", "dedup_key", "duplicate_of", "failed_stage",
)
_TIMES = ("taken_at", "job_sent_at", "erased_at")


class PhotoRepository:
    """PhotoStore on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_photo(self, photo: Photo) -> bool:
        row = photo.model_dump(mode="python")
        values = [to_db(row[c]) if c in _TIMES else getattr(row[c], "value", row[c]) for c in _COLUMNS]
        placeholders = ", ".join(["%s"] * len(_COLUMNS))
        try:
            self._db.execute(f"INSERT INTO photos ({', '.join(_COLUMNS)}) VALUES ({placeholders})", values)
        except pymysql.err.IntegrityError as exc:
            return self._conflict(photo, exc)
        return True

    def _conflict(self, photo: Photo, exc: Exception) -> bool:
        # Two unique keys: the id (a retried event: not new) or the bytes (claimed by another photo).
        if "ux_photos_dedup" not in str(exc):
            if self.get_photo(photo.id) is not None:
                return False
            raise exc
        original = self.photo_by_content(photo.dedup_key)
        raise DuplicateContent(original.id if original else "unknown") from None

    def photo_by_content(self, dedup_key: str) -> Photo | None:
        rows = self._db.query(f"SELECT {', '.join(_COLUMNS)} FROM photos WHERE dedup_key = %s", (dedup_key,))
        return photo_from_row(rows[0]) if rows else None

    def stuck_photos(self, before: datetime, limit: int) -> list[Photo]:
        rows = self._db.query(
            f"SELECT {', '.join(_COLUMNS)} FROM photos WHERE status = 'received' AND created_at < %s"
            " ORDER BY created_at LIMIT %s", (to_db(before), limit),
        )
        return [photo_from_row(r) for r in rows]

    def release_content(self, photo_id: str) -> None:
        self._db.execute("UPDATE photos SET dedup_key = NULL WHERE id = %s", (photo_id,))

    def add_refused_upload(self, photo_id: str, sha256: str | None, size: int | None, reason: str) -> None:
        self._db.execute("INSERT INTO refused_uploads (photo_id, sha256, size_bytes, reason) VALUES (%s, %s, %s, %s)",
                         (photo_id, sha256, size, reason[:300]))

    def refused_uploads(self, photo_id: str) -> list[dict]:
        """The refused writes to a photo's upload key, oldest first."""
        return self._db.query("SELECT sha256, size_bytes, reason, created_at FROM refused_uploads WHERE photo_id = %s"
                              " ORDER BY id", (photo_id,))

    def fail_photo(self, photo_id: str, stage: str, reason: str) -> bool:
        final = ", ".join(f"'{s.value}'" for s in FINAL)
        changed = self._db.execute(
            f"UPDATE photos SET status = 'failed', failed_stage = %s, reason = %s WHERE id = %s AND status NOT IN ({final})",
            (stage[:32], reason[:1000], photo_id),
        )
        return changed == 1

    def get_photo(self, photo_id: str) -> Photo | None:
        rows = self._db.query(f"SELECT {', '.join(_COLUMNS)} FROM photos WHERE id = %s", (photo_id,))
        return photo_from_row(rows[0]) if rows else None

    def reference_photos(self, case_id: str) -> list[ReferencePhoto]:
        rows = self._db.query(
            "SELECT p.id, p.status, p.reason, p.face_count, p.erased_at, COALESCE(SUM(f.usable), 0) AS usable_faces"
            " FROM photos p LEFT JOIN faces f ON f.photo_id = p.id WHERE p.case_id = %s AND p.kind = 'reference'"
            " GROUP BY p.id, p.status, p.reason, p.face_count, p.erased_at, p.created_at ORDER BY p.created_at, p.id",
            (case_id,),
        )
        return [_reference(r) for r in rows]

    def mark_job_sent(self, photo_id: str, at: datetime) -> None:
        self._db.execute("UPDATE photos SET job_sent_at = %s WHERE id = %s", (to_db(at), photo_id))

    def set_photo_status(
        self, photo_id: str, status: PhotoStatus, reason: str | None = None, face_count: int | None = None
    ) -> None:
        self._db.execute(
            "UPDATE photos SET status = %s, reason = %s, face_count = COALESCE(%s, face_count) WHERE id = %s",
            (status.value, reason[:1000] if reason else None, face_count, photo_id),
        )


def photo_from_row(row: dict) -> Photo:
    """A Photo from a row of PHOTO_COLUMNS."""
    return Photo(**{**row, **{c: from_db(row[c]) for c in _TIMES}})


def _reference(row: dict) -> ReferencePhoto:
    status, usable = PhotoStatus(row["status"]), int(row["usable_faces"])
    return ReferencePhoto(id=row["id"], status=status, reason=row["reason"], face_count=row["face_count"],
                          usable_faces=usable, verdict=verdict(status, usable), erased=row["erased_at"] is not None)
