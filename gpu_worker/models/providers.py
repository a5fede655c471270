"""Choose ONNX Runtime execution providers explicitly and report the ones really obtained."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import onnxruntime as ort
from aws_lambda_powertools import Logger

logger = Logger(child=True)

# Fastest first; CPU last so a session always has somewhere to run.
PREFERRED = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]

# cuDNN's default EXHAUSTIVE search benchmarks every convolution for each new input shape; on an H200
# HEURISTIC was faster (1.2 s vs 1.6 s per SCRFD run with shapes alternating; 9 ms with a single
# shape). What removes the alternation itself is run_fixed_batches and one session per shape.
PROVIDER_OPTIONS = {"CUDAExecutionProvider": {"cudnn_conv_algo_search": "HEURISTIC"}}
GPU_PROVIDERS = {"CUDAExecutionProvider", "TensorrtExecutionProvider"}


def choose_providers(requested: list[str] | None = None) -> list[str]:
    """Requested (or preferred) providers that this onnxruntime build actually offers, in order."""
    available = set(ort.get_available_providers())
    wanted = requested or PREFERRED
    chosen = [p for p in wanted if p in available]
    if not chosen:
        raise RuntimeError(f"none of the providers {wanted} is available (available: {sorted(available)})")
    return chosen


def make_session(path: str | Path, providers: list[str] | None = None) -> ort.InferenceSession:
    """An inference session on explicit providers; logs which ones the runtime really kept."""
    chosen = choose_providers(providers)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Errors only: insightface's w600k_mbf declares an output batch of 1 and runs any batch, so onnxruntime
    # would print a shape warning on every run, as bare text in the worker's JSON log.
    options.log_severity_level = 3
    with_options = [(p, PROVIDER_OPTIONS[p]) if p in PROVIDER_OPTIONS else p for p in chosen]
    session = ort.InferenceSession(str(path), sess_options=options, providers=with_options)
    obtained = session.get_providers()
    logger.info("onnx session ready", model=Path(path).name, requested=chosen, obtained=obtained)
    if obtained and obtained[0] != chosen[0]:
        # e.g. CUDA requested but its libraries are missing: onnxruntime silently falls back.
        logger.warning("preferred provider not obtained", model=Path(path).name, wanted=chosen[0], got=obtained)
    return session


def on_gpu(session: ort.InferenceSession) -> bool:
    """Whether the session's first provider is a GPU one (where input shapes must stay fixed)."""
    return session.get_providers()[0] in GPU_PROVIDERS


def run_fixed_batches(run: Callable[[np.ndarray], list], blob: np.ndarray, batch: int) -> list[np.ndarray]:
    """run() over chunks of exactly `batch` rows, the last zero-padded; outputs joined, padding dropped.

    Measured on an H200 (docs/benchmarks.md): onnxruntime's CUDA provider rebuilds every convolution's
    cuDNN plan whenever a session's input shape changes (about 1.1 s for SCRFD-500M) and runs a fixed
    shape in 9 ms, so GPU sessions always see one shape.
    """
    count = len(blob)
    padded = np.concatenate([blob, np.zeros((-count % batch, *blob.shape[1:]), blob.dtype)]) if count % batch else blob
    chunks = [run(padded[i : i + batch]) for i in range(0, len(padded), batch)]
    return [np.concatenate(parts)[:count] for parts in zip(*chunks)]
