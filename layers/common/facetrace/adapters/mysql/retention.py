"""Erasure in MySQL: a closed case's reference embeddings, and photos due for deletion."""

from __future__ import annotations

from datetime import datetime

from facetrace.adapters.mysql._time import to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.adapters.mysql.photos import PHOTO_COLUMNS, photo_from_row
from facetrace.photo import Photo

# An erased embedding is empty bytes and the face unusable: no gallery or search query can use it again.
_ERASE_FACES = "UPDATE faces SET embedding = '', usable = 0 WHERE photo_id IN ({photos})"
_PHOTO_COLUMNS = ", ".join(f"p.{c}" for c in PHOTO_COLUMNS)


class RetentionRepository:
    """The erasure side of CaseworkStore and RetentionStore on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def erase_references(self, case_id: str, at: datetime, delete_after: datetime) -> int:
        with self._db.transaction():
            erased = self._db.execute(_ERASE_FACES.format(
                photos="SELECT id FROM photos WHERE case_id = %s AND kind = 'reference'") + " AND embedding <> ''",
                (case_id,))
            self._db.execute(
                "UPDATE cases SET references_erased_at = COALESCE(references_erased_at, %s),"
                " references_delete_after = COALESCE(references_delete_after, %s) WHERE id = %s",
                (to_db(at), to_db(delete_after), case_id),
            )
        return erased

    def due_reference_photos(self, now: datetime, limit: int) -> list[Photo]:
        rows = self._db.query(
            f"SELECT {_PHOTO_COLUMNS} FROM photos p JOIN cases c ON c.id = p.case_id"
            " WHERE p.kind = 'reference' AND p.erased_at IS NULL AND c.status = 'closed'"
            " AND c.references_delete_after <= %s ORDER BY p.created_at LIMIT %s", (to_db(now), limit),
        )
        return [photo_from_row(r) for r in rows]

    def expired_sightings(self, before: datetime, limit: int) -> list[Photo]:
        rows = self._db.query(
            f"SELECT {_PHOTO_COLUMNS} FROM photos p WHERE p.kind = 'sighting' AND p.erased_at IS NULL"
            " AND p.created_at < %s AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.sighting_id = p.id"
            " AND a.status = 'confirmed') ORDER BY p.created_at LIMIT %s", (to_db(before), limit),
        )
        return [photo_from_row(r) for r in rows]

    def erase_photo(self, photo_id: str, at: datetime) -> None:
        with self._db.transaction():
            self._db.execute(_ERASE_FACES.format(photos="%s"), (photo_id,))
            self._db.execute(
                "UPDATE photos SET erased_at = %s, contact = NULL, place = NULL, lat = NULL, lon = NULL, dedup_key = NULL"
                " WHERE id = %s",
                (to_db(at), photo_id),
            )
