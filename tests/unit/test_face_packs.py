"""load_pack, provider choice and the ONNX embedder contract, on tiny generated ONNX models."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from gpu_worker.models.providers import choose_providers
from gpu_worker.packs import load_pack

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "gpu_worker" / "packs" / "manifests"


def _tiny_embedder(path: Path, dim: int, input_name: str = "data") -> None:
    """A 112x112 'embedder' whose output is a fixed linear projection of the mean pixel per channel."""
    onnx = pytest.importorskip("onnx", reason="the onnx package builds the tiny test model")
    from onnx import TensorProto, helper, numpy_helper

    weights = np.arange(3 * dim, dtype=np.float32).reshape(3, dim) / (3 * dim) - 0.3
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["x", "axes"], ["pooled"], keepdims=0),
            helper.make_node("MatMul", ["pooled", "w"], ["embedding"]),
        ],
        "tiny",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["n", 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", dim])],
        [numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes"), numpy_helper.from_array(weights, "w")],
    )
    graph.node[0].input[0] = input_name
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8  # readable by any onnxruntime >= 1.14
    onnx.save(model, str(path))


def test_embedder_reads_its_dim_from_the_model_and_normalises(tmp_path):
    # GIVEN a tiny 7-d model
    from gpu_worker.models.embedder import OnnxEmbedder

    _tiny_embedder(tmp_path / "tiny.onnx", dim=7)
    embedder = OnnxEmbedder(tmp_path / "tiny.onnx", ["CPUExecutionProvider"], color="RGB", mean=127.5, std=128)
    # WHEN it embeds a batch of three crops in one call
    crops = np.random.default_rng(0).integers(0, 255, (3, 112, 112, 3), dtype=np.uint8)
    vectors = embedder.embed(crops)
    # THEN the dim comes from the model, the vectors are unit length, and RGB order was applied
    assert embedder.dim == 7 and vectors.shape == (3, 7) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    mean_rgb = (crops[..., ::-1].astype(np.float32).mean(axis=(1, 2)) - 127.5) / 128
    expected = mean_rgb @ (np.arange(21, dtype=np.float32).reshape(3, 7) / 21 - 0.3)
    assert np.allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-4)
    assert embedder.embed(np.zeros((0, 112, 112, 3), np.uint8)).shape == (0, 7)


def test_embedder_refuses_an_unknown_colour_order(tmp_path):
    from gpu_worker.models.embedder import OnnxEmbedder

    _tiny_embedder(tmp_path / "tiny.onnx", dim=4)
    with pytest.raises(ValueError, match="BGR or RGB"):
        OnnxEmbedder(tmp_path / "tiny.onnx", ["CPUExecutionProvider"], color="YUV")


def test_providers_keep_only_what_this_runtime_offers():
    # GIVEN a wish list with GPU providers on a runtime that always has the CPU one
    chosen = choose_providers(["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    # THEN CPU is kept, in order, and nothing unavailable is claimed
    assert chosen[-1] == "CPUExecutionProvider"
    with pytest.raises(RuntimeError, match="none of the providers"):
        choose_providers(["NoSuchExecutionProvider"])


def test_manifests_are_complete():
    # GIVEN the checked-in manifests THEN each names its files, preprocessing, licence and thresholds
    for path in MANIFESTS.glob("*/manifest.json"):
        manifest = json.loads(path.read_text())
        assert {"name", "version", "license", "detector", "thresholds"} <= set(manifest), path
        embedders = manifest.get("embedders") or [manifest["embedder"]]  # a list: fused embedders
        assert embedders and all(e["color"] in ("BGR", "RGB") for e in embedders), path
        assert manifest["thresholds"]["match"] <= manifest["thresholds"]["alert"]


def test_unknown_pack_spec_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no manifest.json"):
        load_pack(str(tmp_path))
    with pytest.raises(ValueError, match="no downloader"):
        load_pack("s3://bucket/packs/x")


def test_s3_pack_is_downloaded_then_loaded(tmp_path, monkeypatch, test_models):
    # GIVEN an S3 pack prefix served by a fake downloader from a local "bucket"
    models = str(test_models)
    bucket = tmp_path / "bucket" / "packs" / "mbf"
    bucket.mkdir(parents=True)
    shutil.copy(MANIFESTS / "scrfd500m-mbf" / "manifest.json", bucket)
    monkeypatch.setenv("FACETRACE_MODEL_CACHE", str(tmp_path / "cache"))
    fetched = []

    def downloader(name: str, key: str, dest: str) -> None:
        fetched.append((name, key))
        source = bucket / Path(key).name
        os.symlink(source if source.exists() else Path(models) / Path(key).name, dest)

    # WHEN loaded through s3://
    engine = load_pack("s3://my-bucket/packs/mbf/", ["CPUExecutionProvider"], downloader=downloader)
    # THEN the manifest and both model files were fetched under the prefix, and the dim read from the model
    assert fetched == [
        ("my-bucket", "packs/mbf/manifest.json"),
        ("my-bucket", "packs/mbf/scrfd_500m_bnkps.onnx"),
        ("my-bucket", "packs/mbf/mobilefacenet_bgr.onnx"),
    ]
    assert engine.model.name == "scrfd500m-mbf" and engine.model.dim == 128
    assert engine.providers == ["CPUExecutionProvider"]
    assert engine.analyse([np.zeros((240, 320, 3), np.uint8)], max_faces=5) == [[]]


def test_fixed_batches_give_the_model_one_shape_and_drop_the_padding():
    # GIVEN a "model" that records the batch shapes it is run on
    from gpu_worker.models.providers import run_fixed_batches

    seen = []

    def model(batch):
        seen.append(batch.shape)
        return [batch * 2, batch.sum(axis=1)]

    blob = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    # WHEN seven rows run in fixed batches of three
    doubled, sums = run_fixed_batches(model, blob, 3)
    # THEN every run saw exactly three rows, and the outputs hold the seven real rows only
    assert seen == [(3, 3)] * 3
    assert np.array_equal(doubled, blob * 2) and np.array_equal(sums, blob.sum(axis=1))


def test_embedder_feeds_a_half_precision_model_what_it_declares(tmp_path):
    # GIVEN a tiny embedder exported with float16 input (as export_r50.py --fp16 writes)
    onnx = pytest.importorskip("onnx", reason="the onnx package builds the tiny test model")
    from onnx import TensorProto, helper, numpy_helper

    from gpu_worker.models.embedder import OnnxEmbedder

    weights = numpy_helper.from_array(np.eye(3, 4, dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["x32"], to=TensorProto.FLOAT),
         helper.make_node("ReduceMean", ["x32", "axes"], ["pooled"], keepdims=0),
         helper.make_node("MatMul", ["pooled", "w"], ["embedding"])],
        "tiny16",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["n", 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", 4])],
        [numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes"), weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "tiny16.onnx"))
    embedder = OnnxEmbedder(tmp_path / "tiny16.onnx", ["CPUExecutionProvider"])
    # WHEN it embeds two crops
    crops = np.full((2, 112, 112, 3), 200, dtype=np.uint8)
    vectors = embedder.embed(crops)
    # THEN the run succeeds with float16 input and returns unit float32 vectors
    assert embedder.input_dtype == np.float16 and vectors.dtype == np.float32 and vectors.shape == (2, 4)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_detector_in_gpu_mode_finds_the_same_faces_with_one_shape_per_session(test_models, test_data):
    # GIVEN the shared SCRFD-500M, once as on a CPU and once in the GPU mode (fixed shapes)
    import cv2

    from gpu_worker.models.scrfd import ScrfdDetector

    images = [cv2.imread(str(p)) for p in sorted((test_data / "fixtures" / "groups").glob("*.jpg"))]
    dynamic = ScrfdDetector(test_models / "scrfd_500m_bnkps.onnx", ["CPUExecutionProvider"])
    fixed = ScrfdDetector(test_models / "scrfd_500m_bnkps.onnx", ["CPUExecutionProvider"])
    fixed.gpu = True  # what on_gpu() says of a CUDA session; the CPU runs the same graph
    assert len(images) == 3
    # WHEN both detect the group photos
    expected, got = dynamic.detect(images), fixed.detect(images)
    # THEN the faces agree, and each canvas size had a session of its own
    assert [len(d.scores) for d in got] == [len(d.scores) for d in expected]
    for a, b in zip(expected, got):
        assert np.allclose(a.boxes, b.boxes, atol=0.5) and np.allclose(a.scores, b.scores, atol=1e-4)
    assert len(fixed._sessions) == 2 and len(dynamic._sessions) == 1


def test_tiles_cover_a_big_photo_with_overlap_and_skip_a_small_one():
    # GIVEN a 12 MP photo and a 1 MP photo, for a 640x640 detector canvas
    from gpu_worker.models.scrfd import tile_plan

    # WHEN each is tiled
    plan = tile_plan(4000, 3000, (640, 640))
    # THEN the big one gets a grid that covers every pixel with overlapping neighbours
    covered = np.zeros((3000, 4000), bool)
    for tile in plan.tiles:
        covered[tile.y : tile.y + tile.height, tile.x : tile.x + tile.width] = True
    assert len(plan.tiles) >= 4 and covered.all()
    xs = sorted({tile.x for tile in plan.tiles})
    assert xs[1] < plan.tiles[0].width  # the second column starts inside the first
    # AND a photo whose whole view keeps its small faces is searched whole only
    assert tile_plan(1280, 960, (640, 640)).tiles == ()


def test_small_faces_in_a_large_photo_are_found_through_tiles(test_models, test_data):
    # GIVEN twelve LFW faces about 56 px wide pasted into a 4000x3000 photo (8 px each once shrunk to 640)
    import cv2

    from gpu_worker.models.scrfd import ScrfdDetector

    photo = np.full((3000, 4000, 3), 120, np.uint8)
    for n, path in enumerate(sorted((test_data / "lfw").glob("A*/*_0001.jpg"))[:12]):
        face = cv2.resize(cv2.imread(str(path))[60:190, 60:190], (73, 73), interpolation=cv2.INTER_AREA)
        x, y = 300 + (n % 4) * 900, 300 + (n // 4) * 900
        photo[y : y + 73, x : x + 73] = face
    # WHEN the detector runs
    found = ScrfdDetector(test_models / "scrfd_500m_bnkps.onnx", ["CPUExecutionProvider"]).detect([photo])[0]
    # THEN most of them are found, each box where a face was pasted
    assert len(found.scores) >= 10
    assert all((300 <= b[0] < 3100) and (300 <= b[1] < 2200) for b in found.boxes)


def test_tiles_add_no_pieces_of_big_faces(test_models, test_data):
    # GIVEN the fixture portraits big enough to be tiled, and detectors with and without tiles
    import cv2

    from gpu_worker.models.scrfd import ScrfdDetector

    model = test_models / "scrfd_500m_bnkps.onnx"
    tiled, whole = ScrfdDetector(model, ["CPUExecutionProvider"]), ScrfdDetector(model, max_tiles=0)
    photos = [cv2.imread(str(p)) for p in sorted((test_data / "fixtures" / "people").glob("*.jpg"))]
    big = [p for p in photos if p is not None and max(p.shape[:2]) > 1280]
    assert len(big) >= 10
    # WHEN both detect faces THEN tiling finds no extra "faces" (a cheek cut by a seam is not one)
    assert [len(d.scores) for d in tiled.detect(big)] == [len(d.scores) for d in whole.detect(big)]


def test_a_batch_longer_than_one_run_finds_what_single_photos_do(test_models, test_data):
    # GIVEN twelve LFW photos, more than one detector run holds
    import cv2

    from gpu_worker.models.scrfd import RUN_BATCH, ScrfdDetector

    photos = [cv2.imread(str(p)) for p in sorted((test_data / "lfw").glob("B*/*_0001.jpg"))[:12]]
    assert len(photos) > RUN_BATCH
    detector = ScrfdDetector(test_models / "scrfd_500m_bnkps.onnx", ["CPUExecutionProvider"])
    # WHEN they are detected in one call and one by one
    together, alone = detector.detect(photos), [detector.detect([p])[0] for p in photos]
    # THEN every photo gets the same faces either way
    for a, b in zip(together, alone):
        assert np.allclose(a.boxes, b.boxes, atol=0.5) and np.allclose(a.scores, b.scores, atol=1e-4)
