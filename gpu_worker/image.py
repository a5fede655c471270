"""Decode uploaded photo bytes into a BGR uint8 array, refusing anything unsafe or broken, within a memory budget."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
from aws_lambda_powertools import Logger
from PIL import Image

from facetrace import image_formats
from facetrace.image_formats import DEFAULT_BUDGET, MIB, STRIP_PIXELS, DecodeBudget, DecodePlan

logger = Logger(child=True)

# A batch of 10 holds at most 10 BGR arrays of 75 MB (DecodeBudget.max_output_pixels) plus what
# the decodes in flight hold, which this caps: 1.25 GiB + 0.70 GiB stays within 2 GiB of the
# worker task's 12 GiB, whatever the batch contains (docs/benchmarks.md, "Decode memory").
WORKER_DECODE_BYTES = 1280 * MIB
# Pillow allocates pictures in 16 MB blocks; once one is freed, glibc keeps blocks that size in its
# per-thread arenas instead of unmapping them, and 10 decoding threads then held 2.4 GB for 1.1 GB
# of pictures (measured). Blocks over glibc's 32 MB mmap ceiling are always handed back.
PILLOW_BLOCK_BYTES = 64 * MIB
if "PILLOW_BLOCK_SIZE" not in os.environ:  # an operator's explicit setting wins
    Image.core.set_block_size(PILLOW_BLOCK_BYTES)

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})
_NUMERIC_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
# EXIF orientation -> the view of an (H, W, 3) array that shows the picture upright.
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
    8: lambda a: a.transpose(1, 0, 2)[::-1],
}


class ImageError(ValueError):
    """The bytes are not a usable image (undecodable, truncated or too large)."""


class DecodeMemory:
    """Bytes the decodes in flight may hold together; a decode waits until its estimate fits."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._used = 0
        self._room = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold nbytes of the capacity while the block runs (one photo alone always fits)."""
        nbytes = min(nbytes, self.capacity)
        with self._room:
            if self._used + nbytes > self.capacity:
                logger.debug("decode waits for memory", extra={"bytes": nbytes, "in_use": self._used})
            self._room.wait_for(lambda: self._used + nbytes <= self.capacity)
            self._used += nbytes
        try:
            yield
        finally:
            with self._room:
                self._used -= nbytes
                self._room.notify_all()


WORKER_DECODE_MEMORY = DecodeMemory(WORKER_DECODE_BYTES)


def decode_image(
    data: bytes, max_pixels: int, *, budget: DecodeBudget = DEFAULT_BUDGET, memory: DecodeMemory = WORKER_DECODE_MEMORY
) -> np.ndarray:
    """Decode image bytes to upright BGR uint8 (large photos reduced); raise ImageError if unusable."""
    if not data:
        raise ImageError("empty file: no image data")
    try:
        image = image_formats.open_image(data)
    except image_formats.TooManyPixels as exc:
        raise ImageError(f"image too large: {exc}") from None
    except image_formats.Unusable as exc:
        raise ImageError(f"not a recognised image format: {exc}") from None
    with image:
        plan = _plan(image, data, max_pixels, budget)
        with memory.reserve(plan.peak_bytes):
            try:
                image_formats.load(image, plan)
            except image_formats.Unusable as exc:
                raise ImageError(f"image data is corrupt or truncated: {exc}") from None
            upright = _UPRIGHT.get(image_formats.orientation(image))
            bgr = _to_bgr(image, plan.reduce)
            image.close()  # Pillow's buffer goes before the upright copy is made
            return np.ascontiguousarray(upright(bgr)) if upright else bgr


def _plan(image: Image.Image, data: bytes, max_pixels: int, budget: DecodeBudget) -> DecodePlan:
    """Refuse oversized or over-budget images from the header, before any pixel is decoded."""
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(f"image too large: {width}x{height} = {width * height} pixels exceeds the limit of {max_pixels}")
    try:
        return image_formats.plan_decode(image, data, budget)
    except image_formats.Unusable as exc:
        raise ImageError(f"image too large: {exc}") from None


def _to_bgr(image: Image.Image, reduce: int) -> np.ndarray:
    """Convert any supported mode to BGR uint8, strip by strip, box-reduced by `reduce` on the way."""
    width, height = image.size
    out = np.empty((-(-height // reduce), -(-width // reduce), 3), dtype=np.uint8)
    to_rgb = _strip_converter(image)
    rows = max(1, STRIP_PIXELS // width // reduce) * reduce  # whole reduction boxes per strip
    for top in range(0, height, rows):
        rgb = to_rgb(image.crop((0, top, width, min(height, top + rows))))
        if reduce > 1:
            rgb = np.asarray(Image.fromarray(rgb).reduce(reduce))
        out[top // reduce : top // reduce + rgb.shape[0]] = rgb[:, :, ::-1]
    return out


def _strip_converter(image: Image.Image) -> Callable[[Image.Image], np.ndarray]:
    """The conversion of one strip of this image to RGB uint8."""
    if image.mode in _NUMERIC_MODES:
        return _numeric_to_rgb(image)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return _flatten_on_white
    return lambda strip: np.asarray(strip if strip.mode == "RGB" else strip.convert("RGB"))


def _numeric_to_rgb(image: Image.Image) -> Callable[[Image.Image], np.ndarray]:
    """16-bit, 32-bit and float greys: scaled so the brightest pixel is 255 (convert() would clip them)."""
    peak = float(image.getextrema()[1])
    scale = 255.0 / peak if np.isfinite(peak) and peak > 0 else 1.0

    def convert(strip: Image.Image) -> np.ndarray:
        # float32 on one strip at a time: a few MB, never a full-size float64 copy.
        grey = np.asarray(strip).astype(np.float32) * np.float32(scale)
        grey = np.nan_to_num(grey, nan=0.0, posinf=255.0, neginf=0.0).clip(0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)

    return convert


def _flatten_on_white(strip: Image.Image) -> np.ndarray:
    """Composite onto white in integers: transparent areas in photos are usually background."""
    rgba = np.asarray(strip.convert("RGBA"))
    alpha = rgba[:, :, 3:].astype(np.uint16)
    return ((rgba[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
