"""Retro-search: new reference faces of a case are searched against the sightings still within retention."""

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

logger = Logger(child=True)


class RetroStore(AlertingStore, PhotoStore, Protocol):
    """What re-checking past sightings reads and writes."""


class RetroDeps(AlertingDeps, Protocol):
    store: RetroStore


def retention_start(retention_days: int, now: datetime | None = None) -> datetime:
    """The oldest arrival time of a sighting still kept (and so still searched)."""
    return (now or datetime.now(timezone.utc)) - timedelta(days=retention_days)


def recheck_past_sightings(case_id: str, model: ModelInfo, references: list[StoredFace], deps: RetroDeps,
                          match_threshold: float, alert_threshold: float, since: datetime) -> list[str]:
    """Match a case's new reference faces against earlier sightings; raise (once) and return the new alerts."""
    refs = [r for r in references if r.usable]
    if not refs:
        return []
    past = deps.store.sighting_faces_since(model.name, model.dim, since)
    if len(past) == 0:
        return []
    scores = past.vectors @ np.stack([r.face.embedding() for r in refs]).T
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
