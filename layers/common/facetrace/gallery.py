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
        if probes.shape[1] != self.vectors.shape[1]:
            raise ValueError(f"probe dim {probes.shape[1]} != gallery dim {self.vectors.shape[1]}")
        scores = np.asarray(probes, dtype=np.float32) @ self.vectors.T
        return [self._best_per_case(row, min_score, k) for row in scores]

    def _best_per_case(self, row: np.ndarray, min_score: float, k: int) -> list[Candidate]:
        hits = np.flatnonzero(row >= min_score)
        best: dict[str, Candidate] = {}
        for i in hits[np.argsort(-row[hits])]:
            case_id = self.case_ids[i]
            if case_id not in best:
                best[case_id] = Candidate(case_id, int(self.face_ids[i]), float(row[i]))
            if len(best) == k:
                break
        return list(best.values())
