"""Tile planning for big photos: which overlapping crops a detector must also search so small faces are not lost.

A detector sees a photo through a view of bounded size (dlib: long side 1024 px; SCRFD: a 640x640
canvas), so a big photo is shrunk and its small faces fall below what the detector can find. Faces
down to smallest_face() must be found in every photo; when the whole view cannot, the photo is also
searched in overlapping tiles, each seen at a scale where that face is big enough. Tiles keep only
faces too small for the whole view and clear of every inner seam (a cut face, or a piece of a big one,
is not a face); overlapping tiles and the whole view are then merged by NMS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The smallest face (box side, photo px) searched for: 56 px, or 1/48 of the short side of a big photo
# (62 px in 4000x3000, 83 px in 12000x4000), so the work grows with the aspect ratio but not with the
# resolution beyond ~2700 px of short side. 56 px is what both packs' whole views find in a 1280x960 photo
# (so ordinary photos are not tiled) and what a 12000x4000 JPEG's 110 px face becomes once the worker
# decodes it at half size (photos over 25 MP are reduced in the DCT).
MIN_FACE_PX = 56
MIN_FACE_SHARE = 1 / 48
# Tiles keep faces below KEEP_FACTOR x the whole view's smallest face: a band where both find a face
# (merged by NMS) so no size falls between them, small enough that a tile's "face" inside a big face
# (a cheek and mouth) is not kept.
KEEP_FACTOR = 4 / 3
SEAM_MARGIN_VIEW_PX = 2.0  # a box this close to an inner seam (in the tile's view) is cut by it


@dataclass(frozen=True)
class Tile:
    """One rectangle of a photo, in photo pixels."""

    x: int
    y: int
    width: int
    height: int

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The tile's pixels: a view into the photo, no copy."""
        return image[self.y : self.y + self.height, self.x : self.x + self.width]


@dataclass(frozen=True)
class TilePlan:
    """The tiles of one photo, the scale they must be seen at, and which of their faces to keep."""

    tiles: tuple[Tile, ...]
    scale: float  # view px per photo px at which a tile's smallest face is still found
    max_face: float  # photo px: bigger faces are the whole view's
    margin: float  # photo px: a box this close to an inner seam is cut by it
    photo: tuple[int, int]  # width, height

    def keep(self, boxes: np.ndarray, tile: Tile) -> np.ndarray:
        """Mask of one tile's boxes (photo px) to keep: smaller than max_face and clear of every inner seam."""
        width, height = self.photo
        small = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) < self.max_face
        right, bottom, m = tile.x + tile.width, tile.y + tile.height, self.margin
        cut = ((boxes[:, 0] <= tile.x + m) & (tile.x > 0)) | ((boxes[:, 1] <= tile.y + m) & (tile.y > 0))
        cut |= ((boxes[:, 2] >= right - m) & (right < width)) | ((boxes[:, 3] >= bottom - m) & (bottom < height))
        return small & ~cut


def smallest_face(width: int, height: int) -> float:
    """The smallest face (box side, photo px) a photo of this size must give up."""
    return max(MIN_FACE_PX, min(width, height) * MIN_FACE_SHARE)


def plan_tiles(
    width: int, height: int, whole_scale: float, view_min_face: float, view: tuple[int, int], max_tiles: int
) -> TilePlan:
    """Tiles for a photo whose whole view (at whole_scale) loses faces of smallest_face(); none when it does not.

    view_min_face: the smallest face the detector finds, in view px; view: the largest (width, height)
    a tile is seen at; max_tiles caps the count (tiles then grow and are seen at a lower scale).
    """
    scale = view_min_face / smallest_face(width, height)
    if whole_scale >= scale or max_tiles < 2:
        return TilePlan((), whole_scale, math.inf, 0.0, (width, height))
    max_face = KEEP_FACTOR * view_min_face / whole_scale
    tiles = _grid(width, height, view[0] / scale, view[1] / scale, max_face, scale)
    while len(tiles) > max_tiles:
        scale /= 1.25
        tiles = _grid(width, height, view[0] / scale, view[1] / scale, max_face, scale)
    # Past ~6:1 a tile must outgrow the view to hold the whole view's smallest face, and is seen smaller.
    scale = min(scale, view[0] / tiles[0].width, view[1] / tiles[0].height)
    return TilePlan(tiles, scale, max_face, SEAM_MARGIN_VIEW_PX / scale, (width, height))


def _grid(width: int, height: int, tile_w: float, tile_h: float, max_face: float, scale: float) -> tuple[Tile, ...]:
    """Row-major tiles no bigger than tile_w x tile_h whose neighbours share room for a whole kept face."""
    overlap = math.ceil(max_face + 2 * SEAM_MARGIN_VIEW_PX / scale) + 1
    xs, ys = _spans(width, tile_w, overlap), _spans(height, tile_h, overlap)
    return tuple(Tile(x, y, w, h) for y, h in ys for x, w in xs)


def _spans(length: int, side: float, overlap: int) -> list[tuple[int, int]]:
    """(start, size) of the fewest evenly spread spans of at most `side` covering [0, length) with `overlap`."""
    side = max(int(side), 2 * overlap)  # a tile must reach past its overlap, or the grid never ends
    if length <= side:
        return [(0, length)]
    count = math.ceil((length - overlap) / (side - overlap))
    size = math.ceil((length + (count - 1) * overlap) / count)  # the smallest size that still overlaps enough
    starts = np.linspace(0, length - size, count).round().astype(int)
    return [(int(start), size) for start in starts]


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; indices kept, best score first."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        overlap = w * h / (areas[i] + areas[rest] - w * h)
        order = rest[overlap <= threshold]
    return np.array(keep, dtype=int)
