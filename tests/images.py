"""Image bytes for tests: real encodings made with Pillow, and hand-crafted hostile headers."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from facetrace.image_check import Limits

LIMITS = Limits(min_bytes=100, max_bytes=15 * 1024 * 1024, min_side=32, max_side=12_000, max_pixels=50_000_000)


def encode(width: int = 200, height: int = 150, fmt: str = "JPEG", seed: int = 0) -> bytes:
    """A noisy RGB image (noise keeps the encoding large enough to cut meaningfully)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


def jpeg(width: int = 200, height: int = 150, seed: int = 0) -> bytes:
    return encode(width, height, "JPEG", seed)


def truncated_jpeg() -> bytes:
    """A real JPEG cut in half."""
    data = jpeg(400, 300)
    return data[: len(data) // 2]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int, padding: int = 200) -> bytes:
    """A small, valid-looking PNG whose IHDR (correct CRC) declares width x height RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    text = b"Comment\x00" + b"x" * padding  # keeps the file above the minimum upload size
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"tEXt", text) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 marker is patched to declare width x height."""
    data = bytearray(jpeg(64, 64))
    sof = data.index(b"\xff\xc0")
    # FFC0, length (2), precision (1), height (2), width (2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)
