"""Logs an operator can use: every line of a process, the domain's included, is JSON under one service name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

from devstack.template import load_template
from tests.conftest import REPO

INGEST = """
    from functions.ingest.app import make_handler
    from facetrace.ingest import IngestDeps
    from facetrace.keys import sighting_key, upload_key
    from facetrace.upload import new_receipt_id
    from tests import events, fakes, images
    from tests.images import LIMITS

    store, objects, jobs = fakes.MemoryStore(), fakes.FakeObjects(), fakes.FakeQueue()

    class Wiring:
        def ingest(self):
            return IngestDeps(objects, store, jobs, "bucket", LIMITS)

    good, bad = upload_key(sighting_key(new_receipt_id())), upload_key(sighting_key(new_receipt_id()))
    objects.add(good, images.jpeg())
    objects.add(bad, b"not an image at all" * 10)
    records = [events.s3_record("bucket", good, images.jpeg()), events.s3_record("bucket", bad, b"not an image at all" * 10),
               events.s3_record("bucket", "elsewhere/file.jpg", b"x")]
    make_handler(Wiring())(events.s3_event(*records), events.context("ingest"))
"""

WORKER = """
    import gpu_worker.__main__  # the container's entry point configures the service's logger
    from dataclasses import replace
    from facetrace.config import Settings
    from facetrace.messages import Job, PhotoKind
    from gpu_worker.worker import Worker, WorkerConfig
    from tests import fakes
    from tests.unit.test_worker import FakeEngine

    job = Job(photo_id="11111111-2222-4333-8444-555555555555", kind=PhotoKind.SIGHTING, bucket="b",
              key="sightings/11111111-2222-4333-8444-555555555555")
    source = fakes.FakeMessageSource([job.model_dump_json()])
    Worker(FakeEngine(), source, fakes.FakeQueue(), fakes.FakeObjects(), WorkerConfig.from_settings(Settings())).poll_once()
"""


def _deployed_service(function: str) -> str:
    """POWERTOOLS_SERVICE_NAME as the template gives a function (its own variables over Globals)."""
    template = load_template(REPO / "infra" / "template.yaml")
    env = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    env.update(template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}))
    return env["POWERTOOLS_SERVICE_NAME"]


def _worker_service() -> str:
    """The worker's service name, which the image and the ECS task definition must agree on."""
    image = re.search(r"POWERTOOLS_SERVICE_NAME=(\S+)", (REPO / "gpu_worker" / "Dockerfile").read_text())[1]
    template = load_template(REPO / "infra" / "template.yaml")
    [task] = template["Resources"]["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert {"Name": "POWERTOOLS_SERVICE_NAME", "Value": image} in task["Environment"]
    return image


def _run(code: str, service: str) -> list[dict]:
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": service, "POWERTOOLS_LOG_LEVEL": "INFO",
           "POWERTOOLS_METRICS_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    # THEN every line is JSON (nothing is bare text, nothing is dropped on the way)
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON log line: {line[:300]}") from None
    return parsed


def test_every_function_has_a_service_name_of_its_own():
    # GIVEN the template WHEN each function's environment is read THEN no two functions share a service name
    names = [_deployed_service(f) for f in ("IngestFunction", "MatchFunction", "NotifyFunction", "ApiFunction",
                                            "DeliveriesFunction", "DeadLetterFunction", "MigrateFunction")]
    assert len(set(names)) == len(names)


def test_ingest_domain_lines_are_json_under_the_function_service():
    # GIVEN the ingest function in its own process, as Lambda runs it, with a good, a bad and a foreign upload
    # WHEN it handles them
    logs = _run(INGEST, _deployed_service("IngestFunction"))
    # THEN the domain's INFO and WARNING lines come out with the function's service name and their keys
    assert {line["service"] for line in logs} == {"ingest"}
    recorded = [line for line in logs if line["message"] == "photo recorded"]
    assert sorted(line["status"] for line in recorded) == ["received", "rejected"]
    assert all(len(line["photo_id"]) == 36 and len(line["sha256"]) == 64 for line in recorded)
    [ignored] = [line for line in logs if line["message"] == "ignoring object FaceTrace did not issue"]
    assert ignored["level"] == "WARNING" and ignored["key"] == "elsewhere/file.jpg"


def test_worker_failure_lines_name_the_photo_and_the_stage():
    # GIVEN the worker in its own process, with a job whose photo is gone from storage
    # WHEN it polls once
    logs = _run(WORKER, _worker_service())
    # THEN its lines, the loop's and the domain's, are JSON under gpu-worker, and the result names photo and stage
    assert {line["service"] for line in logs} == {"gpu-worker"}
    [done] = [line for line in logs if line["message"] == "job done"]
    assert (done["photo_id"], done["status"], done["stage"]) == ("11111111-2222-4333-8444-555555555555", "failed", "fetch")
