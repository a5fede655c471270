"""One part of a clip, start to finish: fetch the clip, decode and sample the part, find and embed faces in batches
of frames, follow them into tracks, store each track's best frame, and send the tracks (and progress meanwhile).

A part fails alone and says why: a clip gone from storage or not the bytes ingest checked (`fetch`), a stream that
breaks half-way (`decode`: the tracks found before the break are sent with the failure, so nothing found is
lost), an engine that fails every frame (a passing fault: the job is left for a later delivery, and failed on its
last). A frame that crashes the engine on its own is skipped and counted.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol

import cv2
import numpy as np
from aws_lambda_powertools import Logger
from pydantic import TypeAdapter

from facetrace.footage.clip import file_sha256
from facetrace.config import Settings
from facetrace.keys import results_key, still_key
from facetrace.messages import FailedStage, FootageProgress, Job, Track, TracksResult
from facetrace.ports import ObjectInfo, ObjectStore, Queue
from gpu_worker.engine import FaceEngine
from gpu_worker.tracking import FinishedTrack, Tracker, TrackerConfig
from gpu_worker.video import DecodeStats, Sampled, Sampling, VideoError, sample_frames

logger = Logger(child=True)

_TRACKS = TypeAdapter(list[Track])
STILL_QUALITY = 90


class ClipObjects(ObjectStore, Protocol):
    def download(self, key: str, path: str, etag: str | None = None) -> ObjectInfo | None: ...


@dataclass(frozen=True)
class FootageConfig:
    """How a part is sampled, batched, tracked and reported."""

    sampling: Sampling = Sampling()
    batch_frames: int = 16
    max_faces: int = 20
    progress_s: float = 10.0
    max_message_bytes: int = 200_000
    max_receives: int = 3
    tracker: TrackerConfig = TrackerConfig()

    @classmethod
    def from_settings(cls, settings: Settings) -> "FootageConfig":
        """The footage part of the settings."""
        sampling = Sampling(sample_fps=settings.footage_sample_fps, scene_change=settings.footage_scene_change,
                            max_side=settings.footage_max_side, max_pixels=settings.footage_max_pixels)
        return cls(sampling=sampling, batch_frames=settings.footage_batch_frames,
                   max_faces=settings.max_faces_per_image, progress_s=settings.footage_progress_s,
                   max_message_bytes=settings.max_message_bytes, max_receives=settings.max_receives)


class PassingFault(Exception):
    """Not this part's fault (storage, an engine failing everything): another delivery may succeed."""


@dataclass
class _Part:
    job: Job
    stats: DecodeStats = field(default_factory=DecodeStats)
    faces_found: int = 0
    frames_skipped: int = 0
    stage: FailedStage | None = None
    error: str | None = None
    tracks: list[FinishedTrack] = field(default_factory=list)


class FootageRunner:
    """Processes one footage job at a time for the worker loop (gpu_worker/worker.py)."""

    def __init__(self, engine: FaceEngine, objects: ClipObjects, results: Queue, config: FootageConfig,
                 workdir: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.objects, self.results, self.config = engine, objects, results, config
        self.workdir, self.clock = workdir, clock

    def run(self, job: Job, receive_count: int = 1) -> bool:
        """Process the part and send its result; False when it should be delivered again later."""
        part = _Part(job)
        try:
            with tempfile.TemporaryDirectory(dir=self.workdir, prefix="part-") as folder:
                self._process(part, os.path.join(folder, "clip"))
        except PassingFault as exc:
            logger.warning("part failed", extra={"photo_id": job.photo_id, "part": job.part.index,
                                                 "error": str(exc)[:300], "receive_count": receive_count})
            if receive_count < self.config.max_receives:
                return False
            part.stage, part.error = part.stage or "faces", str(exc)
        self._send(part)
        return True

    def _process(self, part: _Part, path: str) -> None:
        if not self._fetch(part, path):
            return
        tracker = Tracker(self.engine.model, _jpeg, self.config.tracker)
        for batch in _batches(self._frames(part, path), self.config.batch_frames):
            self._analyse(part, tracker, batch)
        part.tracks = tracker.finish()
        self._store_stills(part)

    def _fetch(self, part: _Part, path: str) -> bool:
        try:
            info = self.objects.download(part.job.key, path)
        except Exception as exc:
            raise PassingFault(f"cannot read the clip: {type(exc).__name__}: {exc}") from exc
        if info is None:
            part.stage, part.error = "fetch", "the clip was removed from storage before it could be processed"
            return False
        if part.job.sha256 and file_sha256(path) != part.job.sha256:
            part.stage, part.error = "fetch", "the stored clip is not the one that was checked (SHA-256 differs)"
            return False
        return True

    def _frames(self, part: _Part, path: str) -> Iterator[Sampled]:
        span = part.job.part
        last = self.clock()
        try:
            for frame in sample_frames(path, span.start_s, span.end_s, self.config.sampling, part.stats):
                yield frame
                if self.clock() - last >= self.config.progress_s:
                    last = self.clock()
                    self._progress(part)
        except VideoError as exc:
            # The frames before the break are still searched (the batch in hand included): nothing found is lost.
            part.stage, part.error = "decode", str(exc)

    def _analyse(self, part: _Part, tracker: Tracker, batch: list[Sampled]) -> None:
        try:
            found = self.engine.analyse([s.image for s in batch], self.config.max_faces)
        except Exception:
            logger.exception("frame batch failed; retrying frames one at a time",
                             extra={"photo_id": part.job.photo_id, "frames": len(batch)})
            found = self._one_by_one(part, batch)
        for sampled, faces in zip(batch, found):
            if faces is None:
                continue
            part.faces_found += len(faces)
            tracker.update(sampled.t, faces, sampled.image, sampled.scale)

    def _one_by_one(self, part: _Part, batch: list[Sampled]) -> list:
        found, errors = [], 0
        for sampled in batch:
            try:
                found.append(self.engine.analyse([sampled.image], self.config.max_faces)[0])
            except Exception as exc:
                errors += 1
                found.append(None)
                logger.warning("frame skipped", extra={"photo_id": part.job.photo_id, "t": sampled.t,
                                                       "error": f"{type(exc).__name__}: {exc}"[:300]})
        if errors == len(batch):
            raise PassingFault("face detection failed on every frame of a batch")
        part.frames_skipped += errors
        return found

    def _store_stills(self, part: _Part) -> None:
        stored = []
        for finished in part.tracks:
            key = still_key(part.job.photo_id, part.job.part.index, finished.track.track)
            try:
                self.objects.put(key, finished.still or b"", "image/jpeg")
            except Exception as exc:
                raise PassingFault(f"cannot store a still: {type(exc).__name__}: {exc}") from exc
            stored.append(FinishedTrack(finished.track.model_copy(update={"still_key": key}), None))
        part.tracks = stored

    def _progress(self, part: _Part) -> None:
        message = FootageProgress(clip_id=part.job.photo_id, part=part.job.part.index,
                                  frames_total=part.stats.frames_total, frames_done=part.stats.frames_decoded,
                                  faces_found=part.faces_found)
        try:
            self.results.send(message.model_dump_json())
        except Exception:
            logger.exception("progress not sent", extra={"photo_id": part.job.photo_id})  # the result still will be

    def _send(self, part: _Part) -> None:
        stats = part.stats
        result = TracksResult(
            job=part.job, status="failed" if part.stage else "ok", stage=part.stage, error=_error(part),
            model=self.engine.model, frames_total=max(stats.frames_total, stats.frames_decoded),
            frames_decoded=stats.frames_decoded, frames_sampled=stats.frames_sampled, faces_found=part.faces_found,
            tracks=[t.track for t in part.tracks])
        body = result.model_dump_json()
        if len(body.encode()) > self.config.max_message_bytes:
            key = results_key(f"{part.job.photo_id}-{part.job.part.index}", self.engine.model.name)
            self.objects.put(key, _TRACKS.dump_json(result.tracks), "application/json")
            body = result.model_copy(update={"tracks": [], "tracks_key": key}).model_dump_json()
        self.results.send(body, dedup_id=f"{part.job.photo_id}:{part.job.part.index}")
        logger.info("part done", extra={"photo_id": part.job.photo_id, "part": part.job.part.index,
                                        "status": result.status, "stage": part.stage, "tracks": len(part.tracks),
                                        "frames_decoded": stats.frames_decoded, "frames_sampled": stats.frames_sampled,
                                        "faces": part.faces_found, "frames_skipped": part.frames_skipped})


def _error(part: _Part) -> str | None:
    if part.error is None:
        return None
    kept = f" ({len(part.tracks)} tracks found before it are kept)" if part.tracks else ""
    return (part.error + kept)[:1000]


def _batches(frames: Iterable[Sampled], size: int) -> Iterator[list[Sampled]]:
    batch: list[Sampled] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _jpeg(picture: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, STILL_QUALITY])
    return data.tobytes() if ok else b""

