"""Hostile uploads: thousands of seeded mutants of real JPEGs and PNGs, and the odd files phones and attackers send.

The invariant that protects a worker batch: `check_image` raises only ImageRejected, `decode_image` only
ImageError, and whatever ingest accepts the worker decodes. Mutants are generated here, from a fixed seed,
never committed; a failure names the seed file, mutation and index to regenerate it.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from facetrace.image_check import ImageRejected, check_image
from facetrace.image_formats import DecodeBudget
from gpu_worker.image import ImageError, decode_image
from tests.images import LIMITS

# Mutated headers make Pillow warn (corrupt EXIF, bomb-sized dimensions) before refusing; only outcomes count.
pytestmark = pytest.mark.filterwarnings("ignore")

MAX_PIXELS = LIMITS.max_pixels
JPEG_MUTANTS = 4_000
PNG_MUTANTS = 2_000
OTHER_MUTANTS = 1_500  # WebP, HEIC and AVIF: other decoders, same contract
LFW_MUTANTS_PER_PHOTO = 20


# ---------------------------------------------------------------- seeds: real, small encodings


def _noise(width: int, height: int, seed: int) -> np.ndarray:
    """Noise over a gradient: like a photo, it keeps the entropy-coded body large enough to cut."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 180, width, dtype=np.float32)[None, :, None]
    return np.clip(rng.normal(0, 30, (height, width, 3)) + ramp + 40, 0, 255).astype(np.uint8)


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _rich_exif() -> Image.Exif:
    """A realistic phone EXIF block: orientation, strings, rationals, a GPS sub-IFD."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "FaceTrace Phone"  # Make
    exif[0x0110] = "Model 12"
    exif[0x0102] = 8  # BitsPerSample
    exif[0x011A] = 72.0  # XResolution (rational)
    exif[0x0132] = "2024:05:17 18:45:10"
    exif.get_ifd(0x8825)[2] = (47.0, 22.0, 39.0)  # GPSLatitude
    return exif


def jpeg_seeds() -> dict[str, bytes]:
    """Small real JPEGs in the shapes phones and editors produce."""
    rgb = Image.fromarray(_noise(96, 72, 1))
    frames = [Image.fromarray(_noise(80, 60, 2)), Image.fromarray(_noise(80, 60, 3))]
    return {
        "baseline-exif": _encode(rgb, "JPEG", quality=85, exif=_rich_exif().tobytes()),
        "progressive": _encode(rgb, "JPEG", quality=80, progressive=True),
        "grey": _encode(rgb.convert("L"), "JPEG", quality=85),
        "cmyk": _encode(rgb.convert("CMYK"), "JPEG", quality=85),
        "444-restart": _encode(rgb, "JPEG", quality=90, subsampling=0, restart_marker_blocks=4),
        "mpo": _encode(frames[0], "MPO", save_all=True, append_images=frames[1:], quality=85),
    }


def png_seeds() -> dict[str, bytes]:
    """Small real PNGs in every colour type and depth Pillow writes."""
    rgb = Image.fromarray(_noise(64, 48, 4))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    grey16 = Image.fromarray((np.asarray(rgb.convert("L"), dtype=np.uint16) * 257))
    exif = Image.Exif()
    exif[0x0112] = 8
    return {
        "rgb-exif": _encode(rgb, "PNG", exif=exif.tobytes()),
        "rgba": _encode(rgb.convert("RGBA"), "PNG"),
        "palette-trns": _encode(palette, "PNG", transparency=0),
        "grey16": _encode(grey16, "PNG"),
        "la": _encode(rgb.convert("LA"), "PNG"),
        "bilevel": _encode(rgb.convert("1"), "PNG"),
    }


def other_seeds() -> dict[str, bytes]:
    """Small real WebP (lossy with EXIF, lossless with alpha, animated), HEIC and AVIF files."""
    rgb = Image.fromarray(_noise(96, 72, 12))
    exif = _rich_exif().tobytes()
    return {
        "webp-lossy": _encode(rgb, "WEBP", quality=80, exif=exif),
        "webp-lossless-alpha": _encode(rgb.convert("RGBA"), "WEBP", lossless=True),
        "webp-animated": _encode(rgb, "WEBP", save_all=True, append_images=[rgb.rotate(90)], duration=100),
        "heic": _encode(rgb, "HEIF", quality=70, exif=exif),
        "avif": _encode(rgb, "AVIF", quality=70, exif=exif),
    }


# ---------------------------------------------------------------- structure: where to aim mutations


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, marker, length incl. the 2 length bytes) of each header segment up to the first scan."""
    segments, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        segments.append((pos, marker, length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return segments


def png_chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """(offset, type, data length) of each chunk."""
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks.append((pos, data[pos + 4 : pos + 8], length))
        pos += 12 + length
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _with_fixed_crc(data: bytearray, offset: int, length: int) -> bytearray:
    """Recompute one chunk's CRC so a mutation inside it reaches the parser instead of the CRC check."""
    end = offset + 8 + length
    if end + 4 <= len(data):
        data[end : end + 4] = struct.pack(">I", zlib.crc32(bytes(data[offset + 4 : end])) & 0xFFFFFFFF)
    return data


# ---------------------------------------------------------------- mutations (rng -> bytes -> bytes)


def flip_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def flip_header_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    head = min(len(out), 1024)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(head)] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def insert_bytes(rng: random.Random, data: bytes) -> bytes:
    pos = rng.randrange(len(data))
    return data[:pos] + rng.randbytes(rng.randint(1, 64)) + data[pos:]


def duplicate_slice(rng: random.Random, data: bytes) -> bytes:
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randint(1, 512)]
    pos = rng.randrange(len(data))
    return data[:pos] + piece + data[pos:]


def duplicate_jpeg_segment(rng: random.Random, data: bytes) -> bytes:
    offset, _, length = rng.choice(jpeg_segments(data))
    segment = data[offset : offset + 2 + length]
    pos = rng.choice([s[0] for s in jpeg_segments(data)])
    return data[:pos] + segment + data[pos:]


def mutate_exif(rng: random.Random, data: bytes) -> bytes:
    """Change a few bytes inside the APP1 Exif payload (the TIFF structure Pillow parses lazily)."""
    app1 = [s for s in jpeg_segments(data) if s[1] == 0xE1 and data[s[0] + 4 : s[0] + 10] == b"Exif\0\0"]
    if not app1:
        return flip_header_bytes(rng, data)
    offset, _, length = app1[0]
    start, end = offset + 10, offset + 2 + length  # after "Exif\0\0", to the segment's end
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        out[rng.randrange(start, end)] = rng.randrange(256)
    return bytes(out)


def mutate_exif_entry(rng: random.Random, data: bytes) -> bytes:
    """Rewrite one IFD entry's type, count or offset: the shape that crashed exif_transpose."""
    app1 = [s for s in jpeg_segments(data) if s[1] == 0xE1 and data[s[0] + 4 : s[0] + 10] == b"Exif\0\0"]
    if not app1:
        return flip_header_bytes(rng, data)
    tiff = app1[0][0] + 10
    endian = ">" if data[tiff : tiff + 2] == b"MM" else "<"
    ifd = tiff + struct.unpack(endian + "I", data[tiff + 4 : tiff + 8])[0]
    count = struct.unpack(endian + "H", data[ifd : ifd + 2])[0]
    entry = ifd + 2 + 12 * rng.randrange(max(1, count))
    field, value = rng.choice([(2, rng.randrange(0, 20)), (4, rng.choice([0, 1, 2**16, 2**31, 2**32 - 1])),
                               (8, rng.randrange(2**32))])
    out = bytearray(data)
    width = 2 if field == 2 else 4
    out[entry + field : entry + field + width] = struct.pack(endian + ("H" if width == 2 else "I"), value)
    return bytes(out)


def mutate_sof(rng: random.Random, data: bytes) -> bytes:
    """Change the frame header: precision, dimensions, component count or sampling factors."""
    sof = [s for s in jpeg_segments(data) if s[1] in (0xC0, 0xC1, 0xC2)]
    if not sof:
        return flip_header_bytes(rng, data)
    body = sof[0][0] + 4
    out = bytearray(data)
    where = rng.choice(["precision", "height", "width", "components", "sampling"])
    if where == "precision":
        out[body] = rng.choice([0, 1, 7, 12, 16, 255])
    elif where in ("height", "width"):
        at = body + (1 if where == "height" else 3)
        out[at : at + 2] = struct.pack(">H", rng.choice([0, 1, 31, 32, 4000, 7000, 12_001, 65_535]))
    elif where == "components":
        out[body + 5] = rng.choice([0, 1, 2, 4, 5, 255])
    else:
        out[body + 7 + 3 * rng.randrange(max(1, out[body + 5] % 4))] = rng.randrange(256)
    return bytes(out)


def mutate_png_chunk(rng: random.Random, data: bytes) -> bytes:
    """Change bytes inside one chunk and fix its CRC, so the chunk's parser sees the damage."""
    chunks = [c for c in png_chunks(data) if c[2] > 0]
    offset, _, length = rng.choice(chunks)
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[offset + 8 + rng.randrange(length)] = rng.randrange(256)
    return bytes(_with_fixed_crc(out, offset, length))


def mutate_ihdr(rng: random.Random, data: bytes) -> bytes:
    """A valid-CRC IHDR with another size, depth, colour type or interlace method."""
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", data[16:29])
    where = rng.choice(["size", "depth", "colour", "interlace", "methods"])
    if where == "size":
        width, height = rng.choice([(0, height), (width, 0), (1, 1), (2**31 - 1, 1), (7000, 7000), (width * 2, height)])
    elif where == "depth":
        depth = rng.choice([0, 1, 2, 3, 4, 8, 16, 32, 255])
    elif where == "colour":
        colour = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 255])
    elif where == "interlace":
        interlace = rng.choice([1, 2, 255])
    else:
        compression, filtering = rng.randrange(3), rng.randrange(3)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, compression, filtering, interlace)
    return data[:8] + _png_chunk(b"IHDR", ihdr) + data[33:]


def duplicate_png_chunk(rng: random.Random, data: bytes) -> bytes:
    offset, _, length = rng.choice(png_chunks(data))
    chunk = data[offset : offset + 12 + length]
    pos = rng.choice([c[0] for c in png_chunks(data)] + [len(data)])
    return data[:pos] + chunk + data[pos:]


def drop_png_chunk(rng: random.Random, data: bytes) -> bytes:
    offset, _, length = rng.choice(png_chunks(data))
    return data[:offset] + data[offset + 12 + length :]


JPEG_MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "flip": flip_bytes, "flip-header": flip_header_bytes, "truncate": truncate, "insert": insert_bytes,
    "duplicate-slice": duplicate_slice, "duplicate-segment": duplicate_jpeg_segment,
    "exif-bytes": mutate_exif, "exif-entry": mutate_exif_entry, "sof": mutate_sof,
}
OTHER_MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "flip": flip_bytes, "flip-header": flip_header_bytes, "truncate": truncate, "insert": insert_bytes,
    "duplicate-slice": duplicate_slice,
}
PNG_MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "flip": flip_bytes, "truncate": truncate, "insert": insert_bytes, "duplicate-slice": duplicate_slice,
    "chunk-bytes": mutate_png_chunk, "ihdr": mutate_ihdr, "duplicate-chunk": duplicate_png_chunk,
    "drop-chunk": drop_png_chunk,
}


@dataclass(frozen=True)
class Mutant:
    seed_name: str
    mutation: str
    index: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.seed_name}/{self.mutation}/#{self.index}"


def mutants(seeds: dict[str, bytes], mutations: dict, count: int, seed: int) -> list[Mutant]:
    """`count` mutants, spread evenly over seeds and mutations, reproducible from `seed`."""
    rng = random.Random(seed)
    kinds = [(s, m) for s in seeds for m in mutations]
    out = []
    for index in range(count):
        seed_name, mutation = kinds[index % len(kinds)]
        out.append(Mutant(seed_name, mutation, index, mutations[mutation](rng, seeds[seed_name])))
    return out


# ---------------------------------------------------------------- the invariant


@dataclass
class Outcome:
    accepted: bool
    decoded: bool
    broken: str | None = None  # anything that breaks the invariant, in words


def run_both(data: bytes) -> Outcome:
    """Check then decode, as ingest then the worker would; record whatever breaks the contract."""
    try:
        check_image(data, LIMITS)
        accepted = True
    except ImageRejected as exc:
        if not str(exc):
            return Outcome(False, False, "check_image refused without saying why")
        accepted = False
    except Exception as exc:  # the point of the corpus: nothing else may escape
        return Outcome(False, False, f"check_image raised {type(exc).__name__}: {exc}")
    try:
        image = decode_image(data, MAX_PIXELS)
    except ImageError as exc:
        if accepted:
            return Outcome(True, False, f"accepted by check_image, then decode_image refused: {exc}")
        return Outcome(accepted, False)
    except Exception as exc:
        return Outcome(accepted, False, f"decode_image raised {type(exc).__name__}: {exc}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or not image.flags.c_contiguous:
        return Outcome(accepted, True, f"decode_image returned {image.dtype} {image.shape}")
    return Outcome(accepted, True)


def _run_corpus(corpus: list[Mutant]) -> Counter:
    results, broken = Counter(), []
    for mutant in corpus:
        outcome = run_both(mutant.data)
        results["accepted" if outcome.accepted else "rejected"] += 1
        if outcome.broken:
            broken.append(f"{mutant}: {outcome.broken}")
    assert not broken, f"{len(broken)} of {len(corpus)} mutants broke the contract:\n" + "\n".join(broken[:20])
    return results


def test_jpeg_mutants_are_refused_cleanly_or_decoded():
    # GIVEN 4,000 seeded mutants of six real JPEGs (EXIF-rich, progressive, grey, CMYK, 4:4:4 with
    # restarts, MPO): byte flips, truncations, insertions, duplicated segments, EXIF and frame-header edits
    corpus = mutants(jpeg_seeds(), JPEG_MUTATIONS, JPEG_MUTANTS, seed=20240517)
    # WHEN each goes through check_image and then decode_image
    results = _run_corpus(corpus)
    # THEN each is refused with ImageRejected/ImageError or decoded, what ingest accepts the worker decodes,
    # and the corpus really exercises both sides (a corpus of no-op mutations would prove nothing)
    assert results["accepted"] > JPEG_MUTANTS // 10 and results["rejected"] > JPEG_MUTANTS // 10


def test_png_mutants_are_refused_cleanly_or_decoded():
    # GIVEN 2,000 seeded mutants of six real PNGs (RGB with eXIf, RGBA, palette with tRNS, 16-bit grey,
    # grey+alpha, 1-bit), with chunk-level edits whose CRC is fixed so the parsers see them
    corpus = mutants(png_seeds(), PNG_MUTATIONS, PNG_MUTANTS, seed=20240518)
    # WHEN / THEN as for JPEG
    results = _run_corpus(corpus)
    assert results["accepted"] > PNG_MUTANTS // 10 and results["rejected"] > PNG_MUTANTS // 10


def test_webp_heic_and_avif_mutants_are_refused_cleanly_or_decoded():
    # GIVEN 1,500 seeded mutants of real WebP (lossy, lossless with alpha, animated), HEIC and AVIF files
    corpus = mutants(other_seeds(), OTHER_MUTATIONS, OTHER_MUTANTS, seed=20240519)
    # WHEN / THEN libwebp, libheif and libavif keep the same contract as libjpeg and zlib
    results = _run_corpus(corpus)
    assert results["accepted"] > OTHER_MUTANTS // 10 and results["rejected"] > OTHER_MUTANTS // 10


def test_exif_mutants_never_cost_a_photo():
    # GIVEN 300 mutants of an EXIF-rich JPEG whose damage is confined to the EXIF block
    seeds = {"baseline-exif": jpeg_seeds()["baseline-exif"]}
    corpus = mutants(seeds, {"exif-bytes": mutate_exif, "exif-entry": mutate_exif_entry}, 300, seed=7)
    # WHEN each is checked and decoded
    outcomes = [run_both(m.data) for m in corpus]
    # THEN every one is accepted and decoded: unreadable EXIF is never a reason to lose a sighting
    assert [str(m) for m, o in zip(corpus, outcomes) if not (o.accepted and o.decoded)] == []


def test_real_photo_mutants_are_refused_cleanly_or_decoded(test_data: Path):
    # GIVEN mutants of real LFW photos (camera JPEGs with their own tables and markers)
    photos = sorted((test_data / "lfw").rglob("*.jpg"))[:: 500][:10]
    if not photos:
        pytest.skip(f"no LFW JPEGs under {test_data / 'lfw'}")
    seeds = {p.stem: p.read_bytes() for p in photos}
    corpus = mutants(seeds, JPEG_MUTATIONS, LFW_MUTANTS_PER_PHOTO * len(seeds), seed=1)
    # WHEN / THEN the same contract holds
    results = _run_corpus(corpus)
    assert results["accepted"] and results["rejected"]


# ---------------------------------------------------------------- the odd files, one by one


def _check_reason(data: bytes) -> str:
    with pytest.raises(ImageRejected) as info:
        check_image(data, LIMITS)
    return str(info.value)


def _decode_error(data: bytes) -> str:
    with pytest.raises(ImageError) as info:
        decode_image(data, MAX_PIXELS)
    return str(info.value)


def test_the_exif_that_crashed_the_worker_is_decoded_and_rotated():
    # GIVEN a JPEG with Orientation=6 and BitsPerSample re-typed as ASCII inside the APP1 bytes
    # (Pillow reads it, but ImageOps.exif_transpose raised struct.error on it in the worker)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0102] = 8
    raw = bytearray(exif.tobytes())
    at = raw.index(struct.pack(">HH", 0x0102, 3))
    raw[at + 2 : at + 4] = struct.pack(">H", 2)  # SHORT -> ASCII
    data = _encode(Image.fromarray(_noise(64, 48, 5)), "JPEG", quality=90, exif=bytes(raw))
    assert isinstance(Image.open(io.BytesIO(data)).getexif()[0x0102], str)  # the block really is malformed
    # WHEN it is checked and decoded
    facts = check_image(data, LIMITS)
    image = decode_image(data, MAX_PIXELS)
    # THEN ingest accepts it and the worker turns it upright (stored 64 wide, shown 64 high)
    assert (facts.width, facts.height) == (64, 48)
    assert image.shape == (64, 48, 3)


@pytest.mark.parametrize("value", [0, 9, 255, 65535])
def test_an_impossible_orientation_means_no_rotation(value):
    # GIVEN a JPEG whose EXIF Orientation holds a value outside 1-8
    exif = Image.Exif()
    exif[0x0112] = value
    data = _encode(Image.fromarray(_noise(64, 48, 6)), "JPEG", exif=exif.tobytes())
    # WHEN decoded THEN it is decoded as stored
    assert decode_image(data, MAX_PIXELS).shape == (48, 64, 3)


def test_an_exif_block_of_garbage_is_ignored():
    # GIVEN a JPEG whose APP1 says "Exif" and then holds random bytes
    data = _encode(Image.fromarray(_noise(64, 48, 7)), "JPEG", exif=b"Exif\0\0" + random.Random(3).randbytes(200))
    # WHEN checked and decoded THEN accepted and decoded as stored
    assert check_image(data, LIMITS).content_type == "image/jpeg"
    assert decode_image(data, MAX_PIXELS).shape == (48, 64, 3)


def test_mpo_is_a_jpeg_and_its_first_frame_is_the_photo():
    # GIVEN an MPO whose first frame is red and second blue (a phone's photo + depth/preview pair)
    red, blue = Image.new("RGB", (80, 60), (220, 20, 20)), Image.new("RGB", (80, 60), (20, 20, 220))
    data = _encode(red, "MPO", save_all=True, append_images=[blue])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    # WHEN checked and decoded
    facts = check_image(data, LIMITS)
    image = decode_image(data, MAX_PIXELS)
    # THEN it is a JPEG to ingest, and the worker sees the red frame (BGR: red is channel 2)
    assert facts.content_type == "image/jpeg"
    assert image[..., 2].mean() > 180 and image[..., 0].mean() < 60


def test_animated_gif_is_refused_naming_the_format():
    # GIVEN a two-frame GIF WHEN checked and decoded THEN both refuse it as unsupported GIF
    frames = [Image.new("P", (64, 64), 1), Image.new("P", (64, 64), 2)]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert "unsupported image format GIF" in _check_reason(data)
    assert "GIF" in _decode_error(data)


@pytest.mark.parametrize("fmt", ["WEBP", "AVIF", "PNG"])
def test_animated_webp_avif_and_apng_give_their_first_frame(fmt):
    # GIVEN an animation whose first frame is red and second blue
    red, blue = Image.new("RGB", (64, 48), (220, 20, 20)), Image.new("RGB", (64, 48), (20, 20, 220))
    data = _encode(red, fmt, save_all=True, append_images=[blue], duration=100)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    # WHEN checked and decoded THEN it is accepted and the worker sees the first (red) frame
    check_image(data, LIMITS)
    image = decode_image(data, MAX_PIXELS)
    assert image[..., 2].mean() > 170 and image[..., 0].mean() < 70


def _png_ihdr(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"tEXt", b"c\0" + b"x" * 120) \
        + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


@pytest.mark.parametrize(("width", "height"), [(0, 100), (100, 0), (0, 0)])
def test_a_zero_dimension_header_is_refused(width, height):
    # GIVEN a PNG whose valid-CRC header declares no pixels WHEN checked and decoded THEN both refuse it
    data = _png_ihdr(width, height)
    assert _check_reason(data)
    assert _decode_error(data)


def test_a_png_bomb_header_is_refused_before_decoding():
    # GIVEN 300 bytes declaring 30,000 x 30,000 RGBA (3.6 GB decoded)
    data = _png_ihdr(30_000, 30_000, colour=6)
    # WHEN checked and decoded THEN both refuse it from the header
    assert "too many pixels" in _check_reason(data)
    assert "too large" in _decode_error(data)


def test_a_png_zip_bomb_decodes_reduced_within_its_budget():
    # GIVEN a real RGBA PNG of zeros, 9,000 x 5,000: 180 KB that inflate to 180 MB
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(b"\0" * (1 + 4 * 9000)) for _ in range(5000)) + packer.flush()
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 9000, 5000, 8, 6, 0, 0, 0)) \
        + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")
    assert len(data) < 300_000
    # WHEN checked and decoded
    facts = check_image(data, LIMITS)
    image = decode_image(data, MAX_PIXELS)
    # THEN it is a legitimate (if empty) photo: accepted, and handed on halved to stay under 25 MP,
    # its transparent pixels white
    assert (facts.width, facts.height) == (9000, 5000)
    assert image.shape == (2500, 4500, 3) and image.min() == 255


def test_a_photo_over_the_memory_budget_is_refused_by_both_with_the_cost():
    # GIVEN a WebP whose decode (libwebp holds 16 bytes a pixel) is over a 16 MiB budget
    data = _encode(Image.fromarray(_noise(640, 480, 8)), "WEBP", quality=70)
    budget = DecodeBudget(photo_bytes=16 * 2**20)
    # WHEN checked and decoded under that budget THEN both refuse it, naming the cost
    with pytest.raises(ImageRejected, match=r"would take \d+ MiB to decode"):
        check_image(data, LIMITS, budget)
    with pytest.raises(ImageError, match=r"would take \d+ MiB to decode"):
        decode_image(data, MAX_PIXELS, budget=budget)


def _tiff() -> bytes:
    return _encode(Image.fromarray(_noise(64, 48, 9)), "TIFF")


@pytest.mark.parametrize(("data", "reason"), [
    (_tiff(), "unsupported image format TIFF"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">'
     b'<rect width="640" height="480" fill="red"/></svg>', "not an image"),
    (b"%PDF-1.7\n" + b"0" * 400, "not an image"),
], ids=["tiff", "svg", "pdf"])
def test_other_files_named_jpg_are_refused_with_a_reason(data, reason):
    # GIVEN a TIFF, an SVG or a PDF uploaded as photo.jpg WHEN checked THEN refused, saying why
    assert reason in _check_reason(data)
    # AND the worker refuses it too
    assert _decode_error(data)


def test_an_empty_file_is_refused_by_both():
    # GIVEN zero bytes WHEN checked and decoded THEN both refuse it as empty
    assert _check_reason(b"") == "empty file"
    assert "empty" in _decode_error(b"")


def _heic() -> bytes:
    return _encode(Image.fromarray(_noise(96, 72, 10)), "HEIF", quality=80)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF", "AVIF"])
@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9])
def test_truncated_files_are_refused_by_both(fmt, keep):
    # GIVEN a real photo in each accepted format, cut short (an interrupted upload)
    data = _heic() if fmt == "HEIF" else _encode(Image.fromarray(_noise(160, 120, 11)), fmt)
    cut = data[: int(len(data) * keep)]
    # WHEN checked and decoded THEN both refuse it, neither returns a half-grey picture
    assert _check_reason(cut)
    assert _decode_error(cut)
