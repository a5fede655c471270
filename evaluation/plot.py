"""A DET plot (FNIR against FPIR, log axes) written as PNG with OpenCV, so no plotting dependency."""

from __future__ import annotations

import cv2
import numpy as np

W, H, MARGIN = 640, 480, 60
X_DECADES, Y_DECADES = (-4, 0), (-3, 0)  # FPIR 1e-4..1, FNIR 1e-3..1
COLOURS = [(200, 80, 0), (0, 0, 200), (0, 150, 0), (150, 0, 150)]


def _to_px(value: np.ndarray, decades: tuple[int, int], length: int, flip: bool) -> np.ndarray:
    """Log-scale position of values along an axis of `length` px (clipped to the axis range)."""
    lo, hi = decades
    frac = (np.log10(np.clip(value, 10.0**lo, 10.0**hi)) - lo) / (hi - lo)
    return (length * (1 - frac) if flip else length * frac).astype(np.int32)


def det_png(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str, title: str) -> None:
    """Write curves {label: (fpir, fnir)} as a DET plot PNG."""
    img = np.full((H + 2 * MARGIN, W + 2 * MARGIN, 3), 255, np.uint8)
    _axes(img, title)
    for k, (label, (fpir, fnir)) in enumerate(curves.items()):
        colour = COLOURS[k % len(COLOURS)]
        xs = MARGIN + _to_px(np.asarray(fpir), X_DECADES, W, False)
        ys = MARGIN + _to_px(np.asarray(fnir), Y_DECADES, H, True)
        cv2.polylines(img, [np.stack([xs, ys], axis=1).reshape(-1, 1, 2)], False, colour, 2, cv2.LINE_AA)
        cv2.putText(img, label, (MARGIN + 10, MARGIN + 20 + 20 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1)
    if not cv2.imwrite(path, img):
        raise OSError(f"could not write {path}")


def _axes(img: np.ndarray, title: str) -> None:
    """Frame, decade grid lines with labels, axis names and title."""
    grey, black, font = (220, 220, 220), (0, 0, 0), cv2.FONT_HERSHEY_SIMPLEX
    for e in range(X_DECADES[0], X_DECADES[1] + 1):
        x = MARGIN + int(_to_px(np.array([10.0**e]), X_DECADES, W, False)[0])
        cv2.line(img, (x, MARGIN), (x, MARGIN + H), grey, 1)
        cv2.putText(img, f"1e{e}", (x - 15, MARGIN + H + 18), font, 0.4, black, 1)
    for e in range(Y_DECADES[0], Y_DECADES[1] + 1):
        y = MARGIN + int(_to_px(np.array([10.0**e]), Y_DECADES, H, True)[0])
        cv2.line(img, (MARGIN, y), (MARGIN + W, y), grey, 1)
        cv2.putText(img, f"1e{e}", (8, y + 4), font, 0.4, black, 1)
    cv2.rectangle(img, (MARGIN, MARGIN), (MARGIN + W, MARGIN + H), black, 1)
    cv2.putText(img, "FPIR (false alarms per stranger search)", (MARGIN + 150, MARGIN + H + 40), font, 0.5, black, 1)
    cv2.putText(img, "FNIR", (8, MARGIN - 10), font, 0.5, black, 1)
    cv2.putText(img, title, (MARGIN, 30), font, 0.55, black, 1)
