"""decode_image: formats, orientation, colour modes, reduced decoding, memory and refusals (no model or data needed)."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

import gpu_worker.image as worker_image
from facetrace.image_formats import DecodeBudget
from gpu_worker.image import DecodeMemory, ImageError, decode_image

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


# ---------------------------------------------------------------- phone formats, orientation, memory (issue #10)


def _mpo(first: Image.Image, second: Image.Image) -> bytes:
    return _encode(first, "MPO", save_all=True, append_images=[second], quality=95)


@pytest.mark.parametrize("fmt", ["JPEG", "MPO", "PNG", "WEBP", "HEIF", "AVIF"])
def test_every_accepted_format_decodes_to_the_right_colours(fmt):
    # GIVEN the test card in each format phones send (MPO: the card, then a black second frame)
    card = _gradient(96, 64)
    data = _mpo(card, Image.new("RGB", card.size)) if fmt == "MPO" else _encode(card, fmt, quality=95)
    # WHEN decoded
    image = decode_image(data, MAX_PIXELS)
    # THEN it is the card in BGR: same size, each channel close to the source's on average
    expected = np.asarray(card)[:, :, ::-1].astype(int)
    assert image.shape == (64, 96, 3)
    assert np.abs(image.astype(int) - expected).mean() < 6


def _with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(_gradient(40, 30), "PNG", exif=exif.tobytes())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_exif_orientation_is_turned_upright_as_pillow_does(orientation):
    # GIVEN a lossless PNG carrying EXIF orientation 1..8
    data = _with_orientation(orientation)
    # WHEN decoded THEN the pixels are exactly Pillow's own exif_transpose of it, in BGR
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))[:, :, ::-1]
    image = decode_image(data, MAX_PIXELS)
    assert image.flags.c_contiguous
    np.testing.assert_array_equal(image, expected)


def test_a_jpeg_over_the_output_size_is_decoded_reduced_in_the_dct():
    # GIVEN a 320x240 JPEG and a budget that hands the engine at most 10,000 pixels
    data = _encode(_gradient(320, 240), "JPEG", quality=95)
    # WHEN decoded THEN libjpeg scales it by 1/4 (80x60 = 4,800 px; 1/2 would be 19,200), colours kept
    image = decode_image(data, MAX_PIXELS, budget=DecodeBudget(max_output_pixels=10_000))
    assert image.shape == (60, 80, 3)
    assert abs(int(image[30, -1, 2]) - 255) < 12 and int(image[30, 0, 2]) < 12  # red still grows to the right


def test_other_formats_over_the_output_size_are_box_reduced():
    # GIVEN a 320x240 PNG and a budget of 20,000 output pixels
    source = _gradient(320, 240)
    # WHEN decoded THEN it is Pillow's 2x2 box reduction of the picture (160x120 = 19,200 px)
    image = decode_image(_encode(source, "PNG"), MAX_PIXELS, budget=DecodeBudget(max_output_pixels=20_000))
    np.testing.assert_array_equal(image, np.asarray(source.reduce(2))[:, :, ::-1])


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "CMYK", "LA", "1"])
@pytest.mark.parametrize("reduce", [1, 3])
def test_strip_by_strip_conversion_equals_the_whole_picture(monkeypatch, mode, reduce):
    # GIVEN an odd-sized picture in a mode that needs converting, and strips of about 3 rows
    source = _gradient(67, 41)
    image = {"P": source.convert("P", palette=Image.Palette.ADAPTIVE, colors=8),
             "I;16": source.convert("L").convert("I;16")}.get(mode) or source.convert(mode)
    if mode == "P":
        image.info["transparency"] = 0
    whole = worker_image._to_bgr(image, reduce)
    monkeypatch.setattr(worker_image, "STRIP_PIXELS", 67 * 3)
    # WHEN converted strip by strip THEN the result is the same, to the last pixel
    np.testing.assert_array_equal(worker_image._to_bgr(image, reduce), whole)
    assert whole.shape == (-(-41 // reduce), -(-67 // reduce), 3)


def test_16_bit_grey_is_scaled_to_its_brightest_pixel_without_clipping():
    # GIVEN a 16-bit grey ramp from 0 to 4,095 (a 12-bit sensor in a 16-bit PNG)
    ramp = np.linspace(0, 4095, 256).astype(np.uint16)[None, :].repeat(40, 0)
    data = _encode(Image.fromarray(ramp), "PNG")
    # WHEN decoded THEN it spans 0..255 in proportion, the same in all three channels
    image = decode_image(data, MAX_PIXELS)
    assert image[0, 0].tolist() == [0, 0, 0] and image[0, -1].tolist() == [255, 255, 255]
    np.testing.assert_array_equal(image[0, :, 0], (ramp[0].astype(np.float32) * np.float32(255 / 4095)).astype(np.uint8))


def test_palette_transparency_becomes_white():
    # GIVEN a palette PNG whose index 0 is transparent and fills the left half
    pixels = np.zeros((40, 64), np.uint8)
    pixels[:, 32:] = 1
    image = Image.fromarray(pixels, "P")
    image.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    data = _encode(image, "PNG", transparency=0)
    # WHEN decoded THEN the transparent half is white and the opaque half keeps its colour
    decoded = decode_image(data, MAX_PIXELS)
    assert decoded[:, :32].min() == 255
    assert decoded[:, 32:].reshape(-1, 3).tolist()[0] == [30, 30, 200]


def test_the_decodes_in_flight_never_hold_more_than_the_memory_budget():
    # GIVEN a budget of 100 units and 12 threads each reserving 30 (at most three fit at once)
    memory, lock, in_use, peak = DecodeMemory(100), threading.Lock(), [0], [0]

    def job():
        with memory.reserve(30):
            with lock:
                in_use[0] += 30
                peak[0] = max(peak[0], in_use[0])
            time.sleep(0.01)
            with lock:
                in_use[0] -= 30

    threads = [threading.Thread(target=job) for _ in range(12)]
    # WHEN they all run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    # THEN all finished, and never more than 90 units were held at once, but more than one job ran at a time
    assert not any(t.is_alive() for t in threads)
    assert 30 < peak[0] <= 90


def test_a_photo_bigger_than_the_shared_budget_still_decodes_alone():
    # GIVEN a shared decode budget smaller than one photo's estimate
    memory = DecodeMemory(1024)
    # WHEN it is decoded THEN it waits for nobody and decodes (one photo alone always fits)
    assert decode_image(_encode(_gradient(), "PNG"), MAX_PIXELS, memory=memory).shape == (48, 64, 3)
