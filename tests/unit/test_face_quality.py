"""Quality gates, yaw estimation and alignment (pure functions, no model needed)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gpu_worker.align import ARCFACE_TEMPLATE, align_faces, similarity_transform
from gpu_worker.quality import REFERENCE_GATE, SIGHTING_GATE, assess, blur_score, estimate_yaw


def test_reference_gate_is_stricter_than_sighting_gate():
    # GIVEN the two gates THEN every reference threshold is at least as demanding
    assert REFERENCE_GATE.min_face_px > SIGHTING_GATE.min_face_px
    assert REFERENCE_GATE.min_blur > SIGHTING_GATE.min_blur
    assert REFERENCE_GATE.max_abs_yaw < SIGHTING_GATE.max_abs_yaw


def test_good_face_passes_both_gates_without_reasons():
    quality = assess(det_score=0.9, min_reference_score=0.7, face_px=200, blur=500, yaw=5)
    assert quality.usable_as_reference and quality.usable_as_sighting and quality.reasons == []


def test_turned_face_is_a_sighting_with_a_reason():
    # GIVEN a sharp large face turned 45 deg WHEN assessed THEN sighting only, and why
    quality = assess(det_score=0.9, min_reference_score=0.7, face_px=200, blur=500, yaw=-45)
    assert not quality.usable_as_reference and quality.usable_as_sighting
    assert quality.reasons == ["head turned too far for a reference (yaw -45 deg, max 30)"]


def test_doubtful_detection_is_no_reference():
    quality = assess(det_score=0.55, min_reference_score=0.7, face_px=200, blur=500, yaw=0)
    assert not quality.usable_as_reference and quality.usable_as_sighting
    assert "not confident" in quality.reasons[0]


def test_smear_is_refused_for_both_uses():
    quality = assess(det_score=0.9, min_reference_score=0.7, face_px=16, blur=2, yaw=0)
    assert not quality.usable_as_reference and not quality.usable_as_sighting
    assert sum("sighting" in r for r in quality.reasons) == 2


def test_yaw_is_zero_when_the_nose_is_centred_and_signed_when_not():
    # GIVEN eyes level and the nose under their midpoint, then shifted by a third of the eye distance
    left, right = (30.0, 50.0), (70.0, 50.0)
    assert estimate_yaw(left, right, (50.0, 70.0)) == pytest.approx(0.0)
    turned = estimate_yaw(left, right, (50.0 + 40 / 3, 70.0))
    assert 20 < turned < 35 and estimate_yaw(left, right, (50.0 - 40 / 3, 70.0)) == pytest.approx(-turned)


def test_yaw_ignores_head_roll():
    # GIVEN the same face rolled by 30 deg THEN the same yaw
    angle = np.radians(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = np.array([(30.0, 50.0), (70.0, 50.0), (58.0, 70.0)]) @ rotation.T
    assert estimate_yaw(*points) == pytest.approx(estimate_yaw((30.0, 50.0), (70.0, 50.0), (58.0, 70.0)))


def test_alignment_maps_landmarks_onto_the_template():
    # GIVEN template landmarks rotated, scaled x3 and moved into a bigger image
    angle = np.radians(25)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = ARCFACE_TEMPLATE @ rotation.T * 3 + (200, 100)
    # WHEN the similarity is estimated THEN it maps them back onto the template
    matrix = similarity_transform(landmarks)
    assert np.allclose(landmarks @ matrix[:, :2].T + matrix[:, 2], ARCFACE_TEMPLATE, atol=1e-3)
    crops = align_faces(np.zeros((600, 600, 3), np.uint8), [landmarks, landmarks])
    assert crops.shape == (2, 112, 112, 3)


def test_blur_score_drops_when_blurred():
    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
    assert blur_score(cv2.GaussianBlur(sharp, (0, 0), 3)) < blur_score(sharp) / 10
