"""A clip's part in the worker: decoded, sampled, faces found in batches of frames, tracked, stills stored, sent;
and in the worker loop beside photos. The clips are real (PyAV); the engine is a fake that sees one face."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from facetrace.messages import FootagePart, FootageProgress, Job, PhotoKind, TracksResult
from gpu_worker.engine import DetectedFace
from gpu_worker.footage import FootageConfig, FootageRunner
from gpu_worker.video import Sampling
from gpu_worker.worker import Worker, WorkerConfig
from tests import fakes
from tests.fakes import MODEL
from tests.footage_fakes import FootageObjects
from tests.unit.test_footage_video import scenes

EMBEDDING = fakes.unit(1, 1)


class OneFace:
    """One face in the middle of every frame; fails batches that hold a frame of the failing width."""

    model = MODEL
    providers = ["fake"]

    def __init__(self, fail_all: bool = False) -> None:
        self.batches: list[int] = []
        self.fail_all = fail_all

    def analyse(self, images, max_faces):
        self.batches.append(len(images))
        if self.fail_all:
            raise RuntimeError("CUDA error: device lost")
        h, w = images[0].shape[:2]
        box = np.array([w * 0.3, h * 0.3, w * 0.6, h * 0.7], dtype=np.float32)
        return [[DetectedFace(box, np.tile(box[:2], (5, 1)), 0.95, EMBEDDING, fakes.quality())] for _ in images]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return scenes(tmp_path_factory.mktemp("clips") / "clip.mkv", 6.0)


def _rig(clip, engine=None, sha256=None, key="footage/a/clip", **config):
    objects, results = FootageObjects(), fakes.FakeQueue()
    objects.add_file(key, clip)
    digest = hashlib.sha256(clip.read_bytes()).hexdigest() if sha256 is None else sha256
    job = Job(photo_id="7c9e6679-7425-40de-944b-e07fc1f90ae7", kind=PhotoKind.FOOTAGE, bucket="uploads",
              key="footage/a/clip", sha256=digest, part=FootagePart(index=1, count=2, start_s=2.0, end_s=6.0))
    runner = FootageRunner(engine or OneFace(), objects, results, FootageConfig(**config))
    return runner, job, objects, results


def _result(results) -> TracksResult:
    return TracksResult.model_validate_json(results.sent[-1][0])


def test_a_part_is_sampled_batched_tracked_and_its_stills_stored(clip):
    engine = OneFace()
    runner, job, objects, results = _rig(clip, engine, batch_frames=3)
    # WHEN the part 2-6 s is processed at 2 frames per second, 3 frames per engine call
    assert runner.run(job) is True
    result = _result(results)
    # THEN 8 frames were searched in batches of 3, and the one face is one track with its still
    assert engine.batches == [3, 3, 2]
    assert (result.status, result.frames_decoded, result.frames_sampled, result.faces_found) == ("ok", 40, 8, 8)
    [track] = result.tracks
    assert (track.start_s, track.end_s, track.frames) == (2.0, 5.5, 8)
    assert track.still_key == f"stills/{job.photo_id}/1-0.jpg" and objects.objects[track.still_key][0][:2] == b"\xff\xd8"
    assert results.sent[-1][1] == f"{job.photo_id}:1"


def test_progress_is_reported_while_the_part_runs(clip):
    ticks = iter(range(0, 1000, 5))
    runner, job, _, results = _rig(clip, progress_s=4.0)
    runner.clock = lambda: next(ticks)
    runner.run(job)
    progress = [FootageProgress.model_validate_json(b) for b, _ in results.sent[:-1]]
    assert progress and all(p.part == 1 and p.frames_total == 40 for p in progress)
    assert progress[-1].frames_done > progress[0].frames_done


@pytest.mark.parametrize("key, sha256, reason", [
    ("footage/a/other", None, "removed from storage"),
    ("footage/a/clip", "0" * 64, "SHA-256 differs"),
])
def test_a_clip_gone_or_not_the_one_checked_fails_at_fetch(clip, key, sha256, reason):
    runner, job, _, results = _rig(clip, sha256=sha256, key=key)
    assert runner.run(job) is True
    result = _result(results)
    assert (result.status, result.stage) == ("failed", "fetch") and reason in result.error


def test_an_engine_failing_every_frame_is_retried_then_failed_on_the_last_delivery(clip):
    runner, job, _, results = _rig(clip, OneFace(fail_all=True), max_receives=3)
    assert runner.run(job, receive_count=1) is False and results.sent == []
    assert runner.run(job, receive_count=3) is True
    result = _result(results)
    assert (result.status, result.stage) == ("failed", "faces") and "every frame" in result.error


def test_a_stream_broken_half_way_fails_at_decode_and_keeps_the_tracks_before(tmp_path):
    # GIVEN an MJPEG clip whose frames after about 3 s are damaged
    path = scenes(tmp_path / "clip.avi", 6.0, codec="mjpeg")
    data = bytearray(path.read_bytes())
    cut = int(len(data) * 0.55)
    data[cut:] = b"\x00" * (len(data) - cut)
    path.write_bytes(bytes(data))
    runner, job, _, results = _rig(path, sampling=Sampling(sample_fps=2.0))
    job = job.model_copy(update={"part": FootagePart(index=0, count=1, start_s=0.0, end_s=6.0)})
    runner.run(job)
    result = _result(results)
    # THEN either the part failed at decode naming where, with the track found before, or the frames stopped
    if result.status == "failed":
        assert result.stage == "decode" and "cannot be decoded after" in result.error
    assert result.tracks and result.frames_decoded < 60


def test_the_worker_loop_runs_photos_first_then_each_part_on_its_own(clip):
    runner, job, objects, results = _rig(clip)
    photo = fakes.photo(PhotoKind.SIGHTING)
    from tests import images

    objects.add(photo.s3_key, images.jpeg(200, 150))
    source = fakes.FakeMessageSource([job.model_dump_json(), fakes.job_for(photo).model_dump_json()])
    faces = fakes.FakeQueue()
    config = WorkerConfig(batch_size=10, wait_s=0, visibility_s=300, max_faces=20, max_pixels=50_000_000,
                          max_message_bytes=200_000)
    worker = Worker(OneFace(), source, faces, objects, config, footage=runner)
    assert worker.poll_once() == 2
    assert len(faces.sent) == 1 and _result(results).status == "ok"
    # AND a worker without footage leaves a part for another worker
    source = fakes.FakeMessageSource([job.model_dump_json()])
    assert Worker(OneFace(), source, faces, objects, config).poll_once() == 0
