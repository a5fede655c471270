"""The GPU worker loop on fakes: batching, failures that stay with their own job, and big results."""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import replace

import numpy as np
from pydantic import TypeAdapter

from facetrace.config import Settings
from facetrace.messages import Face, FacesResult, Job, PhotoKind
from gpu_worker.engine import DetectedFace
from gpu_worker.worker import Worker, WorkerConfig
from tests import fakes, images
from tests.fakes import MODEL

EMBEDDING = fakes.unit(1, 1)
CULPRIT_WIDTH = 77  # the fake engine crashes on any batch holding an image this wide


class FakeEngine:
    """One face per image with a fixed unit embedding; remembers each batch; crashes on the culprit."""

    model = MODEL
    providers = ["fake"]

    def __init__(self) -> None:
        self.batches: list[int] = []

    def analyse(self, images_, max_faces: int) -> list[list[DetectedFace]]:
        self.batches.append(len(images_))
        if any(image.shape[1] == CULPRIT_WIDTH for image in images_):
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        h, w = (images_[0].shape[:2]) if images_ else (0, 0)
        box = np.array([w * 0.25, h * 0.25, w * 0.75, h * 0.75], dtype=np.float32)
        landmarks = np.tile(box[:2], (5, 1)) + np.arange(10, dtype=np.float32).reshape(5, 2)
        return [[DetectedFace(box, landmarks, 0.99, EMBEDDING, fakes.quality())] for _ in images_]


class Rig:
    """A worker on fakes, with jobs for the given images (bytes, or None for an unreadable body)."""

    def __init__(self, uploads: list[bytes | None], receive_count: int = 1, engine=None, previous=None,
                 job_fields: dict | None = None, **config) -> None:
        self.objects = fakes.FakeObjects()
        self.faces = fakes.FakeQueue()
        self.engine = engine or FakeEngine()
        self.previous = previous
        self.jobs: list[Job | None] = []
        bodies = []
        for data in uploads:
            if data is None:
                self.jobs.append(None)
                bodies.append('{"photo_id": 42, "kind": "selfie"}')
                continue
            photo_id = str(uuid.uuid4())
            job = Job(**{"photo_id": photo_id, "kind": PhotoKind.SIGHTING, "bucket": "uploads",
                         "key": f"sightings/{photo_id}", "sha256": hashlib.sha256(data).hexdigest(), **(job_fields or {})})
            self.objects.add(job.key, data)
            self.jobs.append(job)
            bodies.append(job.model_dump_json())
        self.source = fakes.FakeMessageSource(bodies, receive_count)
        self.worker = Worker(self.engine, self.source, self.faces, self.objects,
                             replace(WorkerConfig.from_settings(Settings()), **config), previous=previous)

    def results(self) -> dict[str, FacesResult]:
        parsed = [FacesResult.model_validate_json(b) for b in self.faces.bodies]
        return {r.job.photo_id: r for r in parsed}


def test_a_batch_of_five_is_one_engine_call_five_results_five_deletes():
    # GIVEN five decodable photos on the jobs queue
    rig = Rig([images.jpeg(120, 90, seed=i) for i in range(5)])
    # WHEN the worker polls once
    done = rig.worker.poll_once()
    # THEN the engine ran once on all five, and each job got an ok result and was deleted
    assert rig.engine.batches == [5]
    assert done == 5
    results = rig.results()
    assert set(results) == {j.photo_id for j in rig.jobs}
    for job in rig.jobs:
        r = results[job.photo_id]
        assert (r.status, r.model, r.image_width, r.image_height) == ("ok", MODEL, 120, 90)
        assert len(r.faces) == 1
        np.testing.assert_allclose(r.faces[0].embedding(), EMBEDDING)
    assert [d for _, d in rig.faces.sent] == [j.photo_id for j in rig.jobs]  # dedup by photo
    assert sorted(rig.source.deleted) == ["r0", "r1", "r2", "r3", "r4"]


def test_undecodable_image_gets_a_failed_result_and_is_deleted():
    # GIVEN a good photo and an upload that is not an image at all
    rig = Rig([images.jpeg(), b"GIF89a but not really" * 10])
    # WHEN the worker polls once
    rig.worker.poll_once()
    # THEN the bad one gets a failed result saying why, the good one an ok result, and both are deleted
    good, bad = (rig.results()[j.photo_id] for j in rig.jobs)
    assert good.status == "ok"
    assert bad.status == "failed" and bad.error.startswith("cannot decode image")
    assert bad.faces == []
    assert rig.engine.batches == [1]  # only the decodable image reached the engine
    assert sorted(rig.source.deleted) == ["r0", "r1"]


def test_huge_result_is_offloaded_to_the_object_store():
    # GIVEN a worker allowed only tiny messages
    rig = Rig([images.jpeg()], max_message_bytes=300)
    # WHEN it processes a photo with a face
    rig.worker.poll_once()
    # THEN the message points at the faces left in the bucket instead of carrying them
    [result] = rig.results().values()
    assert result.faces == [] and result.faces_key is not None
    assert len(rig.faces.bodies[0].encode()) < 2000
    faces = TypeAdapter(list[Face]).validate_json(rig.objects.get(result.faces_key))
    assert len(faces) == 1
    np.testing.assert_allclose(faces[0].embedding(), EMBEDDING)
    assert rig.source.deleted == ["r0"]


def test_small_result_travels_in_the_message():
    # GIVEN the default message limit
    rig = Rig([images.jpeg()])
    # WHEN one face is found THEN nothing is written to the bucket
    rig.worker.poll_once()
    [result] = rig.results().values()
    assert result.faces_key is None and len(result.faces) == 1
    assert not any(k.startswith("results/") for k in rig.objects.objects)


def test_engine_crash_on_one_photo_fails_that_photo_alone():
    # GIVEN three photos, the middle one crashing the engine
    rig = Rig([images.jpeg(120, 90), images.jpeg(CULPRIT_WIDTH, 90), images.jpeg(120, 90, seed=2)])
    # WHEN the worker polls once
    done = rig.worker.poll_once()
    # THEN the batch is retried one by one: the others complete, the culprit gets a failed result at "faces"
    assert rig.engine.batches == [3, 1, 1, 1]
    assert done == 3
    results = rig.results()
    assert [results[j.photo_id].status for j in rig.jobs] == ["ok", "failed", "ok"]
    culprit = results[rig.jobs[1].photo_id]
    assert culprit.stage == "faces" and "illegal memory access" in culprit.error
    assert sorted(rig.source.deleted) == ["r0", "r1", "r2"]


class BrokenEngine(FakeEngine):
    """An engine that fails every photo (a lost GPU, say): no photo is to blame."""

    def analyse(self, images_, max_faces: int):
        self.batches.append(len(images_))
        raise RuntimeError("CUDA error: device lost")


def test_engine_failing_every_photo_leaves_the_jobs_for_a_later_delivery():
    # GIVEN a worker whose engine fails every photo, on a first delivery
    rig = Rig([images.jpeg(seed=i) for i in range(3)], engine=BrokenEngine())
    # WHEN it polls once
    done = rig.worker.poll_once()
    # THEN no photo is failed for the engine's fault: every job is given back to the queue for later
    assert done == 0 and rig.faces.sent == [] and rig.source.deleted == []
    assert rig.source.released == {"r0": 60, "r1": 60, "r2": 60}


def test_engine_failing_on_the_last_delivery_fails_the_photos_with_the_reason():
    # GIVEN the same broken engine, on the last delivery the queue allows
    rig = Rig([images.jpeg(seed=i) for i in range(2)], engine=BrokenEngine(), receive_count=3)
    # WHEN it polls once
    rig.worker.poll_once()
    # THEN each photo gets its final state now, instead of waiting in a dead-letter queue
    assert {r.status for r in rig.results().values()} == {"failed"}
    assert all(r.stage == "faces" and "device lost" in r.error for r in rig.results().values())
    assert sorted(rig.source.deleted) == ["r0", "r1"]


def test_photo_deleted_before_the_worker_fails_alone_at_fetch():
    # GIVEN two jobs whose first photo was removed from the bucket after ingest
    rig = Rig([images.jpeg(seed=1), images.jpeg(seed=2)])
    del rig.objects.objects[rig.jobs[0].key]
    # WHEN the worker polls once
    rig.worker.poll_once()
    # THEN that photo fails at "fetch" with the reason, and the other is processed
    gone, good = (rig.results()[j.photo_id] for j in rig.jobs)
    assert (gone.status, gone.stage) == ("failed", "fetch") and "removed from storage" in gone.error
    assert good.status == "ok"
    assert sorted(rig.source.deleted) == ["r0", "r1"]


def test_photo_that_is_not_the_checked_bytes_is_refused():
    # GIVEN a job whose object no longer holds the bytes ingest checked
    rig = Rig([images.jpeg(seed=1)])
    rig.objects.add(rig.jobs[0].key, images.jpeg(seed=9))
    # WHEN the worker polls once
    rig.worker.poll_once()
    # THEN the photo fails at "fetch" instead of being matched as if it were the evidence
    [result] = rig.results().values()
    assert (result.status, result.stage) == ("failed", "fetch") and "SHA-256" in result.error
    assert rig.engine.batches == []


class FlakyObjects(fakes.FakeObjects):
    """Storage that throttles every read."""

    def get(self, key: str) -> bytes:
        raise ConnectionError("SlowDown: please reduce your request rate")


def test_storage_fault_leaves_the_job_for_later_and_the_rest_of_the_batch_goes_on():
    # GIVEN a batch whose storage throttles reads
    rig = Rig([images.jpeg(seed=1)])
    rig.worker.objects = FlakyObjects()
    # WHEN the worker polls once on a first delivery
    rig.worker.poll_once()
    # THEN the job is not failed but given back for a later delivery
    assert rig.faces.sent == [] and rig.source.released == {"r0": 60}


def test_worker_loop_survives_a_queue_outage():
    # GIVEN a worker whose queue fails once, then has a job
    rig = Rig([images.jpeg()])
    calls = []
    real_receive = rig.source.receive

    def receive(max_jobs, wait_s):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("sqs unreachable")
        if len(calls) >= 3:
            stop.set()
        return real_receive(max_jobs, wait_s)

    rig.source.receive = receive
    stop = threading.Event()
    # WHEN it runs
    rig.worker.run(stop)
    # THEN it kept going after the outage and processed the job
    assert len(rig.results()) == 1


def test_unreadable_job_body_is_released_at_once_for_the_dead_letter_queue():
    # GIVEN an unreadable message between two good jobs
    rig = Rig([images.jpeg(), None, images.jpeg(seed=1)])
    # WHEN the worker polls once
    rig.worker.poll_once()
    # THEN the good jobs are done and deleted; the unreadable one is given back at once (it will be
    # dead-lettered after its last receive instead of waiting out the visibility timeout each time)
    assert len(rig.faces.sent) == 2
    assert sorted(rig.source.deleted) == ["r0", "r2"]
    assert rig.source.released == {"r1": 0}


def test_result_that_cannot_be_sent_is_not_deleted():
    # GIVEN a faces queue that fails the first send
    rig = Rig([images.jpeg(), images.jpeg(seed=1)])
    rig.faces.fail = 1
    # WHEN the worker polls once
    rig.worker.poll_once()
    # THEN the job whose result was lost stays on the queue to be retried
    assert len(rig.faces.sent) == 1
    assert rig.source.deleted == ["r1"]


def test_batch_size_bounds_each_receive():
    # GIVEN three jobs and a batch size of two
    rig = Rig([images.jpeg(seed=i) for i in range(3)], batch_size=2)
    # WHEN the worker polls twice
    first, second = rig.worker.poll_once(), rig.worker.poll_once()
    # THEN it takes two then one
    assert (first, second) == (2, 1)
    assert rig.engine.batches == [2, 1]


# --------------------------------------------------------------------------- a model change (facetrace/reembed.py)
class PreviousEngine(FakeEngine):
    """The pack the galleries were built with: another model."""

    model = MODEL.model_copy(update={"name": "previous-model"})


class BrokenPreviousEngine(PreviousEngine):
    def analyse(self, images_, max_faces: int):
        self.batches.append(len(images_))
        raise RuntimeError("the previous model's session is gone")


def _sent(rig: Rig) -> list[tuple[FacesResult, str]]:
    return [(FacesResult.model_validate_json(body), dedup) for body, dedup in rig.faces.sent]


def test_during_a_model_change_each_sighting_gets_one_result_per_model():
    # GIVEN a worker with the new pack and the previous one, and two sightings
    rig = Rig([images.jpeg(), images.jpeg(seed=1)], previous=PreviousEngine())
    # WHEN it polls once
    assert rig.worker.poll_once() == 2
    # THEN each pack ran once on the whole batch and each sighting has one ok result per model
    assert (rig.engine.batches, rig.previous.batches) == ([2], [2])
    sent = _sent(rig)
    assert sorted((r.job.photo_id, r.model.name, r.status) for r, _ in sent) == sorted(
        (j.photo_id, m, "ok") for j in rig.jobs for m in (MODEL.name, "previous-model"))
    # AND each model's result has its own deduplication id, and both jobs are deleted
    assert sorted(d for _, d in sent) == sorted([j.photo_id for j in rig.jobs] + [f"{j.photo_id}:previous-model"
                                                                                   for j in rig.jobs])
    assert sorted(rig.source.deleted) == ["r0", "r1"]


def test_during_a_model_change_references_are_embedded_by_the_new_model_only():
    # GIVEN a reference photo's job on a worker with both packs
    rig = Rig([images.jpeg()], previous=PreviousEngine(), job_fields={"kind": PhotoKind.REFERENCE, "case_id": "c1"})
    # WHEN it polls THEN one result, of the new model; the previous pack never ran
    rig.worker.poll_once()
    assert [(r.model.name, r.status) for r, _ in _sent(rig)] == [(MODEL.name, "ok")]
    assert rig.previous.batches == []


def test_a_reembedding_job_is_embedded_by_the_model_it_names_alone():
    # GIVEN a re-embedding job for the new model, on a worker holding both packs
    job = {"purpose": "reembed", "campaign_id": "camp-1", "model": MODEL.name}
    rig = Rig([images.jpeg()], previous=PreviousEngine(), job_fields=job)
    # WHEN it polls THEN one result, of that model, carrying the campaign
    rig.worker.poll_once()
    [(result, _)] = _sent(rig)
    assert (result.model.name, result.job.purpose, result.job.campaign_id) == (MODEL.name, "reembed", "camp-1")
    assert rig.previous.batches == []


def test_a_reembedding_job_for_a_model_this_worker_lacks_waits_then_fails_on_its_last_delivery():
    # GIVEN a re-embedding job for a model this worker does not run (a rolling deploy)
    job = {"purpose": "reembed", "campaign_id": "camp-1", "model": "future-model"}
    rig = Rig([images.jpeg()], job_fields=job)
    # WHEN it polls THEN nothing is sent and the job is left for a worker that has the model
    rig.worker.poll_once()
    assert rig.faces.sent == [] and rig.source.released == {"r0": 60} and rig.engine.batches == []
    # AND on its last delivery it fails at "faces", naming both models, without reading the photo
    last = Rig([images.jpeg()], receive_count=3, job_fields=job)
    last.worker.poll_once()
    [(result, _)] = _sent(last)
    assert (result.status, result.stage) == ("failed", "faces")
    assert "future-model" in result.error and MODEL.name in result.error
    assert last.objects.gets == []


def test_the_previous_pack_failing_costs_only_its_own_result():
    # GIVEN a previous pack that crashes on every photo
    rig = Rig([images.jpeg(), images.jpeg(seed=1)], previous=BrokenPreviousEngine())
    # WHEN the worker polls
    assert rig.worker.poll_once() == 2
    # THEN each sighting still gets the new model's ok result, and the jobs are done
    assert sorted((r.model.name, r.status) for r, _ in _sent(rig)) == [(MODEL.name, "ok")] * 2
    assert sorted(rig.source.deleted) == ["r0", "r1"]


def test_a_photo_gone_from_storage_gets_one_failed_result_whatever_the_packs():
    # GIVEN a sighting whose photo was deleted, on a worker with both packs
    rig = Rig([images.jpeg()], previous=PreviousEngine())
    rig.objects.objects.clear()
    # WHEN it polls THEN one failed result at fetch
    rig.worker.poll_once()
    assert [(r.status, r.stage) for r, _ in _sent(rig)] == [("failed", "fetch")]
