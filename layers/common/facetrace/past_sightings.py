"""Retro-search: new reference faces of a case are searched against the sightings still within retention.

With the sighting archive (`sighting_archive`), the archived faces are searched by its fan-out and only their
hits, plus the faces not archived yet, are read from the database; without it, every recent face is.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol

import numpy as np
from aws_lambda_powertools import Logger

from facetrace.alert import AlertingDeps, AlertingStore, raise_alert
from facetrace.face import SightingFaces, StoredFace
from facetrace.gallery import Candidate
from facetrace.messages import ModelInfo
from facetrace.photo import Photo, PhotoStore
from facetrace.sighting_archive import ArchiveStore, SegmentSearch

logger = Logger(child=True)


class RetroStore(AlertingStore, PhotoStore, ArchiveStore, Protocol):
    """What re-checking past sightings reads and writes."""


class RetroDeps(AlertingDeps, Protocol):
    store: RetroStore
    archive: SegmentSearch | None  # the archive's fan-out; None: every recent face is read from the database


def retention_start(retention_days: int, now: datetime | None = None) -> datetime:
    """The oldest arrival time of a sighting still kept (and so still searched)."""
    return (now or datetime.now(timezone.utc)) - timedelta(days=retention_days)


def recheck_past_sightings(case_id: str, model: ModelInfo, references: list[StoredFace], deps: RetroDeps,
                          match_threshold: float, alert_threshold: float, since: datetime) -> list[str]:
    """Match a case's new reference faces against earlier sightings; raise (once) and return the new alerts."""
    refs = [r for r in references if r.usable]
    if not refs:
        return []
    vectors = np.stack([r.face.embedding() for r in refs])
    past = _past_faces(deps, model, vectors, match_threshold, since)
    if len(past) == 0:
        return []
    scores = past.vectors @ vectors.T
    best_ref, best = scores.argmax(axis=1), scores.max(axis=1)
    rows = np.flatnonzero(best >= match_threshold)
    deps.store.add_matches([(int(past.face_ids[i]), Candidate(case_id, refs[best_ref[i]].id, float(best[i])))
                            for i in rows])
    raised = [_alert(deps, past, model, case_id, i, refs[best_ref[i]].id, float(best[i]))
              for i in _best_row_per_photo(past, rows, best) if best[i] >= alert_threshold]
    alerts = [a for a in raised if a]
    logger.info("retro-search", extra={"case_id": case_id, "sighting_faces": len(past), "matches": len(rows),
                                       "alerts": len(alerts)})
    return alerts


def _past_faces(deps: RetroDeps, model: ModelInfo, refs: np.ndarray, min_score: float, since: datetime) -> SightingFaces:
    """Recent sighting faces that may match: the archive's hits as the database holds them now, and the rest."""
    store = deps.store
    if deps.archive is None:
        return store.sighting_faces_since(model.name, model.dim, since)
    segments = store.archive_segments(model.name, since)
    archived_up_to = store.archive_watermark(model.name)  # faces up to it are in a segment (or expired with it)
    hits = deps.archive.search([s.key for s in segments], refs, since, min_score) if segments else []
    # Re-read, never trusted: a face erased (or a photo expired) since its segment was written drops out here.
    found = store.sighting_faces_with_ids(model.name, model.dim, since, [h.face_id for h in hits])
    recent = store.sighting_faces_since(model.name, model.dim, since, after_face_id=archived_up_to)
    logger.info("retro-search archive", extra={"segments": len(segments), "hits": len(hits), "kept": len(found),
                                               "not_archived": len(recent)})
    return SightingFaces.join(found, recent)


def _best_row_per_photo(past: SightingFaces, rows: np.ndarray, best: np.ndarray) -> list[int]:
    # One alert per (sighting, case): the photo's best-scoring face stands for it.
    chosen: dict[str, int] = {}
    for i in rows:
        photo_id = past.photo_ids[i]
        if photo_id not in chosen or best[i] > best[chosen[photo_id]]:
            chosen[photo_id] = int(i)
    return list(chosen.values())


def _alert(deps: RetroDeps, past: SightingFaces, model: ModelInfo, case_id: str, row: int, ref_id: int,
           score: float) -> str | None:
    where = past.location(row)
    sighting: Photo | None = deps.store.get_photo(where.photo_id)
    if sighting is None:
        return None
    alert = raise_alert(deps, sighting, model.name, int(past.face_ids[row]), where.index, where.box,
                        Candidate(case_id, ref_id, score))
    return alert.id if alert else None
