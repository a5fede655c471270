"""Decode uploaded photo bytes into a BGR uint8 array, refusing anything unsafe or broken."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


class ImageError(ValueError):
    """The bytes are not a usable image (undecodable, truncated or too large)."""


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode image bytes to BGR uint8 with EXIF orientation applied; raise ImageError if unusable."""
    if not data:
        raise ImageError("empty file: no image data")
    image = _open_checked(data, max_pixels)
    try:
        image.load()  # full decode: raises on truncated data instead of returning a grey tail
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"image data is corrupt or truncated: {exc}") from exc
    return _to_bgr(image)


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Read only the header and refuse oversized images before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning is superseded by our explicit max_pixels check.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"not a recognised image format: {exc}") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(f"image has invalid dimensions {width}x{height}")
    if width * height > max_pixels:
        raise ImageError(
            f"image too large: {width}x{height} = {width * height} pixels exceeds the limit of {max_pixels}"
        )
    return image


def _to_bgr(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode (grey, palette, alpha, 16-bit) to a contiguous BGR uint8 array."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit/float greys: rescale to 8 bits rather than let convert() clip them.
        grey = np.asarray(image, dtype=np.float64)
        peak = grey.max() if grey.size and grey.max() > 0 else 1.0
        grey = np.clip(grey * (255.0 / peak), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Flatten transparency onto white: transparent areas in photos are usually background.
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(canvas, rgba)
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])
