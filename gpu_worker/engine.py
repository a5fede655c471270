"""The face engine interface every model pack implements, and its conversion to messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from facetrace.messages import Face, ModelInfo, Quality


@dataclass
class DetectedFace:
    """One face found in an image, in original-image pixels."""

    box: np.ndarray  # (4,) x1,y1,x2,y2
    landmarks: np.ndarray  # (5,2)
    det_score: float
    embedding: np.ndarray  # (dim,) float32, L2-normalised
    quality: Quality


@runtime_checkable
class FaceEngine(Protocol):
    """Detects, aligns, assesses and embeds faces with one model pack."""

    model: ModelInfo
    providers: list[str]

    def analyse(self, images: Sequence[np.ndarray], max_faces: int) -> list[list[DetectedFace]]:
        """BGR uint8 images -> faces per image; all faces of the batch embedded in ONE embedder call."""
        ...


def to_message(face: DetectedFace, index: int) -> Face:
    """Convert a detected face into the Face message sent downstream."""
    return Face.build(index, face.box, face.landmarks, face.quality, face.embedding)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation as float32 (zero rows stay zero instead of NaN)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def check_images(images: Sequence[np.ndarray]) -> None:
    """Refuse anything but HxWx3 uint8 (BGR) arrays early, with a clear message."""
    for i, image in enumerate(images):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            shape = getattr(image, "shape", None)
            raise ValueError(f"image {i}: expected an HxWx3 uint8 BGR array, got {type(image).__name__} {shape}")


def keep_largest(boxes: np.ndarray, max_faces: int) -> np.ndarray:
    """Indices of the max_faces largest boxes, largest first (the likeliest subjects of a photo)."""
    if len(boxes) == 0 or max_faces <= 0:
        return np.zeros(0, dtype=int)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.argsort(-areas, kind="stable")[:max_faces]
