"""The gallery: reference faces of open cases for one model, searched by cosine similarity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidate:
    """A case whose reference face resembles a probe face."""

    case_id: str
    reference_face_id: int
    score: float


@dataclass(frozen=True)
class Gallery:
    """Reference embeddings (rows L2-normalised) with the face and case of each row."""

    vectors: np.ndarray
    face_ids: np.ndarray
    case_ids: tuple[str, ...]

    @classmethod
    def empty(cls, dim: int) -> "Gallery":
        """A gallery with no faces."""
        return cls(np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=np.int64), ())

    def __len__(self) -> int:
        return len(self.case_ids)

    def search(self, probes: np.ndarray, min_score: float, k: int) -> list[list[Candidate]]:
        """For each probe row, the best face per case scoring at least min_score, best first, at most k cases."""
        if len(self) == 0 or len(probes) == 0:
            return [[] for _ in range(len(probes))]
        return search(self.vectors, self.face_ids, self.case_ids, probes, min_score, k)


def search(vectors: np.ndarray, face_ids, case_ids, probes: np.ndarray, min_score: float, k: int,
           active: np.ndarray | None = None) -> list[list[Candidate]]:
    """Cosine search of every probe row in one matrix product; rows not `active` never match."""
    if probes.shape[1] != vectors.shape[1]:
        raise ValueError(f"probe dim {probes.shape[1]} != gallery dim {vectors.shape[1]}")
    scores = np.asarray(probes, dtype=np.float32) @ vectors.T
    if active is not None:
        scores[:, ~active] = -np.inf
    return [_best_per_case(row, face_ids, case_ids, min_score, k) for row in scores]


def _best_per_case(row: np.ndarray, face_ids, case_ids, min_score: float, k: int) -> list[Candidate]:
    hits = np.flatnonzero(row >= min_score)
    best: dict[str, Candidate] = {}
    for i in hits[np.argsort(-row[hits])]:
        case_id = case_ids[i]
        if case_id not in best:
            best[case_id] = Candidate(case_id, int(face_ids[i]), float(row[i]))
        if len(best) == k:
            break
    return list(best.values())
