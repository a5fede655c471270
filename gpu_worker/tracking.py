"""Following faces across a part's sampled frames: box overlap (or plausible motion) plus embedding similarity.

Each face found in a frame joins the open track it most resembles, if the two embeddings are at least the model's
match threshold alike and the face is where the track's face could have moved to (its boxes overlap, or its
centre moved at most `max_speed` face widths per second); a face that is the same person beyond doubt (halfway
from the alert threshold to 1) joins wherever it is. Faces that join no track start one; a track not seen for
`max_gap_s` is closed. Each track keeps its best frames (facetrace.footage.clip.frame_score), whose embeddings
make its representative, the JPEG of its best frame (the still an alert shows) and the path of its face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from facetrace.footage.clip import frame_score
from facetrace.messages import Face, ModelInfo, Quality, Track
from gpu_worker.engine import DetectedFace, l2_normalise

MAX_PATH = 240


@dataclass(frozen=True)
class TrackerConfig:
    """The tracker's knobs (tests and the evaluation vary them)."""

    max_gap_s: float = 1.6  # three missed samples at 2 frames per second
    max_speed: float = 4.0  # face widths per second a face may move between samples
    keep: int = 3  # best frames whose embeddings are averaged into the representative
    representative: str = "mean"  # "mean" of the kept frames, or the "best" frame's alone
    max_open: int = 256  # open tracks at once (a crowd); the stalest is closed beyond


@dataclass
class _Seen:
    t: float
    box: np.ndarray  # in clip pixels
    picture_box: np.ndarray  # in the sampled picture's pixels
    landmarks: np.ndarray  # in the sampled picture's pixels
    quality: Quality
    embedding: np.ndarray
    score: float


@dataclass
class _Open:
    number: int
    first: _Seen
    last: _Seen
    frames: int = 1
    best: list[_Seen] = field(default_factory=list)
    still: bytes | None = None
    still_size: tuple[int, int] = (0, 0)
    path: list[tuple[float, float, float, float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class FinishedTrack:
    """A closed track: the message for match and the JPEG of its best frame."""

    track: Track
    still: bytes | None


class Tracker:
    """Turns a part's faces, frame after frame, into tracks."""

    def __init__(self, model: ModelInfo, encode: Callable[[np.ndarray], bytes], config: TrackerConfig = TrackerConfig()):
        self.model, self.encode, self.config = model, encode, config
        self.same = model.match_threshold
        self.certain = model.alert_threshold + (1.0 - model.alert_threshold) / 2
        self._open: list[_Open] = []
        self._closed: list[FinishedTrack] = []
        self._numbers = 0

    def update(self, t: float, faces: list[DetectedFace], picture: np.ndarray, scale: float) -> None:
        """Add one sampled frame's faces (boxes in the picture, which is the clip frame times `scale`)."""
        self._close_stale(t)
        seen = [self._seen(t, f, scale) for f in faces]
        pairs = self._pairs(seen, t)
        taken_tracks, taken_faces = set(), set()
        for _, track_at, face_at in sorted(pairs, key=lambda p: -p[0]):
            if track_at in taken_tracks or face_at in taken_faces:
                continue
            taken_tracks.add(track_at)
            taken_faces.add(face_at)
            self._extend(self._open[track_at], seen[face_at], picture)
        for n, s in enumerate(seen):
            if n not in taken_faces:
                self._start(s, picture)

    def finish(self) -> list[FinishedTrack]:
        """Close every track; all tracks of the part, in order of their number."""
        for track in self._open:
            self._closed.append(self._finished(track))
        self._open = []
        return sorted(self._closed, key=lambda f: f.track.track)

    @property
    def open_tracks(self) -> int:
        return len(self._open)

    def _seen(self, t: float, face: DetectedFace, scale: float) -> _Seen:
        box = np.asarray(face.box, dtype=np.float64)
        return _Seen(t, box / scale, box, np.asarray(face.landmarks, dtype=np.float64), face.quality,
                     l2_normalise(face.embedding), frame_score(face.quality))

    def _pairs(self, seen: list[_Seen], t: float) -> list[tuple[float, int, int]]:
        pairs = []
        for i, track in enumerate(self._open):
            for j, s in enumerate(seen):
                cos = float(np.dot(track.last.embedding, s.embedding))
                overlap = _iou(track.last.box, s.box)
                if cos >= self.certain or (cos >= self.same and (overlap > 0 or self._moved_plausibly(track.last, s))):
                    pairs.append((cos + 0.5 * overlap, i, j))
        return pairs

    def _moved_plausibly(self, last: _Seen, now: _Seen) -> bool:
        width = max(last.box[2] - last.box[0], now.box[2] - now.box[0], 1.0)
        distance = float(np.linalg.norm(_centre(now.box) - _centre(last.box)))
        return distance <= width * (1.0 + self.config.max_speed * max(now.t - last.t, 0.0))

    def _start(self, seen: _Seen, picture: np.ndarray) -> None:
        if len(self._open) >= self.config.max_open:
            stalest = min(self._open, key=lambda o: o.last.t)
            self._open.remove(stalest)
            self._closed.append(self._finished(stalest))
        track = _Open(self._numbers, seen, seen)
        self._numbers += 1
        self._keep(track, seen, picture)
        self._open.append(track)

    def _extend(self, track: _Open, seen: _Seen, picture: np.ndarray) -> None:
        track.last = seen
        track.frames += 1
        self._keep(track, seen, picture)

    def _keep(self, track: _Open, seen: _Seen, picture: np.ndarray) -> None:
        track.path.append((round(seen.t, 3), *(round(float(v), 1) for v in seen.box)))
        if not track.best or seen.score > track.best[0].score:
            track.still = self.encode(picture)  # a new best frame: its picture becomes the still
            track.still_size = (picture.shape[1], picture.shape[0])
        track.best = sorted(track.best + [seen], key=lambda s: -s.score)[: self.config.keep]

    def _close_stale(self, t: float) -> None:
        stale = [o for o in self._open if t - o.last.t > self.config.max_gap_s]
        for track in stale:
            self._open.remove(track)
            self._closed.append(self._finished(track))

    def _finished(self, track: _Open) -> FinishedTrack:
        best = track.best[0]
        if self.config.representative == "best":
            vector = best.embedding
        else:
            vector = l2_normalise(np.mean([s.embedding for s in track.best], axis=0))
        face = Face.build(0, best.picture_box, best.landmarks, best.quality, vector)
        step = max(1, -(-len(track.path) // MAX_PATH))
        message = Track(track=track.number, start_s=track.first.t, end_s=track.last.t, best_s=best.t,
                        frames=track.frames, box=face.box, landmarks=face.landmarks, quality=best.quality,
                        embedding_b64=face.embedding_b64, still_width=track.still_size[0],
                        still_height=track.still_size[1], path=track.path[::step])
        return FinishedTrack(message, track.still)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
