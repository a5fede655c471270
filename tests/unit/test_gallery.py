"""Gallery search: cosine similarity, best reference face per case, thresholds and limits."""

from __future__ import annotations

import numpy as np
import pytest

from facetrace.gallery import Candidate, Gallery
from tests.fakes import unit, with_cosine

PROBE = unit(1, 0)


def _gallery(rows: list[tuple[np.ndarray, int, str]]) -> Gallery:
    return Gallery(np.stack([r[0] for r in rows]), np.array([r[1] for r in rows]), tuple(r[2] for r in rows))


def test_best_face_per_case_best_case_first():
    # GIVEN case A with two references (0.7 and 0.9 to the probe) and case B with one (0.8)
    gallery = _gallery([
        (with_cosine(PROBE, 0.7), 1, "A"), (with_cosine(PROBE, 0.8), 2, "B"), (with_cosine(PROBE, 0.9), 3, "A"),
    ])
    # WHEN the probe is searched
    [hits] = gallery.search(PROBE[None, :], min_score=0.0, k=10)
    # THEN each case appears once, with its best face, best case first
    assert [(c.case_id, c.reference_face_id) for c in hits] == [("A", 3), ("B", 2)]
    assert hits[0].score == pytest.approx(0.9, abs=1e-5)
    assert hits[1].score == pytest.approx(0.8, abs=1e-5)


def test_min_score_filters_out_weaker_cases():
    # GIVEN cases at 0.9, 0.6 and 0.3 to the probe
    gallery = _gallery([
        (with_cosine(PROBE, 0.9), 1, "A"), (with_cosine(PROBE, 0.6), 2, "B"), (with_cosine(PROBE, 0.3), 3, "C"),
    ])
    # WHEN searched with min_score 0.6
    [hits] = gallery.search(PROBE[None, :], min_score=0.6, k=10)
    # THEN only the cases at or above it are returned
    assert [c.case_id for c in hits] == ["A", "B"]


def test_k_limits_the_number_of_cases():
    # GIVEN five cases of decreasing similarity
    gallery = _gallery([(with_cosine(PROBE, s), i, f"case-{i}") for i, s in enumerate([0.95, 0.9, 0.85, 0.8, 0.75])])
    # WHEN searched with k=2
    [hits] = gallery.search(PROBE[None, :], min_score=0.0, k=2)
    # THEN the two best cases come back
    assert [c.case_id for c in hits] == ["case-0", "case-1"]


def test_k_counts_cases_not_faces():
    # GIVEN case A's three faces all beating case B's single face
    gallery = _gallery([(with_cosine(PROBE, s), i, "A") for i, s in enumerate([0.99, 0.98, 0.97])]
                       + [(with_cosine(PROBE, 0.9), 9, "B")])
    # WHEN searched with k=2
    [hits] = gallery.search(PROBE[None, :], min_score=0.0, k=2)
    # THEN both cases are returned, not A's faces twice
    assert [c.case_id for c in hits] == ["A", "B"]


def test_one_result_list_per_probe():
    # GIVEN two references pointing in different directions and two probes, one near each
    other = unit(0, 1)
    gallery = _gallery([(PROBE, 1, "A"), (other, 2, "B")])
    # WHEN both probes are searched at once
    hits = gallery.search(np.stack([with_cosine(other, 0.95), with_cosine(PROBE, 0.95)]), min_score=0.5, k=10)
    # THEN each probe finds its own case
    assert [[c.case_id for c in row] for row in hits] == [["B"], ["A"]]
    assert hits[0] == [Candidate("B", 2, pytest.approx(0.95, abs=1e-5))]


def test_empty_gallery_finds_nothing():
    # GIVEN an empty gallery
    gallery = Gallery.empty(8)
    # WHEN two probes are searched
    hits = gallery.search(np.stack([PROBE, PROBE]), min_score=-1.0, k=10)
    # THEN each probe gets an empty list
    assert len(gallery) == 0
    assert hits == [[], []]


def test_probe_of_another_dimension_raises():
    # GIVEN a gallery of 8-dimensional faces
    gallery = _gallery([(PROBE, 1, "A")])
    # WHEN a 4-dimensional probe is searched THEN it raises rather than returning garbage
    with pytest.raises(ValueError, match="dim"):
        gallery.search(np.ones((1, 4), dtype=np.float32) / 2, min_score=0.0, k=10)
