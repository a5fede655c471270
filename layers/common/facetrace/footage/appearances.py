"""Joining tracks into appearances: the same face, in tracks close in time, is one appearance of one person.

The worker follows a face across one part's sampled frames; a track ends when the face is lost for a moment (a
turned head, someone walking past in front) and at the end of each part. Tracks of one model whose gap is at most
`gap_s` and whose representative embeddings are at least the model's match threshold alike join one appearance,
across parts too. A person who leaves and comes back after longer than `gap_s` appears twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facetrace.footage.clip import StoredTrack, frame_score
from facetrace.messages import ModelInfo

# Tracks may overlap this much and still be one face (a track split by the tracker for a frame or two).
MAX_OVERLAP_S = 1.0
MAX_PATH = 240


@dataclass
class Group:
    """Tracks joined so far: one appearance in the making."""

    model: ModelInfo
    members: list[StoredTrack] = field(default_factory=list)

    @property
    def start_s(self) -> float:
        return min(m.track.start_s for m in self.members)

    @property
    def end_s(self) -> float:
        return max(m.track.end_s for m in self.members)

    def embedding(self) -> np.ndarray:
        """The members' representatives weighted by how often each was seen, L2-normalised."""
        weighted = sum(m.track.frames * m.track.embedding().astype(np.float64) for m in self.members)
        return (weighted / max(np.linalg.norm(weighted), 1e-12)).astype(np.float32)

    def best(self) -> StoredTrack:
        """The member whose best frame is best: its still shows the appearance."""
        return max(self.members, key=lambda m: (frame_score(m.track.quality), m.track.frames))

    def path(self) -> list[tuple[float, float, float, float, float]]:
        """Where the face was, in time order, at most MAX_PATH points."""
        points = sorted(p for m in self.members for p in m.track.path)
        step = max(1, -(-len(points) // MAX_PATH))
        return points[::step]


def join_tracks(tracks: list[StoredTrack], gap_s: float) -> list[Group]:
    """Group tracks into appearances, in order of their start."""
    groups: list[Group] = []
    for stored in sorted(tracks, key=lambda s: (s.track.start_s, s.part, s.track.track)):
        group = _closest(groups, stored, gap_s)
        if group is None:
            groups.append(Group(stored.model, [stored]))
        else:
            group.members.append(stored)
    return groups


def _closest(groups: list[Group], stored: StoredTrack, gap_s: float) -> Group | None:
    vector = stored.track.embedding()
    best, best_score = None, stored.model.match_threshold
    for group in groups:
        if group.model.name != stored.model.name:
            continue
        gap = stored.track.start_s - group.end_s
        if not -MAX_OVERLAP_S <= gap <= gap_s:
            continue
        score = float(np.dot(group.embedding(), vector))
        if score >= best_score:
            best, best_score = group, score
    return best
