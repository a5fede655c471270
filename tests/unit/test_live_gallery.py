"""The in-memory gallery: incremental updates, closed cases gone at once, snapshots."""

from __future__ import annotations

import numpy as np

from facetrace.gallery import Gallery
from facetrace.gallery.cache import GalleryCache
from facetrace.keys import snapshot_key
from facetrace.gallery.live import GalleryUpdate, LiveGallery, Watermark
from tests.fakes import FakeObjects, unit

A, B, C = unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)


def gallery(*rows: tuple[int, str, np.ndarray]) -> Gallery:
    return Gallery(np.stack([r[2] for r in rows]), np.array([r[0] for r in rows]), tuple(r[1] for r in rows))


def update(faces: Gallery | None = None, removed=(), mark=Watermark(1, 1)) -> GalleryUpdate:
    return GalleryUpdate(faces or Gallery.empty(len(A)), frozenset(removed), mark)


def cases_found(live: LiveGallery, probe: np.ndarray) -> list[str]:
    return [c.case_id for c in live.search(probe[None, :], min_score=0.9, k=5)[0]]


def test_added_faces_are_found_and_overlapping_updates_add_nothing_twice():
    # GIVEN a gallery that received case-a's face, then the same face again in an overlapping update
    live = LiveGallery(len(A))
    live.apply(update(gallery((1, "case-a", A))))
    live.apply(update(gallery((1, "case-a", A), (2, "case-b", B)), mark=Watermark(2, 1)))
    # WHEN searched THEN each face is there once and the watermark moved
    assert len(live) == 2 and live.watermark == Watermark(2, 1)
    assert cases_found(live, A) == ["case-a"] and cases_found(live, B) == ["case-b"]


def test_a_closed_case_is_never_found_again_and_a_reopened_one_comes_back():
    # GIVEN two cases in the gallery
    live = LiveGallery(len(A))
    live.apply(update(gallery((1, "case-a", A), (2, "case-b", B))))
    # WHEN case-a is closed THEN its face is gone from the very next search
    live.apply(update(removed={"case-a"}, mark=Watermark(2, 2)))
    assert cases_found(live, A) == [] and cases_found(live, B) == ["case-b"]
    # WHEN it is reopened (its faces come back with the update) THEN it is found again
    live.apply(update(gallery((1, "case-a", A)), removed={"case-a"}, mark=Watermark(2, 3)))
    assert cases_found(live, A) == ["case-a"]


def test_compaction_keeps_the_answers():
    # GIVEN many cases, most of them closed (which triggers compaction)
    live = LiveGallery(len(A))
    live.apply(update(gallery(*[(i, f"case-{i}", A if i < 9 else C) for i in range(10)])))
    live.apply(update(removed={f"case-{i}" for i in range(8)}))
    # THEN only live rows remain and the remaining cases are still found
    assert len(live.face_ids) == 2
    assert cases_found(live, A) == ["case-8"] and cases_found(live, C) == ["case-9"]


def test_snapshot_round_trip_keeps_rows_and_watermark():
    # GIVEN a gallery with one closed case
    live = LiveGallery(len(A))
    live.apply(update(gallery((1, "case-a", A), (2, "case-b", B)), mark=Watermark(7, 3)))
    live.apply(update(removed={"case-a"}, mark=Watermark(7, 4)))
    # WHEN written and read back
    back = LiveGallery.from_bytes(live.to_bytes(), len(A))
    # THEN the same faces answer and the watermark says where to resume
    assert back.watermark == Watermark(7, 4)
    assert cases_found(back, B) == ["case-b"] and cases_found(back, A) == []


class Source:
    """A GallerySource that counts its calls."""

    def __init__(self) -> None:
        self.rows = [(1, "case-a", A)]
        self.mark = Watermark(1, 0)
        self.full_loads = self.updates = 0

    def gallery(self, model_name, dim):
        self.full_loads += 1
        return gallery(*self.rows)

    def gallery_watermark(self, model_name):
        return self.mark

    def gallery_update(self, model_name, dim, since, until):
        self.updates += 1
        return GalleryUpdate(gallery(*[r for r in self.rows if r[0] > since.face_id] or self.rows), frozenset(), until)


def test_cache_reads_the_database_once_then_only_deltas():
    # GIVEN a cache over a source with one face
    source, objects = Source(), FakeObjects()
    cache = GalleryCache(source, objects, snapshot_every=1000, snapshot_age_s=1e9)
    # WHEN asked twice with no change, then after a new face
    cache.current("m", len(A))
    cache.current("m", len(A))
    source.rows.append((2, "case-b", B))
    source.mark = Watermark(2, 0)
    live = cache.current("m", len(A))
    # THEN one full load, one delta, and the new face is searchable
    assert (source.full_loads, source.updates) == (1, 1)
    assert cases_found(live, B) == ["case-b"]


def test_snapshot_is_debounced_and_used_for_the_next_cold_start():
    # GIVEN a cache that snapshots after 2 changes
    source, objects = Source(), FakeObjects()
    GalleryCache(source, objects, snapshot_every=2, snapshot_age_s=1e9).current("m", len(A))
    # THEN one change did not write a snapshot
    assert snapshot_key("m") not in objects.objects
    # WHEN a second face arrives THEN the snapshot is written
    cache = GalleryCache(source, objects, snapshot_every=2, snapshot_age_s=1e9)
    source.rows.append((2, "case-b", B))
    source.mark = Watermark(2, 0)
    cache.current("m", len(A))
    assert snapshot_key("m") in objects.objects
    # AND a new container starts from it without a full database load
    loads = source.full_loads
    fresh = GalleryCache(source, objects).current("m", len(A))
    assert source.full_loads == loads and len(fresh) == 2
