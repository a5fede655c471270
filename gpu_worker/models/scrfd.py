"""SCRFD face detector (insightface ONNX export with 5 keypoints) on explicit execution providers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from gpu_worker.models.providers import make_session, on_gpu, run_fixed_batches

STRIDES = (8, 16, 32)
NUM_ANCHORS = 2  # SCRFD *_bnkps exports: two anchors per feature-map cell
HEADS = ("score", "bbox", "kps")
# Images per detector run (the worker's batch). Bounds memory when tiles multiply the canvases
# (10 photos x 9 tiles would be one 440 MB blob), and on a GPU every run is padded to exactly this.
RUN_BATCH = 10
# Tiling: a photo shrunk below this scale to fit the canvas loses its small faces (SCRFD needs
# about 10 px; a 40 px face in a 12 MP photo becomes 6 px), so it is also searched in overlapping
# tiles, at most MAX_TILES_PER_SIDE a side (9 extra runs), each tile fitting the canvas on its own.
TILE_BELOW_SCALE = 0.5
MAX_TILES_PER_SIDE = 3
TILE_OVERLAP = 0.2  # of a tile's size, so a face on a seam is whole in one of them
# Tiles exist for faces too small for the whole view; a bigger "face" found in a tile is a piece of a
# face the whole view already has (a cheek and mouth cut by a seam), as are boxes touching a seam.
TILE_MAX_FACE_CANVAS_PX = 32


@dataclass
class Detections:
    """Faces found in one image, in original-image pixels."""

    boxes: np.ndarray  # (n, 4) x1,y1,x2,y2
    scores: np.ndarray  # (n,)
    kps: np.ndarray  # (n, 5, 2): left eye, right eye, nose, left mouth, right mouth

    @classmethod
    def empty(cls) -> "Detections":
        """No face."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))

    def shifted(self, x: int, y: int) -> "Detections":
        """The same faces moved by (x, y) pixels: from a tile's coordinates to its photo's."""
        offset = np.array([x, y], dtype=np.float32)
        return Detections(self.boxes + np.tile(offset, 2), self.scores, self.kps + offset)


@dataclass
class _Placement:
    """Where one image was placed on the detector canvas."""

    scale: float
    pad_x: int
    pad_y: int


class ScrfdDetector:
    """Batch face detection: letterbox, one ONNX run per pyramid level, anchor decoding, NMS."""

    def __init__(
        self,
        path: str | Path,
        providers: list[str] | None = None,
        input_size: tuple[int, int] = (640, 640),
        score_threshold: float = 0.5,
        nms_threshold: float = 0.4,
        max_tiles_per_side: int = MAX_TILES_PER_SIDE,
    ):
        self.path, self.requested = path, providers
        self.session = make_session(path, providers)
        self.providers = self.session.get_providers()
        self.gpu = on_gpu(self.session)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        # Some exports (e.g. buffalo_l's det_10g) drop the batch axis: outputs [anchors, k], one image per run.
        self.batched = len(self.session.get_outputs()[0].shape) == 3
        self.size = _round32(int(input_size[0]), int(input_size[1]))
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self._sessions = {self.size: self.session}  # on a GPU, one session per canvas size
        self.max_tiles_per_side = max_tiles_per_side  # 0: no tiling (a CPU-bound site may prefer speed)

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect faces in BGR images: one batched run per pyramid level, merged by NMS."""
        if not images:
            return []
        # The half-size level exists for frame-filling faces: at full size they outgrow SCRFD's
        # largest anchors and are missed; at half size they fall back inside the trained range.
        levels = [self.size, _round32(self.size[0] // 2, self.size[1] // 2)]
        per_level = [self._run(images, size) for size in levels]
        per_image = [[found[i] for found in per_level] for i in range(len(images))]
        tiles = [(i, *tile) for i, image in enumerate(images) for tile in _tiles(image, self.size, self.max_tiles_per_side)]
        if tiles:
            found = self._run([crop for _, _, _, crop in tiles], self.size)
            for (i, x, y, crop), detections in zip(tiles, found):
                per_image[i].append(_small_whole_faces(detections, images[i].shape, (x, y, crop.shape), self.size))
        return [self._merge(candidates) for candidates in per_image]

    def _run(self, images: Sequence[np.ndarray], size: tuple[int, int]) -> list[Detections]:
        """Detector runs of at most RUN_BATCH images at one canvas size; raw (pre-NMS) candidates."""
        if len(images) > RUN_BATCH:
            return [d for i in range(0, len(images), RUN_BATCH) for d in self._run(images[i : i + RUN_BATCH], size)]
        canvases, places = zip(*(_letterbox(image, size) for image in images))
        blob = np.stack(canvases).astype(np.float32)
        blob = (blob[..., ::-1] - 127.5) / 128.0  # SCRFD was trained on RGB, (x-127.5)/128
        blob = np.ascontiguousarray(blob.transpose(0, 3, 1, 2))
        session = self._session(size)

        def run(batch: np.ndarray) -> list[np.ndarray]:
            return session.run(self.output_names, {self.input_name: batch})

        if not self.batched:
            runs = [run(one[None]) for one in blob]
            raw = [np.concatenate([o.reshape(1, -1, o.shape[-1]) for o in per_output]) for per_output in zip(*runs)]
        else:
            raw = run_fixed_batches(run, blob, RUN_BATCH) if self.gpu else run(blob)
        heads = self._heads(dict(zip(self.output_names, raw)))
        return [self._decode(heads, i, place, size) for i, place in enumerate(places)]

    def _session(self, size: tuple[int, int]):
        """The session for one canvas size: shared on CPU, its own on a GPU (a fixed shape each)."""
        if not self.gpu:
            return self.session
        if size not in self._sessions:
            self._sessions[size] = make_session(self.path, self.requested)
        return self._sessions[size]

    def _heads(self, outputs: dict) -> dict[tuple[str, int], np.ndarray]:
        """Outputs keyed by (head, stride): by name when exported as score_8 etc., else insightface order."""
        if all(f"{h}_{s}" in outputs for h in HEADS for s in STRIDES):
            return {(h, s): outputs[f"{h}_{s}"] for h in HEADS for s in STRIDES}
        ordered = list(outputs.values())
        return {(h, s): ordered[i * len(STRIDES) + j] for i, h in enumerate(HEADS) for j, s in enumerate(STRIDES)}

    def _decode(self, heads: dict, index: int, place: _Placement, size: tuple[int, int]) -> Detections:
        """Anchor decoding for one image of the batch, back to original pixels (no NMS yet)."""
        boxes, scores, kpss = [], [], []
        for stride in STRIDES:
            score = heads["score", stride][index].reshape(-1)
            keep = np.where(score >= self.score_threshold)[0]
            if keep.size == 0:
                continue
            centers = _anchor_centers(size[1] // stride, size[0] // stride, stride)[keep]
            dist = heads["bbox", stride][index][keep] * stride
            kps = heads["kps", stride][index][keep] * stride
            boxes.append(np.hstack([centers - dist[:, :2], centers + dist[:, 2:]]))
            kpss.append(kps.reshape(-1, 5, 2) + centers[:, None, :])
            scores.append(score[keep])
        if not scores:
            return Detections.empty()
        offset = np.array([place.pad_x, place.pad_y], dtype=np.float32)
        box_pts = (np.vstack(boxes).reshape(-1, 2, 2) - offset) / place.scale
        kps_pts = (np.vstack(kpss) - offset) / place.scale
        return Detections(
            box_pts.reshape(-1, 4).astype(np.float32),
            np.concatenate(scores).astype(np.float32),
            kps_pts.astype(np.float32),
        )

    def _merge(self, found: list[Detections]) -> Detections:
        """Union of the candidates of every level, de-duplicated by NMS."""
        scores = np.concatenate([f.scores for f in found])
        if not len(scores):
            return Detections.empty()
        boxes, kps = np.vstack([f.boxes for f in found]), np.vstack([f.kps for f in found])
        keep = nms(boxes, scores, self.nms_threshold)
        return Detections(boxes[keep], scores[keep], kps[keep])


def _tiles(image: np.ndarray, size: tuple[int, int], max_per_side: int = MAX_TILES_PER_SIDE) -> list[tuple]:
    """(x, y, crop) overlapping tiles of a photo too big for the canvas; none for a photo that fits."""
    h, w = image.shape[:2]
    scale = min(size[0] / w, size[1] / h)
    if scale >= TILE_BELOW_SCALE or max_per_side < 2:
        return []
    per_side = min(max_per_side, int(np.ceil(TILE_BELOW_SCALE / scale)))
    tile_w, tile_h = (int(np.ceil(n / (per_side - (per_side - 1) * TILE_OVERLAP))) for n in (w, h))
    xs = np.linspace(0, w - tile_w, per_side).astype(int)
    ys = np.linspace(0, h - tile_h, per_side).astype(int)
    return [(int(x), int(y), image[y : y + tile_h, x : x + tile_w]) for y in ys for x in xs]


def _small_whole_faces(found: Detections, photo: tuple, tile: tuple, size: tuple[int, int]) -> Detections:
    """A tile's faces in photo pixels, keeping only those too small for the whole view and not cut by a seam."""
    x, y, (tile_h, tile_w, _) = tile
    h, w = photo[:2]
    moved = found.shifted(x, y)
    boxes = moved.boxes
    whole_scale = min(size[0] / w, size[1] / h)
    small = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * whole_scale < TILE_MAX_FACE_CANVAS_PX
    margin = 2.0
    seams = ((boxes[:, 0] <= x + margin) & (x > 0)) | ((boxes[:, 1] <= y + margin) & (y > 0))
    seams |= ((boxes[:, 2] >= x + tile_w - margin) & (x + tile_w < w)) | ((boxes[:, 3] >= y + tile_h - margin) & (y + tile_h < h))
    keep = small & ~seams
    return Detections(boxes[keep], moved.scores[keep], moved.kps[keep])


def _round32(width: int, height: int) -> tuple[int, int]:
    """Canvas size rounded down to SCRFD's multiple of 32 (at least 32)."""
    return max(32, width - width % 32), max(32, height - height % 32)


def _letterbox(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, _Placement]:
    """Resize keeping aspect to fit the canvas, centred; black padding around."""
    width, height = size
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interp)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return canvas, _Placement(new_w / w, pad_x, pad_y)


def _anchor_centers(rows: int, cols: int, stride: int) -> np.ndarray:
    """(rows*cols*NUM_ANCHORS, 2) anchor centres in canvas pixels, in the export's memory order."""
    ys, xs = np.mgrid[:rows, :cols]
    centers = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
    return np.repeat(centers, NUM_ANCHORS, axis=0)


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
