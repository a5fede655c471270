"""Turn a protocol and its images' records into searches, thresholds and the evaluation report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.score_norm import ScoreNorm
from facetrace.gallery import Gallery
from facetrace.match import reference_faces
from facetrace.messages import Face, Quality
from evaluation import metrics
from evaluation.cache import Record
from evaluation.protocol import ENROLL, PROBE, Row

TARGET_FPIRS = (0.008, 0.0033, 0.0)
NEAR_DUPLICATE = 0.9  # a non-mated score this high is more likely a label error than a look-alike


@dataclass
class Outcome:
    """Searches of one protocol plus what is needed to report on them."""

    searches: metrics.Searches
    counts: dict
    suspects: list[dict]


def full_path(root: str | Path, row: Row) -> str:
    """Absolute path of a protocol row's image (the cache key)."""
    return str((Path(root) / row.path).resolve())


def run_searches(
    rows: list[Row], records: dict[str, Record], root: str | Path, mate_removed: bool = True, reference_gate: bool = False,
    score_norm: ScoreNorm | None = None,
) -> Outcome:
    """Search every probe against the gallery of enrolled faces, as production does.

    Enrolment follows match's reference rule (`facetrace.match.reference_faces`: a detected face enrols, one that
    fails the reference quality gate too, flagged); with reference_gate, the older rule that refused such photos.
    Raw scores come from the production gallery search (`facetrace.gallery.Gallery.search`: exact cosine, the best
    face per person). Non-mated searches are the strangers' probes and, with mate_removed, each mated probe
    searched again without its own person's records (NIST's way to get more non-mated searches per person).
    """
    enrolled = [r for r in rows if r.role == ENROLL]
    usable = [r for r in enrolled if _enrols(records[full_path(root, r)], reference_gate)]
    dim = len(next(iter(records.values())).embedding) if records else 0
    gallery = np.array([records[full_path(root, r)].embedding for r in usable]).reshape(len(usable), dim)
    gallery_ids = np.array([r.person for r in usable], dtype=object)
    probes = [r for r in rows if r.role == PROBE]
    ok = np.array([records[full_path(root, r)].sighting_ok for r in probes], bool)
    vectors = np.array([records[full_path(root, r)].embedding for r in probes]).reshape(len(probes), dim)
    probe_ids = np.array([r.person for r in probes], dtype=object)
    mated = np.isin(probe_ids, list({r.person for r in enrolled}))
    raw = vectors @ gallery.T if len(gallery) else np.zeros((len(probes), 0), np.float32)
    if score_norm is None:
        top, top_ids, without_mate = _production_search(gallery, gallery_ids, vectors, probe_ids, ok)
    else:
        top, top_ids, without_mate = _normalised_search(score_norm, gallery, gallery_ids, raw, probe_ids, ok, mated)
    nonmated = [top[~mated]] + ([without_mate[mated]] if mate_removed else [])
    searches = metrics.Searches(top[mated], (top_ids[mated] == probe_ids[mated]) & ok[mated], np.concatenate(nonmated))
    counts = {
        "gallery_records": len(usable),
        "failed_to_enrol": len(enrolled) - len(usable),
        "mated_searches": int(mated.sum()),
        "nonmated_searches_strangers": int((~mated).sum()),
        "nonmated_searches_mate_removed": int(mated.sum()) if mate_removed else 0,
        "probes_without_usable_face": int((~ok).sum()),
    }
    return Outcome(searches, counts, _suspects(raw, gallery_ids, probe_ids, probes, usable, mated))


def distractor_searches(rows: list[Row], records: dict[str, Record], root: str | Path, exclude: set[str],
                        reference_gate: bool = False) -> np.ndarray:
    """More non-mated searches for calibration: each distractor's enrolled photo searched against the rest of the
    gallery (its own record left out), as a stranger's sighting would be. People in `exclude` (those who search
    in the test protocol) never search here; a photo that fails the sighting gate does not search."""
    enrolled = [r for r in rows if r.role == ENROLL and _enrols(records[full_path(root, r)], reference_gate)]
    searching = {r.person for r in rows if r.role == PROBE} | set(exclude)
    if not enrolled:
        return np.zeros(0)
    gallery = np.array([records[full_path(root, r)].embedding for r in enrolled], dtype=np.float32)
    ids = np.array([r.person for r in enrolled], dtype=object)
    probes = [i for i, r in enumerate(enrolled)
              if r.person not in searching and records[full_path(root, r)].sighting_ok]
    scores = gallery[probes] @ gallery.T
    scores[ids[probes][:, None] == ids[None, :]] = -np.inf  # the person's own record is not in their gallery
    return scores.max(axis=1) if len(probes) else np.zeros(0)


def _enrols(record: Record, reference_gate: bool) -> bool:
    """Production's reference rule for a photo's subject face (LFW photos are portraits of one person)."""
    if not record.has_face:
        return False
    quality = Quality(det_score=record.det_score, face_px=0.0, blur=0.0, yaw=0.0, usable_as_reference=record.reference_ok,
                      usable_as_sighting=record.sighting_ok)
    subject = Face(index=0, box=(0.0, 0.0, 1.0, 1.0), landmarks=[], quality=quality, embedding_b64="")
    usable, _ = reference_faces([subject])
    return usable[0] and (record.reference_ok or not reference_gate)


def _production_search(gallery, gallery_ids, vectors, probe_ids, ok):
    """(rank-1 score, rank-1 person, best score of another person) per probe, from production's gallery search."""
    n = len(probe_ids)
    top, top_ids, without = np.full(n, metrics.NO_SCORE), np.array([None] * n, dtype=object), np.full(n, metrics.NO_SCORE)
    if len(gallery) == 0:
        return top, top_ids, without
    # Two cases per probe are enough: when the first is the probe's own person, the second is the best other one.
    found = Gallery(gallery.astype(np.float32), np.arange(len(gallery)), tuple(gallery_ids)).search(
        vectors.astype(np.float32), min_score=-2.0, k=2)
    for i, hits in enumerate(found):
        if not ok[i] or not hits:
            continue
        top[i], top_ids[i] = hits[0].score, hits[0].case_id
        others = [h.score for h in hits if h.case_id != probe_ids[i]]
        without[i] = others[0] if others else metrics.NO_SCORE
    return top, top_ids, without


def _normalised_search(score_norm: ScoreNorm, gallery, gallery_ids, raw, probe_ids, ok, mated):
    """The same three columns from s-normalised scores (evaluation only: production compares raw cosines)."""
    if len(gallery) == 0:
        n = len(probe_ids)
        return np.full(n, metrics.NO_SCORE), np.array([None] * n, dtype=object), np.full(n, metrics.NO_SCORE)
    cohort = score_norm.record_cohorts(gallery, gallery_ids)
    scores = score_norm.apply(raw, score_norm.probe_stats(raw), score_norm.stats_of(cohort))
    top, top_ids = metrics.rank1(scores, gallery_ids, probe_ids, ok)
    without = np.full(len(probe_ids), metrics.NO_SCORE)
    for i in np.flatnonzero(mated & ok):
        # The mate's records are gone: every record's statistics are taken again without them, as a deployment
        # where the person was never enrolled would have them (leaving them in flattered exactly these searches).
        own = gallery_ids == probe_ids[i]
        masked = np.where(own, -np.inf, raw[i])[None, :]
        record = score_norm.stats_of(cohort, removed=np.flatnonzero(own))
        without[i] = score_norm.apply(masked, score_norm.probe_stats(masked), record).max()
    return top, top_ids, without


def _suspects(scores, gallery_ids, probe_ids, probes: list[Row], usable: list[Row], mated) -> list[dict]:
    """Non-mated pairs scoring as near-duplicates: likely LFW label noise, listed for a human to check."""
    if scores.shape[1] == 0:
        return []
    own = gallery_ids[None, :] == probe_ids[:, None]
    masked = np.where(own, -np.inf, scores)
    rows, cols = np.nonzero(masked >= NEAR_DUPLICATE)
    return [
        {"probe": probes[i].path, "gallery": usable[j].path, "score": round(float(scores[i, j]), 4)}
        for i, j in zip(rows, cols)
    ][:20]


def thresholds_for(searches: metrics.Searches) -> dict[float, float]:
    """Threshold at each target FPIR, fixed on these (calibration) searches."""
    return {target: metrics.threshold_at_fpir(searches.nonmated_score, target) for target in TARGET_FPIRS}


def report(outcome: Outcome, thresholds: dict[float, float], extra: dict[str, float]) -> dict:
    """Rank-1 accuracy and the operating point at each threshold (calibrated targets and extras)."""
    points = [{"target_fpir": t, **metrics.operating_point(outcome.searches, th)} for t, th in thresholds.items()]
    points += [{"name": name, **metrics.operating_point(outcome.searches, th)} for name, th in extra.items()]
    return {
        **outcome.counts,
        "rank1_accuracy": round(metrics.closed_set_accuracy(outcome.searches), 5),
        "operating_points": points,
        "suspected_label_noise": outcome.suspects,
    }


def image_stats(rows: list[Row], records: dict[str, Record], root: str | Path) -> dict:
    """Share of images without a (usable) face and the median pipeline time per image."""
    recs = [records[full_path(root, r)] for r in rows]
    usable = [rec.reference_ok if r.role == ENROLL else rec.sighting_ok for r, rec in zip(rows, recs)]
    return {
        "images": len(recs),
        "no_face_share": round(float(np.mean([not r.has_face for r in recs])), 5) if recs else float("nan"),
        "no_usable_face_share": round(float(np.mean([not u for u in usable])), 5) if recs else float("nan"),
        "median_ms_per_image": round(float(np.median([r.ms for r in recs])), 1) if recs else float("nan"),
    }
