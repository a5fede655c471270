"""The upload check: only real, decodable JPEG/PNG/WebP images of sensible size get through."""

from __future__ import annotations

import time

import pytest

from facetrace.image_check import ImageFacts, ImageRejected, check_image, check_size
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
