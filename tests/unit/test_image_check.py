"""The upload check: only real, decodable JPEG/PNG/WebP/HEIC/AVIF images of sensible size and cost get through."""

from __future__ import annotations

import io
import struct
import time
import typing
import zlib

import numpy as np
import pytest
from PIL import Image

from facetrace import image_formats
from facetrace.image_check import ImageFacts, ImageRejected, check_image, check_size
from facetrace.image_formats import DecodeBudget
from facetrace.upload import ContentType
from tests import images
from tests.images import LIMITS


def _reason(data: bytes) -> str:
    with pytest.raises(ImageRejected) as info:
        check_image(data, LIMITS)
    return str(info.value)


def test_text_file_is_not_an_image():
    # GIVEN a text file large enough to pass the byte-size check
    data = b"this is not a photo of anyone\n" * 20
    # WHEN it is checked THEN it is rejected as not an image
    assert "not an image" in _reason(data)


def test_empty_file_is_rejected_as_empty():
    # GIVEN / WHEN an empty upload is checked THEN the reason says it is empty
    assert _reason(b"") == "empty file"


def test_empty_object_is_refused_by_size_alone():
    # GIVEN the byte size S3 reports for an empty object
    # WHEN it is checked before any download THEN it is refused as empty
    with pytest.raises(ImageRejected, match="empty file"):
        check_size(0, LIMITS)


def test_oversized_object_is_refused_by_size_alone():
    # GIVEN an object one byte over the upload limit
    # WHEN its size is checked THEN it is refused naming the limit
    with pytest.raises(ImageRejected, match=f"limit {LIMITS.max_bytes}"):
        check_size(LIMITS.max_bytes + 1, LIMITS)


def test_truncated_jpeg_is_rejected():
    # GIVEN a real JPEG cut in half (its header still parses)
    data = images.truncated_jpeg()
    # WHEN it is checked THEN the full decode notices and the reason says truncated
    assert "truncated or corrupt" in _reason(data)


@pytest.mark.parametrize("data", [images.png_header_only(30_000, 30_000), images.jpeg_declaring(30_000, 30_000)],
                         ids=["png-ihdr", "jpeg-sof0"])
def test_decompression_bomb_is_rejected_from_its_header_cheaply(data):
    # GIVEN a few hundred bytes whose header declares 30,000 x 30,000 pixels (2.7 GB decoded)
    assert len(data) < 10_000
    # WHEN it is checked
    start = time.perf_counter()
    reason = _reason(data)
    elapsed = time.perf_counter() - start
    # THEN it is refused for its pixel count without decoding anything
    assert "too many pixels" in reason
    assert elapsed < 0.5


def test_image_over_the_pixel_limit_but_under_pillows_bomb_limit_is_rejected_with_its_size():
    # GIVEN a header declaring 9,000 x 9,000 (81 Mpx: over our 50 Mpx limit, under Pillow's own)
    data = images.png_header_only(9_000, 9_000)
    # WHEN it is checked THEN the reason gives the size and the limits
    assert "image too large (9000x9000 pixels" in _reason(data)


def test_image_with_a_side_over_the_limit_is_rejected():
    # GIVEN a 20,000 x 100 strip (few pixels, but one side over 12,000)
    data = images.png_header_only(20_000, 100)
    # WHEN / THEN it is rejected as too large
    assert "20000x100" in _reason(data)


def test_tiny_image_is_rejected_as_too_small():
    # GIVEN a valid 16 x 16 PNG
    data = images.encode(16, 16, "PNG")
    # WHEN / THEN it is rejected because no face can be found in it
    assert "image too small (16x16" in _reason(data)


def test_gif_is_rejected_as_unsupported():
    # GIVEN a valid GIF
    data = images.encode(64, 64, "GIF")
    # WHEN / THEN the reason names the format and what is accepted
    reason = _reason(data)
    assert "unsupported image format GIF" in reason
    assert "JPEG, PNG, WebP, HEIC or AVIF" in reason


@pytest.mark.parametrize(("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_good_images_are_accepted_with_type_and_size(fmt, content_type):
    # GIVEN a valid 320 x 240 image in an accepted format
    data = images.encode(320, 240, fmt)
    # WHEN it is checked
    facts = check_image(data, LIMITS)
    # THEN its real type and dimensions are reported
    assert facts == ImageFacts(content_type, 320, 240)


def _save(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _photo(width: int = 320, height: int = 240) -> Image.Image:
    return Image.open(io.BytesIO(images.encode(width, height, "PNG"))).convert("RGB")


@pytest.mark.parametrize(("fmt", "content_type"), [("HEIF", "image/heic"), ("AVIF", "image/avif"), ("MPO", "image/jpeg")])
def test_phone_formats_are_accepted_with_type_and_size(fmt, content_type):
    # GIVEN a 320 x 240 photo as an iPhone HEIC, an AVIF, or an MPO (a JPEG with a second frame)
    extra = {"save_all": True, "append_images": [_photo(160, 120)]} if fmt == "MPO" else {}
    data = _save(_photo(), fmt, **extra)
    # WHEN it is checked THEN it is accepted with its real type and the first frame's size
    assert check_image(data, LIMITS) == ImageFacts(content_type, 320, 240)


def test_a_heif_that_is_not_heic_is_reported_as_image_heif():
    # GIVEN a HEIF whose brands say plain HEIF (mif1), not HEVC-coded HEIC
    data = bytearray(_save(_photo(), "HEIF"))
    ftyp = data.index(b"ftyp")
    data[ftyp + 4 : ftyp + 8] = b"mif1"
    data[ftyp + 12 : ftyp + 24] = b"mif1mif1miaf"
    # WHEN it is checked THEN its content type is image/heif
    assert check_image(bytes(data), LIMITS).content_type == "image/heif"


def test_every_content_type_ingest_records_can_be_declared_for_upload():
    # GIVEN the content types check_image can report WHEN compared with the upload API's allowed types
    reported = set(image_formats.CONTENT_TYPES.values()) | {"image/heif"}
    # THEN a citizen's phone can declare every one of them in its upload ticket
    assert reported <= set(typing.get_args(ContentType))


def _png16_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)  # 16-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_the_cost_of_a_16_bit_grey_png_is_known_from_its_header():
    # GIVEN only the header of a 7000 x 7000 16-bit grey PNG (the worker once spent 1.3 GB on one)
    data = _png16_header(7000, 7000)
    # WHEN its decode is planned
    with image_formats.open_image(data) as image:
        plan = image_formats.plan_decode(image, data)
    # THEN Pillow's 2 bytes a pixel, the halved BGR array (twice) and scratch: about 205 MB, before any decode
    assert plan.reduce == 2 and plan.output == (3500, 3500)
    assert plan.peak_bytes == 7000 * 7000 * 2 + 2 * 3 * 3500 * 3500 + image_formats.SCRATCH_BYTES


def test_a_progressive_jpeg_is_planned_with_its_coefficient_buffer():
    # GIVEN the same picture as a baseline and as a progressive JPEG
    picture = _photo(640, 480)
    baseline, progressive = _save(picture, "JPEG"), _save(picture, "JPEG", progressive=True)

    def planned(data: bytes) -> int:
        with image_formats.open_image(data) as image:
            return image_formats.plan_decode(image, data).peak_bytes

    # WHEN both are planned THEN the progressive one costs every DCT coefficient more (3 x 80 x 60 blocks x 128 B)
    assert planned(progressive) - planned(baseline) == 3 * 80 * 60 * 128


def test_a_photo_over_the_memory_budget_is_refused_with_its_cost():
    # GIVEN a photo that would take more to decode than a 32 MiB budget
    data = images.encode(2000, 1500, "PNG")
    # WHEN it is checked under that budget THEN the reason gives the cost and the limit
    with pytest.raises(ImageRejected, match=r"would take \d+ MiB to decode .*limit 32 MiB"):
        check_image(data, LIMITS, DecodeBudget(photo_bytes=32 * 2**20))


def test_grey_and_cmyk_jpegs_are_accepted():
    # GIVEN a grey and a CMYK JPEG WHEN checked THEN both are accepted as JPEG
    for mode in ("L", "CMYK"):
        assert check_image(_save(_photo().convert(mode), "JPEG"), LIMITS).content_type == "image/jpeg"


def test_noise_with_a_jpeg_signature_is_refused_as_corrupt():
    # GIVEN a JPEG signature followed by noise
    data = b"\xff\xd8\xff\xe0" + np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    # WHEN it is checked THEN it is refused (never an exception of another kind)
    assert _reason(data)
