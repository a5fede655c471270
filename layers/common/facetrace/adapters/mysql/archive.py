"""The sighting archive's segment list and the faces it copies, in MySQL."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

import numpy as np

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.adapters.mysql.faces import embedding_matrix
from facetrace.sighting_archive import ArchivedFaces, Segment

_SIGHTING_FACE = (
    " FROM faces f JOIN photos p ON p.id = f.photo_id"
    " WHERE f.model_name = %s AND f.dim = %s AND f.usable = 1 AND LENGTH(f.embedding) = 4 * f.dim"
    " AND p.kind = 'sighting' AND p.erased_at IS NULL"
)
_COLUMNS = "s3_key, model_name, first_face_id, last_face_id, oldest_arrival, newest_arrival, faces"


class ArchiveRepository:
    """Which segments exist, and the settled sighting faces the archive step copies into new ones."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def sighting_models(self) -> list[tuple[str, int]]:
        rows = self._db.query("SELECT DISTINCT f.model_name, f.dim FROM faces f JOIN photos p ON p.id = f.photo_id"
                              " WHERE p.kind = 'sighting' ORDER BY f.model_name, f.dim")
        return [(r["model_name"], int(r["dim"])) for r in rows]

    def settled_sighting_faces(self, model_name: str, dim: int, after_face_id: int, settled_before: datetime,
                               limit: int) -> ArchivedFaces:
        # Stop below the first face row (of any kind) that is not settled: ids are handed out before commits.
        unsettled = self._db.query(
            "SELECT COALESCE(MIN(id), 9223372036854775807) AS id FROM faces"
            " WHERE model_name = %s AND id > %s AND created_at >= %s", (model_name, after_face_id, to_db(settled_before)))
        rows = self._db.query(
            "SELECT f.id, p.created_at AS arrived, f.embedding" + _SIGHTING_FACE +
            " AND f.id > %s AND f.id < %s ORDER BY f.id LIMIT %s",
            (model_name, dim, after_face_id, int(unsettled[0]["id"]), limit))
        return ArchivedFaces(np.array([r["id"] for r in rows], dtype=np.int64),
                             np.array([int(from_db(r["arrived"]).timestamp()) for r in rows], dtype=np.int64),
                             embedding_matrix(rows, dim).astype(np.float16))

    def archive_watermark(self, model_name: str) -> int:
        rows = self._db.query("SELECT COALESCE(MAX(last_face_id), 0) AS id FROM archive_segments WHERE model_name = %s",
                              (model_name,))
        return int(rows[0]["id"])

    def add_archive_segment(self, segment: Segment) -> None:
        self._db.execute(
            f"INSERT INTO archive_segments ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (segment.key, segment.model_name, segment.first_face_id, segment.last_face_id,
             to_db(segment.oldest_arrival), to_db(segment.newest_arrival), segment.faces))

    def archive_segments(self, model_name: str, since: datetime) -> list[Segment]:
        rows = self._db.query(f"SELECT {_COLUMNS} FROM archive_segments WHERE model_name = %s AND newest_arrival >= %s"
                              " ORDER BY first_face_id", (model_name, to_db(since)))
        return [_segment(r) for r in rows]

    def expired_archive_segments(self, before: datetime, keep_model: str | None = None) -> list[Segment]:
        where, args = "newest_arrival < %s", [to_db(before)]
        if keep_model is not None:
            where, args = f"({where} OR model_name <> %s)", args + [keep_model]
        rows = self._db.query(f"SELECT {_COLUMNS} FROM archive_segments WHERE {where} ORDER BY first_face_id", args)
        return [_segment(r) for r in rows]

    def remove_archive_segments(self, keys: Sequence[str]) -> None:
        if keys:
            self._db.execute(f"DELETE FROM archive_segments WHERE s3_key IN ({', '.join(['%s'] * len(keys))})",
                             list(keys))


def _segment(r: dict) -> Segment:
    return Segment(r["s3_key"], r["model_name"], int(r["first_face_id"]), int(r["last_face_id"]),
                   from_db(r["oldest_arrival"]), from_db(r["newest_arrival"]), int(r["faces"]))
