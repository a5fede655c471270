"""Test-time embedding options of a pack: horizontal-flip averaging and fusion of several embedders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpu_worker.engine import l2_normalise
from gpu_worker.models.embedder import OnnxEmbedder


class FusedEmbedder:
    """One or more OnnxEmbedders whose (optionally flip-averaged) vectors are concatenated.

    Each part is L2-normalised before concatenation, so the cosine of two fused vectors is the mean
    of the parts' cosines: score-level fusion that keeps the gallery a plain cosine search.
    """

    def __init__(self, specs: list[dict], model_dir: Path, providers: list[str] | None, flip: bool):
        self.parts = [
            OnnxEmbedder(model_dir / s["file"], providers, s.get("color", "BGR"), s.get("mean", 127.5), s.get("std", 127.5))
            for s in specs
        ]
        self.flip = flip
        self.dim = sum(p.dim for p in self.parts)
        self.providers = list(dict.fromkeys(p for part in self.parts for p in part.providers))

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) BGR uint8 aligned crops -> (N, dim) float32 L2-normalised embeddings."""
        if len(crops) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.concatenate([self._embed_part(p, crops) for p in self.parts], axis=1))

    def _embed_part(self, part: OnnxEmbedder, crops: np.ndarray) -> np.ndarray:
        """One part's vectors; with flip, the mean of the crop's and its mirror image's (normalised)."""
        vectors = part.embed(crops)
        if self.flip:
            vectors = vectors + part.embed(np.ascontiguousarray(crops[:, :, ::-1]))
        return l2_normalise(vectors)


def embedder_specs(manifest: dict) -> list[dict]:
    """The manifest's embedder(s): "embedders" (a list, fused) or the single "embedder"."""
    return list(manifest.get("embedders") or [manifest["embedder"]])
