"""Per-face quality measures and the two gates: reference (strict) and sighting (lenient)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facetrace.messages import Quality


@dataclass(frozen=True)
class Gate:
    """Minimum quality a face needs for one use."""

    name: str
    min_face_px: float
    min_blur: float
    max_abs_yaw: float


# A reference photo seeds a missing person's gallery and every future match is scored against it,
# so it must be clearly usable: >= 64 px (below that the 112 px aligned crop is an upscale with
# little identity detail), sharp (Laplacian variance >= 40: LFW's web photos sit at 40-3000 with
# the 1st percentile near 42, a Gaussian blur of sigma ~2 px on the crop falls below 40) and
# near-frontal (|yaw| <= 30 deg: turned faces embed poorly and drag every later score down).
REFERENCE_GATE = Gate("reference", min_face_px=64.0, min_blur=40.0, max_abs_yaw=30.0)
# A sighting is whatever the public could capture: accept small, soft and turned faces, because a
# missed candidate costs more than a weak one (the match threshold still decides); below ~24 px,
# a Laplacian variance ~12 (a smear) or a near profile there is no identity signal left.
SIGHTING_GATE = Gate("sighting", min_face_px=24.0, min_blur=12.0, max_abs_yaw=60.0)

# Nose depth in front of the eye plane as a fraction of the eye distance; turns the nose's sideways
# shift into an angle. ~0.6 for a nose tip (ArcFace point), ~0.4 for dlib's base-of-nose point.
NOSE_TIP_DEPTH = 0.6
NOSE_BASE_DEPTH = 0.4


def blur_score(aligned_crop: np.ndarray) -> float:
    """Variance of the Laplacian of the aligned grey crop: low means blurred or featureless."""
    grey = aligned_crop if aligned_crop.ndim == 2 else cv2.cvtColor(aligned_crop, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def estimate_yaw(left_eye, right_eye, nose, nose_depth: float = NOSE_TIP_DEPTH) -> float:
    """Yaw in degrees from the nose's offset to the eye midpoint, measured along the (rolled) eye line."""
    left_eye, right_eye, nose = (np.asarray(p, dtype=np.float64) for p in (left_eye, right_eye, nose))
    eye_vec = right_eye - left_eye
    eye_dist = float(np.linalg.norm(eye_vec))
    if eye_dist < 1e-6:
        return 90.0  # eyes collapsed into one point: a full profile or a bad detection
    offset = float(np.dot(nose - (left_eye + right_eye) / 2.0, eye_vec / eye_dist))
    # Turning by yaw shifts the nose by depth*sin and shortens the eye line by cos: ratio = k*tan(yaw).
    return float(np.degrees(np.arctan2(offset / eye_dist, nose_depth)))


def face_size(box: np.ndarray) -> float:
    """Face size in pixels: the shorter side of the detection box."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return max(0.0, min(x2 - x1, y2 - y1))


def _failures(gate: Gate, face_px: float, blur: float, yaw: float) -> list[str]:
    """Human-readable reasons the measures fail one gate."""
    reasons = []
    if face_px < gate.min_face_px:
        reasons.append(f"face too small for a {gate.name} ({face_px:.0f} px < {gate.min_face_px:.0f} px)")
    if blur < gate.min_blur:
        reasons.append(f"face too blurred for a {gate.name} (sharpness {blur:.1f} < {gate.min_blur:.0f})")
    if abs(yaw) > gate.max_abs_yaw:
        reasons.append(f"head turned too far for a {gate.name} (yaw {yaw:.0f} deg, max {gate.max_abs_yaw:.0f})")
    return reasons


def assess(det_score: float, min_reference_score: float, face_px: float, blur: float, yaw: float) -> Quality:
    """Apply both gates; det_score is gated only for references since the detector already filtered."""
    ref_reasons = _failures(REFERENCE_GATE, face_px, blur, yaw)
    if det_score < min_reference_score:
        ref_reasons.append(
            f"detection not confident enough for a reference (score {det_score:.2f} < {min_reference_score:.2f})"
        )
    sight_reasons = _failures(SIGHTING_GATE, face_px, blur, yaw)
    return Quality(
        det_score=float(det_score),
        face_px=float(face_px),
        blur=float(blur),
        yaw=float(yaw),
        usable_as_reference=not ref_reasons,
        usable_as_sighting=not sight_reasons,
        reasons=ref_reasons + sight_reasons,
    )
