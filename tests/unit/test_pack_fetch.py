"""Named packs: their files are found or fetched only with a pinned SHA-256, and a pack that cannot be had falls
back to dlib, saying why."""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from pathlib import Path

import pytest

from gpu_worker.packs import fetch, load_pack
from gpu_worker.packs.fetch import PackUnavailable

DET, EMB = b"detector weights " * 100, b"embedder weights " * 200


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(sources: list[dict] | None = None) -> dict:
    return {"name": "tiny", "version": "1", "detector": {"file": "det.onnx"}, "embedder": {"file": "emb.onnx"},
            "thresholds": {"match": 0.3, "alert": 0.4},
            "files": {"det.onnx": {"sha256": [_sha(DET)]}, "emb.onnx": {"sha256": ["0" * 64, _sha(EMB)]}},
            "sources": sources or []}


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_files_are_found_in_a_model_folder_by_content_under_any_name(tmp_path):
    # GIVEN a folder holding the pack's files under other names, and a decoy with the right name but other bytes
    models = tmp_path / "models"
    models.mkdir()
    (models / "scrfd_500m.onnx").write_bytes(DET)
    (models / "mbf.onnx").write_bytes(EMB)
    (models / "det.onnx").write_bytes(b"not the detector")
    # WHEN the pack is resolved
    folder = fetch.resolve(_manifest(), [models], tmp_path / "cache")
    # THEN its folder holds the manifest and each file, by the pack's names, with the pinned bytes
    assert (folder / "det.onnx").read_bytes() == DET and (folder / "emb.onnx").read_bytes() == EMB
    assert json.loads((folder / "manifest.json").read_text())["name"] == "tiny"


def test_a_release_zip_is_fetched_checked_and_cached(tmp_path):
    # GIVEN nothing local, and the pack's zip at a release URL
    archive = _zip(tmp_path / "pack.zip", {"p/det.onnx": DET, "p/emb.onnx": EMB})
    source = {"kind": "zip", "url": archive.as_uri(), "sha256": _sha(archive.read_bytes()),
              "members": {"det.onnx": "p/det.onnx", "emb.onnx": "p/emb.onnx"}}
    # WHEN the pack is resolved twice, the second time with the zip gone
    first = fetch.resolve(_manifest([source]), [], tmp_path / "cache")
    archive.unlink()
    second = fetch.resolve(_manifest([source]), [], tmp_path / "cache")
    # THEN the first fetched and kept the files, the second found them in the cache
    assert (first / "emb.onnx").read_bytes() == EMB and (second / "det.onnx").read_bytes() == DET


def test_bytes_without_a_pinned_hash_are_refused_and_the_reasons_say_so(tmp_path):
    # GIVEN a zip whose embedder is not the pinned one, and a zip whose own hash is wrong
    bad_member = _zip(tmp_path / "a.zip", {"det.onnx": DET, "emb.onnx": b"tampered"})
    bad_archive = _zip(tmp_path / "b.zip", {"det.onnx": DET, "emb.onnx": EMB})
    sources = [{"kind": "zip", "url": bad_member.as_uri(), "members": {"det.onnx": "det.onnx", "emb.onnx": "emb.onnx"}},
               {"kind": "zip", "url": bad_archive.as_uri(), "sha256": "f" * 64,
                "members": {"det.onnx": "det.onnx", "emb.onnx": "emb.onnx"}}]
    # WHEN the pack is resolved THEN it is unavailable, each reason named, and no tampered file is kept
    with pytest.raises(PackUnavailable) as raised:
        fetch.resolve(_manifest(sources), [], tmp_path / "cache")
    reasons = " ".join(raised.value.reasons)
    assert "missing emb.onnx" in reasons and "does not have a pinned SHA-256" in reasons and "not the pinned" in reasons
    assert not (tmp_path / "cache" / "tiny" / "emb.onnx").exists()


def test_every_shipped_named_pack_pins_every_file_it_uses():
    # GIVEN the manifests shipped with FaceTrace WHEN a manifest lists files THEN detector and embedders are pinned
    for folder in fetch.MANIFESTS.iterdir():
        manifest = json.loads((folder / "manifest.json").read_text())
        if "files" not in manifest:
            continue
        used = {manifest["detector"]["file"]} | {e["file"] for e in manifest.get("embedders", [manifest.get("embedder")])}
        assert used <= set(manifest["files"]), folder.name
        assert all(len(h) == 64 for spec in manifest["files"].values() for h in spec["sha256"]), folder.name
        for source in manifest.get("sources", []):
            assert set(source["members"]) <= set(manifest["files"]), folder.name


def test_a_pack_that_cannot_be_had_falls_back_to_dlib_and_says_why(tmp_path, monkeypatch, caplog):
    # GIVEN a named pack with no files anywhere and no source that works
    monkeypatch.setenv("FACETRACE_MODEL_CACHE", str(tmp_path / "cache"))
    manifest = _manifest([{"kind": "zip", "url": (tmp_path / "nowhere.zip").as_uri(),
                           "members": {"det.onnx": "det.onnx", "emb.onnx": "emb.onnx"}}])
    folder = fetch.MANIFESTS / "tiny-test-pack"
    folder.mkdir()
    try:
        (folder / "manifest.json").write_text(json.dumps({**manifest, "name": "tiny-test-pack"}))
        # WHEN the worker loads it with dlib as the fallback
        with caplog.at_level(logging.WARNING):
            engine = load_pack("tiny-test-pack", fallback="dlib")
        # THEN dlib runs, and the log says which pack could not be had and why
        assert engine.model.name == "dlib-resnet-v1"
        [record] = [r for r in caplog.records if r.getMessage().startswith("model pack unavailable")]
        assert record.pack == "tiny-test-pack" and "nowhere.zip" in " ".join(record.reasons)
        # AND without a fallback the failure is an error, not a silent switch
        with pytest.raises(PackUnavailable):
            load_pack("tiny-test-pack", fallback=None)
    finally:
        (folder / "manifest.json").unlink()
        folder.rmdir()
