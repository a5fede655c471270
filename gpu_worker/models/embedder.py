"""ArcFace-style embedder: aligned 112x112 crops in, L2-normalised vectors out, dim read from the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpu_worker.engine import l2_normalise
from gpu_worker.models.providers import make_session, on_gpu, run_fixed_batches

GPU_BATCH = 32  # crops per run on a GPU: one input shape per session (see run_fixed_batches)


class OnnxEmbedder:
    """Batch embedding with the preprocessing (colour order, mean, std) the pack manifest declares."""

    def __init__(
        self,
        path: str | Path,
        providers: list[str] | None = None,
        color: str = "BGR",
        mean: float = 127.5,
        std: float = 127.5,
    ):
        if color.upper() not in ("BGR", "RGB"):
            raise ValueError(f"embedder colour order must be BGR or RGB, not {color!r}")
        self.session = make_session(path, providers)
        self.providers = self.session.get_providers()
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_size = _spatial_size(model_input.shape)
        # an fp16 export (optional, GPU) declares float16 input: feed it what it declares
        self.input_dtype = np.float16 if model_input.type == "tensor(float16)" else np.float32
        self.swap_rb = color.upper() == "RGB"  # crops arrive BGR (OpenCV order)
        self.mean, self.std = float(mean), float(std)
        self.dim = self._output_dim()
        self.fixed_batch = GPU_BATCH if on_gpu(self.session) else None

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) BGR uint8 aligned crops -> (N, dim) float32 L2-normalised embeddings."""
        if len(crops) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        blob = np.asarray(crops, dtype=np.float32)
        if self.swap_rb:
            blob = blob[..., ::-1]
        blob = ((blob - self.mean) / self.std).transpose(0, 3, 1, 2)
        blob = np.ascontiguousarray(blob, dtype=self.input_dtype)
        if self.fixed_batch:
            (vectors,) = run_fixed_batches(self._run, blob, self.fixed_batch)
        else:
            (vectors,) = self._run(blob)
        return l2_normalise(np.asarray(vectors, dtype=np.float32).reshape(len(crops), -1))

    def _run(self, blob: np.ndarray) -> list[np.ndarray]:
        """One model run on a preprocessed NCHW blob."""
        return self.session.run([self.session.get_outputs()[0].name], {self.input_name: blob})

    def _output_dim(self) -> int:
        """Embedding size from the model's output shape, or from one dummy run when it is symbolic."""
        shape = self.session.get_outputs()[0].shape
        if len(shape) == 2 and isinstance(shape[1], int) and shape[1] > 0:
            return shape[1]
        blob = np.zeros((1, 3, *self.input_size), dtype=self.input_dtype)
        (vectors,) = self.session.run([self.session.get_outputs()[0].name], {self.input_name: blob})
        return int(np.asarray(vectors).reshape(1, -1).shape[1])


def _spatial_size(shape: list) -> tuple[int, int]:
    """(H, W) from an NCHW input shape; ArcFace's 112x112 when the export leaves them symbolic."""
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int):
        return height, width
    return 112, 112
