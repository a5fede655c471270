"""Benchmark the face engine per pack and execution provider: images/s, faces/s and time per stage.

Stages: decode (bytes -> BGR), detect, align+embed (incl. quality), queue/serialisation (parse the
Job, build and JSON-encode the FacesResult the worker sends). Not a test: prints a table.

Usage: python scripts/bench_engine.py --images 200 \
         --pack dlib --pack gpu_worker/packs/manifests/scrfd500m-mbf --model-dir ../shared/models \
         [--providers CPUExecutionProvider,CUDAExecutionProvider] [--onnx-model w600k_r50.onnx]
"""

from __future__ import annotations

import argparse
import os
import glob
import sys
import time
from pathlib import Path

import numpy as np

from facetrace.messages import FacesResult, Job
from gpu_worker.engine import keep_largest, to_message
from gpu_worker.image import decode_image
from gpu_worker.packs import load_pack

STAGES = ("decode", "detect", "align+embed", "queue/serialise")


def pick_images(data: str, count: int) -> list[Path]:
    """count evenly spaced image files under data (LFW layout or a fixtures folder)."""
    files = sorted(Path(p) for p in glob.glob(f"{data}/**/*.*", recursive=True) if p.lower().endswith((".jpg", ".png")))
    if not files:
        sys.exit(f"no images under {data}")
    return [files[i] for i in np.linspace(0, len(files) - 1, min(count, len(files))).astype(int)]


def run_batch(engine, blobs: list[bytes], max_faces: int, times: dict) -> int:
    """Decode, analyse and serialise one batch; returns the number of faces found."""
    t0 = time.perf_counter()
    jobs = [Job.model_validate_json(_job_json(i)) for i in range(len(blobs))]
    t1 = time.perf_counter()
    images = [decode_image(b, 50_000_000) for b in blobs]
    t2 = time.perf_counter()
    found, detect_s = timed_analyse(engine, images, max_faces)
    t3 = time.perf_counter()
    for job, image, faces in zip(jobs, images, found):
        FacesResult(job=job, status="ok", model=engine.model, image_width=image.shape[1], image_height=image.shape[0],
                    faces=[to_message(f, n) for n, f in enumerate(faces)]).model_dump_json()
    t4 = time.perf_counter()
    times["decode"] += t2 - t1
    times["detect"] += detect_s
    times["align+embed"] += (t3 - t2) - detect_s
    times["queue/serialise"] += (t1 - t0) + (t4 - t3)
    return sum(len(f) for f in found)


def timed_analyse(engine, images: list[np.ndarray], max_faces: int) -> tuple[list, float]:
    """engine.analyse, with the detector's share measured by wrapping its detect call."""
    detector = getattr(engine, "detector", None)
    if detector is not None and hasattr(detector, "detect"):  # ONNX pack: wrap SCRFD
        target, name = detector, "detect"
    else:  # dlib pack: HOG + landmarks live in _detect
        target, name = engine, "_detect"
    original, spent = getattr(target, name), [0.0]

    def wrapped(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    setattr(target, name, wrapped)
    try:
        return engine.analyse(images, max_faces), spent[0]
    finally:
        delattr(target, name)  # back to the class's method


def _job_json(i: int) -> str:
    """The Job message a worker would receive for photo i."""
    return f'{{"version":1,"photo_id":"p{i}","kind":"sighting","bucket":"b","key":"uploads/p{i}.jpg"}}'


def bench_pack(spec: str, providers: list[str] | None, model_dir, blobs: list[bytes], batch: int) -> dict:
    """Throughput and stage shares of one pack on one provider list."""
    engine = load_pack(spec, providers, model_dir=model_dir)
    run_batch(engine, blobs[:batch], 5, dict.fromkeys(STAGES, 0.0))  # warm-up: lazy init, caches
    times = dict.fromkeys(STAGES, 0.0)
    started, faces = time.perf_counter(), 0
    for i in range(0, len(blobs), batch):
        faces += run_batch(engine, blobs[i : i + batch], 5, times)
    wall = time.perf_counter() - started
    total = sum(times.values())
    return {"pack": engine.model.name, "providers": ",".join(engine.providers), "images/s": len(blobs) / wall,
            "faces/s": faces / wall, **{s: times[s] / total for s in STAGES}}


def bench_onnx_embedder(path: str, providers: list[str] | None, batch: int, rounds: int = 10) -> dict:
    """Crops/s of a bare ONNX embedder (e.g. ArcFace R50) on random 112x112 crops in batches."""
    from gpu_worker.models.embedder import OnnxEmbedder

    embedder = OnnxEmbedder(path, providers)
    embedder.fixed_batch = batch if embedder.fixed_batch else None  # time this batch size, not the default
    crops = np.random.default_rng(0).integers(0, 255, (batch, *embedder.input_size, 3), dtype=np.uint8)
    embedder.embed(crops)
    started = time.perf_counter()
    for _ in range(rounds):
        embedder.embed(crops)
    wall = time.perf_counter() - started
    return {"model": Path(path).name, "providers": ",".join(embedder.providers), "dim": embedder.dim,
            "crops/s": batch * rounds / wall, "ms/batch": 1000 * wall / rounds}


def main() -> None:
    """Parse arguments, run every pack x provider list, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", action="append", help="'dlib' or a pack dir (repeatable)")
    parser.add_argument("--model-dir")
    parser.add_argument("--providers", action="append", help="comma-separated ONNX providers (repeatable)")
    parser.add_argument("--data", default=os.path.join(os.environ.get("FACETRACE_TEST_DATA", "../shared/data"), "lfw"))
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--onnx-model", action="append", help="also time this bare embedder (repeatable)")
    parser.add_argument("--embed-batches", default="10", help="comma-separated batch sizes for --onnx-model")
    args = parser.parse_args()
    blobs = [p.read_bytes() for p in pick_images(args.data, args.images)]
    provider_lists = [p.split(",") for p in args.providers] if args.providers else [["CPUExecutionProvider"]]
    print(f"{len(blobs)} images from {args.data}, batches of {args.batch}\n")
    print("| pack | providers | images/s | faces/s | " + " | ".join(STAGES) + " |")
    print("|---|---|---|---|" + "---|" * len(STAGES))
    for spec in args.pack or ["dlib"]:
        for providers in provider_lists if spec != "dlib" else [None]:
            r = bench_pack(spec, providers, args.model_dir, blobs, args.batch)
            shares = " | ".join(f"{100 * r[s]:.1f}%" for s in STAGES)
            print(f"| {r['pack']} | {r['providers']} | {r['images/s']:.1f} | {r['faces/s']:.1f} | {shares} |", flush=True)
    if args.onnx_model:
        print("\n| embedder | providers | batch | ms/batch | crops/s |\n|---|---|---:|---:|---:|")
    for model, providers in ((m, p) for m in args.onnx_model or [] for p in provider_lists):
        for batch in (int(b) for b in args.embed_batches.split(",")):
            r = bench_onnx_embedder(model, providers, batch)
            print(f"| {r['model']} ({r['dim']}-d) | {r['providers']} | {batch} | {r['ms/batch']:.2f} | {r['crops/s']:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
