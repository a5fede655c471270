"""Footage throughput (issue #14): frames per second and seconds of processing per hour of footage, on this machine.

A clip is encoded here (H.264 by default, 1280x720 at 25 frames per second) with LFW people walking across a
background, two at a time; then it is processed as one part exactly as the worker does (gpu_worker/footage.py:
PyAV decode, sampling at --sample-fps plus scene cuts, the face engine in batches of --batch frames, tracking,
stills), with the bucket and queue in memory. Decoding alone is timed too, to show what the engine adds.

    FACETRACE_TEST_DATA=../shared/data FACETRACE_TEST_MODELS=../shared/models .venv/bin/python scripts/bench_footage.py
    ... --seconds 120 --size 1920x1080 --pack buffalo_s --providers CUDAExecutionProvider,CPUExecutionProvider
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "layers" / "common")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from facetrace.messages import FootagePart, Job, PhotoKind, TracksResult  # noqa: E402
from gpu_worker.footage import FootageConfig, FootageRunner  # noqa: E402
from gpu_worker.packs import load_pack  # noqa: E402
from gpu_worker.video import DecodeStats, Sampling, sample_frames  # noqa: E402


class Timed:
    """The engine, timing its calls."""

    def __init__(self, engine) -> None:
        self.engine, self.model, self.providers, self.seconds, self.calls = engine, engine.model, engine.providers, 0.0, 0

    def analyse(self, images, max_faces):
        start = time.perf_counter()
        try:
            return self.engine.analyse(images, max_faces)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


class Memory:
    """The bucket and the footage queue, in memory."""

    def __init__(self, clip: Path) -> None:
        self.clip, self.objects, self.sent = clip, {}, []

    def download(self, key, path, etag=None):
        from facetrace.ports import ObjectInfo

        data = self.clip.read_bytes()
        Path(path).write_bytes(data)
        return ObjectInfo(len(data), "video/mp4", {})

    def put(self, key, body, content_type):
        self.objects[key] = body

    def send(self, body, dedup_id=None):
        self.sent.append(body)


def people(lfw: Path | None, count: int) -> list[Path]:
    """LFW photos of `count` different people, or scikit-image's astronaut when LFW is not here."""
    if lfw and lfw.is_dir():
        folders = sorted(p for p in lfw.iterdir() if p.is_dir())
        step = max(1, len(folders) // count)
        return [sorted(f.glob("*.jpg"))[0] for f in folders[::step][:count]]
    from PIL import Image
    from skimage import data

    path = Path(tempfile.mkdtemp()) / "astronaut.jpg"
    Image.fromarray(data.astronaut()).resize((250, 250)).save(path)
    return [path] * count


def make_clip(path: Path, args, photos: list[Path]) -> Path:
    from devstack.clips import Walker, encode_clip

    width, height = map(int, args.size.split("x"))
    cross = 6.0  # seconds each person takes to cross the frame
    walkers = [Walker(photo, start, start + cross, y=0.15 + 0.35 * (i % 2), scale=height / 360)
               for i, (photo, start) in enumerate(zip(photos, [i * cross / 2 for i in range(len(photos))]))
               if start < args.seconds]
    return encode_clip(path, walkers, args.seconds, size=(width, height), fps=args.fps, codec=args.codec)


def main() -> int:
    """Encode the clip, time decoding alone and then the whole part; print a table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", default="buffalo_s")
    parser.add_argument("--model-dir", default=os.environ.get("FACETRACE_MODEL_DIR") or os.environ.get("FACETRACE_TEST_MODELS"))
    parser.add_argument("--lfw", type=Path, default=Path(os.environ.get("FACETRACE_TEST_DATA", "../shared/data")) / "lfw")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--codec", default="libx264", help="libx264, libx265 or mjpeg")
    parser.add_argument("--sample-fps", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--providers", default=None, help="onnxruntime providers, comma-separated")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    engine = Timed(load_pack(args.pack, providers=args.providers.split(",") if args.providers else None,
                             model_dir=args.model_dir, fallback=None))
    with tempfile.TemporaryDirectory() as folder:
        clip = make_clip(Path(folder) / f"bench{'.avi' if args.codec == 'mjpeg' else '.mp4'}", args,
                         people(args.lfw, max(2, int(args.seconds / 3) + 1)))
        sampling = Sampling(sample_fps=args.sample_fps)
        decode = DecodeStats()
        start = time.perf_counter()
        for _ in sample_frames(str(clip), 0.0, args.seconds, sampling, decode):
            pass
        decode_s = time.perf_counter() - start
        memory = Memory(clip)
        runner = FootageRunner(engine, memory, memory, FootageConfig(sampling=sampling, batch_frames=args.batch),
                               workdir=folder)
        job = Job(photo_id="bench", kind=PhotoKind.FOOTAGE, bucket="bench", key="footage/bench", sha256=None,
                  part=FootagePart(index=0, count=1, start_s=0.0, end_s=args.seconds))
        start = time.perf_counter()
        runner.run(job)
        total_s = time.perf_counter() - start
        result = TracksResult.model_validate_json(memory.sent[-1])
        size_mb = clip.stat().st_size / 1e6
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores",
        "pack": engine.model.name, "providers": engine.providers, "clip": f"{args.size} {args.codec} {args.fps} fps",
        "clip_seconds": args.seconds, "clip_mb": round(size_mb, 1), "sample_fps": args.sample_fps, "batch": args.batch,
        "frames_decoded": result.frames_decoded, "frames_sampled": result.frames_sampled,
        "faces_found": result.faces_found, "tracks": len(result.tracks),
        "decode_only_s": round(decode_s, 2), "decode_only_fps": round(decode.frames_decoded / decode_s, 1),
        "engine_s": round(engine.seconds, 2), "total_s": round(total_s, 2),
        "video_fps": round(result.frames_decoded / total_s, 1), "sampled_fps": round(result.frames_sampled / total_s, 2),
        "engine_ms_per_frame": round(1000 * engine.seconds / max(result.frames_sampled, 1), 1),
        "s_per_hour_of_footage": round(total_s / args.seconds * 3600, 0),
        "realtime_factor": round(args.seconds / total_s, 2),
    }
    print("| " + " | ".join(figures) + " |\n|" + "---|" * len(figures) + "\n| "
          + " | ".join(str(v) for v in figures.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
