"""SCRFD face detector (insightface ONNX export with 5 keypoints) on explicit execution providers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from gpu_worker.models.providers import make_session, on_gpu, run_fixed_batches
from gpu_worker.tiles import Tile, TilePlan, nms, plan_tiles

STRIDES = (8, 16, 32)
NUM_ANCHORS = 2  # SCRFD *_bnkps exports: two anchors per feature-map cell
HEADS = ("score", "bbox", "kps")
# Images per detector run (the worker's batch). Bounds memory when tiles multiply the canvases
# (10 photos x 9 tiles would be one 440 MB blob), and on a GPU every run is padded to exactly this.
RUN_BATCH = 10
# Tiling (gpu_worker.tiles): a photo shrunk to fit the canvas loses faces under VIEW_MIN_FACE canvas
# px (a 70 px face in 4000x3000 becomes 11 px), so one whose whole view would lose faces of
# tiles.smallest_face() is also searched in overlapping tiles, each fitting the canvas on its own;
# tiles keep faces under 37 canvas px of the whole view. At most MAX_TILES extra runs a photo (30 for
# 12000x4000, ~20 ms each on a CPU); the runs are RUN_BATCH canvases at a time, like the photos.
VIEW_MIN_FACE = 28  # box side, canvas px: 118 of 120 LFW faces found at 28 px, 115 at 24, 94 at 20
MAX_TILES = 32


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
        max_tiles: int = MAX_TILES,
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
        self.max_tiles = max_tiles  # 0: no tiling (a CPU-bound site may prefer speed)

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect faces in BGR images: one batched run per pyramid level, merged by NMS."""
        if not images:
            return []
        # The half-size level exists for frame-filling faces: at full size they outgrow SCRFD's
        # largest anchors and are missed; at half size they fall back inside the trained range.
        levels = [self.size, _round32(self.size[0] // 2, self.size[1] // 2)]
        per_level = [self._run(images, size) for size in levels]
        per_image = [[found[i] for found in per_level] for i in range(len(images))]
        plans = [self.tile_plan(image.shape[1], image.shape[0]) for image in images]
        tiles = [(i, tile) for i, plan in enumerate(plans) for tile in plan.tiles]
        if tiles:
            found = self._run([tile.crop(images[i]) for i, tile in tiles], self.size)
            for (i, tile), detections in zip(tiles, found):
                per_image[i].append(_kept(detections, tile, plans[i]))
        return [self._merge(candidates) for candidates in per_image]

    def tile_plan(self, width: int, height: int) -> TilePlan:
        """The tiles a photo of this size is also searched in (none when the whole view keeps its small faces)."""
        return tile_plan(width, height, self.size, self.max_tiles)

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


def tile_plan(width: int, height: int, size: tuple[int, int], max_tiles: int = MAX_TILES) -> TilePlan:
    """The tiles a photo is also searched in on a canvas of this size (none for ordinary photos)."""
    whole = min(size[0] / width, size[1] / height)
    return plan_tiles(width, height, whole, VIEW_MIN_FACE, size, max_tiles)


def _kept(found: Detections, tile: Tile, plan: TilePlan) -> Detections:
    """A tile's faces in photo pixels, keeping only those too small for the whole view and not cut by a seam."""
    moved = found.shifted(tile.x, tile.y)
    keep = plan.keep(moved.boxes, tile)
    return Detections(moved.boxes[keep], moved.scores[keep], moved.kps[keep])


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
