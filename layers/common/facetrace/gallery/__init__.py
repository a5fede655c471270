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


# Scores are computed a block of gallery rows at a time, so scratch memory is probes x BLOCK_ROWS floats
# (32 MiB for 64 probes) rather than probes x gallery (256 MiB at a million faces); the product is as fast.
BLOCK_ROWS = 1 << 17


def search(vectors: np.ndarray, face_ids, case_ids, probes: np.ndarray, min_score: float, k: int,
           active: np.ndarray | None = None) -> list[list[Candidate]]:
    """Exact cosine search of every probe row, one matrix product per block; rows not `active` never match."""
    if probes.shape[1] != vectors.shape[1]:
        raise ValueError(f"probe dim {probes.shape[1]} != gallery dim {vectors.shape[1]}")
    probes = np.asarray(probes, dtype=np.float32)
    hits: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(len(probes))]
    for start in range(0, len(vectors), BLOCK_ROWS):
        for found, row in zip(hits, probes @ vectors[start:start + BLOCK_ROWS].T):
            rows = np.flatnonzero(row >= min_score)
            # Masking only the few rows above the threshold is cheaper than masking every score.
            keep = rows if active is None else rows[active[start + rows]]
            found.append((keep + start, row[keep]))
    return [_best_per_case(found, face_ids, case_ids, k) for found in hits]


def _best_per_case(found: list[tuple[np.ndarray, np.ndarray]], face_ids, case_ids, k: int) -> list[Candidate]:
    rows = np.concatenate([f[0] for f in found]) if found else np.zeros(0, dtype=np.int64)
    scores = np.concatenate([f[1] for f in found]) if found else np.zeros(0, dtype=np.float32)
    best: dict[str, Candidate] = {}
    for n in np.argsort(-scores, kind="stable"):
        case_id = case_ids[rows[n]]
        if case_id not in best:
            best[case_id] = Candidate(case_id, int(face_ids[rows[n]]), float(scores[n]))
        if len(best) == k:
            break
    return list(best.values())
