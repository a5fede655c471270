"""5-point similarity alignment onto the standard ArcFace 112x112 template."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

# insightface's arcface_dst: left eye, right eye, nose tip, left mouth corner, right mouth corner.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)
CROP_SIZE = 112


def similarity_transform(landmarks: np.ndarray, template: np.ndarray = ARCFACE_TEMPLATE) -> np.ndarray:
    """2x3 least-squares similarity matrix (Umeyama) mapping landmarks onto the template."""
    # Umeyama rather than cv2.estimateAffinePartial2D: with only 5 points every point must count,
    # and RANSAC/LMEDS would silently drop "outliers" (same maths as insightface's norm_crop).
    src = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(template, dtype=np.float64).reshape(-1, 2)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    src_var = (src_c**2).sum() / len(src)
    if src_var < 1e-9:
        raise ValueError("degenerate landmarks: cannot estimate a similarity transform")
    cov = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1  # forbid reflections
    rotation = u @ sign @ vt
    scale = (singular * np.diag(sign)).sum() / src_var
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]]).astype(np.float32)


def align_face(
    image: np.ndarray, landmarks: np.ndarray, size: int = CROP_SIZE, template: np.ndarray = ARCFACE_TEMPLATE
) -> np.ndarray:
    """Warp one face into a size x size crop aligned to the template (given for a 112x112 crop)."""
    matrix = similarity_transform(landmarks, np.asarray(template, dtype=np.float32) * (size / CROP_SIZE))
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)


def align_faces(image: np.ndarray, landmarks: Sequence[np.ndarray], size: int = CROP_SIZE) -> np.ndarray:
    """Aligned crops (N, size, size, 3) for every landmark set of one image."""
    crops = [align_face(image, points, size) for points in landmarks]
    if not crops:
        return np.zeros((0, size, size, image.shape[2] if image.ndim == 3 else 1), dtype=image.dtype)
    return np.stack(crops)
