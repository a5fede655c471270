"""A gallery kept in memory between batches: loaded once (snapshot or MySQL), then refreshed incrementally."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from facetrace.gallery import Candidate, Gallery, search


@dataclass(frozen=True)
class Watermark:
    """How far a gallery has read: the highest face id and the highest case event applied."""

    face_id: int = 0
    event_seq: int = 0


@dataclass(frozen=True)
class GalleryUpdate:
    """What changed since a watermark: faces to add and cases whose faces must leave first."""

    faces: Gallery
    removed_cases: frozenset[str]
    watermark: Watermark


@dataclass
class LiveGallery:
    """Reference embeddings of one model as one contiguous matrix; closed cases are masked out at once."""

    dim: int
    watermark: Watermark = field(default_factory=Watermark)
    vectors: np.ndarray = None
    face_ids: np.ndarray = None
    case_ids: np.ndarray = None
    active: np.ndarray = None
    changes: int = 0  # since the last snapshot

    def __post_init__(self) -> None:
        if self.vectors is None:
            self.vectors = np.zeros((0, self.dim), dtype=np.float32)
            self.face_ids = np.zeros(0, dtype=np.int64)
            self.case_ids = np.zeros(0, dtype=object)
            self.active = np.zeros(0, dtype=bool)
        self._rows = {int(f): i for i, f in enumerate(self.face_ids) if self.active[i]}

    def __len__(self) -> int:
        return int(self.active.sum())

    def search(self, probes: np.ndarray, min_score: float, k: int) -> list[list[Candidate]]:
        """Best face per open case for each probe row, scoring at least min_score."""
        if len(self) == 0 or len(probes) == 0:
            return [[] for _ in range(len(probes))]
        return search(self.vectors, self.face_ids, self.case_ids, probes, min_score, k, self.active)

    def apply(self, update: GalleryUpdate) -> None:
        """Remove the update's cases, add its faces, and move the watermark."""
        self._remove_cases(update.removed_cases)
        self._add(update.faces)
        self.watermark = update.watermark
        if self.active.size and (~self.active).sum() > self.active.size // 4:
            self._compact()

    def _remove_cases(self, case_ids: frozenset[str]) -> None:
        if not case_ids or not self.active.size:
            return
        gone = np.isin(self.case_ids, list(case_ids)) & self.active
        for i in np.flatnonzero(gone):
            self._rows.pop(int(self.face_ids[i]), None)
        self.active &= ~gone
        self.changes += int(gone.sum())

    def _add(self, faces: Gallery) -> None:
        new = [i for i, f in enumerate(faces.face_ids) if int(f) not in self._rows]
        if not new:
            return
        start = len(self.face_ids)
        self.vectors = np.concatenate([self.vectors, faces.vectors[new].astype(np.float32)])
        self.face_ids = np.concatenate([self.face_ids, faces.face_ids[new]])
        self.case_ids = np.concatenate([self.case_ids, np.array([faces.case_ids[i] for i in new], dtype=object)])
        self.active = np.concatenate([self.active, np.ones(len(new), dtype=bool)])
        self._rows.update({int(f): start + n for n, f in enumerate(faces.face_ids[new])})
        self.changes += len(new)

    def _compact(self) -> None:
        keep = self.active
        self.vectors, self.face_ids, self.case_ids = self.vectors[keep], self.face_ids[keep], self.case_ids[keep]
        self.active = np.ones(len(self.face_ids), dtype=bool)
        self._rows = {int(f): i for i, f in enumerate(self.face_ids)}

    def to_bytes(self) -> bytes:
        """A snapshot (npz) of the active rows, vectors as float16, and the watermark they reflect."""
        keep = self.active
        buffer = io.BytesIO()
        # float16 halves the snapshot (1 GiB per million 512-d faces) for a score change below 2e-4
        # (docs/benchmarks.md); the matrix is widened back to float32 on load, which BLAS needs.
        np.savez(buffer, vectors=self.vectors[keep].astype(np.float16), face_ids=self.face_ids[keep],
                 case_ids=self.case_ids[keep].astype(str), watermark=np.array(
                     [self.watermark.face_id, self.watermark.event_seq], dtype=np.int64))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, dim: int) -> "LiveGallery":
        """Load a snapshot written by to_bytes."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            vectors = npz["vectors"].astype(np.float32)
            if vectors.shape[1:] != (dim,):
                raise ValueError(f"snapshot dim {vectors.shape[1:]} != {dim}")
            mark = npz["watermark"]
            return cls(dim, Watermark(int(mark[0]), int(mark[1])), vectors, npz["face_ids"].astype(np.int64),
                       npz["case_ids"].astype(object), np.ones(len(vectors), dtype=bool))
