"""Faces as stored: detected faces of a photo, embedded by one model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Sequence

import numpy as np

from facetrace.gallery import Candidate, Gallery
from facetrace.messages import Face, ModelInfo


@dataclass(frozen=True)
class StoredFace:
    """A face row: its database id and the message it came from."""

    id: int
    face: Face
    usable: bool


@dataclass(frozen=True)
class FaceLocation:
    """Where a stored face is: its photo, its index in that photo and its box (x1, y1, x2, y2)."""

    photo_id: str
    index: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class SightingFaces:
    """Usable sighting faces of one model as one matrix (rows L2-normalised), like a Gallery of probes."""

    vectors: np.ndarray
    face_ids: np.ndarray
    photo_ids: tuple[str, ...]
    indexes: np.ndarray
    boxes: np.ndarray  # (n, 4)

    @classmethod
    def empty(cls, dim: int) -> "SightingFaces":
        """No faces."""
        return cls(np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=np.int64), (),
                   np.zeros(0, dtype=np.int64), np.zeros((0, 4), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.photo_ids)

    @classmethod
    def join(cls, first: "SightingFaces", second: "SightingFaces") -> "SightingFaces":
        """Both sets of rows, the first's then the second's."""
        return cls(np.concatenate([first.vectors, second.vectors]), np.concatenate([first.face_ids, second.face_ids]),
                   first.photo_ids + second.photo_ids, np.concatenate([first.indexes, second.indexes]),
                   np.concatenate([first.boxes, second.boxes]))

    def location(self, row: int) -> FaceLocation:
        """The photo, index and box of one row."""
        return FaceLocation(self.photo_ids[row], int(self.indexes[row]), tuple(float(v) for v in self.boxes[row]))


class FaceStore(Protocol):
    def add_faces(
        self, photo_id: str, model: ModelInfo, faces: Sequence[Face], usable: Sequence[bool]
    ) -> list[StoredFace]:
        """Store the faces once (idempotent on photo, model, index) and return them with their ids."""
        ...

    def gallery(self, model_name: str, dim: int) -> Gallery:
        """Usable reference faces of open cases embedded by this model."""
        ...

    def photo_of_face(self, face_id: int) -> str: ...

    def face_location(self, face_id: int) -> FaceLocation | None: ...

    def sighting_faces_since(self, model_name: str, dim: int, since: datetime, after_face_id: int = 0) -> SightingFaces:
        """Usable sighting faces of this model whose photo arrived at or after `since` and is not erased (those
        after a face id only, when given)."""
        ...

    def sighting_faces_with_ids(self, model_name: str, dim: int, since: datetime,
                                face_ids: Sequence[int]) -> SightingFaces:
        """The same, among these face ids only: the archive's hits as the database holds them now."""
        ...

    def candidates_of(self, sighting_face_id: int) -> list[Candidate]:
        """Every stored match of a sighting face, best first."""
        ...

    def add_matches(self, matches: Sequence[tuple[int, Candidate]]) -> None:
        """Record (sighting face id, candidate) pairs in one round-trip (idempotent)."""
        ...
