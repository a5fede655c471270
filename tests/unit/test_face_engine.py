"""Behaviour of both face packs on the shared fixtures (needs FACETRACE_TEST_DATA / FACETRACE_TEST_MODELS)."""

from __future__ import annotations

import csv
import functools
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from gpu_worker.engine import to_message
from gpu_worker.image import decode_image

REPO = Path(__file__).resolve().parents[2]
MANIFEST_DIR = REPO / "gpu_worker" / "packs" / "manifests" / "scrfd500m-mbf"
MAX_PIXELS = 50_000_000
# (min, max) faces per group photo. HOG is a frontal-face detector: it misses the turned heads of
# the selfie, which SCRFD finds.
GROUPS = {
    "onnx": {"selfie-many-people.jpg": (6, 7), "couple.jpg": (2, 2), "multiface.jpg": (6, 6)},
    "dlib": {"selfie-many-people.jpg": (4, 7), "couple.jpg": (2, 2), "multiface.jpg": (6, 6)},
}


@pytest.fixture(scope="module")
def data(test_data) -> Path:
    return test_data / "fixtures"


@pytest.fixture(scope="module", params=["dlib", "onnx"])
def engine(request):
    """Each pack loaded once for the whole module."""
    from gpu_worker.packs import load_pack

    if request.param == "dlib":
        pytest.importorskip("dlib", reason="dlib-bin not installed")
        return load_pack("dlib")
    models = request.getfixturevalue("test_models")  # only the ONNX pack needs the shared models
    return load_pack(str(MANIFEST_DIR), ["CPUExecutionProvider"], model_dir=models)


def _pack_kind(engine) -> str:
    return "dlib" if engine.model.name.startswith("dlib") else "onnx"


@functools.lru_cache(maxsize=64)
def _load(path: Path, max_side: int = 1280) -> np.ndarray:
    """A fixture as BGR, downscaled (JPEG draft mode decodes at reduced size) so the suite stays fast."""
    with Image.open(path) as image:
        image.draft("RGB", (max_side, max_side))  # speed only: decode_image has its own tests
        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


def test_every_face_in_group_photos_is_found(engine, data):
    # GIVEN the group photos WHEN analysed in one batch
    names = list(GROUPS[_pack_kind(engine)])
    results = engine.analyse([_load(data / "groups" / n) for n in names], max_faces=20)
    # THEN each photo yields the expected number of faces
    for name, faces in zip(names, results):
        low, high = GROUPS[_pack_kind(engine)][name]
        assert low <= len(faces) <= high, f"{name}: {len(faces)} faces"


def test_no_face_is_found_in_images_without_faces(engine, data):
    # GIVEN bricks, a cat, coffee, noise and a rocket WHEN analysed THEN no face is reported
    paths = sorted((data / "noface").iterdir())
    results = engine.analyse([_load(p) for p in paths], max_faces=20)
    assert {p.name: len(r) for p, r in zip(paths, results)} == {p.name: 0 for p in paths}


def test_max_faces_keeps_the_largest(engine, data):
    # GIVEN a 6-face photo WHEN at most 2 faces are asked for THEN the 2 largest come back, largest first
    image = _load(data / "groups" / "multiface.jpg")
    every = engine.analyse([image], max_faces=20)[0]
    two = engine.analyse([image], max_faces=2)[0]
    sizes = sorted(((f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in every), reverse=True)
    assert [(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in two] == pytest.approx(sizes[:2])


def test_faces_carry_normalised_embeddings_of_the_model_dim(engine, data):
    # GIVEN a portrait WHEN analysed
    face = engine.analyse([_load(data / "people" / "img10.jpg")], max_faces=5)[0][0]
    # THEN the embedding has the dim the model declares (128 for both packs), unit length
    assert engine.model.dim == 128
    assert face.embedding.shape == (128,) and face.embedding.dtype == np.float32
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-4)
    assert face.landmarks.shape == (5, 2) and face.box.shape == (4,)
    # AND it converts to the Face message without loss
    message = to_message(face, 0)
    assert np.allclose(message.embedding(), face.embedding)
    assert message.quality.usable_as_reference, message.quality.reasons


def test_same_person_scores_higher_than_different_people(engine, data):
    # GIVEN two photos each of eight labelled people
    rows = list(csv.DictReader((data / "people" / "labels.csv").open()))
    chosen: dict[str, list[str]] = {}
    for row in rows:
        files = chosen.setdefault(row["person"], [])
        if len(files) < 2 and len(chosen) <= 8:
            files.append(row["file"])
    files = [(f, p) for p, fs in chosen.items() if len(fs) == 2 for f in fs]
    results = engine.analyse([_load(data / "people" / f, 800) for f, _ in files], max_faces=1)
    vectors = np.stack([r[0].embedding for r in results])
    labels = np.array([p for _, p in files])
    # WHEN every pair is scored by cosine similarity
    scores = vectors @ vectors.T
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    # THEN every same-person pair beats the typical different-person pair, and almost every one
    # beats almost every different-person pair (AUC; the packs' score scales differ, dlib's is compressed)
    positives, negatives = scores[same & off_diagonal], scores[~same]
    assert positives.min() > np.median(negatives)
    assert (positives[:, None] > negatives[None, :]).mean() > 0.95


def test_batch_gives_the_same_faces_as_one_by_one(engine, data):
    # GIVEN two photos WHEN analysed together and separately THEN the faces agree
    images = [_load(data / "groups" / "couple.jpg"), _load(data / "people" / "img10.jpg")]
    together = engine.analyse(images, max_faces=10)
    alone = [engine.analyse([image], max_faces=10)[0] for image in images]
    for batch_faces, single_faces in zip(together, alone):
        assert len(batch_faces) == len(single_faces)
        for a, b in zip(batch_faces, single_faces):
            assert np.dot(a.embedding, b.embedding) > 0.99


def test_exif_rotated_photo_gives_an_upright_face(engine, data):
    # GIVEN a portrait stored sideways with EXIF Orientation=6 ("rotate 90 deg clockwise to view")
    upright = Image.open(data / "people" / "img10.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    # WHEN decoded and analysed
    image = decode_image(buffer.getvalue(), MAX_PIXELS)
    faces = engine.analyse([image], max_faces=5)[0]
    # THEN the image is upright again and its face is found with the eyes above the last landmark
    # (dlib: base of the nose, ONNX: right mouth corner)
    assert image.shape[:2] == (upright.height, upright.width)
    assert len(faces) == 1
    assert faces[0].landmarks[:2, 1].max() < faces[0].landmarks[-1, 1]
    assert abs(faces[0].quality.yaw) < 30


def test_frame_filling_face_is_found(engine, data):
    # GIVEN a face cropped tightly to its box and blown up to fill a 900x900 frame
    image = _load(data / "people" / "img10.jpg")
    x1, y1, x2, y2 = engine.analyse([image], max_faces=1)[0][0].box.astype(int)
    tight = cv2.resize(image[max(0, y1) : y2, max(0, x1) : x2], (900, 900), interpolation=cv2.INTER_CUBIC)
    # WHEN analysed THEN the face is still found
    assert len(engine.analyse([tight], max_faces=5)[0]) == 1


def test_blurred_face_is_refused_as_reference_with_a_reason(engine, data):
    # GIVEN a sharp portrait blurred heavily
    image = cv2.GaussianBlur(_load(data / "people" / "img10.jpg"), (0, 0), 6)
    faces = engine.analyse([image], max_faces=1)[0]
    # WHEN found THEN it is no reference, and the reason says so
    assert len(faces) == 1
    quality = faces[0].quality
    assert not quality.usable_as_reference
    assert any("blurred" in reason for reason in quality.reasons), quality.reasons


def test_tiny_face_is_a_sighting_but_not_a_reference(engine, data):
    # GIVEN a portrait shrunk so the face is ~40 px, pasted on a grey canvas
    portrait = _load(data / "people" / "img10.jpg")
    scale = 80 / portrait.shape[1]
    small = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((320, 320, 3), 128, np.uint8)
    canvas[100 : 100 + small.shape[0], 100 : 100 + small.shape[1]] = small
    faces = engine.analyse([canvas], max_faces=1)[0]
    # WHEN found THEN it is refused as a reference for its size but accepted as a sighting
    assert len(faces) == 1
    quality = faces[0].quality
    assert not quality.usable_as_reference and quality.usable_as_sighting
    assert any("too small" in reason for reason in quality.reasons), quality.reasons


def test_providers_name_what_really_runs(engine):
    # GIVEN a pack loaded with explicit CPU providers THEN its providers say where it really runs
    assert engine.providers in (["CPUExecutionProvider"], ["dlib-cpu"], ["dlib-cuda"])
