"""Open-set identification and pair-verification metrics on score matrices (pure numpy).

Terms follow ISO/IEC 19795 and NIST FRVT 1:N: a *mated* search is a probe whose person is enrolled,
a *non-mated* search one whose person is not. TPIR(t) is the share of mated searches whose rank-1
gallery record is their own person with score >= t; FPIR(t) the share of non-mated searches with any
record scoring >= t (a false alarm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_SCORE = -np.inf  # the top score of a search that had no usable face: it never alarms


@dataclass(frozen=True)
class Searches:
    """Rank-1 outcome of each search: mated ones (hit or not, score) and non-mated ones (score)."""

    mated_score: np.ndarray  # rank-1 score of each mated search (NO_SCORE without a usable face)
    mated_correct: np.ndarray  # rank-1 record is the probe's own person
    nonmated_score: np.ndarray  # rank-1 score of each non-mated search


def rank1(
    scores: np.ndarray, gallery_ids: np.ndarray, probe_ids: np.ndarray, probe_ok: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(top score, top gallery id) per probe row of scores (probes x gallery); NO_SCORE/None if not ok."""
    probe_ok = np.ones(len(probe_ids), bool) if probe_ok is None else np.asarray(probe_ok, bool)
    if scores.shape[1] == 0:
        return np.full(len(probe_ids), NO_SCORE), np.array([None] * len(probe_ids), dtype=object)
    best = np.argmax(scores, axis=1)
    top = np.where(probe_ok, scores[np.arange(len(best)), best], NO_SCORE)
    ids = np.where(probe_ok, np.asarray(gallery_ids, dtype=object)[best], None)
    return top, ids


def best_nonmate(scores: np.ndarray, gallery_ids: np.ndarray, probe_ids: np.ndarray, probe_ok=None) -> np.ndarray:
    """Top score of each probe over the records of OTHER people: a search with its mate removed."""
    own = np.asarray(gallery_ids, dtype=object)[None, :] == np.asarray(probe_ids, dtype=object)[:, None]
    masked = np.where(own, -np.inf, scores)
    top = masked.max(axis=1) if scores.shape[1] else np.full(len(probe_ids), NO_SCORE)
    return top if probe_ok is None else np.where(np.asarray(probe_ok, bool), top, NO_SCORE)


def closed_set_accuracy(searches: Searches) -> float:
    """Rank-1 identification rate of mated searches, whatever the score (a face-less probe is a miss)."""
    return float(np.mean(searches.mated_correct)) if len(searches.mated_correct) else float("nan")


def threshold_at_fpir(nonmated_score: np.ndarray, target: float) -> float:
    """Lowest threshold whose FPIR on these non-mated top scores is <= target (target 0: above the max)."""
    ranked = np.sort(np.asarray(nonmated_score, dtype=np.float64))[::-1]
    ranked = ranked[np.isfinite(ranked)]
    if len(ranked) == 0:
        return float("-inf")
    allowed = int(np.floor(target * len(nonmated_score) + 1e-9))  # false alarms we may have
    if allowed >= len(ranked):
        return float(ranked[-1])
    return float(np.nextafter(ranked[allowed], np.inf))  # strictly above the first score not allowed


def operating_point(searches: Searches, threshold: float) -> dict:
    """TPIR, FPIR, misidentification rate and counts at one threshold."""
    alarm = searches.mated_score >= threshold
    hits = alarm & searches.mated_correct
    wrong = alarm & ~searches.mated_correct
    false_alarms = int(np.sum(searches.nonmated_score >= threshold))
    n_mated, n_non = len(searches.mated_score), len(searches.nonmated_score)
    return {
        "threshold": round(float(threshold), 5),
        "tpir": _rate(int(hits.sum()), n_mated),
        "fnir": _rate(n_mated - int(hits.sum()), n_mated),
        "fpir": _rate(false_alarms, n_non),
        "false_alarms": false_alarms,
        # mated searches that alarm on the WRONG person: a family told about a stranger
        "misidentification_rate": _rate(int(wrong.sum()), n_mated),
    }


def det_curve(searches: Searches, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(FPIR, FNIR) over thresholds spanning the observed scores, for a DET plot."""
    finite = np.concatenate([searches.mated_score, searches.nonmated_score])
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return np.zeros(0), np.zeros(0)
    # every non-mated score is a step of FPIR: include them all so the low-FPIR end is exact
    nonmated = searches.nonmated_score[np.isfinite(searches.nonmated_score)]
    thresholds = np.unique(np.concatenate([np.quantile(finite, np.linspace(0, 1, points)), nonmated]))
    hits = searches.mated_correct[None, :] & (searches.mated_score[None, :] >= thresholds[:, None])
    fnir = 1 - hits.mean(axis=1) if len(searches.mated_score) else np.zeros(len(thresholds))
    fpir = (searches.nonmated_score[None, :] >= thresholds[:, None]).mean(axis=1)
    return fpir, fnir


def ten_fold_verification(scores: np.ndarray, same: np.ndarray, folds: int = 10) -> dict:
    """LFW-style accuracy: threshold chosen on 9 folds, accuracy on the 10th; mean and std over folds."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    fold_of = np.arange(len(scores)) % folds  # interleaved: pairs files list same-person pairs first
    accuracies, thresholds = [], []
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        t = best_accuracy_threshold(scores[train], same[train])
        accuracies.append(float(np.mean((scores[test] >= t) == same[test])))
        thresholds.append(t)
    return {
        "accuracy": round(float(np.mean(accuracies)), 5),
        "std": round(float(np.std(accuracies)), 5),
        "threshold_mean": round(float(np.mean(thresholds)), 5),
    }


def best_accuracy_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """Threshold (midpoint between sorted scores) that maximises accuracy on these pairs."""
    ranked = np.unique(scores[np.isfinite(scores)])
    if len(ranked) == 0:
        return 0.0
    candidates = np.concatenate([[ranked[0] - 1e-6], (ranked[1:] + ranked[:-1]) / 2, [ranked[-1] + 1e-6]])
    correct = [(np.sum(same & (scores >= t)) + np.sum(~same & (scores < t))) for t in candidates]
    return float(candidates[int(np.argmax(correct))])


def _rate(count: int, total: int) -> float:
    """count/total rounded, NaN when there is nothing to count."""
    return round(count / total, 5) if total else float("nan")
