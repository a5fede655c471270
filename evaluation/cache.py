"""Per-pack cache of image embeddings (.npz), so re-running an evaluation skips the model."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIELDS = ("embedding", "has_face", "reference_ok", "sighting_ok", "det_score", "ms", "face_px", "blur", "yaw")
# Caches written before the quality measures were kept load with these (unknown, so never used to decide).
_DEFAULTS = {"face_px": np.nan, "blur": np.nan, "yaw": np.nan}


@dataclass
class Record:
    """What the pipeline made of one image: its subject's embedding (zeros if no face) and quality gates."""

    embedding: np.ndarray
    has_face: bool
    reference_ok: bool
    sighting_ok: bool
    det_score: float
    ms: float  # decode + detect + embed time for this image (its share of the batch)
    face_px: float = float("nan")  # the quality measures a reference rule may depend on
    blur: float = float("nan")
    yaw: float = float("nan")


def cache_key(name: str, version: str, dim: int) -> str:
    """File-safe key for a pack: name, version and embedding size (a changed model changes the key)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{name}-v{version}-d{dim}")


class EmbeddingCache:
    """Records by absolute image path, stored in <cache_dir>/<key>.npz."""

    def __init__(self, cache_dir: str | Path, key: str, dim: int):
        self.path = Path(cache_dir) / f"{key}.npz"
        self.dim = dim
        self.records: dict[str, Record] = {}
        if self.path.is_file():
            self._load()

    def missing(self, paths: list[str]) -> list[str]:
        """Paths not cached yet, in order, without duplicates."""
        return [p for p in dict.fromkeys(paths) if p not in self.records]

    def add(self, path: str, record: Record) -> None:
        """Remember one image's record (call save() to persist)."""
        self.records[path] = record

    def save(self) -> None:
        """Write all records atomically (temp file then rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        paths = list(self.records)
        rows = [self.records[p] for p in paths]
        arrays = {"paths": np.array(paths, dtype=str)}
        for field in FIELDS:
            arrays[field] = np.array([getattr(r, field) for r in rows]) if rows else np.zeros(0)
        if not rows:
            arrays["embedding"] = np.zeros((0, self.dim), np.float32)
        partial = self.path.with_name(self.path.stem + ".part.npz")
        np.savez(partial, **arrays)
        partial.replace(self.path)

    def _load(self) -> None:
        """Read the records of an earlier run."""
        with np.load(self.path) as data:
            n = len(data["paths"])
            columns = {f: data[f] if f in data.files else np.full(n, _DEFAULTS[f]) for f in FIELDS}
            for i, path in enumerate(data["paths"]):
                values = {f: columns[f][i] for f in FIELDS}
                self.records[str(path)] = Record(
                    embedding=values["embedding"].astype(np.float32),
                    has_face=bool(values["has_face"]),
                    reference_ok=bool(values["reference_ok"]),
                    sighting_ok=bool(values["sighting_ok"]),
                    det_score=float(values["det_score"]),
                    ms=float(values["ms"]),
                    face_px=float(values["face_px"]), blur=float(values["blur"]), yaw=float(values["yaw"]),
                )
