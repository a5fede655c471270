"""decode_image: orientation, colour modes and refusals (no model or data needed)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from gpu_worker.image import ImageError, decode_image

MAX_PIXELS = 40_000_000


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _gradient(width: int = 64, height: int = 48) -> Image.Image:
    """An RGB test card: red grows left to right, green top to bottom, blue fixed."""
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    return Image.fromarray(np.dstack([x, y, np.full_like(x, 40)]), "RGB")


def test_jpeg_decodes_to_bgr_uint8():
    # GIVEN an RGB JPEG WHEN decoded THEN it is HxWx3 uint8 in BGR order
    image = decode_image(_encode(_gradient(), "JPEG", quality=95), MAX_PIXELS)
    assert image.shape == (48, 64, 3) and image.dtype == np.uint8
    assert abs(int(image[0, -1, 2]) - 255) < 8 and abs(int(image[0, -1, 0]) - 40) < 8  # red right, in channel 2


def test_exif_orientation_is_applied():
    # GIVEN a 64x48 picture stored rotated with EXIF Orientation=6 (view = rotate 90 deg clockwise)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encode(_gradient().transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif.tobytes(), quality=95)
    # WHEN decoded THEN it is upright again: 48 high, 64 wide, red still growing to the right
    image = decode_image(data, MAX_PIXELS)
    assert image.shape == (48, 64, 3)
    assert image[24, -1, 2] > image[24, 0, 2] + 200


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "I;16"])
def test_grey_alpha_palette_and_16_bit_become_bgr(mode):
    # GIVEN a PNG in an unusual mode WHEN decoded THEN it is 3-channel uint8
    source = _gradient()
    image = source.convert("L").convert("I;16") if mode == "I;16" else source.convert(mode)
    decoded = decode_image(_encode(image, "PNG"), MAX_PIXELS)
    assert decoded.shape == (48, 64, 3) and decoded.dtype == np.uint8


def test_transparent_background_becomes_white():
    # GIVEN a fully transparent PNG WHEN decoded THEN it is white, not black
    data = _encode(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "PNG")
    assert decode_image(data, MAX_PIXELS).min() == 255


@pytest.mark.parametrize("data", [b"", b"hello, not an image", b"\xff\xd8\xff\xe0" + b"\x00" * 10])
def test_non_images_are_refused(data):
    # GIVEN bytes that are no image WHEN decoded THEN ImageError (a ValueError) explains it
    with pytest.raises(ImageError) as error:
        decode_image(data, MAX_PIXELS)
    assert isinstance(error.value, ValueError) and str(error.value)


def test_truncated_jpeg_is_refused():
    # GIVEN a JPEG cut in half (an interrupted upload)
    data = _encode(_gradient(640, 480), "JPEG", quality=95)
    # WHEN decoded THEN it is refused instead of coming back with a grey lower half
    with pytest.raises(ImageError, match="truncated|corrupt"):
        decode_image(data[: len(data) // 2], MAX_PIXELS)


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (valid CRC, pixel data far too short)."""
    data = bytearray(_encode(Image.new("RGB", (4, 4)), "PNG"))
    ihdr = bytearray(data[12:29])  # chunk type + 13 data bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def test_huge_declared_dimensions_are_refused_from_the_header():
    # GIVEN a 300-byte PNG whose header declares 30000x30000 pixels
    data = _png_declaring(30_000, 30_000)
    # WHEN decoded THEN it is refused as too large, at once, without allocating 2.7 GB
    started = time.perf_counter()
    with pytest.raises(ImageError, match="too large"):
        decode_image(data, MAX_PIXELS)
    assert time.perf_counter() - started < 0.5


def test_image_over_the_pixel_limit_is_refused():
    # GIVEN a real 64x48 JPEG and a limit of 1000 pixels WHEN decoded THEN too large
    with pytest.raises(ImageError, match="3072 pixels exceeds the limit of 1000"):
        decode_image(_encode(_gradient(), "JPEG"), 1000)
