"""Faces as stored: detected faces of a photo, embedded by one model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from facetrace.gallery import Candidate, Gallery
from facetrace.messages import Face, ModelInfo


@dataclass(frozen=True)
class StoredFace:
    """A face row: its database id and the message it came from."""

    id: int
    face: Face
    usable: bool


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

    def add_matches(self, matches: Sequence[tuple[int, Candidate]]) -> None:
        """Record (sighting face id, candidate) pairs in one round-trip (idempotent)."""
        ...
