"""Turn a protocol and its images' records into searches, thresholds and the evaluation report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.score_norm import ScoreNorm
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
    rows: list[Row], records: dict[str, Record], root: str | Path, mate_removed: bool = True, reference_gate: bool = True,
    score_norm: ScoreNorm | None = None,
) -> Outcome:
    """Search every probe against the gallery of usable enrolled faces.

    Non-mated searches are the strangers' probes and, with mate_removed, each mated probe searched
    again without its own person's records (NIST's way to get more non-mated searches per person).
    With reference_gate (the real pipeline) a photo failing the reference quality gate is not
    enrolled, as an upload would be refused; without it any detected face is enrolled.
    """
    enrolled = [r for r in rows if r.role == ENROLL]
    gate = (lambda rec: rec.reference_ok) if reference_gate else (lambda rec: rec.has_face)
    usable = [r for r in enrolled if gate(records[full_path(root, r)])]
    dim = len(next(iter(records.values())).embedding) if records else 0
    gallery = np.array([records[full_path(root, r)].embedding for r in usable]).reshape(len(usable), dim)
    gallery_ids = np.array([r.person for r in usable], dtype=object)
    probes = [r for r in rows if r.role == PROBE]
    ok = np.array([records[full_path(root, r)].sighting_ok for r in probes], bool)
    vectors = np.array([records[full_path(root, r)].embedding for r in probes]).reshape(len(probes), dim)
    raw = vectors @ gallery.T if len(gallery) else np.zeros((len(probes), 0), np.float32)
    probe_ids = np.array([r.person for r in probes], dtype=object)
    normalise = _normaliser(score_norm, gallery, gallery_ids)
    scores = normalise(raw)
    top, top_ids = metrics.rank1(scores, gallery_ids, probe_ids, ok)
    mated = np.isin(probe_ids, list({r.person for r in enrolled}))
    nonmated = [top[~mated]]
    if mate_removed:
        without_mate = np.where(gallery_ids[None, :] == probe_ids[mated][:, None], -np.inf, raw[mated])
        nonmated.append(metrics.best_nonmate(normalise(without_mate), gallery_ids, probe_ids[mated], ok[mated]))
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


def _normaliser(score_norm: ScoreNorm | None, gallery: np.ndarray, gallery_ids: np.ndarray):
    """Raw scores -> the scores thresholds apply to (identity without normalisation)."""
    if score_norm is None or len(gallery) == 0:
        return lambda raw: raw
    record = score_norm.record_stats(gallery, gallery_ids)
    return lambda raw: score_norm.apply(raw, score_norm.probe_stats(raw), record)


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
