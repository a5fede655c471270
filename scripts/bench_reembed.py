"""Re-embedding benchmark: how long a model change takes per 1,000 reference photos on this machine.

    python scripts/bench_reembed.py [--references 300] [--pack gpu_worker/packs/manifests/scrfd500m-mbf]
                                    [--model-dir ../shared/models]

N LFW people (FACETRACE_TEST_DATA/lfw), one photo each, become open cases whose reference photo was processed
by the old model. The campaign is then run through the real code with the queues in memory: `start_campaign`
queues the jobs, the worker (the new pack, batches of FACETRACE_WORKER_BATCH_SIZE) fetches, checks the SHA-256,
decodes and embeds them, and match (`find_candidates` per batch, then `process_faces`, as the match function
does) stores the faces, enrols them and retro-searches past sightings. The store is MySQL (a fresh database on
the local server, dropped afterwards), as in AWS. Prints seconds per stage and per 1,000 references.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from devstack import database
from facetrace.adapters.mysql import MySQLStore
from facetrace.case import Agency, Case
from facetrace.config import Settings
from facetrace.db.migrate import migrate
from facetrace.gallery.cache import GalleryCache
from facetrace.keys import reference_key
from facetrace.match import MatchDeps, Thresholds, find_candidates, process_faces
from facetrace.messages import FacesResult, PhotoKind
from facetrace.photo import Photo, PhotoStatus
from facetrace.ports import ObjectMissing, ReceivedMessage
from facetrace.reembed import ReembedDeps, campaign_progress, start_campaign
from gpu_worker.packs import load_pack
from gpu_worker.worker import Worker, WorkerConfig

REPO = Path(__file__).resolve().parents[1]


class Bucket(dict):
    """The bucket in memory (the worker reads it from threads; dict reads are safe)."""

    def get(self, key: str) -> bytes:  # type: ignore[override]
        if key not in self:
            raise ObjectMissing(key)
        return self[key]

    def get_if_exists(self, key: str) -> bytes | None:
        return dict.get(self, key)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self[key] = body

    def delete(self, key: str) -> None:
        self.pop(key, None)


class Queue:
    """A queue in memory: what was sent, and a source the worker polls."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, body: str, dedup_id: str | None = None) -> None:
        self.bodies.append(body)

    def receive(self, max_jobs: int, wait_s: int) -> list[ReceivedMessage]:
        batch, self.bodies = self.bodies[:max_jobs], self.bodies[max_jobs:]
        return [ReceivedMessage(str(i), str(i), body) for i, body in enumerate(batch)]

    def delete(self, receipts: list[str]) -> None:
        pass

    def extend(self, receipts: list[str], seconds: int) -> None:
        pass


class Alerts:
    def publish(self, message: str, subject: str | None = None, attributes: dict | None = None) -> str:
        return "local"


def _store():
    """MySQLStore on a fresh database, and a callable that drops it."""
    server = database.find_or_start(allow_install=False)
    name = f"ft_bench_{uuid.uuid4().hex[:8]}"
    url = database.create_database(server.url, name)
    migrate(url)
    store = MySQLStore.from_url(url)

    def drop() -> None:
        store.db.close()
        database.drop_database(server.url, name)
        server.stop()
    return store, drop


def enrolled(store, objects: Bucket, lfw: Path, n: int, seed: int) -> list[Photo]:
    """n open cases, each with one processed reference photo pinned in the bucket (an LFW photo)."""
    folders = sorted(p for p in lfw.iterdir() if p.is_dir())
    chosen = random.Random(seed).sample(folders, min(n, len(folders)))
    agency = Agency(name="Bench Police", email="bench@police.example")
    store.add_agency(agency)
    photos = []
    for folder in chosen:
        data = sorted(folder.glob("*.jpg"))[0].read_bytes()
        case = Case(id=str(uuid.uuid4()), agency_id=agency.id, person_name=folder.name.replace("_", " "),
                    created_at=datetime.now(timezone.utc))
        store.add_case(case)
        photo_id = str(uuid.uuid4())
        photo = Photo(id=photo_id, kind=PhotoKind.REFERENCE, case_id=case.id, s3_key=reference_key(case.id, photo_id),
                      status=PhotoStatus.PROCESSED, content_type="image/jpeg", size_bytes=len(data),
                      sha256=hashlib.sha256(data).hexdigest())
        store.add_photo(photo)
        objects[photo.s3_key] = data
        photos.append(photo)
    return photos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--references", type=int, default=300)
    parser.add_argument("--pack", default=str(REPO / "gpu_worker" / "packs" / "manifests" / "scrfd500m-mbf"),
                        help="the new pack: 'dlib', a named pack or a pack directory")
    parser.add_argument("--model-dir", default=os.environ.get("FACETRACE_TEST_MODELS"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    data = os.environ.get("FACETRACE_TEST_DATA")
    if not data or not (Path(data) / "lfw").is_dir():
        sys.exit("set FACETRACE_TEST_DATA to the shared data folder (it holds lfw/)")

    engine = load_pack(args.pack, model_dir=args.model_dir, fallback=None)
    store, drop = _store()
    try:
        objects = Bucket()
        photos = enrolled(store, objects, Path(data) / "lfw", args.references, args.seed)
        n = len(photos)
        jobs = Queue()
        deps = ReembedDeps(store, jobs, objects, "uploads", retention_days=90)

        started = time.perf_counter()
        report = start_campaign(deps, engine.model.name)
        queue_s = time.perf_counter() - started

        settings = Settings()
        faces = Queue()
        worker = Worker(engine, jobs, faces, objects,
                        replace(WorkerConfig.from_settings(settings), wait_s=0))
        started = time.perf_counter()
        while worker.poll_once():
            pass
        worker_s = time.perf_counter() - started

        results = [FacesResult.model_validate_json(b) for b in faces.bodies]
        match = MatchDeps(store, Alerts(), objects, GalleryCache(store, None))
        started = time.perf_counter()
        for start in range(0, len(results), 10):  # the match function's batch
            batch = results[start:start + 10]
            found = find_candidates(batch, match, Thresholds.of)
            for result in batch:
                process_faces(result, match, Thresholds.of(result.model) if result.model else None, found)
        match_s = time.perf_counter() - started

        progress = campaign_progress(store, 90)
        usable = len(store.gallery(engine.model.name, engine.model.dim))
    finally:
        drop()
    total = queue_s + worker_s + match_s
    per = 1000 / n
    print(f"model {engine.model.name} ({', '.join(engine.providers)}), MySQL store, "
          f"{n} LFW reference photos (250x250 JPEG), worker batch {settings.worker_batch_size}, {os.cpu_count()} CPUs")
    print(f"queued {report.references}; covered {progress.references.covered}, failed {progress.references.failed}; "
          f"{usable} usable faces in the new gallery")
    print(f"{'stage':<10}{'seconds':>10}{'per 1,000 refs':>16}{'refs/s':>9}")
    for name, seconds in (("queue", queue_s), ("worker", worker_s), ("match", match_s), ("total", total)):
        print(f"{name:<10}{seconds:>10.2f}{seconds * per:>15.1f}s{n / seconds if seconds else 0:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
