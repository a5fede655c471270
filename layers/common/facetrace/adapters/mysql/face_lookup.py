"""Single faces, a sighting face's stored matches, and recent sighting faces (retro-search) in MySQL."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

import numpy as np

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.adapters.mysql.faces import embedding_matrix
from facetrace.face import FaceLocation, SightingFaces
from facetrace.gallery import Candidate
from facetrace.near_miss import NearMiss

_RECENT_SIGHTINGS = (
    "SELECT f.id, f.photo_id, f.face_index, f.box_x1, f.box_y1, f.box_x2, f.box_y2, f.embedding FROM faces f"
    " JOIN photos p ON p.id = f.photo_id"
    " WHERE f.model_name = %s AND f.dim = %s AND f.usable = 1 AND LENGTH(f.embedding) = 4 * f.dim"
    " AND p.kind = 'sighting' AND p.erased_at IS NULL AND p.created_at >= %s{where} ORDER BY f.id"
)

# Each sighting face's best match with the case (a case may have several reference faces), unless the sighting
# raised an alert for the case: that one is reviewed as an alert.
_NEAR_MISSES = (
    "SELECT x.case_id, x.sighting_face_id, x.reference_face_id, x.score, x.created_at AS matched_at,"
    " p.id AS sighting_id, p.taken_at AS seen_at, p.place, p.lat, p.lon, p.erased_at FROM ("
    "  SELECT m.*, ROW_NUMBER() OVER (PARTITION BY m.sighting_face_id ORDER BY m.score DESC, m.id) AS rn"
    "  FROM matches m WHERE m.case_id = %s{face}) x"
    " JOIN faces f ON f.id = x.sighting_face_id JOIN photos p ON p.id = f.photo_id"
    " WHERE x.rn = 1 AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.sighting_id = p.id AND a.case_id = x.case_id)"
    " ORDER BY x.score DESC, x.id LIMIT %s"
)


class FaceLookupRepository:
    """The face queries of review and retro-search on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def face_location(self, face_id: int) -> FaceLocation | None:
        rows = self._db.query(
            "SELECT photo_id, face_index, box_x1, box_y1, box_x2, box_y2 FROM faces WHERE id = %s", (face_id,))
        if not rows:
            return None
        r = rows[0]
        return FaceLocation(r["photo_id"], r["face_index"], (r["box_x1"], r["box_y1"], r["box_x2"], r["box_y2"]))

    def candidates_of(self, sighting_face_id: int) -> list[Candidate]:
        rows = self._db.query(
            "SELECT case_id, reference_face_id, score FROM matches WHERE sighting_face_id = %s ORDER BY score DESC",
            (sighting_face_id,),
        )
        return [Candidate(r["case_id"], r["reference_face_id"], float(r["score"])) for r in rows]

    def sighting_faces_since(self, model_name: str, dim: int, since: datetime, after_face_id: int = 0) -> SightingFaces:
        rows = self._db.query(_RECENT_SIGHTINGS.format(where=" AND f.id > %s"),
                              (model_name, dim, to_db(since), after_face_id))
        return _sighting_faces(rows, dim)

    def sighting_faces_with_ids(self, model_name: str, dim: int, since: datetime,
                                face_ids: Sequence[int]) -> SightingFaces:
        ids = sorted({int(i) for i in face_ids})
        if not ids:
            return SightingFaces.empty(dim)
        where = f" AND f.id IN ({', '.join(['%s'] * len(ids))})"
        return _sighting_faces(self._db.query(_RECENT_SIGHTINGS.format(where=where),
                                              (model_name, dim, to_db(since), *ids)), dim)

    def near_misses(self, case_id: str, limit: int) -> list[NearMiss]:
        rows = self._db.query(_NEAR_MISSES.format(face=""), (case_id, limit))
        return [_near_miss(r) for r in rows]

    def near_miss(self, case_id: str, sighting_face_id: int) -> NearMiss | None:
        rows = self._db.query(_NEAR_MISSES.format(face=" AND m.sighting_face_id = %s"), (case_id, sighting_face_id, 1))
        return _near_miss(rows[0]) if rows else None


def _sighting_faces(rows: list[dict], dim: int) -> SightingFaces:
    if not rows:
        return SightingFaces.empty(dim)
    return SightingFaces(
        vectors=embedding_matrix(rows, dim),
        face_ids=np.array([r["id"] for r in rows], dtype=np.int64),
        photo_ids=tuple(r["photo_id"] for r in rows),
        indexes=np.array([r["face_index"] for r in rows], dtype=np.int64),
        boxes=np.array([(r["box_x1"], r["box_y1"], r["box_x2"], r["box_y2"]) for r in rows], dtype=np.float32),
    )


def _near_miss(r: dict) -> NearMiss:
    return NearMiss(case_id=r["case_id"], sighting_id=r["sighting_id"], sighting_face_id=r["sighting_face_id"],
                    reference_face_id=r["reference_face_id"], score=round(float(r["score"]), 4),
                    matched_at=from_db(r["matched_at"]), seen_at=from_db(r["seen_at"]), place=r["place"],
                    lat=r["lat"], lon=r["lon"], erased=r["erased_at"] is not None)
