"""Decoding a part of a clip with PyAV (FFmpeg), one frame at a time, and choosing the frames to search.

Every frame of the part is decoded (a video cannot be decoded from arbitrary frames), but only a few are turned
into pictures: one every 1/sample_fps seconds, and both frames around every scene change (a cut: the frame before
and the first of the new scene, which an encoder normally makes a key frame), found by comparing each frame's
32x18 grey thumbnail with the previous one's. Frames larger than max_side are scaled down while converting.
Memory is bounded whatever the clip: one decoded frame, the previous one, and the picture handed out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import av
import numpy as np

THUMB = (32, 18)


class VideoError(ValueError):
    """The part cannot be decoded (a broken or truncated stream); the message says where and why."""


@dataclass(frozen=True)
class Sampled:
    """One frame chosen for the face engine: its time in the clip (s), its picture (BGR) and its scale."""

    t: float
    image: np.ndarray
    scale: float  # picture pixels per clip pixel (1.0 unless scaled down)
    scene_change: bool = False


@dataclass
class DecodeStats:
    """What decoding a part did: frames it should hold, frames decoded, frames handed out."""

    frames_total: int = 0
    frames_decoded: int = 0
    frames_sampled: int = 0
    scene_changes: int = 0
    last_t: float | None = None  # the time of the last frame decoded


@dataclass(frozen=True)
class Sampling:
    """How frames are chosen and converted."""

    sample_fps: float = 2.0
    scene_change: float = 0.25
    max_side: int = 1920
    max_pixels: int = 3840 * 2160


def sample_frames(path: str, start_s: float, end_s: float, sampling: Sampling, stats: DecodeStats) -> Iterator[Sampled]:
    """The frames to search in [start_s, end_s) of the clip at `path`, in time order; VideoError if it breaks."""
    try:
        with av.open(path, mode="r") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            stats.frames_total = max(1, int(round((end_s - start_s) * fps)))
            yield from _sample(container, stream, start_s, end_s, sampling, stats)
    except av.FFmpegError as exc:
        at = stats.last_t if stats.last_t is not None else start_s
        raise VideoError(f"the video cannot be decoded after {at:.1f} s: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None


def _sample(container, stream, start_s: float, end_s: float, sampling: Sampling,
            stats: DecodeStats) -> Iterator[Sampled]:
    origin = stream.start_time or 0
    if start_s > 0:
        container.seek(int(start_s / stream.time_base) + origin, stream=stream, backward=True, any_frame=False)
    step = 1.0 / sampling.sample_fps
    due = start_s
    previous, previous_thumb, previous_taken = None, None, True
    for frame in container.decode(stream):
        t = _time(frame, stream, origin, stats)
        if t >= end_s:
            break
        thumb = _thumb(frame)
        cut = previous_thumb is not None and float(np.mean(np.abs(thumb - previous_thumb))) > sampling.scene_change
        if t < start_s - 1e-6:
            previous, previous_thumb = frame, thumb  # before the part: decoded only to reach it
            continue
        stats.frames_decoded += 1
        _check_size(frame, sampling)
        if cut:
            stats.scene_changes += 1
            if not previous_taken and previous is not None and previous.time is not None:
                # The last frame of the scene that ended: searched too, it may hold a face the cut took away.
                yield _picture(previous, _time(previous, stream, origin, None), sampling, stats, True)
        take = t + 1e-6 >= due or cut
        if t + 1e-6 >= due:
            due += step * max(1, int((t + 1e-6 - due) / step) + 1)
        if take:
            yield _picture(frame, t, sampling, stats, cut)
        previous, previous_thumb, previous_taken = frame, thumb, take


def _time(frame, stream, origin: int, stats: DecodeStats | None) -> float:
    if frame.pts is not None:
        t = float((frame.pts - origin) * stream.time_base)
    else:  # no timestamp (a bare MJPEG stream): count frames
        t = (stats.frames_decoded if stats else 0) / float(stream.average_rate or 25)
    if stats is not None:
        stats.last_t = t
    return t


def _thumb(frame) -> np.ndarray:
    small = frame.reformat(width=THUMB[0], height=THUMB[1], format="gray")
    return small.to_ndarray().astype(np.float32) / 255.0


def _check_size(frame, sampling: Sampling) -> None:
    if frame.width * frame.height > sampling.max_pixels:
        # The header said otherwise (ingest checked it): a stream that changes size mid-way is refused.
        raise VideoError(f"a frame of {frame.width}x{frame.height} pixels is larger than the "
                         f"{sampling.max_pixels} pixels allowed")


def _picture(frame, t: float, sampling: Sampling, stats: DecodeStats, cut: bool) -> Sampled:
    scale = min(1.0, sampling.max_side / max(frame.width, frame.height))
    if scale < 1.0:
        width, height = int(frame.width * scale) // 2 * 2, int(frame.height * scale) // 2 * 2
        image = frame.to_ndarray(format="bgr24", width=width, height=height)
    else:
        image = frame.to_ndarray(format="bgr24")
    stats.frames_sampled += 1
    return Sampled(round(t, 3), np.ascontiguousarray(image), scale, cut)
