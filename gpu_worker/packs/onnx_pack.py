"""The ONNX pack: SCRFD detector + ArcFace-style embedder described by a manifest.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from facetrace.messages import ModelInfo
from gpu_worker.align import align_faces
from gpu_worker.engine import DetectedFace, check_images, keep_largest
from gpu_worker.models.embedder import OnnxEmbedder
from gpu_worker.models.fusion import FusedEmbedder, embedder_specs
from gpu_worker.models.scrfd import MAX_TILES, ScrfdDetector
from gpu_worker.quality import assess, blur_score, estimate_yaw, face_size

# SCRFD scores sit around 0.75-0.9 for clear faces and fall to 0.5-0.65 for small, turned or
# occluded ones; a reference must be an unambiguous face.
MIN_REFERENCE_SCORE = 0.7


class OnnxPack:
    """FaceEngine over SCRFD + an ArcFace-style embedder, configured by a pack manifest."""

    def __init__(self, manifest: dict, model_dir: str | Path, providers: list[str] | None = None):
        model_dir = Path(model_dir)
        det = manifest["detector"]
        self.detector = ScrfdDetector(
            model_dir / det["file"],
            providers,
            input_size=tuple(det.get("input_size", (640, 640))),
            score_threshold=float(det.get("score_threshold", 0.5)),
            nms_threshold=float(det.get("nms_threshold", 0.4)),
            max_tiles=_max_tiles(det),
        )
        specs, flip = embedder_specs(manifest), bool(manifest.get("flip", False))
        if len(specs) == 1 and not flip:
            emb = specs[0]
            self.embedder = OnnxEmbedder(
                model_dir / emb["file"], providers, emb.get("color", "BGR"), emb.get("mean", 127.5), emb.get("std", 127.5)
            )
        else:  # test-time options (issue #3): flip averaging, fusion of several embedders
            self.embedder = FusedEmbedder(specs, model_dir, providers, flip)
        thresholds = manifest["thresholds"]
        self.model = ModelInfo(
            name=manifest["name"],
            version=str(manifest["version"]),
            dim=self.embedder.dim,
            match_threshold=float(thresholds["match"]),
            alert_threshold=float(thresholds["alert"]),
        )
        self.providers = list(dict.fromkeys(self.detector.providers + self.embedder.providers))

    @classmethod
    def from_dir(cls, pack_dir: str | Path, providers: list[str] | None = None, model_dir: str | Path | None = None):
        """Load from a directory holding manifest.json (model files there, or in model_dir)."""
        manifest = json.loads((Path(pack_dir) / "manifest.json").read_text())
        return cls(manifest, model_dir or pack_dir, providers)

    def analyse(self, images: Sequence[np.ndarray], max_faces: int) -> list[list[DetectedFace]]:
        """BGR uint8 images -> faces per image, largest first; one embedder run for the whole batch."""
        check_images(images)
        found = self.detector.detect(images)
        kept = [keep_largest(d.boxes, max_faces) for d in found]
        crops = [align_faces(image, d.kps[idx]) for image, d, idx in zip(images, found, kept)]
        embeddings = self.embedder.embed(np.concatenate(crops)) if crops else np.zeros((0, self.model.dim))
        results, start = [], 0
        for d, idx, image_crops in zip(found, kept, crops):
            vectors = embeddings[start : start + len(idx)]
            start += len(idx)
            faces = zip(idx, vectors, image_crops)
            results.append([_face(d.boxes[i], d.kps[i], d.scores[i], v, crop) for i, v, crop in faces])
        return results


def _max_tiles(detector: dict) -> int:
    """The cap on tiles a photo: "max_tiles", or the older "max_tiles_per_side" squared (0: no tiling)."""
    if "max_tiles" not in detector and "max_tiles_per_side" in detector:
        return int(detector["max_tiles_per_side"]) ** 2
    return int(detector.get("max_tiles", MAX_TILES))


def _face(box, kps, score, embedding, crop) -> DetectedFace:
    """Assemble one face with its quality assessment (kps in ArcFace order)."""
    yaw = estimate_yaw(kps[0], kps[1], kps[2])
    quality = assess(float(score), MIN_REFERENCE_SCORE, face_size(box), blur_score(crop), yaw)
    return DetectedFace(box=box, landmarks=kps, det_score=float(score), embedding=embedding, quality=quality)
