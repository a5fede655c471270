"""Model packs: load a FaceEngine from "dlib", a local pack directory or an s3:// pack prefix."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from aws_lambda_powertools import Logger

from gpu_worker.engine import FaceEngine
from gpu_worker.packs import fetch
from gpu_worker.packs.fetch import PackUnavailable

logger = Logger(child=True)

Downloader = Callable[[str, str, str], None]  # (bucket, key, dest_path)


def load_pack(
    spec: str,
    providers: list[str] | None = None,
    downloader: Downloader | None = None,
    model_dir: str | Path | None = None,
    fallback: str | None = None,
) -> FaceEngine:
    """A FaceEngine for "dlib", a named pack (found or fetched, hashes pinned), a directory with manifest.json,
    or s3://bucket/prefix (via downloader); a named pack that cannot be had gives `fallback`, saying why."""
    try:
        engine = _load(spec, providers, downloader, model_dir)
    except PackUnavailable as exc:
        if not fallback or fallback == spec:
            raise
        logger.warning("model pack unavailable; using the fallback pack", pack=spec, fallback=fallback,
                       reasons=exc.reasons)
        engine = _load(fallback, providers, downloader, model_dir)
    model = engine.model
    logger.info("model pack loaded", spec=spec, model=model.name, dim=model.dim, providers=engine.providers)
    return engine


def _load(spec: str, providers: list[str] | None, downloader: Downloader | None,
          model_dir: str | Path | None) -> FaceEngine:
    if spec == "dlib":
        from gpu_worker.packs.dlib_pack import DlibPack  # imported lazily: dlib is heavy

        return DlibPack(providers)
    from gpu_worker.packs.onnx_pack import OnnxPack  # imported lazily: onnxruntime is heavy

    named = fetch.named_manifest(spec)
    if named is not None:
        dirs = [Path(d) for d in (model_dir, os.environ.get("FACETRACE_MODEL_DIR")) if d]
        return OnnxPack.from_dir(fetch.resolve(named, dirs), providers)
    pack_dir = _fetch_s3_pack(spec, downloader) if spec.startswith("s3://") else Path(spec)
    if not (pack_dir / "manifest.json").is_file():
        raise ValueError(f"model pack {spec!r}: no manifest.json in {pack_dir} (expected 'dlib', a pack name "
                         f"({', '.join(sorted(p.name for p in fetch.MANIFESTS.iterdir()))}), a dir or s3://)")
    return OnnxPack.from_dir(pack_dir, providers, model_dir)


def _fetch_s3_pack(spec: str, downloader: Downloader | None) -> Path:
    """Download manifest.json and the model files it names into a local cache dir (reused if present)."""
    if downloader is None:
        raise ValueError(f"model pack {spec!r} is on S3 but no downloader was given")
    bucket, _, prefix = spec[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"model pack {spec!r}: missing bucket name")
    prefix = prefix.strip("/")
    root = Path(os.environ.get("FACETRACE_MODEL_CACHE", Path(tempfile.gettempdir()) / "facetrace-packs"))
    cache = root / bucket / (prefix or "_root")
    cache.mkdir(parents=True, exist_ok=True)
    _download(downloader, bucket, prefix, "manifest.json", cache, refresh=True)
    manifest = json.loads((cache / "manifest.json").read_text())
    from gpu_worker.models.fusion import embedder_specs  # lazy: pulls in onnxruntime

    for part in [manifest["detector"], *embedder_specs(manifest)]:
        _download(downloader, bucket, prefix, part["file"], cache, refresh=False)
    return cache


def _download(downloader: Downloader, bucket: str, prefix: str, name: str, cache: Path, refresh: bool) -> None:
    """Fetch one pack file unless already cached; written via a temp name so a crash leaves no half file."""
    if Path(name).name != name:
        raise ValueError(f"pack file name {name!r} must be a plain file name")
    dest = cache / name
    if dest.is_file() and dest.stat().st_size > 0 and not refresh:
        return
    key = f"{prefix}/{name}" if prefix else name
    partial = dest.with_name(dest.name + ".part")
    downloader(bucket, key, str(partial))
    partial.replace(dest)
    logger.info("pack file downloaded", bucket=bucket, key=key, bytes=dest.stat().st_size)
