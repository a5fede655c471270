"""Adaptive s-norm: scores rescaled by the impostor statistics of both faces."""

from __future__ import annotations

import numpy as np

from evaluation.score_norm import ScoreNorm, record_stats, top_stats


def test_top_stats_skip_the_best_and_ignore_missing_scores():
    # GIVEN a row whose best score is a mate and one score is masked out
    scores = np.array([[0.9, 0.3, 0.1, -np.inf, 0.2]])
    # WHEN the top-2 statistics after the best are taken
    mean, std = top_stats(scores, 2, skip=1)
    # THEN they are those of 0.3 and 0.2
    assert np.allclose(mean, [0.25]) and np.allclose(std, [0.05])


def test_record_stats_never_use_the_records_own_case():
    # GIVEN two references of case a (identical vectors) and one of case b
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    # WHEN each record's impostor statistics are computed
    mean, _ = record_stats(vectors, np.array(["a", "a", "b"], dtype=object), k=5)
    # THEN case a's records see only case b (0.6), never each other (1.0)
    assert np.allclose(mean, [0.6, 0.6, 0.6])


def test_a_hub_record_needs_a_higher_raw_score_than_a_quiet_one():
    # GIVEN a "hub" record that resembles many faces and a quiet record, and a probe scoring 0.5 on both
    norm = ScoreNorm(cohort=10)
    probe = (np.array([0.1], np.float32), np.array([0.05], np.float32))
    record = (np.array([0.45, 0.15], np.float32), np.array([0.05, 0.05], np.float32))
    scores = np.array([[0.5, 0.5]], np.float32)
    # WHEN the scores are normalised
    normalised = norm.apply(scores, probe, record)
    # THEN the same raw score counts for much less against the hub
    assert normalised[0, 0] < normalised[0, 1]
    assert np.isclose(normalised[0, 1], ((0.5 - 0.1) / 0.05 + (0.5 - 0.15) / 0.05) / 2)
