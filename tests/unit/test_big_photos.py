"""Small faces in big photos are found through tiles by both packs (issue #10, item 6).

Scenes are built from real LFW faces: a head-and-shoulders crop of a 250x250 LFW photo, resized so the
face box is about 70 px (in 4000x3000) or 110 px (in 12000x4000), pasted into a noisy brick wall.
Each scene is analysed once per pack; the tests read that one result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from gpu_worker.tiles import Tile, TilePlan

REPO = Path(__file__).resolve().parents[2]
MANIFEST_DIR = REPO / "gpu_worker" / "packs" / "manifests" / "scrfd500m-mbf"
HEAD_AND_SHOULDERS = (slice(15, 250), slice(15, 235))  # rows, columns of a 250x250 LFW photo
LFW_FACE_PX = 109  # dlib's face box on an LFW photo at full size
# People whose crops hold one face only at every size used here (no neighbour at the photo's edge).
SMALL, ON_SEAM, BIG, STRANGER = "AJ_Cook", "Albert_Brooks", "Alyse_Beaupre", "Anne_Krueger"


@dataclass
class Pasted:
    """One LFW person pasted into a scene: where their face should be, and its embedding in the small photo."""

    name: str
    box: np.ndarray  # expected face box in the scene
    embedding: np.ndarray


@pytest.fixture(scope="module", params=["dlib", "onnx"])
def engine(request):
    """Each pack loaded once for the module."""
    from gpu_worker.packs import load_pack

    if request.param == "dlib":
        pytest.importorskip("dlib", reason="dlib-bin not installed")
        return load_pack("dlib")
    models = request.getfixturevalue("test_models")
    return load_pack(str(MANIFEST_DIR), ["CPUExecutionProvider"], model_dir=models)


def _plan(engine, width: int, height: int) -> TilePlan:
    """The pack's tile plan for a photo of this size."""
    if engine.model.name.startswith("dlib"):
        from gpu_worker.packs.dlib_pack import tile_plan

        return tile_plan(width, height)
    return engine.detector.tile_plan(width, height)


def _photo(lfw: Path, name: str, face_px: float) -> np.ndarray:
    """A person's head-and-shoulders photo with a face box of about face_px."""
    crop = cv2.imread(str(lfw / name / f"{name}_0001.jpg"))[HEAD_AND_SHOULDERS]
    factor = face_px / LFW_FACE_PX
    return cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)


def _background(texture: Path, width: int, height: int) -> np.ndarray:
    """A brick wall with fine noise, built in place (12000x4000 is 144 MB)."""
    brick = cv2.imread(str(texture))
    reps = (-(-height // brick.shape[0]), -(-width // brick.shape[1]), 1)
    scene = np.ascontiguousarray(np.tile(brick, reps)[:height, :width])
    noise = np.empty_like(scene)
    cv2.randn(noise, 64, 24)
    cv2.GaussianBlur(noise, (3, 3), 0, dst=noise)
    cv2.add(scene, noise, dst=scene)
    cv2.subtract(scene, 64, dst=scene)
    return scene


def _paste(engine, scene: np.ndarray, photo: np.ndarray, name: str, centre: tuple[int, int]) -> Pasted:
    """Paste a photo so its face is centred near centre; the pack's own view of the small photo is the truth."""
    (face,) = engine.analyse([photo], max_faces=5)[0]
    face_centre = (face.box[:2] + face.box[2:]) / 2
    x, y = (int(c) for c in np.asarray(centre) - face_centre)
    scene[y : y + photo.shape[0], x : x + photo.shape[1]] = photo
    return Pasted(name, face.box + [x, y, x, y], face.embedding)


def _seam(plan: TilePlan) -> int:
    """x of the first inner seam: the right edge of the first tile, where a face there is cut."""
    first: Tile = plan.tiles[0]
    return first.x + first.width


def _analyse_scene(engine, data: Path, size: tuple[int, int], face_px: float, with_big: bool):
    """One scene for this pack (a face off the tile grid, one on a seam, maybe a big one across it), analysed."""
    width, height = size
    plan = _plan(engine, width, height)
    scene, lfw = _background(data / "fixtures" / "noface" / "brick.png", width, height), data / "lfw"
    seam = _seam(plan)
    # Off the grid: clear of every tile edge of both packs' plans at both sizes (checked by hand).
    off_grid = (int(width * 0.37) + 13, height // 2 + 7)
    pasted = [
        _paste(engine, scene, _photo(lfw, SMALL, face_px), SMALL, off_grid),
        _paste(engine, scene, _photo(lfw, ON_SEAM, face_px), ON_SEAM, (seam, int(height * 0.83))),
    ]
    if with_big:  # a 600 px face the whole view finds, cut by the seam in every tile that holds part of it
        pasted.append(_paste(engine, scene, _photo(lfw, BIG, 600), BIG, (seam, 750)))
    faces = engine.analyse([scene], max_faces=20)[0]
    return plan, pasted, faces


@pytest.fixture(scope="module")
def scene_4000x3000(engine, test_data):
    """Two ~70 px faces and a 600 px one in a 4000x3000 photo, analysed by the pack."""
    return _analyse_scene(engine, test_data, (4000, 3000), 74, with_big=True)


@pytest.fixture(scope="module")
def scene_12000x4000(engine, test_data):
    """Two ~110 px faces in a 12000x4000 photo (the array is dropped once analysed)."""
    return _analyse_scene(engine, test_data, (12000, 4000), 110, with_big=False)


@pytest.fixture(scope="module")
def stranger(engine, test_data) -> np.ndarray:
    """Another LFW person's embedding, from their own photo."""
    (face,) = engine.analyse([cv2.imread(str(test_data / "lfw" / STRANGER / f"{STRANGER}_0001.jpg"))], 5)[0]
    return face.embedding


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two x1,y1,x2,y2 boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)


def _assert_each_found_once(pasted: list[Pasted], faces: list) -> None:
    """Exactly the pasted faces, each matched by one detection at its box."""
    assert len(faces) == len(pasted), [f.box.round().tolist() for f in faces]
    for person in pasted:
        best, *others = sorted((_iou(person.box, f.box) for f in faces), reverse=True)
        assert best > 0.5 and all(o < 0.1 for o in others), (person.name, best, others)


def test_photos_of_ordinary_size_are_not_tiled(engine):
    # GIVEN a 1280x960 photo, whose whole view already holds 56 px faces
    # WHEN the pack plans its tiles THEN there are none (the photo costs what it did)
    assert _plan(engine, 1280, 960).tiles == ()


def test_big_photos_are_covered_by_tiles_that_hold_a_kept_face_whole_on_every_seam(engine):
    for width, height in [(4000, 3000), (12000, 4000)]:
        # GIVEN a big photo WHEN the pack plans its tiles
        plan = _plan(engine, width, height)
        covered = np.zeros((height, width), bool)
        for tile in plan.tiles:
            covered[tile.y : tile.y + tile.height, tile.x : tile.x + tile.width] = True
        # THEN the tiles cover it, and neighbours overlap by more than the biggest face a tile keeps
        assert 2 <= len(plan.tiles) and covered.all()
        xs, ys = sorted({t.x for t in plan.tiles}), sorted({t.y for t in plan.tiles})
        for starts, size in ((xs, plan.tiles[0].width), (ys, plan.tiles[0].height)):
            assert all(size - (b - a) >= plan.max_face for a, b in zip(starts, starts[1:]))


def test_small_faces_in_a_4000x3000_photo_are_found_once_and_a_big_one_is_not_split(scene_4000x3000):
    # GIVEN ~70 px faces off the tile grid and on a seam, and a 600 px face across that seam
    plan, pasted, faces = scene_4000x3000
    # THEN the pack finds exactly those three faces, each once, where they were pasted
    assert any(t.x < pasted[1].box[0] < _seam(plan) < pasted[1].box[2] for t in plan.tiles)
    _assert_each_found_once(pasted, faces)


def test_small_faces_in_a_12000x4000_photo_are_found_once(scene_12000x4000):
    # GIVEN ~110 px faces off the tile grid and on a seam of a 3:1 photo
    _, pasted, faces = scene_12000x4000
    # THEN the pack finds exactly those two faces, each once, where they were pasted
    _assert_each_found_once(pasted, faces)


@pytest.mark.parametrize("scene", ["scene_4000x3000", "scene_12000x4000"])
def test_faces_found_in_tiles_match_their_own_photo_and_not_a_stranger(engine, scene, stranger, request):
    # GIVEN the faces found in a big photo, and each person's embedding from their own small photo
    _, pasted, faces = request.getfixturevalue(scene)
    threshold = engine.model.match_threshold
    for person in pasted:
        found = max(faces, key=lambda f: _iou(person.box, f.box))
        # THEN the face matches its own photo above the pack's match threshold, and not another person
        own, other = float(found.embedding @ person.embedding), float(found.embedding @ stranger)
        assert own >= threshold > other, (person.name, own, other, threshold)
