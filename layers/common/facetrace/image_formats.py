"""The photo formats FaceTrace accepts, their decoders, and what decoding one costs, from its header alone.

Ingest (`image_check`) and the worker (`gpu_worker.image`) open, plan and decode through these same
functions, so a photo ingest accepts is one the worker decodes the same way.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from aws_lambda_powertools import Logger
from PIL import Image, ImageMode, UnidentifiedImageError, features

logger = Logger(child=True)

MIB = 1024 * 1024

# Pillow format -> the content type recorded for the photo. MPO is how Pillow reports the many
# phone JPEGs that carry a second picture (depth map, preview); its first frame is the photo.
CONTENT_TYPES = {
    "JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
    "HEIF": "image/heic", "AVIF": "image/avif",
}
ACCEPTED_NAMES = "JPEG, PNG, WebP, HEIC or AVIF"

# Pillow modes the conversion to BGR handles; a decoder reporting anything else is refused.
SUPPORTED_MODES = frozenset({
    "1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr",
    "I;16", "I;16L", "I;16B", "I;16N", "I", "F",
})

# What a decoder holds beyond Pillow's own buffer, in bytes per source pixel, measured with
# scripts/bench_decode_memory.py and rounded up (docs/benchmarks.md, "Decode memory"). Pillow decodes
# every WebP through libwebp's animation decoder: two RGBA canvases plus the frame it hands over.
# libheif hands over an interleaved RGB(A) copy; libavif holds YUV (16-bit above 8 bits, 4:4:4 at
# worst) and an RGBA copy. PNG and baseline JPEG decode straight into Pillow's buffer.
DECODER_BYTES_PER_PIXEL = {"JPEG": 0, "MPO": 0, "PNG": 0, "WEBP": 12, "HEIF": 5, "AVIF": 10}
# A progressive (or non-interleaved) JPEG keeps every DCT coefficient of the full-size image:
# 64 two-byte coefficients per 8x8 block and component, whatever the DCT scaling.
JPEG_COEFFICIENT_BYTES_PER_BLOCK = 128
# The BGR conversion works in strips of about this many pixels; its scratch is a few copies of one.
STRIP_PIXELS = 1 << 18
SCRATCH_BYTES = 32 * MIB


@dataclass(frozen=True)
class DecodeBudget:
    """What one photo may cost: peak decode memory, and the largest picture handed to the face engine."""

    # 640 MiB fits the 1024 MB ingest function beside the runtime, and holds the worst 50 MP phone
    # photos (HEIC about 560 MB); only WebP over ~36 MP and AVIF over ~40 MP are refused by it.
    photo_bytes: int = 640 * MIB
    # 25 MP keeps 24 MP phone photos whole and halves only bigger ones (the array kept per photo is at
    # most 75 MB); the packs' tiling (gpu_worker/tiles.py) still finds 56 px faces in what is left.
    max_output_pixels: int = 25_000_000


DEFAULT_BUDGET = DecodeBudget()


@dataclass(frozen=True)
class DecodePlan:
    """How one photo is decoded and what that costs at most, decided before any pixel is decoded."""

    source: tuple[int, int]  # width, height the header declares
    decoded: tuple[int, int]  # what the decoder produces (a JPEG scaled in the DCT by 1/2, 1/4 or 1/8)
    reduce: int  # further box reduction while converting, for formats that cannot decode smaller
    peak_bytes: int

    @property
    def output(self) -> tuple[int, int]:
        """Width and height of the BGR array before orientation."""
        return -(-self.decoded[0] // self.reduce), -(-self.decoded[1] // self.reduce)


class Unusable(ValueError):
    """The bytes cannot be used as a photo; the message says why, in words for the uploader."""


class NotAnImage(Unusable):
    """No accepted format recognises the bytes."""


class UnsupportedFormat(Unusable):
    """A real image, in a format FaceTrace does not take."""


class TooManyPixels(Unusable):
    """The header declares more pixels than Pillow's own decompression-bomb limit."""


class TooCostly(Unusable):
    """Decoding would take more memory than one photo's budget."""


class Corrupt(Unusable):
    """The header parsed but the body is truncated or broken."""


def _register_decoders() -> tuple[str, ...]:
    """Register the HEIF decoder (once, here); return the Pillow formats this installation decodes."""
    formats = ["JPEG", "PNG", "WEBP"]  # Pillow opens MPO through its JPEG factory
    try:
        import pillow_heif
    except ImportError:
        logger.warning("pillow-heif is not installed: HEIC/HEIF photos will be refused")
    else:
        # Thumbnails, depth maps and auxiliary images are never used: not decoding them is less to attack.
        pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
        formats.append("HEIF")
    if features.check("avif"):  # Pillow >= 11.3 decodes AVIF itself
        formats.append("AVIF")
    else:
        logger.warning("this Pillow has no AVIF decoder: AVIF photos will be refused")
    return tuple(formats)


FORMATS = _register_decoders()


def open_image(data: bytes) -> Image.Image:
    """Parse the header of an accepted format (no pixel decoded yet), or raise Unusable with the reason."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise TooManyPixels("image has too many pixels") from None
    except UnidentifiedImageError:
        raise _unidentified(data) from None
    except Exception as exc:  # hostile headers make plugins raise anything, struct.error to MemoryError
        raise Corrupt(f"unreadable image header ({type(exc).__name__}: {exc})") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise Corrupt(f"image declares no pixels ({width}x{height})")
    if image.mode not in SUPPORTED_MODES:
        image.close()
        raise UnsupportedFormat(f"unsupported {image.format} colour mode {image.mode}")
    return image


def _unidentified(data: bytes) -> Unusable:
    """Name what the bytes are, by magic number only (nothing else is parsed), for the refusal."""
    name = sniff(data)
    if name is None:
        return NotAnImage(f"not an image (or a format FaceTrace does not accept); send {ACCEPTED_NAMES}")
    if name in FORMATS or name == "AVIF":  # AVIF also claims HEIF's container brands
        return Corrupt(f"damaged {name} header")
    return UnsupportedFormat(f"unsupported image format {name}; send {ACCEPTED_NAMES}")


def sniff(data: bytes) -> str | None:
    """The image format whose magic number the bytes start with, or None."""
    Image.init()
    prefix = data[:16]
    for name, (_, accept) in Image.OPEN.items():
        try:
            verdict = accept(prefix) if accept is not None else False
        except Exception:  # a plugin's accept test is not meant for arbitrary bytes
            continue
        if verdict and not isinstance(verdict, str):  # a string is "recognised, but cannot be read here"
            return name
    return None


def content_type(image: Image.Image) -> str:
    """The content type of an opened, accepted image."""
    if image.format == "HEIF" and "heic" not in (image.get_format_mimetype() or ""):
        return "image/heif"
    return CONTENT_TYPES[image.format]


def plan_decode(image: Image.Image, data: bytes, budget: DecodeBudget = DEFAULT_BUDGET) -> DecodePlan:
    """Set the JPEG decoder's DCT scaling and estimate the peak memory; raise TooCostly over budget."""
    source = image.size
    scale = _jpeg_scale(source, budget.max_output_pixels) if image.format in ("JPEG", "MPO") else 1
    if scale > 1:
        image.draft(image.mode, (max(1, source[0] // scale), max(1, source[1] // scale)))
    decoded = image.size
    reduce = _reduction(decoded, budget.max_output_pixels)
    plan = DecodePlan(source, decoded, reduce, _peak_bytes(image, data, source, decoded, reduce))
    if plan.peak_bytes > budget.photo_bytes:
        raise TooCostly(
            f"image would take {plan.peak_bytes // MIB} MiB to decode ({source[0]}x{source[1]} {image.format} "
            f"{image.mode}; limit {budget.photo_bytes // MIB} MiB); send it as JPEG or smaller"
        )
    return plan


def load(image: Image.Image, plan: DecodePlan) -> None:
    """Decode the pixels as planned, or raise Corrupt if the body is truncated or broken."""
    try:
        image.load()
    except Exception as exc:  # decoders fed hostile bodies raise OSError, SyntaxError, EOFError, struct.error, ...
        raise Corrupt(f"truncated or corrupt image ({type(exc).__name__}: {exc})") from None
    width, height = image.size
    # HEIF may report its final size only once decoded; it must not grow past what was budgeted.
    if width * height > plan.decoded[0] * plan.decoded[1] or image.mode not in SUPPORTED_MODES:
        raise Corrupt(f"decoded image ({width}x{height} {image.mode}) differs from its header")


def orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8) of a loaded image; 1 when EXIF is missing or unreadable."""
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # a mutated EXIF block makes Pillow's parser raise struct.error, KeyError, ...
        return 1
    return value if type(value) is int and 1 <= value <= 8 else 1


def storage_bytes_per_pixel(mode: str) -> int:
    """Bytes per pixel in Pillow's own buffer: one-band modes by sample size, all others 4 (measured)."""
    descriptor = ImageMode.getmode(mode)
    return max(1, int(descriptor.typestr[-1])) if len(descriptor.bands) == 1 else 4


def _jpeg_scale(size: tuple[int, int], max_pixels: int) -> int:
    """The smallest DCT scaling (1, 2, 4 or 8) that brings a JPEG within max_pixels."""
    for scale in (1, 2, 4, 8):
        if math.ceil(size[0] / scale) * math.ceil(size[1] / scale) <= max_pixels:
            return scale
    return 8


def _reduction(size: tuple[int, int], max_pixels: int) -> int:
    """The smallest integer box reduction that brings a decoded picture within max_pixels."""
    reduce = max(1, math.isqrt(size[0] * size[1] // max(1, max_pixels)))
    while math.ceil(size[0] / reduce) * math.ceil(size[1] / reduce) > max_pixels:
        reduce += 1
    return reduce


def _peak_bytes(image: Image.Image, data: bytes, source: tuple[int, int], decoded: tuple[int, int], reduce: int) -> int:
    """Pillow's buffer, the decoder's own, the BGR array twice (orientation copies it) and scratch."""
    output_pixels = -(-decoded[0] // reduce) * -(-decoded[1] // reduce)
    return (
        decoded[0] * decoded[1] * storage_bytes_per_pixel(image.mode)
        + _decoder_bytes(image, data, source)
        + 2 * 3 * output_pixels
        + SCRATCH_BYTES
    )


def _decoder_bytes(image: Image.Image, data: bytes, source: tuple[int, int]) -> int:
    """Memory the format's decoder holds besides Pillow's buffer."""
    pixels = source[0] * source[1]
    if image.format not in ("JPEG", "MPO"):
        return DECODER_BYTES_PER_PIXEL[image.format] * pixels
    components = len(getattr(image, "layer", None) or image.getbands())
    if not image.info.get("progressive") and _first_scan_components(data) == components:
        return 0
    # Counted at full resolution for every component: an upper bound whatever the chroma subsampling.
    blocks = math.ceil(source[0] / 8) * math.ceil(source[1] / 8)
    return components * blocks * JPEG_COEFFICIENT_BYTES_PER_BLOCK


def _first_scan_components(data: bytes) -> int | None:
    """How many components the first JPEG scan interleaves (None if no scan header is found)."""
    pos = 2
    while pos + 4 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
        elif marker == 0xDA:
            return data[pos + 4]
        else:
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None
