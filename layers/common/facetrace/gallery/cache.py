"""One LiveGallery per model for the life of a match container: cold start from a snapshot, then deltas."""

from __future__ import annotations

import time
from typing import Callable, Protocol

from aws_lambda_powertools import Logger

from facetrace.gallery import Gallery
from facetrace.gallery.live import GalleryUpdate, LiveGallery, Watermark
from facetrace.keys import snapshot_key
from facetrace.ports import ObjectStore

logger = Logger(child=True)


class GallerySource(Protocol):
    def gallery(self, model_name: str, dim: int) -> Gallery:
        """Every usable reference face of open cases (the slow, complete load)."""
        ...

    def gallery_watermark(self, model_name: str) -> Watermark:
        """The newest face id and case event: one cheap query, run before every search."""
        ...

    def gallery_update(self, model_name: str, dim: int, since: Watermark, until: Watermark) -> GalleryUpdate:
        """Faces added and cases closed or reopened between two watermarks."""
        ...


class GalleryCache:
    """Keeps each model's gallery current; writes a snapshot after enough changes (debounced)."""

    def __init__(self, source: GallerySource, snapshots: ObjectStore | None, snapshot_every: int = 500,
                 snapshot_age_s: float = 300, clock: Callable[[], float] = time.monotonic) -> None:
        self._source, self._snapshots, self._clock = source, snapshots, clock
        self._every, self._age = snapshot_every, snapshot_age_s
        self._live: dict[str, LiveGallery] = {}
        self._saved_at: dict[str, float] = {}

    def current(self, model_name: str, dim: int) -> LiveGallery:
        """The model's gallery as of now: closed cases are already gone, new references already in."""
        live = self._live.get(model_name) or self._cold_start(model_name, dim)
        if live.dim != dim:
            # A pack changed its embedding size without changing its name: never mix the two.
            raise ValueError(f"model {model_name} has {live.dim}-d faces in this gallery, not {dim}-d")
        self._live[model_name] = live
        mark = self._source.gallery_watermark(model_name)
        if mark != live.watermark:
            live.apply(self._source.gallery_update(model_name, dim, live.watermark, mark))
        self._maybe_snapshot(model_name, live)
        return live

    def _cold_start(self, model_name: str, dim: int) -> LiveGallery:
        started = self._clock()
        data = self._snapshots.get_if_exists(snapshot_key(model_name)) if self._snapshots else None
        if data is not None:
            live = LiveGallery.from_bytes(data, dim)
            source = "snapshot"
        else:
            # No snapshot yet: read everything once. The watermark is read first, so nothing committed
            # meanwhile can be missed; the next delta re-reads an overlap anyway.
            mark = self._source.gallery_watermark(model_name)
            live = LiveGallery(dim)
            live.apply(GalleryUpdate(self._source.gallery(model_name, dim), frozenset(), mark))
            source = "database"
        self._saved_at[model_name] = self._clock()
        logger.info("gallery loaded", extra={"model": model_name, "faces": len(live), "from": source,
                                             "seconds": round(self._clock() - started, 3)})
        return live

    def _maybe_snapshot(self, model_name: str, live: LiveGallery) -> None:
        if self._snapshots is None or live.changes == 0:
            return
        if live.changes < self._every and self._clock() - self._saved_at[model_name] < self._age:
            return
        self._snapshots.put(snapshot_key(model_name), live.to_bytes(), "application/octet-stream")
        live.changes = 0
        self._saved_at[model_name] = self._clock()
        logger.info("gallery snapshot written", extra={"model": model_name, "faces": len(live)})
