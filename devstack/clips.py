"""Video clips for the demo, the benchmark and the tests, encoded with PyAV: real LFW faces (head and shoulders)
moving across a background.

Each walker is one photo crossing the frame between two times; a clip may hold several, one after another or at
once, and the same person twice (leaving and coming back). Clips are small (320x240 to 640x360, a few seconds,
5-10 frames per second) so that decoding and the face engine stay fast on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

# Head and shoulders of a 250x250 LFW photo (the face sits in the middle, about 100 px tall).
LFW_CROP = (55, 35, 195, 215)  # left, top, right, bottom
CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".avi": "mjpeg"}


@dataclass(frozen=True)
class Walker:
    """One photo crossing the frame from left to right between enter_s and leave_s."""

    photo: Path
    enter_s: float
    leave_s: float
    y: float = 0.2  # top of the crop, as a fraction of the frame's height
    scale: float = 1.0


def lfw(root: Path, person: str, number: int) -> Path:
    """The path of one LFW photo, e.g. lfw(root, "Colin_Powell", 2)."""
    return root / "lfw" / person / f"{person}_{number:04d}.jpg"


def background(width: int, height: int, seed: int = 7) -> np.ndarray:
    """A street-ish background: soft gradients and blocks of texture, no faces."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack([90 + 60 * np.sin(xs / 37.0), 110 + 40 * np.cos(ys / 23.0), 100 + 30 * np.sin((xs + ys) / 51.0)], -1)
    noise = rng.normal(0, 12, (height // 8 + 1, width // 8 + 1, 3)).repeat(8, 0).repeat(8, 1)[:height, :width]
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _sprite(photo: Path, scale: float) -> np.ndarray:
    crop = Image.open(photo).convert("RGB").crop(LFW_CROP)
    if scale != 1.0:
        crop = crop.resize((int(crop.width * scale), int(crop.height * scale)), Image.BILINEAR)
    return np.asarray(crop)


def frame_at(t: float, walkers: list[Walker], sprites: list[np.ndarray], canvas: np.ndarray) -> np.ndarray:
    """The picture at time t: the background with every walker on screen pasted where it is."""
    frame = canvas.copy()
    height, width = frame.shape[:2]
    for walker, sprite in zip(walkers, sprites):
        if not walker.enter_s <= t < walker.leave_s:
            continue
        h, w = sprite.shape[:2]
        progress = (t - walker.enter_s) / (walker.leave_s - walker.enter_s)
        x = int(round(-w * 0.2 + progress * (width - w * 0.6)))
        y = int(round(walker.y * height))
        x0, x1 = max(x, 0), min(x + w, width)
        y0, y1 = max(y, 0), min(y + h, height)
        if x1 > x0 and y1 > y0:
            frame[y0:y1, x0:x1] = sprite[y0 - y:y1 - y, x0 - x:x1 - x]
    return frame


def encode_clip(path: Path, walkers: list[Walker], duration_s: float, size: tuple[int, int] = (480, 320),
                fps: int = 10, codec: str | None = None, gop: int | None = None) -> Path:
    """Encode the scene to `path` (container from its suffix; H.264 unless `codec` says hevc or mjpeg)."""
    codec = {"hevc": "libx265", "h264": "libx264"}.get(codec or "", codec) or CODECS.get(path.suffix, "libx264")
    sprites = [_sprite(w.photo, w.scale) for w in walkers]
    canvas = background(*size)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec in ("libx264", "libx265"):
            options = {"preset": "ultrafast", **({"g": str(gop)} if gop else {})}
            if codec == "libx265":
                # x265's own thread pools deadlocked under PyAV here; one pool, one frame thread.
                options["x265-params"] = "log-level=error:pools=1:frame-threads=1"
            stream.options = options
        for n in range(int(round(duration_s * fps))):
            image = frame_at(n / fps, walkers, sprites, canvas)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def truncated(path: Path, out: Path, keep: float = 0.6) -> Path:
    """A copy of the clip cut after `keep` of its bytes, as an interrupted upload or a full disk leaves it."""
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def corrupted(path: Path, out: Path, seed: int = 3) -> Path:
    """A copy whose middle is overwritten with noise (a damaged file of the right length)."""
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(seed)
    start, end = len(data) // 4, 3 * len(data) // 4
    data[start:end] = rng.integers(0, 256, end - start, dtype=np.uint8).tobytes()
    out.write_bytes(bytes(data))
    return out
