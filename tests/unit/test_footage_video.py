"""Video clips through the real library (PyAV/FFmpeg): ingest's header check and the worker's sampling.

The clips are encoded here, in every codec and container FaceTrace accepts; no faces are needed for these."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from facetrace.adapters.video import PyAVProbe
from facetrace.footage.clip import FootageLimits, VideoRejected
from gpu_worker.video import DecodeStats, Sampling, VideoError, sample_frames
from tests.clips import corrupted, truncated

LIMITS = FootageLimits(max_bytes=10**10, max_duration_s=3600, max_pixels=1920 * 1080, max_fps=120)


def scenes(path: Path, seconds: float, fps: int = 10, size=(320, 240), codec: str = "libx264", cut_at: float | None = None,
           options: dict | None = None) -> Path:
    """A clip of smoothly moving gradients; with cut_at, a different scene from then on."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    with av.open(str(path), mode="w", options=options or {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec == "libx265":
            stream.options = {"preset": "ultrafast", "x265-params": "log-level=error:pools=1:frame-threads=1"}
        elif codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        for n in range(int(seconds * fps)):
            t = n / fps
            level = 60 if cut_at is None or t < cut_at else 200
            image = np.stack([(xs + 4 * n) % 256, (ys + 2 * n) % 256, np.full_like(xs, level)], -1).astype(np.uint8)
            if cut_at is not None and t >= cut_at:
                image = 255 - image
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("name, codec, container, expected", [
    ("clip.mp4", "libx264", "mov,mp4,m4a,3gp,3g2,mj2", "h264"),
    ("clip.mov", "libx265", "mov,mp4,m4a,3gp,3g2,mj2", "hevc"),
    ("clip.mkv", "libx264", "matroska,webm", "h264"),
    ("clip.mkv", "mjpeg", "matroska,webm", "mjpeg"),
    ("clip.avi", "mjpeg", "avi", "mjpeg"),
])
def test_every_accepted_codec_and_container_is_read_from_its_header(tmp_path, name, codec, container, expected):
    # GIVEN a 3-second clip in that codec and container
    path = scenes(tmp_path / name, 3.0, codec=codec)
    # WHEN ingest probes it THEN its facts come from the header
    facts = PyAVProbe().probe(str(path), LIMITS)
    assert (facts.container, facts.codec, facts.width, facts.height, facts.fps) == (container, expected, 320, 240, 10.0)
    assert facts.duration_s == pytest.approx(3.0, abs=0.15) and facts.frames == pytest.approx(30, abs=1)


def test_a_bare_mjpeg_stream_is_measured_by_demuxing_it(tmp_path):
    # GIVEN an MJPEG stream with no container (no length in any header)
    path = scenes(tmp_path / "cam.mjpeg", 2.0, codec="mjpeg")
    # WHEN probed THEN its frames are counted
    facts = PyAVProbe().probe(str(path), LIMITS)
    assert (facts.container, facts.codec, facts.frames) == ("mjpeg", "mjpeg", 20)


@pytest.mark.parametrize("make, reason", [
    (lambda p: (p.write_bytes(b"this is not a video, only some text " * 100), p)[1], "not a readable video"),
    (lambda p: truncated(scenes(p.with_suffix(".src.mkv"), 4.0), p.with_suffix(".mkv")), "ends early"),
    # Where MP4's index sits decides which: frames missing that it lists, or the index itself missing.
    (lambda p: truncated(scenes(p.with_suffix(".src.mp4"), 4.0), p.with_suffix(".mp4")), "ends early|not a readable"),
    (lambda p: corrupted(scenes(p.with_suffix(".src.mkv"), 4.0), p.with_suffix(".mkv")), "ends early"),
    (lambda p: scenes(p.with_suffix(".mkv"), 1.0, codec="mpeg4"), "video codec mpeg4 is not accepted"),
    (lambda p: scenes(p.with_suffix(".mkv"), 0.5, size=(2560, 1440), codec="mjpeg"), "frames too large (2560x1440"),
])
def test_a_broken_truncated_foreign_or_bomb_sized_clip_is_refused_with_the_reason(tmp_path, make, reason):
    # GIVEN a file that is not an acceptable clip
    path = make(tmp_path / "bad")
    # WHEN probed THEN it is refused, and the reason says why
    with pytest.raises(VideoRejected, match=reason.replace("(", r"\(")):
        PyAVProbe().probe(str(path), LIMITS)


def test_a_clip_too_long_is_refused_before_a_frame_is_decoded(tmp_path):
    path = scenes(tmp_path / "long.mkv", 3.0)
    with pytest.raises(VideoRejected, match="video too long"):
        PyAVProbe().probe(str(path), LIMITS.model_copy(update={"max_duration_s": 2.0}))


def test_frames_are_sampled_at_the_rate_asked_and_a_part_starts_where_it_says(tmp_path):
    # GIVEN a 6-second clip at 10 frames per second
    path = str(scenes(tmp_path / "clip.mkv", 6.0))
    # WHEN the whole clip and then its second half are sampled at 2 frames per second
    whole, half = DecodeStats(), DecodeStats()
    frames = list(sample_frames(path, 0.0, 6.0, Sampling(sample_fps=2.0), whole))
    second = list(sample_frames(path, 3.0, 6.0, Sampling(sample_fps=2.0), half))
    # THEN 12 frames are handed out, every half second; every frame was decoded; the part has its own
    assert [f.t for f in frames] == [i / 2 for i in range(12)]
    assert (whole.frames_decoded, whole.frames_sampled, whole.frames_total) == (60, 12, 60)
    assert [f.t for f in second] == [3.0, 3.5, 4.0, 4.5, 5.0, 5.5] and half.frames_decoded == 30
    assert frames[0].image.shape == (240, 320, 3) and frames[0].image.dtype == np.uint8


def test_both_frames_around_a_scene_change_are_always_searched(tmp_path):
    # GIVEN a clip that cuts to another scene at 2.3 s (between two samples at 1 frame per second)
    path = str(scenes(tmp_path / "cut.mkv", 4.0, cut_at=2.3))
    stats = DecodeStats()
    times = [f.t for f in sample_frames(path, 0.0, 4.0, Sampling(sample_fps=1.0), stats)]
    # THEN the last frame before the cut and the first after it are searched besides the samples
    assert times == [0.0, 1.0, 2.0, 2.2, 2.3, 3.0] and stats.scene_changes == 1


def test_big_frames_are_scaled_down_before_the_face_engine(tmp_path):
    path = str(scenes(tmp_path / "big.mkv", 1.0, size=(1280, 720)))
    [first, *_] = sample_frames(path, 0.0, 1.0, Sampling(sample_fps=1.0, max_side=640), DecodeStats())
    assert first.image.shape == (360, 640, 3) and first.scale == 0.5


def test_a_stream_broken_half_way_stops_with_where_it_broke(tmp_path):
    # GIVEN an MJPEG clip in AVI whose second half is noise
    path = scenes(tmp_path / "clip.avi", 4.0, codec="mjpeg")
    data = bytearray(path.read_bytes())
    data[len(data) // 2:] = np.random.default_rng(1).integers(0, 256, len(data) - len(data) // 2, np.uint8).tobytes()
    path.write_bytes(bytes(data))
    stats = DecodeStats()
    # WHEN sampled THEN either the frames stop early or the decoder says where it broke; never a crash
    try:
        frames = list(sample_frames(str(path), 0.0, 4.0, Sampling(sample_fps=2.0), stats))
        assert len(frames) < 8
    except VideoError as exc:
        assert "cannot be decoded after" in str(exc)
