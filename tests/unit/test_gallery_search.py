"""Exact search in blocks: the same answers as one product over the whole gallery; float16 snapshots."""

from __future__ import annotations

import io

import numpy as np
import pytest

from facetrace import gallery
from facetrace.gallery.live import LiveGallery, Watermark

N, DIM, CASES = 1000, 32, 300


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(gallery, "BLOCK_ROWS", 64)  # many blocks, so block edges are crossed


def seeded_gallery(seed: int = 7):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cases = np.array([f"case-{i}" for i in rng.integers(0, CASES, N)], dtype=object)
    # Probes near gallery rows, so each one has several cases above the threshold.
    probes = vectors[rng.choice(N, 16, replace=False)] + 0.3 * rng.standard_normal((16, DIM)).astype(np.float32)
    return vectors, np.arange(100, 100 + N), cases, probes / np.linalg.norm(probes, axis=1, keepdims=True)


def reference(vectors, face_ids, cases, probes, min_score, k, active):
    """Best face per case, best first, from one full product: the definition the search must keep."""
    out = []
    for row in probes @ vectors.T:
        best = {}
        for i in np.argsort(-row, kind="stable"):
            if row[i] >= min_score and active[i] and cases[i] not in best and len(best) < k:
                best[cases[i]] = (int(face_ids[i]), round(float(row[i]), 5))
        out.append(list(best.items()))
    return out


def as_items(results):
    return [[(c.case_id, (c.reference_face_id, round(c.score, 5))) for c in found] for found in results]


def test_blocked_search_equals_one_full_product(small_blocks):
    # GIVEN a seeded gallery of 1000 faces in 300 cases, searched 64 rows at a time
    vectors, face_ids, cases, probes = seeded_gallery()
    active = np.ones(N, dtype=bool)
    # WHEN searched with a threshold and k
    found = gallery.search(vectors, face_ids, cases, probes, min_score=0.2, k=5, active=active)
    # THEN every probe gets exactly the reference answer (recall 1.0), with several cases each
    assert as_items(found) == reference(vectors, face_ids, cases, probes, 0.2, 5, active)
    assert min(len(f) for f in found) >= 2


def test_rows_of_closed_cases_never_match_in_any_block(small_blocks):
    # GIVEN the best-scoring case of every probe closed (its rows masked out)
    vectors, face_ids, cases, probes = seeded_gallery()
    full = gallery.search(vectors, face_ids, cases, probes, min_score=0.2, k=5)
    closed = {f[0].case_id for f in full}
    active = ~np.isin(cases, list(closed))
    # WHEN searched again THEN no closed case appears and the rest is still best-per-case
    found = gallery.search(vectors, face_ids, cases, probes, min_score=0.2, k=5, active=active)
    assert not {c.case_id for f in found for c in f} & closed
    assert as_items(found) == reference(vectors, face_ids, cases, probes, 0.2, 5, active)


def test_snapshot_stores_float16_and_keeps_the_ranking():
    # GIVEN a live gallery of random faces
    vectors, face_ids, cases, probes = seeded_gallery()
    live = LiveGallery(DIM, Watermark(N, 0), vectors, face_ids, cases, np.ones(N, dtype=bool))
    # WHEN written to a snapshot and read back
    data = live.to_bytes()
    back = LiveGallery.from_bytes(data, DIM)
    # THEN the vectors took two bytes each, come back as float32, and scores barely moved
    with np.load(io.BytesIO(data)) as npz:
        assert npz["vectors"].dtype == np.float16 and back.vectors.dtype == np.float32
    assert np.abs(probes @ back.vectors.T - probes @ vectors.T).max() < 1e-3
    assert [c.case_id for c in back.search(probes, 0.2, 5)[0]] == [c.case_id for c in live.search(probes, 0.2, 5)[0]]
