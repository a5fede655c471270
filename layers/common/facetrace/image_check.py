"""Checks that an upload is a real, decodable image of acceptable size before any GPU time is spent."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Limits:
    """Upload limits shared by the presigned POST policy and the ingest check."""

    min_bytes: int
    max_bytes: int
    min_side: int
    max_side: int
    max_pixels: int


@dataclass(frozen=True)
class ImageFacts:
    content_type: str
    width: int
    height: int


class ImageRejected(ValueError):
    """The upload is not an acceptable image; the message says why, for the uploader."""


def check_image(data: bytes, limits: Limits) -> ImageFacts:
    """Return the image's type and size, or raise ImageRejected with a human-readable reason."""
    check_size(len(data), limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                facts = _facts(im, limits)
                im.load()  # a full decode is the only way to catch a truncated or corrupt body
    except UnidentifiedImageError:
        raise ImageRejected("not an image (or a format FaceTrace does not accept)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("image has too many pixels") from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ImageRejected):
            raise
        raise ImageRejected(f"truncated or corrupt image ({exc})") from None
    return facts


def check_size(size: int, limits: Limits) -> None:
    """Refuse an upload by its byte size alone, before downloading it."""
    if size == 0:
        raise ImageRejected("empty file")
    if size < limits.min_bytes:
        raise ImageRejected(f"file too small to be a photo ({size} bytes)")
    if size > limits.max_bytes:
        raise ImageRejected(f"file too large ({size} bytes, limit {limits.max_bytes})")


def _facts(im: Image.Image, limits: Limits) -> ImageFacts:
    if im.format not in FORMATS:
        raise ImageRejected(f"unsupported image format {im.format}; send JPEG, PNG or WebP")
    w, h = im.size
    if max(w, h) > limits.max_side or w * h > limits.max_pixels:
        raise ImageRejected(f"image too large ({w}x{h} pixels; limit {limits.max_side} per side, {limits.max_pixels} in all)")
    if min(w, h) < limits.min_side:
        raise ImageRejected(f"image too small ({w}x{h} pixels; at least {limits.min_side} per side)")
    return ImageFacts(FORMATS[im.format], w, h)
