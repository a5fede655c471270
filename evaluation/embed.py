"""Run the real pipeline (decode, detect, align, assess, embed) over image files, in batches."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from gpu_worker.engine import DetectedFace, FaceEngine
from evaluation.cache import EmbeddingCache, Record
from gpu_worker.image import ImageError, decode_image

MAX_PIXELS = 50_000_000
MAX_FACES = 5  # enough to find the subject of a portrait among bystanders
Progress = Callable[[int, int], None]  # (done, total)


def subject(faces: Sequence[DetectedFace], shape: tuple[int, ...]) -> DetectedFace | None:
    """The face nearest the image centre: the subject of a portrait (LFW centres its subject)."""
    if not faces:
        return None
    centre = np.array([shape[1], shape[0]], dtype=np.float32) / 2
    return min(faces, key=lambda f: float(np.linalg.norm((f.box[:2] + f.box[2:]) / 2 - centre)))


def embed_batch(engine: FaceEngine, paths: Sequence[str]) -> list[Record]:
    """Records for one batch of image files; undecodable files count as images without a face."""
    started = time.perf_counter()
    images, decoded = [], []
    for path in paths:
        try:
            images.append(decode_image(Path(path).read_bytes(), MAX_PIXELS))
            decoded.append(True)
        except (ImageError, OSError):
            decoded.append(False)
    found = iter(engine.analyse(images, MAX_FACES) if images else [])
    ms = 1000 * (time.perf_counter() - started) / len(paths)
    records, shapes = [], iter(image.shape for image in images)
    for ok in decoded:
        face = subject(next(found), next(shapes)) if ok else None
        records.append(_record(face, engine.model.dim, ms))
    return records


def _record(face: DetectedFace | None, dim: int, ms: float) -> Record:
    """One image's record; no face gives a zero embedding that fails both quality gates."""
    if face is None:
        return Record(np.zeros(dim, np.float32), False, False, False, 0.0, ms)
    q = face.quality
    return Record(face.embedding.astype(np.float32), True, q.usable_as_reference, q.usable_as_sighting, face.det_score,
                  ms, q.face_px, q.blur, q.yaw)


def embed_all(
    engine: FaceEngine, cache: EmbeddingCache, paths: Sequence[str], batch: int = 10, progress: Progress | None = None
) -> dict[str, Record]:
    """Records for every path, computing only those not in the cache (saved every 50 batches)."""
    todo = cache.missing(list(paths))
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        for path, record in zip(chunk, embed_batch(engine, chunk)):
            cache.add(path, record)
        if (start // batch) % 50 == 49:
            cache.save()
        if progress:
            progress(min(start + batch, len(todo)), len(todo))
    if todo:
        cache.save()
    return {p: cache.records[p] for p in paths}
