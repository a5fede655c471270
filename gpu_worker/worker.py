"""The GPU worker loop: jobs queue -> download, decode, detect, align, embed (batched) -> faces queue.

One photo fails alone: whatever goes wrong with one photo (gone from storage, not what ingest checked,
undecodable, crashing the engine) gives that photo a `failed` result naming the stage, and the rest of its
batch is processed. A passing fault (storage throttling, an engine that fails every photo) leaves the job
for SQS to deliver again, until its last delivery, which fails it with the reason.

During a model change (facetrace/reembed.py) the worker also holds the previous pack: every new sighting is
embedded by both and gets one result per model, so the cases not yet re-embedded are still searched. The
current pack decides a photo's fate; the previous one only adds its result when it works. A re-embedding
job names its model and is embedded by that pack alone.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from aws_lambda_powertools import Logger
from pydantic import TypeAdapter, ValidationError

from facetrace.config import Settings
from facetrace.keys import results_key
from facetrace.messages import Face, FacesResult, FailedStage, Job, PhotoKind
from facetrace.ports import MessageSource, ObjectMissing, ObjectStore, Queue, ReceivedMessage
from gpu_worker.engine import FaceEngine, to_message
from gpu_worker.footage import FootageRunner
from gpu_worker.heartbeat import Heartbeat
from gpu_worker.image import ImageError, decode_image

logger = Logger(child=True)

_FACES = TypeAdapter(list[Face])
# A job left for another delivery comes back after this long (a passing fault may take a while to pass).
RETRY_DELAY_S = 60
# Back-off of the loop itself when the queue or the network fails.
MAX_BACKOFF_S = 30


@dataclass(frozen=True)
class WorkerConfig:
    """The worker's knobs; their defaults live in Settings alone."""

    batch_size: int
    wait_s: int
    visibility_s: int
    max_faces: int
    max_pixels: int
    max_message_bytes: int
    max_receives: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> "WorkerConfig":
        """The worker's part of the settings."""
        return cls(
            batch_size=settings.worker_batch_size, wait_s=settings.worker_wait_s,
            visibility_s=settings.worker_visibility_s, max_faces=settings.max_faces_per_image,
            max_pixels=settings.max_image_pixels, max_message_bytes=settings.max_message_bytes,
            max_receives=settings.max_receives,
        )


@dataclass
class _Item:
    received: ReceivedMessage
    job: Job
    engines: list[FaceEngine] = field(default_factory=list)  # the first decides the photo's fate
    image: np.ndarray | None = None
    shape: tuple[int, int] = (0, 0)
    faces: dict[str, list] = field(default_factory=dict)  # model name -> faces found
    stage: FailedStage | None = None
    error: str | None = None
    retry: bool = False

    def fail(self, stage: FailedStage, error: str) -> None:
        self.stage, self.error, self.image = stage, error[:1000], None


class Worker:
    """Processes jobs in batches; holds no database credentials, only queues and the bucket."""

    def __init__(self, engine: FaceEngine, jobs: MessageSource, faces: Queue, objects: ObjectStore, config: WorkerConfig,
                 previous: FaceEngine | None = None, footage: FootageRunner | None = None) -> None:
        self.engine, self.jobs, self.faces, self.objects, self.config = engine, jobs, faces, objects, config
        self.footage = footage  # parts of video clips (gpu_worker/footage.py); None: left for a worker that has it
        if previous is not None and previous.model.name == engine.model.name:
            logger.warning("the previous pack is the current model; ignored", extra={"model": engine.model.name})
            previous = None
        self.previous = previous
        self.engines = [engine] + ([previous] if previous else [])
        self._pool = ThreadPoolExecutor(max_workers=config.batch_size, thread_name_prefix="download")

    def run(self, stop: threading.Event) -> None:
        """Poll until stop is set; the batch in hand is always finished (or left to retry) first."""
        logger.info("worker started", extra={"model": self.engine.model.name, "providers": self.engine.providers,
                                             "previous_model": self.previous.model.name if self.previous else None})
        backoff = 1.0
        while not stop.is_set():
            try:
                self.poll_once()
                backoff = 1.0
            except Exception:
                # The queue or the network, never a photo: photos fail inside poll_once. Wait and go on.
                logger.exception("poll failed; retrying", extra={"backoff_s": backoff})
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        logger.info("worker stopped")

    def poll_once(self) -> int:
        """Receive one batch and process it; return how many jobs reached a result."""
        received = self.jobs.receive(self.config.batch_size, self.config.wait_s)
        items = [item for item in map(self._parse, received) if item is not None]
        # A clip's part runs for minutes: the photos of the batch go first, then each part on its own.
        clips = [i for i in items if i.job.kind is PhotoKind.FOOTAGE]
        photos = [i for i in items if i.job.kind is not PhotoKind.FOOTAGE]
        return self._photos(photos) + sum(self._clip(i) for i in clips)

    def _photos(self, items: list[_Item]) -> int:
        if not items:
            return 0
        with Heartbeat(self.jobs, [i.received.receipt for i in items], self.config.visibility_s):
            list(self._pool.map(self._load, items))
            for engine in self.engines:
                self._analyse(engine, [i for i in items if i.image is not None and engine in i.engines])
            for item in items:
                item.image = None
            done = [i for i in items if not i.retry and self._send_safely(i)]
        self.jobs.delete([i.received.receipt for i in done])
        later = [i.received.receipt for i in items if i.retry]
        if later:
            self.jobs.extend(later, RETRY_DELAY_S)
        return len(done)

    def _clip(self, item: _Item) -> int:
        receipt = item.received.receipt
        if self.footage is None:
            # Left for a worker that processes footage; after its last receive the dead-letter queue fails the part.
            self.jobs.extend([receipt], RETRY_DELAY_S)
            return 0
        with Heartbeat(self.jobs, [receipt], self.config.visibility_s):
            sent = self.footage.run(item.job, item.received.receive_count)
        if sent:
            self.jobs.delete([receipt])
            return 1
        self.jobs.extend([receipt], RETRY_DELAY_S)
        return 0

    def _parse(self, received: ReceivedMessage) -> _Item | None:
        try:
            item = _Item(received, Job.model_validate_json(received.body))
        except ValidationError as exc:
            # Released at once: after its last receive SQS moves it to the dead-letter queue, whose
            # function finds the photo it names, if any, and records it as failed.
            logger.error("unreadable job", extra={"message_id": received.message_id, "error": str(exc)[:500]})
            self.jobs.extend([received.receipt], 0)
            return None
        item.engines = self._engines_for(item.job)
        return item

    def _engines_for(self, job: Job) -> list[FaceEngine]:
        if job.model is not None:  # a re-embedding job: that model only
            return [e for e in self.engines if e.model.name == job.model]
        if job.kind is PhotoKind.SIGHTING:
            return self.engines  # searched in every gallery until the new one is complete
        # References need only the current model (new sightings are embedded by both); a search's candidates
        # are replaced by each result, so a second model would overwrite the first.
        return self.engines[:1]

    def _load(self, item: _Item) -> None:
        if not item.engines:
            # A worker that does not run the model yet (a rolling deploy): another worker may; the last delivery fails.
            self._passing_fault(item, "faces", f"this worker runs {', '.join(e.model.name for e in self.engines)}, "
                                               f"not {item.job.model}")
            return
        try:
            data = self.objects.get(item.job.key)
        except ObjectMissing:
            item.fail("fetch", "the photo was removed from storage before it could be processed")
            return
        except Exception as exc:
            self._passing_fault(item, "fetch", f"cannot read the photo: {type(exc).__name__}: {exc}")
            return
        if item.job.sha256 and hashlib.sha256(data).hexdigest() != item.job.sha256:
            item.fail("fetch", "the stored photo is not the one that was checked (SHA-256 differs)")
            return
        try:
            item.image = decode_image(data, self.config.max_pixels)
            item.shape = item.image.shape[:2]
        except ImageError as exc:
            item.fail("decode", f"cannot decode image: {exc}")
        except Exception as exc:  # a decoder bug must cost this photo only
            logger.exception("decoder crashed", extra={"photo_id": item.job.photo_id})
            item.fail("decode", f"cannot decode image: {type(exc).__name__}: {exc}")

    def _passing_fault(self, item: _Item, stage: FailedStage, error: str) -> None:
        logger.warning("job failed", extra={"photo_id": item.job.photo_id, "stage": stage, "error": error[:300],
                                            "receive_count": item.received.receive_count})
        if item.received.receive_count >= self.config.max_receives:
            item.fail(stage, error)
        else:
            item.retry, item.image = True, None

    def _analyse(self, engine: FaceEngine, ready: list[_Item]) -> None:
        if not ready:
            return
        try:
            found = engine.analyse([i.image for i in ready], self.config.max_faces)
        except Exception:
            # One bad image must not fail its whole batch: retry one by one so only the culprit fails.
            logger.exception("batch failed; retrying jobs one at a time", extra={"jobs": len(ready),
                                                                                 "model": engine.model.name})
            found = self._one_by_one(engine, ready)
        for item, faces in zip(ready, found):
            if faces is not None:
                item.faces[engine.model.name] = faces

    def _one_by_one(self, engine: FaceEngine, items: list[_Item]) -> list:
        found, errors = [], {}
        for item in items:
            try:
                found.append(engine.analyse([item.image], self.config.max_faces)[0])
            except Exception as exc:
                logger.exception("job failed", extra={"photo_id": item.job.photo_id, "stage": "faces",
                                                      "model": engine.model.name})
                found.append(None)
                errors[id(item)] = f"face detection failed: {type(exc).__name__}: {exc}"
        engine_works = len(errors) < len(items)
        for item in items:
            if id(item) not in errors:
                continue
            if engine is not item.engines[0]:
                # The previous pack failing costs only its extra result: the photo is searched by the current one.
                logger.warning("previous model failed on this photo; its result is left out",
                               extra={"photo_id": item.job.photo_id, "model": engine.model.name})
            elif engine_works:
                item.fail("faces", errors[id(item)])  # the others went through: this photo is the cause
            else:
                self._passing_fault(item, "faces", errors[id(item)])
        return found

    def _send_safely(self, item: _Item) -> bool:
        try:
            self._send(item)
            return True
        except Exception:
            logger.exception("could not send result", extra={"photo_id": item.job.photo_id})
            return False

    def _send(self, item: _Item) -> None:
        if item.stage is not None:
            results = [FacesResult(job=item.job, status="failed", error=item.error, stage=item.stage)]
        else:
            h, w = item.shape
            results = [FacesResult(job=item.job, status="ok", model=e.model, image_width=w, image_height=h,
                                   faces=[to_message(f, n) for n, f in enumerate(item.faces[e.model.name])])
                       for e in item.engines if e.model.name in item.faces]
            if not results:  # never expected: every path above either found faces or failed the photo
                results = [FacesResult(job=item.job, status="failed", stage="faces", error="no model gave a result")]
        for n, result in enumerate(results):
            body = result.model_dump_json()
            if len(body.encode()) > self.config.max_message_bytes:
                body = self._offload(result)
            # On a FIFO queue each model's result must get through, not just the first.
            dedup = item.job.photo_id if n == 0 else f"{item.job.photo_id}:{result.model.name}"
            self.faces.send(body, dedup_id=dedup)
            logger.info("job done", extra={"photo_id": item.job.photo_id, "faces": len(result.faces),
                                           "status": result.status, "stage": result.stage,
                                           "model": result.model.name if result.model else None,
                                           "purpose": item.job.purpose})

    def _offload(self, result: FacesResult) -> str:
        key = results_key(result.job.photo_id, result.model.name)
        self.objects.put(key, _FACES.dump_json(result.faces), "application/json")
        return result.model_copy(update={"faces": [], "faces_key": key}).model_dump_json()
