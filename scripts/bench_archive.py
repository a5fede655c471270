"""Retro-search over the sighting archive: latency and recall at 1M and 10M sighting faces.

    python scripts/bench_archive.py [--faces 1000000 10000000] [--dir /tmp/facetrace-archive] [--workers 2]

Builds synthetic segments the way the archive step writes them (`facetrace.sighting_archive.encode`, 100,000
faces each, float16) in a folder standing in for the bucket, then runs a retro-search as the state machine
does: one task per segment (`SegmentTask` JSON through `run_task`, the archive search function's body), at most
--workers at a time, hits gathered. Vectors are drawn like real embeddings: people (identity centres) with
several faces each, a face = its centre plus noise, so that one person's faces score about 0.5-0.8 together and
strangers about 0 +- 0.05 (512-d). A query person has --planted faces spread over the archive; 10% of the
faces arrived before the retention window and must be left out.

Reports: the wall time of the whole fan-out here, the time per segment (read + search, one worker), and the
recall of the archive search against one exact float32 search of every face in the window (the hits at or above
--min-score, and the planted faces). In AWS each segment is one ArchiveSearchFunction call; the Map state runs
40 at a time, so the estimate printed for AWS is ceil(segments / 40) x (per-segment time + reading 100 MB from
S3) plus the state machine's overhead; it is an estimate, not a measurement.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from facetrace.sighting_archive import (SEGMENT_FACES, ArchivedFaces, SegmentTask, decode, encode, hits_of, run_task,
                                        segment_key)

DIM = 512
FACES_PER_PERSON = 8
NOISE = 0.9  # per-component noise over a unit centre: same-person cosines about 0.55
NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)
RETENTION = timedelta(days=90)
S3_MB_PER_S = 90  # one Lambda reading one object: a conservative figure, not measured here
MAP_CONCURRENCY = 40
STATE_MACHINE_OVERHEAD_S = 0.3


class FolderObjects:
    """The bucket, as a folder (only what a segment search reads)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get_if_exists(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.is_file() else None


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def build(root: Path, faces: int, planted: np.ndarray, seed: int) -> list[str]:
    """Write the archive's segments (reusing a folder already built with the same size) and return their keys."""
    folder = root / f"{faces}"
    keys = [segment_key("bench", start + 1, min(start + SEGMENT_FACES, faces)) for start in range(0, faces, SEGMENT_FACES)]
    if all((folder / k).is_file() for k in keys):
        return keys
    rng = np.random.default_rng(seed)
    where = set(rng.choice(faces, size=len(planted), replace=False).tolist())
    planted_rows = iter(planted)
    started, window = NOW - RETENTION, RETENTION.total_seconds()
    for n, key in enumerate(keys):
        first = n * SEGMENT_FACES
        count = min(SEGMENT_FACES, faces - first)
        centres = _unit(rng.standard_normal((count // FACES_PER_PERSON + 1, DIM), dtype=np.float32))
        vectors = _unit(np.repeat(centres, FACES_PER_PERSON, axis=0)[:count]
                        + NOISE / math.sqrt(DIM) * rng.standard_normal((count, DIM), dtype=np.float32))
        for row in range(first, first + count):
            if row in where:
                vectors[row - first] = next(planted_rows)
        # 10% arrived before the retention window: the search must leave them out
        arrived = (started.timestamp() + rng.uniform(-0.1 * window, 0.9 * window, count)).astype(np.int64)
        segment = ArchivedFaces(np.arange(first + 1, first + count + 1, dtype=np.int64), arrived, vectors.astype(np.float16))
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(segment))
    return keys


def fan_out(objects: FolderObjects, keys: list[str], refs: np.ndarray, since: datetime, min_score: float,
            workers: int) -> tuple[list, list[float]]:
    """The Map state: one task per segment, `workers` at a time; the hits and each task's seconds."""
    shared = SegmentTask.query(refs, since, min_score)

    def one(key: str) -> tuple[list, float]:
        started = time.perf_counter()
        answer = run_task(objects, SegmentTask.model_validate({"key": key, **shared}))
        return answer, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, keys))
    return hits_of([a for a, _ in results]), [s for _, s in results]


def exact(objects: FolderObjects, keys: list[str], refs: np.ndarray, since: datetime, min_score: float) -> set[int]:
    """Every face in the window at or above min_score, by one float32 product per segment (the yardstick)."""
    found: set[int] = set()
    for key in keys:
        seg = decode(objects.get_if_exists(key))
        keep = seg.arrived >= int(since.timestamp())
        scores = (seg.vectors[keep].astype(np.float32) @ refs.T).max(axis=1)
        found.update(int(i) for i in seg.face_ids[keep][scores >= min_score])
    return found


def run(root: Path, faces: int, workers: int, planted_count: int, min_score: float) -> dict:
    rng = np.random.default_rng(7)
    person = _unit(rng.standard_normal((1, DIM), dtype=np.float32))
    planted = _unit(person + NOISE / math.sqrt(DIM) * rng.standard_normal((planted_count, DIM), dtype=np.float32))
    refs = _unit(person + NOISE / math.sqrt(DIM) * rng.standard_normal((2, DIM), dtype=np.float32))  # two photos
    started = time.perf_counter()
    keys = build(root, faces, planted, seed=faces)
    built_s = time.perf_counter() - started
    objects = FolderObjects(root / f"{faces}")
    since = NOW - RETENTION
    decode(objects.get_if_exists(keys[0]))  # the page cache holds what S3 would stream
    started = time.perf_counter()
    hits, per_segment = fan_out(objects, keys, refs, since, min_score, workers)
    wall = time.perf_counter() - started
    truth = exact(objects, keys, refs, since, min_score)
    found = {h.face_id for h in hits}
    planted_in_window = len(truth & found)
    per = statistics.median(per_segment)
    aws = math.ceil(len(keys) / MAP_CONCURRENCY) * (max(per_segment) + 100 / S3_MB_PER_S) + STATE_MACHINE_OVERHEAD_S
    return {"faces": faces, "segments": len(keys), "build_s": round(built_s, 1), "fan_out_wall_s": round(wall, 2),
            "workers": workers, "segment_s_median": round(per, 3), "segment_s_max": round(max(per_segment), 3),
            "hits": len(found), "exact_hits": len(truth), "recall": round(len(truth & found) / len(truth), 4) if truth else None,
            "planted_found": planted_in_window, "aws_estimate_s": round(aws, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/facetrace-archive"), help="where segments are written")
    parser.add_argument("--workers", type=int, default=2, help="segments searched at once here (the Map state: 40)")
    parser.add_argument("--planted", type=int, default=60, help="faces of the query person spread over the archive")
    parser.add_argument("--min-score", type=float, default=0.3391, help="the match threshold (buffalo_s)")
    args = parser.parse_args()
    for faces in args.faces:
        result = run(args.dir, faces, args.workers, args.planted, args.min_score)
        sys.stdout.write(" ".join(f"{k}={v}" for k, v in result.items()) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
