"""Faces, the gallery and matches in MySQL."""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np

from facetrace.adapters.mysql.connection import Database
from facetrace.face import StoredFace
from facetrace.gallery import Candidate, Gallery
from facetrace.gallery.live import GalleryUpdate, Watermark
from facetrace.messages import Face, ModelInfo

_INSERT_FACE = (
    "INSERT INTO faces (photo_id, face_index, model_name, model_version, dim, embedding, box_x1, box_y1, box_x2,"
    " box_y2, landmarks, det_score, quality, usable) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON DUPLICATE KEY UPDATE id = id"
)

FACE_ID_OVERLAP = 1000

_GALLERY = (
    "SELECT f.id, p.case_id, f.embedding FROM faces f"
    " JOIN photos p ON p.id = f.photo_id JOIN cases c ON c.id = p.case_id"
    " WHERE f.model_name = %s AND f.dim = %s AND f.usable = 1 AND p.kind = 'reference' AND c.status = 'open'"
    " ORDER BY f.id"
)


class FaceRepository:
    """FaceStore on MySQL; embeddings are stored as little-endian float32 bytes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_faces(
        self, photo_id: str, model: ModelInfo, faces: Sequence[Face], usable: Sequence[bool]
    ) -> list[StoredFace]:
        rows = [_face_row(photo_id, model, f, u) for f, u in zip(faces, usable)]
        self._db.executemany(_INSERT_FACE, rows)
        ids = self._db.query(
            "SELECT id, face_index FROM faces WHERE photo_id = %s AND model_name = %s", (photo_id, model.name)
        )
        by_index = {r["face_index"]: r["id"] for r in ids}
        return [StoredFace(by_index[f.index], f, u) for f, u in zip(faces, usable)]

    def gallery(self, model_name: str, dim: int) -> Gallery:
        return _gallery(self._db.query(_GALLERY, (model_name, dim)), dim)

    def gallery_watermark(self, model_name: str) -> Watermark:
        row = self._db.query(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM faces WHERE model_name = %s) AS face_id,"
            " (SELECT COALESCE(MAX(seq), 0) FROM case_events) AS event_seq", (model_name,),
        )[0]
        return Watermark(int(row["face_id"]), int(row["event_seq"]))

    def gallery_update(self, model_name: str, dim: int, since: Watermark, until: Watermark) -> GalleryUpdate:
        events = self._db.query(
            "SELECT DISTINCT case_id FROM case_events WHERE seq > %s AND seq <= %s", (since.event_seq, until.event_seq)
        )
        changed = [r["case_id"] for r in events]
        # Re-read an overlap below the watermark: ids are handed out before concurrent inserts commit.
        where, args = " AND f.id > %s AND f.id <= %s", [max(since.face_id - FACE_ID_OVERLAP, 0), until.face_id]
        if changed:
            marks = ", ".join(["%s"] * len(changed))
            where, args = f" AND ((f.id > %s AND f.id <= %s) OR p.case_id IN ({marks}))", args + changed
        rows = self._db.query(_GALLERY.replace(" ORDER BY f.id", where + " ORDER BY f.id"), (model_name, dim, *args))
        return GalleryUpdate(_gallery(rows, dim), frozenset(changed), until)

    def photo_of_face(self, face_id: int) -> str:
        rows = self._db.query("SELECT photo_id FROM faces WHERE id = %s", (face_id,))
        if not rows:
            raise LookupError(f"face {face_id} not found")
        return rows[0]["photo_id"]

    def add_matches(self, matches: Sequence[tuple[int, Candidate]]) -> None:
        self._db.executemany(
            "INSERT INTO matches (sighting_face_id, reference_face_id, case_id, score) VALUES (%s, %s, %s, %s)"
            " ON DUPLICATE KEY UPDATE score = VALUES(score)",
            [(face_id, c.reference_face_id, c.case_id, c.score) for face_id, c in matches],
        )


def embedding_matrix(rows: list[dict], dim: int) -> np.ndarray:
    """The rows' stored embeddings (little-endian float32 bytes) as one (n, dim) float32 matrix."""
    return np.frombuffer(b"".join(r["embedding"] for r in rows), dtype="<f4").reshape(len(rows), dim).astype(np.float32)


def _gallery(rows: list[dict], dim: int) -> Gallery:
    if not rows:
        return Gallery.empty(dim)
    return Gallery(
        vectors=embedding_matrix(rows, dim),
        face_ids=np.array([r["id"] for r in rows], dtype=np.int64),
        case_ids=tuple(r["case_id"] for r in rows),
    )


def _face_row(photo_id: str, model: ModelInfo, face: Face, usable: bool) -> tuple:
    embedding = face.embedding()
    if embedding.shape != (model.dim,):
        raise ValueError(f"face {face.index}: embedding has {embedding.shape[0]} values, model says {model.dim}")
    return (
        photo_id, face.index, model.name, model.version, model.dim, embedding.astype("<f4").tobytes(),
        *face.box, json.dumps(face.landmarks), face.quality.det_score, face.quality.model_dump_json(), int(usable),
    )
