"""`facetrace eval` end to end on the fixture photos with the ONNX pack (needs FACETRACE_TEST_DATA/_MODELS)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from devstack.cli import main
from tests.conftest import REPO

MANIFESTS = REPO / "gpu_worker" / "packs" / "manifests"


@pytest.fixture(scope="module")
def tiny(test_data, tmp_path_factory):
    """Protocol over the fixtures: persons 01-07 enrol one photo and search with the rest, 08-13 and
    a brick wall are strangers."""
    root = test_data / "fixtures"
    labels = list(csv.DictReader((root / "people" / "labels.csv").open()))
    rows, seen = [], set()
    for row in labels:
        person = row["person"]
        role = "enroll" if person <= "person07" and person not in seen else "probe"
        seen.add(person)
        rows.append((f"people/{row['file']}", person, role))
    rows.append(("noface/brick.png", "brick", "probe"))
    path = tmp_path_factory.mktemp("protocol") / "tiny.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([("path", "person", "role"), *rows])
    return root, path


def _eval(capsys, root, protocol, models, cache, *extra) -> dict:
    args = ["eval", "--root", str(root), "--protocol", str(protocol), "--pack", str(MANIFESTS / "scrfd500m-mbf"),
            "--model-dir", str(models), "--cache-dir", str(cache), *extra]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_eval_reports_identification_and_reuses_its_cache(tiny, test_models, tmp_path, capsys, monkeypatch):
    root, protocol = tiny
    # GIVEN the tiny protocol WHEN evaluated with a fixed threshold and a DET plot
    report = _eval(capsys, root, protocol, test_models, tmp_path, "--threshold", "0.3", "--plot", str(tmp_path / "d.png"))
    ident = report["identification"]
    # THEN every enrolled person is found at rank 1 and the brick wall has no face
    assert ident["gallery_records"] == 7 and ident["mated_searches"] == 37
    assert ident["rank1_accuracy"] >= 0.95
    assert ident["no_face_share"] == pytest.approx(1 / 62, abs=1e-4)
    assert ident["calibration"]["source"] == "fixed --threshold"
    fixed = next(p for p in ident["operating_points"] if p.get("name") == "fixed_threshold")
    assert fixed["threshold"] == 0.3 and fixed["tpir"] >= 0.9 and fixed["fpir"] <= 0.1
    assert (tmp_path / "d.png").stat().st_size > 1000 and list(tmp_path.glob("scrfd500m-mbf-v1-d128.npz"))
    # AND a second run reads every embedding from the cache instead of running the model
    monkeypatch.setattr("evaluation.embed.embed_batch", _must_not_run)
    again = _eval(capsys, root, protocol, test_models, tmp_path)
    assert again["identification"]["rank1_accuracy"] == ident["rank1_accuracy"]
    assert "optimistic" in again["identification"]["calibration"]["source"]
    # AND calibrating on a protocol that shares searching people is flagged in the report
    shared = _eval(capsys, root, protocol, test_models, tmp_path, "--calibrate-on", str(protocol))
    assert shared["identification"]["calibration"]["searching_people_shared_with_test"] == 14  # 13 people + the brick wall
    # AND with --score-norm the same searches are scored in normalised units, rank 1 barely moving
    normed = _eval(capsys, root, protocol, test_models, tmp_path, "--score-norm", "3")["identification"]
    assert normed["score_norm"] == "adaptive s-norm, cohort 3"
    assert normed["rank1_accuracy"] >= 0.9
    assert max(p["threshold"] for p in normed["operating_points"] if "target_fpir" in p) > 1.0  # not a cosine


def _must_not_run(*_):
    raise AssertionError("the model ran although every image was cached")


def test_fused_pack_concatenates_both_embedders_with_flip(test_data, test_models):
    from gpu_worker.image import decode_image
    from gpu_worker.packs import load_pack

    # GIVEN the base and the fused pack
    base = load_pack(str(MANIFESTS / "scrfd500m-mbf"), ["CPUExecutionProvider"], model_dir=test_models)
    fused = load_pack(str(MANIFESTS / "scrfd500m-mbf-fused"), ["CPUExecutionProvider"], model_dir=test_models)
    image = decode_image((test_data / "fixtures" / "people" / "img10.jpg").read_bytes(), 50_000_000)
    # WHEN one face is embedded by both
    [[b]], [[f]] = base.analyse([image], 1), fused.analyse([image], 1)
    # THEN the fused vector is 256-d, unit length, and its BGR half is close to (not equal to) the base
    assert fused.model.dim == 256 and f.embedding.shape == (256,)
    assert np.linalg.norm(f.embedding) == pytest.approx(1.0, abs=1e-5)
    half = f.embedding[:128] / np.linalg.norm(f.embedding[:128])
    assert 0.9 < float(half @ b.embedding) < 0.99999
