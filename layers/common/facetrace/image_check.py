"""Checks that an upload is a real, decodable image of acceptable size before any GPU time is spent."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from facetrace import image_formats
from facetrace.image_formats import DEFAULT_BUDGET, DecodeBudget


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


def check_image(data: bytes, limits: Limits, budget: DecodeBudget = DEFAULT_BUDGET) -> ImageFacts:
    """Return the image's type and size, or raise ImageRejected with a human-readable reason."""
    check_size(len(data), limits)
    try:
        with image_formats.open_image(data) as image:
            facts = _facts(image, limits)
            # The worker plans and decodes with these same calls, so what passes here decodes there.
            plan = image_formats.plan_decode(image, data, budget)
            image_formats.load(image, plan)  # a full decode is the only way to catch a truncated or corrupt body
    except image_formats.Unusable as exc:
        raise ImageRejected(str(exc)) from None
    return facts


def check_size(size: int, limits: Limits) -> None:
    """Refuse an upload by its byte size alone, before downloading it."""
    if size == 0:
        raise ImageRejected("empty file")
    if size < limits.min_bytes:
        raise ImageRejected(f"file too small to be a photo ({size} bytes)")
    if size > limits.max_bytes:
        raise ImageRejected(f"file too large ({size} bytes, limit {limits.max_bytes})")


def _facts(image: Image.Image, limits: Limits) -> ImageFacts:
    w, h = image.size
    if max(w, h) > limits.max_side or w * h > limits.max_pixels:
        raise ImageRejected(f"image too large ({w}x{h} pixels; limit {limits.max_side} per side, {limits.max_pixels} in all)")
    if min(w, h) < limits.min_side:
        raise ImageRejected(f"image too small ({w}x{h} pixels; at least {limits.min_side} per side)")
    return ImageFacts(image_formats.content_type(image), w, h)
