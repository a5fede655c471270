"""Score normalisation against the gallery (adaptive s-norm): how unusual a score is for both faces.

A raw cosine means different things for different faces: some faces ("hubs") resemble many people,
so their best impostor score is high, and a fixed threshold either alarms on them or misses good
matches elsewhere. Adaptive s-norm rescales each score by the statistics of the top-k impostor scores
of the probe (its own row of scores against the gallery, without its best) and of the gallery record
(its scores against the other gallery records, without records of its own case):

    s' = ((s - mean_probe) / std_probe + (s - mean_record) / std_record) / 2

Normalised scores are in standard deviations above the cohort, not cosines, so they need their own
thresholds. Today only `facetrace eval --score-norm K` uses it (README, "Open-set evaluation"): with
the gallery as its own cohort, a deployment with a handful of cases would have no statistics, so the
match function keeps raw cosines until packs ship a fixed cohort of embedded faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_STD = 1e-3  # a cohort of identical scores must not divide by zero


@dataclass(frozen=True)
class ScoreNorm:
    """Adaptive s-norm over the top `cohort` impostor scores of each side."""

    cohort: int = 50
    skip: int = 1  # the probe's best score may be its mate: not an impostor

    def probe_stats(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) per probe row of the top-cohort scores after the best `skip` (candidate mates)."""
        return top_stats(scores, self.cohort, skip=self.skip)

    def record_stats(self, vectors: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) per gallery row of its top-cohort scores against rows of other groups (cases)."""
        return record_stats(vectors, groups, self.cohort)

    def record_cohorts(self, vectors: np.ndarray, groups: np.ndarray) -> "RecordCohorts":
        """Each record's best impostor scores and whose they are, with room to drop any one group's records."""
        groups = np.asarray(groups, dtype=object)
        spare = max(np.unique(groups, return_counts=True)[1]) if len(groups) else 0
        return record_cohorts(vectors, groups, self.cohort + int(spare))

    def stats_of(self, cohorts: "RecordCohorts", removed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) of each record's top-cohort impostor scores, the `removed` records taken out of every list."""
        scores = cohorts.scores
        if removed is not None and len(removed):
            scores = np.where(np.isin(cohorts.rows, removed), -np.inf, scores)
        return top_stats(scores, self.cohort)

    def apply(self, scores: np.ndarray, probe: tuple, record: tuple) -> np.ndarray:
        """Normalised scores (probes x records) from raw cosines and both sides' (mean, std)."""
        (pm, ps), (rm, rs) = probe, record
        return ((scores - pm[:, None]) / ps[:, None] + (scores - rm[None, :]) / rs[None, :]) / 2


def top_stats(scores: np.ndarray, k: int, skip: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of each row's k highest finite scores after the `skip` highest."""
    scores = np.asarray(scores, dtype=np.float32)
    n = scores.shape[1]
    if n <= skip:
        return np.zeros(len(scores), np.float32), np.ones(len(scores), np.float32)
    take = min(k + skip, n)
    top = -np.sort(-np.partition(scores, n - take, axis=1)[:, n - take :], axis=1)[:, skip:]
    top = np.where(np.isfinite(top), top, np.nan)
    mean = np.nan_to_num(np.nanmean(top, axis=1), nan=0.0)
    std = np.nan_to_num(np.nanstd(top, axis=1), nan=1.0)
    return mean.astype(np.float32), np.maximum(std, MIN_STD).astype(np.float32)


@dataclass(frozen=True)
class RecordCohorts:
    """Per gallery record: its m best impostor scores (descending) and the rows they belong to."""

    scores: np.ndarray
    rows: np.ndarray


def record_cohorts(vectors: np.ndarray, groups: np.ndarray, m: int) -> RecordCohorts:
    """Each row's m best scores against rows of other groups, and which rows: O(n^2 d), in blocks."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n, m = len(vectors), min(m, max(len(vectors) - 1, 1))
    block = max(1, min(4096, (1 << 24) // max(n, 1)))
    scores_out, rows_out = [], []
    for start in range(0, n, block):
        scores = vectors[start : start + block] @ vectors.T
        scores[groups[start : start + block, None] == groups[None, :]] = -np.inf
        rows = np.argsort(-scores, axis=1)[:, :m]
        scores_out.append(np.take_along_axis(scores, rows, 1))
        rows_out.append(rows)
    if not scores_out:
        return RecordCohorts(np.zeros((0, m), np.float32), np.zeros((0, m), np.int64))
    return RecordCohorts(np.concatenate(scores_out), np.concatenate(rows_out))


def record_stats(vectors: np.ndarray, groups: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's top-k impostor statistics against the other rows: O(n^2 d) time, about 64 MiB of scores at once."""
    vectors = np.asarray(vectors, dtype=np.float32)
    groups = np.asarray(groups, dtype=object)
    block = max(1, min(4096, (1 << 24) // max(len(vectors), 1)))
    means, stds = [], []
    for start in range(0, len(vectors), block):
        scores = vectors[start : start + block] @ vectors.T  # rows other than its own case are its cohort
        scores[groups[start : start + block, None] == groups[None, :]] = -np.inf  # itself and its own case
        mean, std = top_stats(scores, k)
        means.append(mean)
        stds.append(std)
    if not means:
        return np.zeros(0, np.float32), np.ones(0, np.float32)
    return np.concatenate(means), np.concatenate(stds)
