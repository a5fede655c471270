"""Single faces, a sighting face's stored matches, and recent sighting faces (retro-search) in MySQL."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from facetrace.adapters.mysql._time import to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.adapters.mysql.faces import embedding_matrix
from facetrace.face import FaceLocation, SightingFaces
from facetrace.gallery import Candidate

_RECENT_SIGHTINGS = (
    "SELECT f.id, f.photo_id, f.face_index, f.box_x1, f.box_y1, f.box_x2, f.box_y2, f.embedding FROM faces f"
    " JOIN photos p ON p.id = f.photo_id"
    " WHERE f.model_name = %s AND f.dim = %s AND f.usable = 1 AND LENGTH(f.embedding) = 4 * f.dim"
    " AND p.kind = 'sighting' AND p.erased_at IS NULL AND p.created_at >= %s ORDER BY f.id"
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

    def sighting_faces_since(self, model_name: str, dim: int, since: datetime) -> SightingFaces:
        rows = self._db.query(_RECENT_SIGHTINGS, (model_name, dim, to_db(since)))
        if not rows:
            return SightingFaces.empty(dim)
        return SightingFaces(
            vectors=embedding_matrix(rows, dim),
            face_ids=np.array([r["id"] for r in rows], dtype=np.int64),
            photo_ids=tuple(r["photo_id"] for r in rows),
            indexes=np.array([r["face_index"] for r in rows], dtype=np.int64),
            boxes=np.array([(r["box_x1"], r["box_y1"], r["box_x2"], r["box_y2"]) for r in rows], dtype=np.float32),
        )
