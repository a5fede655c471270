"""The GPU worker loop: jobs queue -> download, decode, detect, align, embed (batched) -> faces queue."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from aws_lambda_powertools import Logger
from pydantic import TypeAdapter, ValidationError

from facetrace.config import Settings
from facetrace.messages import Face, FacesResult, Job
from facetrace.ports import MessageSource, ObjectStore, Queue, ReceivedMessage
from gpu_worker.engine import FaceEngine, to_message
from gpu_worker.image import ImageError, decode_image
from gpu_worker.jobs import Heartbeat

logger = Logger(service="gpu_worker")

_FACES = TypeAdapter(list[Face])


@dataclass(frozen=True)
class WorkerConfig:
    """The worker's knobs; their defaults live in Settings alone."""

    batch_size: int
    wait_s: int
    visibility_s: int
    max_faces: int
    max_pixels: int
    max_message_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "WorkerConfig":
        """The worker's part of the settings."""
        return cls(
            batch_size=settings.worker_batch_size, wait_s=settings.worker_wait_s,
            visibility_s=settings.worker_visibility_s, max_faces=settings.max_faces_per_image,
            max_pixels=settings.max_image_pixels, max_message_bytes=settings.max_message_bytes,
        )


@dataclass
class _Item:
    received: ReceivedMessage
    job: Job
    image: np.ndarray | None = None
    error: str | None = None


class Worker:
    """Processes jobs in batches; holds no database credentials, only queues and the bucket."""

    def __init__(self, engine: FaceEngine, jobs: MessageSource, faces: Queue, objects: ObjectStore, config: WorkerConfig) -> None:
        self.engine, self.jobs, self.faces, self.objects, self.config = engine, jobs, faces, objects, config
        self._pool = ThreadPoolExecutor(max_workers=config.batch_size, thread_name_prefix="download")

    def run(self, stop: threading.Event) -> None:
        """Poll until stop is set; the batch in hand is always finished (or left to retry) first."""
        logger.info("worker started", extra={"model": self.engine.model.name, "providers": self.engine.providers})
        while not stop.is_set():
            self.poll_once()
        logger.info("worker stopped")

    def poll_once(self) -> int:
        """Receive one batch and process it; return how many jobs were completed."""
        received = self.jobs.receive(self.config.batch_size, self.config.wait_s)
        items = [item for item in map(self._parse, received) if item is not None]
        if not items:
            return 0
        with Heartbeat(self.jobs, [i.received.receipt for i in items], self.config.visibility_s):
            list(self._pool.map(self._load, items))
            done = self._process(items)
        self.jobs.delete([i.received.receipt for i in done])
        return len(done)

    def _parse(self, received: ReceivedMessage) -> _Item | None:
        try:
            return _Item(received, Job.model_validate_json(received.body))
        except ValidationError as exc:
            # Left on the queue: after three receives it lands in the dead-letter queue.
            logger.error("unreadable job", extra={"message_id": received.message_id, "error": str(exc)[:500]})
            return None

    def _load(self, item: _Item) -> None:
        try:
            item.image = decode_image(self.objects.get(item.job.key), self.config.max_pixels)
        except ImageError as exc:
            item.error = f"cannot decode image: {exc}"

    def _process(self, items: list[_Item]) -> list[_Item]:
        ready = [i for i in items if i.image is not None]
        try:
            faces = self.engine.analyse([i.image for i in ready], self.config.max_faces) if ready else []
        except Exception:
            # One bad image must not fail its whole batch: retry one by one so only the culprit fails.
            logger.exception("batch failed; retrying jobs one at a time", extra={"jobs": len(ready)})
            return [i for i in items if i.image is None and self._send_safely(i, None)] + self._one_by_one(ready)
        by_item = dict(zip(map(id, ready), faces))
        return [i for i in items if self._send_safely(i, by_item.get(id(i)))]

    def _one_by_one(self, items: list[_Item]) -> list[_Item]:
        done = []
        for item in items:
            try:
                faces = self.engine.analyse([item.image], self.config.max_faces)[0]
            except Exception:
                logger.exception("job failed", extra={"photo_id": item.job.photo_id})
                continue
            if self._send_safely(item, faces):
                done.append(item)
        return done

    def _send_safely(self, item: _Item, faces) -> bool:
        try:
            self._send(item, faces)
            return True
        except Exception:
            logger.exception("could not send result", extra={"photo_id": item.job.photo_id})
            return False

    def _send(self, item: _Item, faces) -> None:
        if item.error is not None:
            result = FacesResult(job=item.job, status="failed", error=item.error)
        else:
            h, w = item.image.shape[:2]
            messages = [to_message(f, n) for n, f in enumerate(faces or [])]
            result = FacesResult(job=item.job, status="ok", model=self.engine.model, image_width=w, image_height=h, faces=messages)
        body = result.model_dump_json()
        if len(body.encode()) > self.config.max_message_bytes:
            body = self._offload(result)
        self.faces.send(body, dedup_id=item.job.photo_id)
        logger.info("job done", extra={"photo_id": item.job.photo_id, "faces": len(result.faces), "status": result.status})

    def _offload(self, result: FacesResult) -> str:
        key = f"results/{result.job.photo_id}.{result.model.name}.json"
        self.objects.put(key, _FACES.dump_json(result.faces), "application/json")
        return result.model_copy(update={"faces": [], "faces_key": key}).model_dump_json()
