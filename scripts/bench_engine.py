"""Benchmark the face engine per pack and execution provider: images/s, faces/s and time per stage.

Stages: decode (bytes -> BGR), detect, align+embed (incl. quality), queue/serialisation (parse the
Job, build and JSON-encode the FacesResult the worker sends). Not a test: prints a table.

Usage: python scripts/bench_engine.py --images 200 \
         --pack dlib --pack gpu_worker/packs/manifests/scrfd500m-mbf --model-dir ../shared/models \
         [--providers CPUExecutionProvider,CUDAExecutionProvider] [--onnx-model w600k_r50.onnx]
       python scripts/bench_engine.py --scene 4000x3000:70 --images 3 --batch 1 --pack dlib ...
         (big synthetic photos: LFW head-and-shoulders crops with a FACE px face box pasted into a
         textured WxH background, JPEG-encoded; the table adds s/image, faces found/pasted, and the
         cosine of each found face with the same person's small photo and with the other people's)
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from facetrace.image_formats import DEFAULT_BUDGET, DecodeBudget
from facetrace.messages import FacesResult, Job
from gpu_worker.engine import keep_largest, to_message
from gpu_worker.image import decode_image
from gpu_worker.packs import load_pack

STAGES = ("decode", "detect", "align+embed", "queue/serialise")
# LFW deep-funneled photos are 250x250 with the face near the same place: dlib's box on them is
# about (67, 80)-(176, 188). A head-and-shoulders crop keeps the face and some background around it.
LFW_CROP = (25, 25, 225, 250)  # x1, y1, x2, y2
LFW_FACE_BOX = np.array([67, 80, 176, 188], dtype=np.float32)


def pick_images(data: str, count: int) -> list[Path]:
    """count evenly spaced image files under data (LFW layout or a fixtures folder)."""
    files = sorted(Path(p) for p in glob.glob(f"{data}/**/*.*", recursive=True) if p.lower().endswith((".jpg", ".png")))
    if not files:
        sys.exit(f"no images under {data}")
    return [files[i] for i in np.linspace(0, len(files) - 1, min(count, len(files))).astype(int)]


def parse_scene(spec: str) -> tuple[int, int, int]:
    """'4000x3000:70' -> (width, height, face box px); the face size defaults to 80 px."""
    size, _, face = spec.partition(":")
    width, height = (int(v) for v in size.lower().split("x"))
    return width, height, int(face or 80)


def textured_background(width: int, height: int, data: str) -> np.ndarray:
    """The fixtures' brick wall (a smooth gradient without it) plus fine noise, built in place (12000x4000: 144 MB)."""
    brick = cv2.imread(str(Path(data).parent / "fixtures" / "noface" / "brick.png"))
    if brick is None:
        brick = cv2.resize(np.random.default_rng(0).integers(40, 215, (2, 2, 3), dtype=np.uint8), (512, 512))
    reps = (-(-height // brick.shape[0]), -(-width // brick.shape[1]), 1)
    scene = np.ascontiguousarray(np.tile(brick, reps)[:height, :width])
    noise = np.empty_like(scene)
    cv2.randn(noise, 64, 24)
    cv2.GaussianBlur(noise, (3, 3), 0, dst=noise)
    cv2.add(scene, noise, dst=scene)
    cv2.subtract(scene, 64, dst=scene)
    return scene


@dataclass
class Scene:
    """A synthetic big photo: its JPEG, the expected face boxes and each pasted person's small photo."""

    jpeg: bytes
    boxes: np.ndarray
    photos: list[np.ndarray]
    photo_box: np.ndarray  # the expected face box within each small photo (the same for all)


def synthetic_scene(size: tuple[int, int, int], people: list[Path], rng: np.random.Generator, data: str) -> Scene:
    """LFW head-and-shoulders crops pasted at random places into a textured background."""
    width, height, face_px = size
    scene = textured_background(width, height, data)
    x1, y1, x2, y2 = LFW_CROP
    factor = face_px / float(LFW_FACE_BOX[2] - LFW_FACE_BOX[0])
    boxes, photos = [], []
    for n, path in enumerate(people):
        crop = cv2.resize(cv2.imread(str(path))[y1:y2, x1:x2], None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        h, w = crop.shape[:2]
        column = width // len(people)  # one face per vertical band: pasted crops never overlap
        x, y = n * column + int(rng.integers(0, max(1, column - w))), int(rng.integers(0, height - h))
        scene[y : y + h, x : x + w] = crop
        boxes.append((LFW_FACE_BOX - [x1, y1, x1, y1]) * factor + [x, y, x, y])
        photos.append(crop)
    ok, jpeg = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return Scene(jpeg.tobytes(), np.array(boxes, dtype=np.float32), photos, (LFW_FACE_BOX - [x1, y1, x1, y1]) * factor)


def make_scenes(spec: str, count: int, data: str, faces: int) -> list[Scene]:
    """count synthetic scenes of one size, each with `faces` LFW photos (evenly spaced in the data)."""
    people = pick_images(data, count * faces)
    rng = np.random.default_rng(0)
    return [synthetic_scene(parse_scene(spec), people[i * faces : (i + 1) * faces], rng, data) for i in range(count)]


def pasted_faces(expected: np.ndarray, found: tuple[list, float]) -> list:
    """For each expected face box, a detected face whose centre it holds (None if none); found at decode scale."""
    faces, scale = found
    centres = [(f.box[:2] + f.box[2:]) / 2 / scale for f in faces]
    inside = [[b[0] <= c[0] <= b[2] and b[1] <= c[1] <= b[3] for c in centres] for b in expected]
    return [faces[row.index(True)] if any(row) else None for row in inside]


def similarity(engine, scenes: list[Scene], found: list[tuple[list, float]]) -> dict:
    """Cosine of each face found in a scene with the same person's small photo, and the best stranger's.

    Also counts the other faces the small photos hold (a neighbour at an LFW photo's edge), which the
    scene holds too.
    """
    refs = [[engine.analyse([p], 5)[0] for p in scene.photos] for scene in scenes]
    mine = [pasted_faces(s.photo_box[None], (f, 1.0))[0] for s, per_scene in zip(scenes, refs) for f in per_scene]
    own_refs = [None if face is None else face.embedding for face in mine]
    hits = [f for scene, got in zip(scenes, found) for f in pasted_faces(scene.boxes, got)]
    own, stranger = [], []
    for i, face in enumerate(hits):
        if face is None or own_refs[i] is None:
            continue
        own.append(float(face.embedding @ own_refs[i]))
        stranger.append(max(float(face.embedding @ r) for j, r in enumerate(own_refs) if j != i and r is not None))
    in_photos = sum(len(faces) - 1 for per_scene in refs for faces in per_scene if faces)
    return {"own": own, "stranger": stranger, "in_photos": in_photos}


def run_batch(engine, blobs: list[bytes], max_faces: int, times: dict, budget: DecodeBudget = DEFAULT_BUDGET) -> list:
    """Decode, analyse and serialise one batch; returns the faces found per image and its decoded scale."""
    t0 = time.perf_counter()
    jobs = [Job.model_validate_json(_job_json(i)) for i in range(len(blobs))]
    t1 = time.perf_counter()
    images = [decode_image(b, 50_000_000, budget=budget) for b in blobs]
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
    return [(faces, image.shape[1] / _jpeg_width(blob)) for faces, image, blob in zip(found, images, blobs)]


def _jpeg_width(blob: bytes) -> int:
    """The stored width of an image file (the worker decodes photos over 25 MP reduced)."""
    with Image.open(io.BytesIO(blob)) as image:
        return image.width


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


def bench_pack(spec: str, providers: list[str] | None, model_dir, blobs: list[bytes], batch: int,
               scenes: list[Scene] | None = None, max_faces: int = 5, budget: DecodeBudget = DEFAULT_BUDGET) -> dict:
    """Throughput and stage shares of one pack on one provider list (for scenes: faces found, similarities)."""
    engine = load_pack(spec, providers, model_dir=model_dir)
    run_batch(engine, blobs[:batch], max_faces, dict.fromkeys(STAGES, 0.0), budget)  # warm-up: lazy init, caches
    times = dict.fromkeys(STAGES, 0.0)
    started, found = time.perf_counter(), []
    for i in range(0, len(blobs), batch):
        found += run_batch(engine, blobs[i : i + batch], max_faces, times, budget)
    wall = time.perf_counter() - started
    total = sum(times.values())
    faces = sum(len(f) for f, _ in found)
    result = {"pack": engine.model.name, "providers": ",".join(engine.providers), "images/s": len(blobs) / wall,
              "faces/s": faces / wall, **{s: times[s] / total for s in STAGES}}
    if scenes is not None:
        hits = sum(f is not None for scene, got in zip(scenes, found) for f in pasted_faces(scene.boxes, got))
        result.update({"s/image": wall / len(blobs), "found": f"{hits}/{sum(len(s.boxes) for s in scenes)}",
                       "extra": faces - hits, "decoded": min(scale for _, scale in found),
                       "threshold": engine.model.match_threshold, **similarity(engine, scenes, found)})
    return result


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
    parser.add_argument("--scene", action="append", help="WxH[:FACE]: synthetic big photos instead (repeatable)")
    parser.add_argument("--scene-faces", type=int, default=4, help="LFW faces pasted into each scene")
    parser.add_argument("--decode-max-mp", type=float, help="decode up to this many MP whole (default: the worker's)")
    args = parser.parse_args()
    provider_lists = [p.split(",") for p in args.providers] if args.providers else [["CPUExecutionProvider"]]
    if args.scene:
        for spec in args.scene:
            scenes = make_scenes(spec, args.images, args.data, args.scene_faces)
            print(f"\n{len(scenes)} scenes {spec} with {args.scene_faces} LFW faces each, batches of {args.batch}\n")
            bench_table(args, provider_lists, [s.jpeg for s in scenes], scenes)
    else:
        blobs = [p.read_bytes() for p in pick_images(args.data, args.images)]
        print(f"{len(blobs)} images from {args.data}, batches of {args.batch}\n")
        bench_table(args, provider_lists, blobs)
    bench_embedders(args, provider_lists)


def bench_table(args, provider_lists: list[list[str]], blobs: list[bytes], scenes: list[Scene] | None = None) -> None:
    """One markdown row per pack x provider list."""
    scene_cols = " s/image | found | extra (in pasted photos) | decoded at | cos own min/mean | cos stranger max |"
    scene_cols = scene_cols + " matched (own cos >= match threshold) |" if scenes is not None else ""
    print("| pack | providers | images/s | faces/s | " + " | ".join(STAGES) + " |" + scene_cols)
    print("|---|---|---|---|" + "---|" * len(STAGES) + "---|" * scene_cols.count("|"))
    budget = DecodeBudget(max_output_pixels=int(args.decode_max_mp * 1e6)) if args.decode_max_mp else DEFAULT_BUDGET
    max_faces = 5 if scenes is None else 20  # a scene's pasted faces all count
    for spec in args.pack or ["dlib"]:
        for providers in provider_lists if spec != "dlib" else [None]:
            r = bench_pack(spec, providers, args.model_dir, blobs, args.batch, scenes, max_faces, budget)
            shares = " | ".join(f"{100 * r[s]:.1f}%" for s in STAGES)
            extra = _scene_cells(r) if scenes is not None else ""
            print(f"| {r['pack']} | {r['providers']} | {r['images/s']:.2f} | {r['faces/s']:.1f} | {shares} |{extra}",
                  flush=True)


def _scene_cells(r: dict) -> str:
    """The scene columns of one row."""
    own = f"{min(r['own']):.3f} / {np.mean(r['own']):.3f}" if r["own"] else "-"
    stranger = f"{max(r['stranger']):.3f}" if r["stranger"] else "-"
    extra = f"{r['extra']} ({r['in_photos']})"
    matched = f"{sum(c >= r['threshold'] for c in r['own'])}/{r['found'].split('/')[1]} at {r['threshold']}"
    cells = [f"{r['s/image']:.2f}", r["found"], extra, f"{r['decoded']:.2f}", own, stranger, matched]
    return "".join(f" {c} |" for c in cells)


def bench_embedders(args, provider_lists: list[list[str]]) -> None:
    """Bare ONNX embedder timings for --onnx-model."""
    if args.onnx_model:
        print("\n| embedder | providers | batch | ms/batch | crops/s |\n|---|---|---:|---:|---:|")
    for model, providers in ((m, p) for m in args.onnx_model or [] for p in provider_lists):
        for batch in (int(b) for b in args.embed_batches.split(",")):
            r = bench_onnx_embedder(model, providers, batch)
            print(f"| {r['model']} ({r['dim']}-d) | {r['providers']} | {batch} | {r['ms/batch']:.2f} | {r['crops/s']:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
