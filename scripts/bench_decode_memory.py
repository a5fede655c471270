"""Peak memory of checking and decoding the worst photos the upload limits allow, each in a fresh process.

For every case the script writes the photo once (into --dir), then runs `check_image` (ingest) and
`decode_image` (worker) on it in fresh subprocesses and reports the growth of the peak resident set
(VmHWM after the call minus VmRSS before it, the libraries already imported and the bytes already read),
next to the estimate the decoder planned from the header. Batches decode 10 photos at once on 10
threads, as the worker does, and keep the arrays. `--compare-rev REV` also runs the worker's decode_image
as it was at REV on each single photo (not in batches: that would need up to 14 GB).

    python scripts/bench_decode_memory.py [--cases png16-grey,heic-50mp] [--compare-rev f6a1578] [--no-batches]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
MAX_PIXELS = 50_000_000  # Settings.max_image_pixels
BATCH = 10  # Settings.worker_batch_size


def _gradient(width: int, height: int, bands: int = 3) -> np.ndarray:
    """A smooth test card: compresses to little, decodes to its full size (the cheap bomb shape)."""
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    planes = [x, y, np.full_like(x, 90), np.full_like(x, 200)]
    return np.dstack(planes[:bands])


def _save(array: np.ndarray, mode: str | None, fmt: str, **kwargs) -> bytes:
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _png16_grey(width: int, height: int) -> bytes:
    ramp = np.linspace(0, 65535, width).astype(np.uint16)[None, :].repeat(height, 0)
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, "PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, idat: bytes) -> bytes:
    """An 8-bit RGBA PNG around the given compressed pixel rows."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _png_bomb_header(width: int, height: int) -> bytes:
    return _png(width, height, zlib.compress(b"\0" * 4096))


def _png_zip_bomb(width: int, height: int) -> bytes:
    """A real RGBA PNG of zeros: a few hundred KB that inflate to 4 bytes per pixel."""
    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 4 * width)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return _png(width, height, body)


def _rotated_jpeg(width: int, height: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(_gradient(width, height), None, "JPEG", quality=85, exif=exif.tobytes())


def _mpo(width: int, height: int) -> bytes:
    frames = [Image.fromarray(_gradient(width, height)), Image.fromarray(_gradient(width, height)[::-1].copy())]
    buffer = io.BytesIO()
    frames[0].save(buffer, "MPO", save_all=True, append_images=frames[1:], quality=85)
    return buffer.getvalue()


def _heif(width: int, height: int) -> bytes:
    from facetrace import image_formats  # noqa: F401  (registers the HEIF plugin)

    return _save(_gradient(width, height), None, "HEIF", quality=50)


# name -> (what it stands for, maker). Sizes are the limits' worst: 50 MP in all, 12,000 px a side.
CASES = {
    "phone-12mp-jpeg": ("12 MP phone JPEG 4032x3024 (the common case)", lambda: _save(_gradient(4032, 3024), None, "JPEG", quality=90)),
    "jpeg-12000x4000": ("baseline JPEG 12000x4000", lambda: _save(_gradient(12000, 4000), None, "JPEG", quality=85)),
    "jpeg-progressive-444": ("progressive 4:4:4 JPEG 12000x4166", lambda: _save(_gradient(12000, 4166), None, "JPEG", quality=85, progressive=True, subsampling=0)),
    "jpeg-cmyk": ("CMYK JPEG 12000x4166", lambda: _save(_gradient(12000, 4166), "CMYK", "JPEG", quality=85)),
    "jpeg-cmyk-progressive": ("progressive CMYK JPEG 12000x4166", lambda: _save(_gradient(12000, 4166), "CMYK", "JPEG", quality=85, progressive=True)),
    "jpeg-rotated-12mp": ("12 MP JPEG, EXIF orientation 6", lambda: _rotated_jpeg(4032, 3024)),
    "mpo-12mp": ("MPO, two 4032x3024 frames", lambda: _mpo(4032, 3024)),
    "png16-grey": ("16-bit grey PNG 7000x7000", lambda: _png16_grey(7000, 7000)),
    "png-rgba-50mp": ("RGBA PNG 12000x4166", lambda: _save(_gradient(12000, 4166, 4), None, "PNG", compress_level=1)),
    "png-zip-bomb": ("RGBA PNG of zeros 12000x4166", lambda: _png_zip_bomb(12000, 4166)),
    "png-bomb-header": ("PNG header declaring 30000x30000", lambda: _png_bomb_header(30_000, 30_000)),
    "webp-30mp": ("lossy WebP 6700x4480", lambda: _save(_gradient(6700, 4480), None, "WEBP", quality=60, method=0)),
    "webp-50mp": ("lossy WebP 12000x4166", lambda: _save(_gradient(12000, 4166), None, "WEBP", quality=60, method=0)),
    "heic-24mp": ("HEIC 5712x4284 (24 MP phone)", lambda: _heif(5712, 4284)),
    "heic-50mp": ("HEIC 8160x6120", lambda: _heif(8160, 6120)),
    "avif-24mp": ("AVIF 5712x4284", lambda: _save(_gradient(5712, 4284), None, "AVIF", quality=50, speed=10)),
    "avif-50mp": ("AVIF 8160x6120", lambda: _save(_gradient(8160, 6120), None, "AVIF", quality=50, speed=10)),
}
# The accepted photos that cost the worker most, each a batch of 10, then one mixed batch.
BATCHES = {
    "10 x heic-50mp": ["heic-50mp"] * BATCH,
    "10 x jpeg-cmyk-progressive": ["jpeg-cmyk-progressive"] * BATCH,
    "10 x png-rgba-50mp": ["png-rgba-50mp"] * BATCH,
    "10 x png16-grey": ["png16-grey"] * BATCH,
    "10 x webp-30mp": ["webp-30mp"] * BATCH,
    "10 x avif-24mp": ["avif-24mp"] * BATCH,
    "mixed worst 10": ["heic-50mp", "jpeg-cmyk-progressive", "png-rgba-50mp", "png16-grey", "jpeg-progressive-444",
                       "webp-30mp", "avif-24mp", "jpeg-12000x4000", "png-zip-bomb", "heic-24mp"],
}

# Runs in the child: import, read, measure, call, measure; prints one JSON line.
CHILD = r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
sys.path[:0] = [p for p in sys.argv[4:] if p]
kind, max_pixels = sys.argv[1], int(sys.argv[2])
paths = json.loads(sys.argv[3])
from facetrace.image_check import ImageRejected, Limits, check_image
from facetrace import image_formats
from gpu_worker.image import ImageError, decode_image
limits = Limits(100, 15 * 1024 * 1024, 32, 12_000, max_pixels)
blobs = [open(p, "rb").read() for p in paths]
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
def reset_peak():
    # ru_maxrss carries the parent's peak over fork and exec; VmHWM is this process's own, and resettable.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return status("VmRSS")
def attempt(data):
    try:
        if kind == "check":
            return ["ok", str(check_image(data, limits)), None]
        image = decode_image(data, max_pixels)
        return ["ok", "x".join(map(str, image.shape)), image]  # kept, as the worker keeps its batch
    except (ImageRejected, ImageError) as exc:
        return ["refused", str(exc)[:160], None]
def estimate(data):
    try:
        with image_formats.open_image(data) as image:
            return image_formats.plan_decode(image, data, image_formats.DecodeBudget(photo_bytes=1 << 62)).peak_bytes
    except Exception:
        return None
estimates = [estimate(b) for b in blobs]
attempt(open(paths[0], "rb").read()[:200])  # lazily loaded codecs count in the baseline, not the decode
before = reset_peak()
start = time.perf_counter()
with ThreadPoolExecutor(len(blobs)) as pool:
    results = list(pool.map(attempt, blobs))
peak = status("VmHWM") - before
print(json.dumps({"peak": peak, "seconds": time.perf_counter() - start, "results": [r[:2] for r in results],
                  "estimate": estimates[0]}))
"""


def _child(kind: str, paths: list[Path], extra_path: str = "") -> dict:
    """Run one measurement in a fresh interpreter."""
    args = [sys.executable, "-c", CHILD, kind, str(MAX_PIXELS), json.dumps([str(p) for p in paths]), extra_path]
    env = {**os.environ, "PYTHONPATH": str(REPO), "POWERTOOLS_LOG_LEVEL": "ERROR"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900, check=False)
    if done.returncode != 0:
        return {"peak": None, "seconds": None, "results": [["crashed", done.stderr.strip().splitlines()[-1:]]], "estimate": None}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _old_decoder(rev: str, into: Path) -> str:
    """A folder whose gpu_worker/image.py is the one at `rev`, to put first on the child's path."""
    source = subprocess.run(["git", "show", f"{rev}:gpu_worker/image.py"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    package = into / "gpu_worker"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "image.py").write_text(source)
    return str(into)


def _mb(value) -> str:
    return "-" if value is None else f"{value / 1e6:,.0f}"


def _outcome(result: list) -> str:
    status, detail = result
    return detail if status == "ok" else f"{status}: {detail}"


def _case_rows(names: list[str], folder: Path, old: str | None) -> list[str]:
    rows = []
    for name in names:
        path = folder / f"{name}.bin"
        check, decode = _child("check", [path]), _child("decode", [path])
        old_peak = _mb(_child("decode", [path], old)["peak"]) if old else ""
        rows.append(
            f"| {name} | {CASES[name][0]} | {path.stat().st_size / 1e3:,.0f} | {_mb(decode['estimate'])} | {_mb(check['peak'])} "
            f"| {_mb(decode['peak'])} | {decode['seconds'] or 0:.2f} |{f' {old_peak} |' if old else ''} {_outcome(decode['results'][0])} |"
        )
        print(rows[-1], flush=True)
    return rows


def _batch_rows(folder: Path) -> list[str]:
    """Batches run the current decoder only: the old one would need 10 times its single peak (up to 14 GB)."""
    rows = []
    for name, members in BATCHES.items():
        paths = [folder / f"{m}.bin" for m in members]
        new = _child("decode", paths)
        decoded = sum(r[0] == "ok" for r in new["results"])
        rows.append(f"| {name} | {_mb(new['peak'])} | {new['seconds']:.1f} | {decoded}/{len(paths)} decoded |")
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    """Write the cases, measure them one by one and in batches, print markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "facetrace-decode-bench")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of: " + ", ".join(CASES))
    parser.add_argument("--compare-rev", help="also measure gpu_worker/image.py as it was at this git revision")
    parser.add_argument("--no-batches", action="store_true")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.cases.split(",") if n]
    needed = set(names) | (set() if args.no_batches else {m for ms in BATCHES.values() for m in ms})
    for name in sorted(needed):
        path = args.dir / f"{name}.bin"
        if not path.exists():
            started = time.perf_counter()
            path.write_bytes(CASES[name][1]())
            print(f"wrote {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    old = _old_decoder(args.compare_rev, Path(tempfile.mkdtemp())) if args.compare_rev else None
    extra = f" decode at {args.compare_rev} MB |" if old else ""
    print(f"| case | photo | file KB | planned MB | check MB | decode MB | decode s |{extra} worker result |")
    print(f"|---|---|---:|---:|---:|---:|---:|{'---:|' if old else ''}---|")
    _case_rows(names, args.dir, old)
    if not args.no_batches:
        print(f"\n| batch of {BATCH} (10 threads) | decode MB | s | result |")
        print("|---|---:|---:|---|")
        _batch_rows(args.dir)


if __name__ == "__main__":
    main()
