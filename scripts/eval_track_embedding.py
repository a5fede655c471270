"""Which embedding should represent a face track (issue #14): its best-quality frame's, or the mean of its best
few? Measured on LFW as a stand-in for a track's frames (several photos of one person are harder than frames
of one walk, so differences show more): each person with at least `--frames + 1` photos enrols the first and
is "seen" in the next `--frames`; the track's representative is searched against every enrolled person with the
production gallery search, and TPIR / FPIR are read at the pack's alert threshold (non-mated: the same search
with the person's own record left out).

    FACETRACE_TEST_DATA=../shared/data FACETRACE_TEST_MODELS=../shared/models \
      .venv/bin/python scripts/eval_track_embedding.py --people 300 --frames 4
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "layers" / "common")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from facetrace.footage.clip import frame_score  # noqa: E402
from gpu_worker.engine import l2_normalise  # noqa: E402
from gpu_worker.image import decode_image  # noqa: E402
from gpu_worker.packs import load_pack  # noqa: E402


def largest_face(engine, path: Path):
    faces = engine.analyse([decode_image(path.read_bytes(), 50_000_000)], 5)[0]
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])) if faces else None


def representatives(faces, keep: int) -> dict[str, np.ndarray]:
    ranked = sorted(faces, key=lambda f: -frame_score(f.quality))
    usable = [f for f in ranked if f.quality.usable_as_sighting] or ranked
    return {"best": l2_normalise(ranked[0].embedding),
            f"mean{keep}": l2_normalise(np.mean([f.embedding for f in usable[:keep]], axis=0)),
            "mean_all": l2_normalise(np.mean([f.embedding for f in usable], axis=0))}


def main() -> int:
    """Embed, search, and print TPIR / FPIR and mean mated score per representative."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lfw", type=Path, default=Path(os.environ.get("FACETRACE_TEST_DATA", "../shared/data")) / "lfw")
    parser.add_argument("--model-dir", default=os.environ.get("FACETRACE_TEST_MODELS"))
    parser.add_argument("--pack", default="buffalo_s")
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--keep", type=int, default=3)
    args = parser.parse_args()
    engine = load_pack(args.pack, model_dir=args.model_dir, fallback=None)
    folders = [f for f in sorted(args.lfw.iterdir()) if len(list(f.glob("*.jpg"))) > args.frames][: args.people]
    gallery, tracks = [], []
    for folder in folders:
        photos = sorted(folder.glob("*.jpg"))
        ref = largest_face(engine, photos[0])
        seen = [f for f in (largest_face(engine, p) for p in photos[1: args.frames + 1]) if f is not None]
        if ref is not None and seen:
            gallery.append(l2_normalise(ref.embedding))
            tracks.append(representatives(seen, args.keep))
    matrix = np.stack(gallery)
    threshold = engine.model.alert_threshold
    print(f"{args.pack}: {len(tracks)} people, {args.frames} frames each, alert threshold {threshold}")
    print("| representative | TPIR at the alert threshold | rank-1 | mean mated score | FPIR (own record left out) |")
    print("|---|---|---|---|---|")
    for name in tracks[0]:
        probes = np.stack([t[name] for t in tracks])
        scores = probes @ matrix.T
        mated = np.diag(scores)
        others = scores.copy()
        np.fill_diagonal(others, -1.0)
        rank1 = np.mean(np.argmax(scores, axis=1) == np.arange(len(tracks)))
        tpir = np.mean((mated >= threshold) & (mated >= others.max(axis=1)))
        fpir = np.mean(others.max(axis=1) >= threshold)
        print(f"| {name} | {100 * tpir:.1f}% | {100 * rank1:.1f}% | {mated.mean():.3f} | {100 * fpir:.2f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
