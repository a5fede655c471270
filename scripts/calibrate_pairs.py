"""Calibrate a pack's match/alert cosine thresholds on LFW-style pairs; prints JSON.

Usage: python scripts/calibrate_pairs.py --pack dlib
       python scripts/calibrate_pairs.py --pack gpu_worker/packs/manifests/scrfd500m-mbf --model-dir ../shared/models
"""

from __future__ import annotations

import argparse
import os
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from evaluation.pairs import read_pairs
from gpu_worker.image import decode_image
from gpu_worker.packs import load_pack

_engine = None


def _init(pack: str, model_dir: str | None) -> None:
    """Load the pack once per worker process."""
    global _engine
    _engine = load_pack(pack, ["CPUExecutionProvider"], model_dir=model_dir)


def _embed_chunk(paths: list[str]) -> list[np.ndarray | None]:
    """Embedding of the most central face of each image (the LFW subject), None when no face."""
    images = [decode_image(Path(p).read_bytes(), 50_000_000) for p in paths]
    out = []
    for image, faces in zip(images, _engine.analyse(images, max_faces=5)):
        if not faces:
            out.append(None)
            continue
        centre = np.array(image.shape[1::-1], dtype=np.float32) / 2
        best = min(faces, key=lambda f: float(np.linalg.norm((f.box[:2] + f.box[2:]) / 2 - centre)))
        out.append(best.embedding)
    return out


def threshold_at_far(negatives: np.ndarray, far: float) -> float:
    """Smallest threshold whose false-accept rate on different-person scores is <= far."""
    ranked = np.sort(negatives)[::-1]
    allowed = int(np.floor(far * len(ranked)))  # number of impostor scores allowed at or above it
    return float(ranked[allowed] + 1e-6) if allowed < len(ranked) else float(ranked[-1])


def summarise(positives: np.ndarray, negatives: np.ndarray, far: float) -> dict:
    """Threshold, measured FAR and TAR at one target false-accept rate."""
    t = threshold_at_far(negatives, far)
    far_measured, tar = float((negatives >= t).mean()), float((positives >= t).mean())
    return {"target_far": far, "threshold": round(t, 4), "far": round(far_measured, 5), "tar": round(tar, 5)}


def main() -> None:
    """Embed every pair image, score pairs by cosine similarity, print thresholds as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="dlib")
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--lfw", default=os.path.join(os.environ.get("FACETRACE_TEST_DATA", "../shared/data"), "lfw"))
    parser.add_argument("--pairs", default=None, help="defaults to <lfw>/pairs-dev.txt")
    parser.add_argument("--limit", type=int, default=0, help="use N evenly spaced pairs (0: all)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--alert-far", type=float, default=0.001)
    parser.add_argument("--match-far", type=float, default=0.01)
    args = parser.parse_args()
    lfw = Path(args.lfw)
    pairs = read_pairs(Path(args.pairs) if args.pairs else lfw / "pairs-dev.txt")
    if args.limit and args.limit < len(pairs):  # evenly spaced: the file lists same-person pairs first
        pairs = [pairs[i] for i in np.linspace(0, len(pairs) - 1, args.limit).astype(int)]
    names = sorted({p for a, b, _ in pairs for p in (a, b)})
    chunks = [[str(lfw / n) for n in names[i : i + 16]] for i in range(0, len(names), 16)]
    started = time.time()
    with Pool(args.workers, initializer=_init, initargs=(args.pack, args.model_dir)) as pool:
        vectors = [v for chunk in pool.imap(_embed_chunk, chunks) for v in chunk]
    elapsed = time.time() - started
    by_name = dict(zip(names, vectors))
    usable = [(by_name[a], by_name[b], same) for a, b, same in pairs]
    scored = [(float(np.dot(u, v)), same) for u, v, same in usable if u is not None and v is not None]
    positives = np.array([s for s, same in scored if same])
    negatives = np.array([s for s, same in scored if not same])
    report = {
        "pack": args.pack,
        "images": len(names),
        "images_without_face": sum(v is None for v in vectors),
        "ms_per_image": round(1000 * elapsed / len(names) * args.workers, 1),
        "pairs_same": len(positives),
        "pairs_different": len(negatives),
        "pairs_skipped": len(pairs) - len(scored),
        "same_mean": round(float(positives.mean()), 4),
        "different_mean": round(float(negatives.mean()), 4),
        "alert": summarise(positives, negatives, args.alert_far),
        "match": summarise(positives, negatives, args.match_far),
    }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
