"""Open-set identification and verification metrics on small hand-made score matrices."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation import metrics
from evaluation.cache import Record
from evaluation.protocol import Row
from evaluation.score_norm import ScoreNorm
from evaluation.runner import run_searches, thresholds_for

GALLERY = np.array(["a", "b", "c"], dtype=object)


def _searches(mated_score, mated_correct, nonmated_score) -> metrics.Searches:
    return metrics.Searches(np.array(mated_score, float), np.array(mated_correct, bool), np.array(nonmated_score, float))


def test_rank1_returns_top_score_and_identity_and_none_for_faceless_probes():
    # GIVEN three probes against gallery a,b,c; the third had no usable face
    scores = np.array([[0.9, 0.2, 0.1], [0.3, 0.4, 0.8], [0.9, 0.9, 0.9]])
    # WHEN rank-1 is taken
    top, ids = metrics.rank1(scores, GALLERY, np.array(["a", "b", "c"], dtype=object), np.array([True, True, False]))
    # THEN the best record is reported, and the faceless probe has no score and no identity
    assert list(top[:2]) == [0.9, 0.8] and top[2] == metrics.NO_SCORE
    assert list(ids) == ["a", "c", None]


def test_best_nonmate_ignores_the_probes_own_records():
    # GIVEN probe "a" scoring 0.9 on its own record and 0.5 on "c"
    scores = np.array([[0.9, 0.2, 0.5]])
    # WHEN searched with its mate removed
    top = metrics.best_nonmate(scores, GALLERY, np.array(["a"], dtype=object))
    # THEN the best OTHER person's score is the non-mated score
    assert list(top) == [0.5]


def test_threshold_at_fpir_allows_exactly_the_target_share_of_false_alarms():
    # GIVEN ten non-mated top scores 0.0 .. 0.9
    nonmated = np.arange(10) / 10
    # WHEN thresholds are set for FPIR 10%, 5% and 0
    t10, t5, t0 = (metrics.threshold_at_fpir(nonmated, f) for f in (0.1, 0.05, 0.0))
    # THEN 10% lets only the 0.9 score alarm; 5% (half a search) and 0 let none alarm
    assert 0.8 < t10 <= 0.9 and np.sum(nonmated >= t10) == 1
    assert t5 > 0.9 and t0 > 0.9 and t0 == pytest.approx(0.9)


def test_threshold_at_fpir_never_exceeds_target_with_ties():
    # GIVEN tied top scores: three strangers at 0.7 among ten
    nonmated = np.array([0.7, 0.7, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    # WHEN a threshold is set for FPIR 20%
    t = metrics.threshold_at_fpir(nonmated, 0.2)
    # THEN the measured FPIR is at most 20% (the tie cannot be split, so it is 0)
    assert np.mean(nonmated >= t) <= 0.2


def test_faceless_strangers_count_in_the_fpir_denominator_but_never_alarm():
    # GIVEN four strangers, two without a face, and a threshold set for FPIR 25%
    nonmated = np.array([0.8, 0.3, metrics.NO_SCORE, metrics.NO_SCORE])
    t = metrics.threshold_at_fpir(nonmated, 0.25)
    # WHEN the operating point is measured
    point = metrics.operating_point(_searches([], [], nonmated), t)
    # THEN exactly one false alarm among four searches
    assert point["false_alarms"] == 1 and point["fpir"] == 0.25


def test_operating_point_counts_hits_misses_and_misidentifications():
    # GIVEN four mated searches: two correct above 0.5, one correct below, one WRONG person above
    searches = _searches([0.9, 0.6, 0.4, 0.7], [True, True, True, False], [0.2, 0.55])
    # WHEN measured at 0.5
    point = metrics.operating_point(searches, 0.5)
    # THEN TPIR counts only correct alarms, the wrong alarm is a misidentification, one stranger alarms
    assert point["tpir"] == 0.5 and point["fnir"] == 0.5
    assert point["misidentification_rate"] == 0.25
    assert point["fpir"] == 0.5 and point["false_alarms"] == 1


def test_closed_set_accuracy_ignores_scores():
    # GIVEN three mated searches, two with the right person at rank 1 (one at a very low score)
    searches = _searches([0.9, 0.01, 0.8], [True, True, False], [])
    # THEN rank-1 accuracy is 2/3 whatever the threshold
    assert metrics.closed_set_accuracy(searches) == pytest.approx(2 / 3)


def test_det_curve_trades_misses_for_false_alarms():
    # GIVEN overlapping mated and non-mated scores
    rng = np.random.default_rng(0)
    searches = _searches(rng.normal(0.6, 0.1, 200), np.ones(200, bool), rng.normal(0.3, 0.1, 200))
    # WHEN the DET curve is computed
    fpir, fnir = metrics.det_curve(searches)
    # THEN raising the threshold lowers FPIR and raises FNIR monotonically
    assert np.all(np.diff(fpir) <= 0) and np.all(np.diff(fnir) >= 0)
    assert fpir[0] == 1.0 and fnir[0] == 0.0


def test_ten_fold_verification_separable_and_random():
    # GIVEN perfectly separated pairs, and pairs whose scores carry no information
    same = np.random.default_rng(2).random(400) < 0.5
    separated = np.where(same, 0.8, 0.2)
    noise = np.random.default_rng(1).random(400)
    # WHEN evaluated with 10 folds
    good, bad = metrics.ten_fold_verification(separated, same), metrics.ten_fold_verification(noise, same)
    # THEN the first is perfect with a threshold between the groups, the second near chance
    assert good["accuracy"] == 1.0 and 0.2 < good["threshold_mean"] < 0.8
    assert 0.35 < bad["accuracy"] < 0.65


def _record(vector, ok=True) -> Record:
    return Record(np.asarray(vector, np.float32), ok, ok, ok, 0.9 if ok else 0.0, 10.0)


def test_run_searches_builds_mated_and_nonmated_searches(tmp_path):
    # GIVEN a gallery of a,b; probes: a (mated), z (stranger), and a faceless probe of b
    rows = [Row("a1", "a", "enroll"), Row("b1", "b", "enroll"), Row("a2", "a", "probe"),
            Row("z1", "z", "probe"), Row("b2", "b", "probe")]
    vectors = {"a1": [1, 0], "b1": [0, 1], "a2": [0.96, 0.28], "z1": [0.6, 0.8], "b2": [0, 0]}
    records = {str((tmp_path / k).resolve()): _record(v, k != "b2") for k, v in vectors.items()}
    # WHEN searched (mate-removed searches on)
    outcome = run_searches(rows, records, tmp_path)
    # THEN 2 mated searches (one faceless miss), 1 stranger + 2 mate-removed non-mated searches
    s = outcome.searches
    assert list(s.mated_correct) == [True, False]
    assert outcome.counts["probes_without_usable_face"] == 1
    assert sorted(np.round(s.nonmated_score, 2)) == [-np.inf, 0.28, 0.8]
    # AND a threshold for FPIR 0 sits above the stranger's 0.8 but below a's own 0.96
    assert 0.8 < thresholds_for(s)[0.0] < 0.96


def test_production_enrols_a_low_quality_reference_and_the_old_gate_did_not(tmp_path):
    # GIVEN person a whose only reference photo has a face that fails the reference gate, and b with no face
    rows = [Row("a1", "a", "enroll"), Row("a2", "a", "probe"), Row("b1", "b", "enroll")]
    records = {str((tmp_path / "a1").resolve()): Record(np.array([1, 0], np.float32), True, False, True, 0.6, 1.0),
               str((tmp_path / "a2").resolve()): _record([1, 0]),
               str((tmp_path / "b1").resolve()): Record(np.zeros(2, np.float32), False, False, False, 0.0, 1.0)}
    # WHEN searched with production's reference rule, and with the older gate that refused such photos
    production = run_searches(rows, records, tmp_path)
    gated = run_searches(rows, records, tmp_path, reference_gate=True)
    # THEN production enrols a (found) and only b, without a face, fails to enrol; the old gate lost a too
    assert production.counts["gallery_records"] == 1 and list(production.searches.mated_correct) == [True]
    assert production.counts["failed_to_enrol"] == 1
    assert gated.counts["failed_to_enrol"] == 2 and list(gated.searches.mated_correct) == [False]


def test_a_normalised_search_without_its_mate_is_the_search_of_a_gallery_that_never_had_it(tmp_path):
    # GIVEN a and a look-alike twin t enrolled among others, and a probe of a
    rng = np.random.default_rng(3)
    base = rng.normal(size=16)
    people = {"a": base, "t": base + 0.3 * rng.normal(size=16)}
    people.update({f"p{i}": rng.normal(size=16) for i in range(30)})
    unitise = lambda v: (v / np.linalg.norm(v)).astype(np.float32)  # noqa: E731
    rows = [Row(f"{n}1", n, "enroll") for n in people] + [Row("a2", "a", "probe")]
    records = {str((tmp_path / f"{n}1").resolve()): _record(list(unitise(v))) for n, v in people.items()}
    records[str((tmp_path / "a2").resolve())] = _record(list(unitise(base + 0.1 * rng.normal(size=16))))
    norm = ScoreNorm(cohort=5)
    # WHEN a's probe is searched again with a's records removed, and searched in a gallery where a never was
    with_mate = run_searches(rows, records, tmp_path, score_norm=norm)
    never = run_searches([r for r in rows if r.path != "a1"], records, tmp_path, score_norm=norm)
    # THEN its best other-person score is the same: the twin's statistics no longer count a's record
    assert with_mate.searches.nonmated_score[-1] == pytest.approx(never.searches.nonmated_score[-1], abs=1e-5)
