"""Matching: reference faces join a case's gallery; sighting faces are searched and may raise alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np
from aws_lambda_powertools import Logger
from pydantic import TypeAdapter

from facetrace import reembed
from facetrace.alert import raise_alert
from facetrace.face import StoredFace
from facetrace.gallery import Candidate
from facetrace.gallery.cache import GalleryCache
from facetrace.messages import Face, FacesResult, ModelInfo, PhotoKind
from facetrace.past_sightings import RetroStore, recheck_past_sightings, retention_start
from facetrace.photo import Photo, PhotoStatus
from facetrace.photo_search import SearchStore, run_search
from facetrace.sighting_archive import SegmentSearch
from facetrace.ports import ObjectStore, Publisher

logger = Logger(child=True)

# Cases reported per sighting face: enough for a reviewer, bounded for the store.
MAX_CASES = 10
# In a reference photo with several good faces, the missing person's must be at least this much larger.
DOMINANT_AREA_RATIO = 2.0
LOW_QUALITY = "enrolled, but a clearer photo of the face would make matches more reliable: "
# Embeddings arrive L2-normalised as float32; anything further off was not produced by a pack.
UNIT_TOLERANCE = 1e-2


@dataclass(frozen=True)
class Thresholds:
    """Cosine-similarity cut-offs: a match is stored above `match`, an alert raised above `alert`."""

    match: float
    alert: float

    @classmethod
    def of(cls, model: ModelInfo, match: float | None = None, alert: float | None = None) -> "Thresholds":
        """The pack's calibrated thresholds unless the operator overrides them."""
        return cls(match if match is not None else model.match_threshold, alert if alert is not None else model.alert_threshold)


@dataclass
class MatchOutcome:
    """What matching one photo's faces did."""

    photo_id: str
    faces: int = 0
    matches: int = 0
    alerts: list[str] = field(default_factory=list)
    failed_stage: str | None = None  # set when this photo failed (now, or at an earlier stage)
    reembed: str | None = None  # "done" or "failed" for a re-embedding job (the photo's own status is kept)


class MatchStore(RetroStore, SearchStore, reembed.EmbeddedStore, Protocol):
    """Everything matching reads and writes: photos, cases, faces, alerts, subscriptions, searches, campaigns."""


@dataclass(frozen=True)
class MatchDeps:
    """The store, the alerts topic, the bucket and the galleries that matching needs."""

    store: MatchStore
    publisher: Publisher
    objects: ObjectStore
    galleries: GalleryCache
    retention_days: int = 90  # sightings this recent are searched again when a case gains reference faces
    archive: SegmentSearch | None = None  # the sighting archive's fan-out; None: retro-search reads the database


def process_faces(
    result: FacesResult, deps: MatchDeps, thresholds: Thresholds | None = None, found: Found | None = None
) -> MatchOutcome:
    """Record a photo's faces; enrol reference faces or search sighting faces (or use `found`) and raise alerts."""
    result = resolve_faces(result, deps.objects)
    photo = deps.store.get_photo(result.job.photo_id)
    if photo is None:
        raise LookupError(f"photo {result.job.photo_id} is not recorded")
    if result.job.purpose == reembed.REEMBED:
        return _reembedded(photo, result, deps, thresholds, found)
    if result.status == "failed" or result.model is None:
        return _failed(photo, result.stage or "faces", result.error or "the worker gave no reason", deps)
    problem = invalid_faces(result)
    if problem is not None:
        return _failed(photo, "match", f"invalid face data from the worker: {problem}", deps)
    thresholds = thresholds or Thresholds.of(result.model)
    if photo.kind is PhotoKind.REFERENCE:
        return _enrol(photo, result, deps, thresholds)
    if photo.kind is PhotoKind.SEARCH:
        # No faces, matches or alerts are stored: only the search's candidates among the cases it may see.
        top = run_search(photo, result, deps.store, deps.galleries, deps.objects, thresholds.match)
        return MatchOutcome(photo.id, faces=len(result.faces), matches=len(top))
    return _search(photo, result, deps, thresholds, found)


def _reembedded(photo: Photo, result: FacesResult, deps: MatchDeps, thresholds: Thresholds | None,
                found: Found | None) -> MatchOutcome:
    """A photo embedded again after a model change: stored like any other, but a failure fails the campaign's
    item, never the photo, which keeps what the previous model found."""
    if result.status == "failed" or result.model is None:
        refused = (result.stage or "faces", result.error or "the worker gave no reason")
    elif problem := invalid_faces(result):
        refused = ("match", f"invalid face data from the worker: {problem}")
    else:
        refused = reembed.refusal(photo, result, deps.store)
    if refused is not None:
        reembed.item_failed(deps.store, result.job, *refused)
        return MatchOutcome(photo.id, reembed="failed")
    thresholds = thresholds or Thresholds.of(result.model)
    if photo.kind is PhotoKind.REFERENCE:
        outcome = _enrol(photo, result, deps, thresholds)
    else:
        outcome = _search(photo, result, deps, thresholds, found)
    reembed.item_done(deps.store, result.job)
    outcome.reembed = "done"
    return outcome


def _failed(photo: Photo, stage: str, reason: str, deps: MatchDeps) -> MatchOutcome:
    changed = deps.store.fail_photo(photo.id, stage, reason)
    logger.warning("photo failed", extra={"photo_id": photo.id, "stage": stage, "reason": reason[:300],
                                          "changed": changed})
    return MatchOutcome(photo.id, failed_stage=stage if changed else None)


def invalid_faces(result: FacesResult) -> str | None:
    """Why an ok result's faces cannot be stored or searched (size, values, length, indexes), or None."""
    if result.status != "ok" or result.model is None:
        return None
    indexes = [f.index for f in result.faces]
    if len(set(indexes)) != len(indexes):
        return f"face indexes repeat: {indexes}"
    for face in result.faces:
        problem = _invalid_embedding(face, result.model)
        if problem:
            return f"face {face.index}: {problem}"
    return None


def _invalid_embedding(face: Face, model: ModelInfo) -> str | None:
    try:
        vector = face.embedding()
    except ValueError as exc:  # bad base64 or a byte count that is not whole float32s
        return f"embedding is unreadable ({exc})"
    if vector.shape != (model.dim,):
        return f"embedding has {vector.size} values; {model.name} gives {model.dim}"
    if not np.all(np.isfinite(vector)):
        return "embedding has values that are not finite numbers"
    norm = float(np.linalg.norm(vector))
    if abs(norm - 1.0) > UNIT_TOLERANCE:
        return f"embedding is not of unit length ({norm:.4f})"
    return None


def resolve_faces(result: FacesResult, objects: ObjectStore) -> FacesResult:
    """Fetch the faces from S3 when the worker had to leave them there (too big for one message)."""
    if result.faces_key is None:
        return result
    faces = TypeAdapter(list[Face]).validate_json(objects.get(result.faces_key))
    return result.model_copy(update={"faces": faces, "faces_key": None})


def _enrol(photo: Photo, result: FacesResult, deps: MatchDeps, thresholds: Thresholds) -> MatchOutcome:
    usable, reason = reference_faces(result.faces)
    stored = deps.store.add_faces(photo.id, result.model, result.faces, usable)
    deps.store.mark_embedded(photo.id, result.model.name, len(stored), sum(usable))
    reason = reason or (None if any(usable) else _refusal(result))
    deps.store.set_photo_status(photo.id, PhotoStatus.PROCESSED, reason=reason, face_count=len(stored))
    logger.info("reference enrolled", extra={"photo_id": photo.id, "case_id": photo.case_id, "usable": sum(usable)})
    outcome = MatchOutcome(photo.id, faces=sum(usable))
    if any(usable) and photo.case_id:
        # The person may have been seen before the case (or this photo) existed.
        outcome.alerts = recheck_past_sightings(photo.case_id, result.model, stored, deps, thresholds.match,
                                               thresholds.alert, retention_start(deps.retention_days))
    return outcome


def reference_faces(faces: list[Face]) -> tuple[list[bool], str | None]:
    """Which faces of a reference photo enrol: the one good face, or the clearly largest of several; with no good
    face, the face of low quality enrols all the same, and the reason asks the agency for a better photo."""
    good = [i for i, f in enumerate(faces) if f.quality.usable_as_reference]
    chosen, reason = _dominant(faces, good or list(range(len(faces))))
    if chosen is None:
        return [False] * len(faces), reason
    if not good:
        # Refusing it would lose the person; on LFW such references draw strangers no more than good ones
        # (calibrated extra threshold: -0.004, zero within noise), they only match their own person less well.
        reason = LOW_QUALITY + "; ".join(sorted(set(faces[chosen].quality.reasons)) or ["low quality"])
    return [i == chosen for i in range(len(faces))], reason


def _dominant(faces: list[Face], pool: list[int]) -> tuple[int | None, str | None]:
    ranked = sorted(pool, key=lambda i: -_area(faces[i]))
    if not ranked:
        return None, None
    if len(ranked) == 1 or _area(faces[ranked[0]]) >= DOMINANT_AREA_RATIO * _area(faces[ranked[1]]):
        return ranked[0], None
    # Enrolling a bystander would alert on the wrong person; better to ask for another photo.
    return None, "several faces of similar size; upload a photo showing only the missing person"


def _area(face: Face) -> float:
    x1, y1, x2, y2 = face.box
    return max(x2 - x1, 0.0) * max(y2 - y1, 0.0)


def _refusal(result: FacesResult) -> str:
    if not result.faces:
        return "no face found in the reference photo"
    reasons = sorted({r for f in result.faces for r in f.quality.reasons})
    return "no face good enough for a reference: " + "; ".join(reasons)


# (photo id, model name, face index) -> candidates: during a model change one photo has a result per model.
Found = dict[tuple[str, str, int], list[Candidate]]


def find_candidates(results: list[FacesResult], deps: MatchDeps, thresholds: Callable[[ModelInfo], Thresholds]) -> Found:
    """Search every usable sighting face of a whole batch in one matrix product per model."""
    probes: dict[tuple[str, int], list[tuple[str, Face]]] = {}
    models: dict[tuple[str, int], ModelInfo] = {}
    for result in results:
        # Results left in S3 (rare, very many faces) are searched on their own when processed; invalid ones
        # fail alone when processed, so they never reach the shared matrix product.
        if (result.status == "ok" and result.model and result.job.kind is PhotoKind.SIGHTING
                and not result.faces_key and invalid_faces(result) is None):
            key = (result.model.name, result.model.dim)
            models[key] = result.model
            for face in result.faces:
                if face.quality.usable_as_sighting:
                    probes.setdefault(key, []).append((result.job.photo_id, face))
    found: Found = {}
    for key, faces in probes.items():
        try:
            found.update(_search_model(models[key], faces, deps, thresholds))
        except Exception:
            # e.g. a model whose size disagrees with its gallery: its photos are searched, and fail, one by one.
            logger.exception("batch search failed", extra={"model": key[0], "dim": key[1], "faces": len(faces)})
    return found


def _search_model(model: ModelInfo, faces: list[tuple[str, Face]], deps: MatchDeps,
                  thresholds: Callable[[ModelInfo], Thresholds]) -> Found:
    gallery = deps.galleries.current(model.name, model.dim)
    hits = gallery.search(np.stack([f.embedding() for _, f in faces]), thresholds(model).match, k=MAX_CASES)
    return {(photo_id, model.name, f.index): h for (photo_id, f), h in zip(faces, hits)}


def _search(photo: Photo, result: FacesResult, deps: MatchDeps, thresholds: Thresholds, found: Found | None) -> MatchOutcome:
    usable = [f.quality.usable_as_sighting for f in result.faces]
    stored = deps.store.add_faces(photo.id, result.model, result.faces, usable)
    deps.store.mark_embedded(photo.id, result.model.name, len(stored), sum(usable))
    probes = [s for s in stored if s.usable]
    outcome = MatchOutcome(photo.id, faces=len(probes))
    if probes:
        keys = [(photo.id, result.model.name, p.face.index) for p in probes]
        if found is None or any(k not in found for k in keys):
            found = _search_model(result.model, [(photo.id, p.face) for p in probes], deps, lambda _: thresholds)
        hits = [found[k] for k in keys]
        deps.store.add_matches([(p.id, c) for p, cands in zip(probes, hits) for c in cands])
        outcome.matches = sum(map(len, hits))
        alerts = [[c for c in cands if c.score >= thresholds.alert] for cands in hits]
        _raise_alerts(photo, result.model, probes, alerts, deps, outcome)
    deps.store.set_photo_status(photo.id, PhotoStatus.PROCESSED, face_count=len(stored))
    return outcome


def _raise_alerts(photo: Photo, model: ModelInfo, probes: list[StoredFace], hits, deps: MatchDeps, outcome: MatchOutcome) -> None:
    best: dict[str, tuple[float, StoredFace, int]] = {}
    for face, candidates in zip(probes, hits):
        for c in candidates:
            if c.case_id not in best or c.score > best[c.case_id][0]:
                best[c.case_id] = (c.score, face, c.reference_face_id)
    for case_id, (score, face, ref_id) in best.items():
        alert = raise_alert(deps, photo, model.name, face.id, face.face.index, face.face.box,
                            Candidate(case_id, ref_id, score))
        if alert is not None:
            outcome.alerts.append(alert.id)
