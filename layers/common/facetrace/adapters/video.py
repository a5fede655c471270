"""The video library behind ingest's header check: PyAV (FFmpeg's demuxers and decoders).

A clip is opened from a local file; its header's facts are checked against the limits before any frame is
decoded (a bomb-sized or endless stream is refused from its header), then the first frame is decoded (a broken
stream) and the last seconds demuxed and decoded (a truncated file, whose index promises frames that are not
there). The worker decodes with the same library and version (gpu_worker/video.py).
"""

from __future__ import annotations


import av

from facetrace.footage.clip import FootageLimits, VideoFacts, VideoRejected, check_video

# The last seconds a clip's end must reach: a file whose frames stop earlier than its header says is truncated.
END_TOLERANCE_S = 1.5
# Demuxing a stream without a length in its header (a bare MJPEG stream) to count it stops after this many packets.
MAX_COUNTED_PACKETS = 2_000_000


class PyAVProbe:
    """VideoProbe on PyAV."""

    def probe(self, path: str, limits: FootageLimits) -> VideoFacts:
        """The clip's facts, checked; VideoRejected with the reason for anything else."""
        try:
            with av.open(path, mode="r") as container:
                stream = _video_stream(container)
                facts = _facts(container, stream, path)
                check_video(facts, limits)
                _first_frame(container, stream)
                _check_end(container, stream, facts)
                return facts
        except VideoRejected:
            raise
        except (av.FFmpegError, ValueError, OSError) as exc:
            raise VideoRejected(f"not a readable video: {_plain(exc)}") from None


def open_facts(path: str) -> VideoFacts:
    """The facts of a clip's header, unchecked (the worker and the benchmark read them too)."""
    with av.open(path, mode="r") as container:
        return _facts(container, _video_stream(container), path)


def _video_stream(container) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise VideoRejected("the file has no video stream")
    return container.streams.video[0]


def _facts(container, stream, path: str) -> VideoFacts:
    context = stream.codec_context
    fps = float(stream.average_rate or stream.guessed_rate or stream.base_rate or 0)
    duration = _duration(container, stream)
    frames = int(stream.frames or 0)
    if duration is None:
        duration, frames = _count(path, fps)
    return VideoFacts(container=container.format.name, codec=context.name, width=context.width or 0,
                      height=context.height or 0, fps=round(fps, 3), duration_s=round(duration, 3),
                      frames=frames or int(round(duration * fps)))


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _count(path: str, fps: float) -> tuple[float, int]:
    """Length and frames of a stream whose header has no length, by demuxing it (no decoding)."""
    with av.open(path, mode="r") as container:
        stream = container.streams.video[0]
        frames, last = 0, 0.0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            frames += 1
            if packet.pts is not None and packet.time_base:
                last = max(last, float(packet.pts * packet.time_base))
            if frames > MAX_COUNTED_PACKETS:
                break
    length = max(last + (1 / fps if fps else 0), frames / fps if fps else 0)
    return length, frames


def _first_frame(container, stream) -> None:
    for frame in container.decode(stream):
        if frame.width * frame.height != stream.codec_context.width * stream.codec_context.height:
            raise VideoRejected(f"frames are {frame.width}x{frame.height}, not the {stream.codec_context.width}x"
                                f"{stream.codec_context.height} the header declares")
        return
    raise VideoRejected("no frame could be decoded")


def _check_end(container, stream, facts: VideoFacts) -> None:
    """Decode the last seconds; refuse a clip whose frames stop well before the length its header declares."""
    start = max(0.0, facts.duration_s - 2 * END_TOLERANCE_S)
    try:
        container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
    except av.FFmpegError:
        container.seek(0, stream=stream)
    last = None
    first_pts = stream.start_time or 0
    for frame in container.decode(stream):
        if frame.pts is not None:
            last = float((frame.pts - first_pts) * stream.time_base)
    end = (last or 0.0) + 1 / max(facts.fps, 1e-6)
    if end < facts.duration_s - END_TOLERANCE_S:
        raise VideoRejected(f"the file ends early: frames stop at {end:.1f} s of the {facts.duration_s:.1f} s its "
                            "header declares (truncated or damaged)")


def _plain(exc: Exception) -> str:
    # FFmpeg's errors carry the file's path; the uploader needs only what went wrong.
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return text[:300]


