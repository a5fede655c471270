"""Choose ONNX Runtime execution providers explicitly and report the ones really obtained."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
from aws_lambda_powertools import Logger

logger = Logger(service="gpu-worker", child=True)

# Fastest first; CPU last so a session always has somewhere to run.
PREFERRED = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


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
    session = ort.InferenceSession(str(path), sess_options=options, providers=chosen)
    obtained = session.get_providers()
    logger.info("onnx session ready", model=Path(path).name, requested=chosen, obtained=obtained)
    if obtained and obtained[0] != chosen[0]:
        # e.g. CUDA requested but its libraries are missing: onnxruntime silently falls back.
        logger.warning("preferred provider not obtained", model=Path(path).name, wanted=chosen[0], got=obtained)
    return session
