"""Tracking faces across sampled frames: box overlap or plausible motion, plus embedding similarity."""

from __future__ import annotations

import numpy as np

from gpu_worker.engine import DetectedFace
from gpu_worker.tracking import Tracker, TrackerConfig
from tests.fakes import MODEL, quality, unit, with_cosine

A, B = unit(1, 0, 0), unit(0, 1, 0)
PICTURE = np.zeros((240, 320, 3), np.uint8)


def seen(x: float, vector, score: float = 0.9, size: float = 60.0, usable: bool = True) -> DetectedFace:
    q = quality(sighting=usable).model_copy(update={"det_score": score, "face_px": size})
    box = np.array([x, 50.0, x + size, 50.0 + size])
    return DetectedFace(box=box, landmarks=np.zeros((5, 2)), det_score=score, embedding=vector, quality=q)


def run(frames, config=TrackerConfig()):
    tracker = Tracker(MODEL, lambda picture: b"jpeg", config)
    for t, faces in frames:
        tracker.update(t, faces, PICTURE, 1.0)
    return [f.track for f in tracker.finish()]


def test_one_face_walking_across_is_one_track_with_its_best_frame():
    # GIVEN one person moving 30 px per half second, clearest at 1.0 s
    frames = [(t / 2, [seen(30 * t, with_cosine(A, 0.95), score=0.99 if t == 2 else 0.8)]) for t in range(6)]
    # WHEN tracked THEN one track spans 0-2.5 s, seen 6 times, its still from 1.0 s
    [track] = run(frames)
    assert (track.start_s, track.end_s, track.frames, track.best_s) == (0.0, 2.5, 6, 1.0)
    assert len(track.path) == 6 and track.path[2][:2] == (1.0, 60.0)
    assert abs(float(np.linalg.norm(track.embedding())) - 1) < 1e-5


def test_two_people_crossing_stay_two_tracks():
    # GIVEN two people walking towards each other and crossing at 1.0 s
    frames = [(t / 2, [seen(20 + 40 * t, A), seen(180 - 40 * t, B)]) for t in range(5)]
    tracks = run(frames)
    # THEN each keeps their own track: same person, never swapped at the crossing
    assert len(tracks) == 2
    assert {round(float(np.dot(t.embedding(), A))) for t in tracks} == {0, 1}
    assert all(t.frames == 5 for t in tracks)


def test_a_face_lost_longer_than_the_gap_starts_a_new_track():
    # GIVEN a person seen at 0-1 s, gone, and seen again from 3 s
    frames = [(0.0, [seen(10, A)]), (0.5, [seen(20, A)]), (1.0, [seen(30, A)]), (1.5, []), (2.0, []), (2.5, []),
              (3.0, [seen(40, A)]), (3.5, [seen(50, A)])]
    tracks = run(frames, TrackerConfig(max_gap_s=1.6))
    # THEN two tracks: the tracker does not bridge a gap; appearances decide that later
    assert [(t.start_s, t.end_s) for t in tracks] == [(0.0, 1.0), (3.0, 3.5)]


def test_a_similar_face_far_away_is_another_person_unless_certainly_the_same():
    # GIVEN a face at the left, then a merely similar one far to the right half a second later
    far = run([(0.0, [seen(0, A)]), (0.5, [seen(260, with_cosine(A, 0.6))])])
    # AND the same, but the embeddings are near-identical (a jump cut to another camera angle)
    certain = run([(0.0, [seen(0, A)]), (0.5, [seen(260, with_cosine(A, 0.95))])])
    # THEN the first is two tracks, the second one
    assert len(far) == 2 and len(certain) == 1


def test_the_representative_averages_the_best_frames_or_takes_the_best():
    # GIVEN three frames of one person: the best two near A, a poor one off
    frames = [(0.0, [seen(0, with_cosine(A, 0.9), score=0.95)]), (0.5, [seen(10, with_cosine(A, 0.9), score=0.9)]),
              (1.0, [seen(20, with_cosine(A, 0.6), score=0.3, usable=False)])]
    [mean] = run(frames, TrackerConfig(keep=2))
    [best] = run(frames, TrackerConfig(representative="best"))
    # THEN the mean of the two best is closer to A than either; "best" is the best frame's own
    assert float(np.dot(mean.embedding(), A)) > 0.9
    assert abs(float(np.dot(best.embedding(), A)) - 0.9) < 1e-5
