"""Faults through the whole local stack: poison on every queue, a photo deleted under the worker, a worker killed
mid-batch, the database going down and coming back, the same bytes uploaded again, a ticket used twice.

Each test asserts the final state of every photo it made, and that no alert is lost or duplicated.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from facetrace.case import Agency
from devstack.runtime import LocalRuntime
from devstack.system import LocalSystem
from devstack.users import AgencyUser, Citizen, post_file
from facetrace.messages import Job, PhotoKind
from facetrace.photo import FINAL, Photo, PhotoStatus
from facetrace.keys import sighting_key
from tests import fakes
from tests.tcp_proxy import OutageProxy

pytestmark = pytest.mark.e2e

DLQS = ("IngestDeadLetterQueue", "JobsDeadLetterQueue", "FacesDeadLetterQueue", "AlertsDeadLetterQueue",
        "DeliveriesDeadLetterQueue", "DeadLetterParkingQueue")


@pytest.fixture(scope="module")
def system(mysql_server):
    system = LocalSystem(pack="dlib", server=mysql_server, stack_name="facetrace-faults").start()
    yield system
    system.stop()


@pytest.fixture(scope="module")
def case_id(system, people) -> str:
    """An open case enrolled with two reference photos of person01."""
    agency = Agency(name="Fault Police", email="cases@faults.test")
    system.store.add_agency(agency)
    officer = AgencyUser(system.gateway.url, agency.id)
    case = officer.open_case(person_name="Person One", last_seen_place="Test Town")
    refs = [officer.add_reference_photo(case["id"], p) for p in people["person01"][:2]]
    _settle(system, *refs)
    assert all(system.store.get_photo(r).status is PhotoStatus.PROCESSED for r in refs)
    return case["id"]


_variants = itertools.count()


@pytest.fixture
def person_one(people, tmp_path):
    """A fresh photo of the missing person each call: one of their sightings, re-encoded so its bytes are new."""
    def fresh() -> Path:
        n = next(_variants)
        source = people["person01"][2 + n % 6]
        out = tmp_path / f"person01-{n}.jpg"
        Image.open(source).convert("RGB").save(out, "JPEG", quality=95 - n % 20)
        return out
    return fresh


def _settle(system: LocalSystem, *photo_ids: str) -> list[Photo]:
    """Run the stack until every photo is final and nothing moves; the photos as stored."""
    def final() -> bool:
        return all((p := system.store.get_photo(i)) is not None and p.status in FINAL for i in photo_ids)
    assert system.run_until(final, timeout_s=180), [system.store.get_photo(i) for i in photo_ids]
    system.drain()
    return [system.store.get_photo(i) for i in photo_ids]


def _ingested(system: LocalSystem, *photo_ids: str) -> None:
    """Run only the functions (not the worker) until ingest has recorded and queued every photo."""
    deadline = time.monotonic() + 60
    while not all(system.store.get_photo(i) for i in photo_ids):
        assert time.monotonic() < deadline, "ingest did not record the photos"
        system.runtime.pump()


def _alerts_of(system: LocalSystem, sighting_id: str):
    return [a for a in system.store.list_alerts() if a.sighting_id == sighting_id]


def _emails_about(system: LocalSystem, alert_id: str) -> int:
    return sum(alert_id in e.body for e in system.emails())


def _queue_depths(system: LocalSystem) -> dict[str, int]:
    sqs = system.stack.client("sqs")
    return {q: sum(int(v) for v in sqs.get_queue_attributes(
        QueueUrl=system.stack.physical[q], AttributeNames=["ApproximateNumberOfMessages",
                                                           "ApproximateNumberOfMessagesNotVisible"])["Attributes"].values())
            for q in DLQS}


def _send(system: LocalSystem, queue: str, body: str) -> None:
    system.stack.client("sqs").send_message(QueueUrl=system.stack.physical[queue], MessageBody=body)


def _received_photo(system: LocalSystem) -> Photo:
    """A sighting recorded as received and queued, as ingest leaves it."""
    photo = fakes.photo(PhotoKind.SIGHTING)
    system.store.add_photo(photo)
    return photo


def test_poison_on_every_queue_fails_only_what_it_names(system, case_id, people, person_one):
    # GIVEN two good sightings (one of the missing person, one of a stranger) on their way
    citizen = Citizen(system.gateway.url)
    good = [citizen.report_sighting(person_one()), citizen.report_sighting(people["person03"][0])]
    # AND poison on every queue: jobs in another version or with an extra field, naming real photos...
    other_version, extra_field, bad_faces = (_received_photo(system) for _ in range(3))
    job = json.loads(Job(photo_id=other_version.id, kind=PhotoKind.SIGHTING, bucket="b",
                         key=sighting_key(other_version.id)).model_dump_json())
    _send(system, "JobsQueue", json.dumps({**job, "version": 2}))
    _send(system, "JobsQueue", json.dumps({**job, "photo_id": extra_field.id, "key": sighting_key(extra_field.id),
                                           "priority": "urgent"}))
    # ... a faces result whose embedding is NaN, and bodies that are not JSON at all, on every queue
    nan = fakes.faces_result(bad_faces, [fakes.face(0, fakes.unit(1) * float("nan"))]).model_dump_json()
    _send(system, "FacesQueue", nan.replace("test-model", "dlib-resnet-v1"))
    for queue in ("JobsQueue", "FacesQueue", "AlertsQueue", "DeliveriesQueue"):
        _send(system, queue, "{this is not json")
    _send(system, "AlertsQueue", json.dumps({"version": 2, "alert_id": str(uuid.uuid4())}))
    # WHEN the stack runs until everything settles
    photos = _settle(system, *good, other_version.id, extra_field.id, bad_faces.id)
    # THEN the good sightings were processed, the missing person's raised one alert, e-mailed once
    assert [p.status for p in photos[:2]] == [PhotoStatus.PROCESSED] * 2
    [alert] = _alerts_of(system, good[0])
    assert alert.case_id == case_id and _emails_about(system, alert.id) == 1
    assert _alerts_of(system, good[1]) == []
    # AND each photo a poison message named is failed, at the stage that gave up
    assert [(p.status, p.failed_stage) for p in photos[2:]] == [
        (PhotoStatus.FAILED, "faces"), (PhotoStatus.FAILED, "faces"), (PhotoStatus.FAILED, "match")]
    # AND every dead-letter queue was read to the end: nothing waits, nothing is parked
    assert set(_queue_depths(system).values()) == {0}


def test_photo_deleted_before_the_worker_fails_alone(system, case_id, people, person_one):
    # GIVEN two sightings checked by ingest, the first of which is then deleted from the bucket
    citizen = Citizen(system.gateway.url)
    gone, kept = citizen.report_sighting(person_one()), citizen.report_sighting(person_one())
    _ingested(system, gone, kept)
    system.stack.client("s3").delete_object(Bucket=system.stack.physical["UploadBucket"], Key=sighting_key(gone))
    # WHEN the worker and match run
    gone_photo, kept_photo = _settle(system, gone, kept)
    # THEN the deleted one failed at fetch with the reason, and the other alerted as usual
    assert (gone_photo.status, gone_photo.failed_stage) == (PhotoStatus.FAILED, "fetch")
    assert "removed from storage" in gone_photo.reason
    assert kept_photo.status is PhotoStatus.PROCESSED and len(_alerts_of(system, kept)) == 1


class _DiesBeforeDeleting:
    """The worker's jobs queue as seen by a worker killed after it sent its results, before it deleted its jobs."""

    def __init__(self, source) -> None:
        self.source, self.receipts = source, []

    def receive(self, max_jobs: int, wait_s: int):
        received = self.source.receive(max_jobs, wait_s)
        self.receipts += [m.receipt for m in received]
        return received

    def delete(self, receipts: list[str]) -> None:
        pass  # killed: nothing is deleted

    def extend(self, receipts: list[str], seconds: int) -> None:
        self.source.extend(receipts, seconds)


def test_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(system, case_id, people, person_one):
    # GIVEN two sightings of the missing person checked by ingest
    citizen = Citizen(system.gateway.url)
    ids = [citizen.report_sighting(person_one()), citizen.report_sighting(person_one())]
    _ingested(system, *ids)
    # WHEN a worker processes the batch, sends both results, and is killed before deleting its jobs
    real = system.worker.jobs
    dying = _DiesBeforeDeleting(real)
    system.worker.jobs = dying
    try:
        assert system.worker.poll_once() == 2
    finally:
        system.worker.jobs = real
    # AND the jobs come back when their visibility runs out, to a new worker
    real.extend(dying.receipts, 0)
    photos = _settle(system, *ids)
    # THEN each photo is processed once: one alert each, e-mailed once each
    assert [p.status for p in photos] == [PhotoStatus.PROCESSED] * 2
    for sighting in ids:
        [alert] = _alerts_of(system, sighting)
        assert _emails_about(system, alert.id) == 1
    faces = system.store.db.query("SELECT photo_id, COUNT(*) AS n FROM faces WHERE photo_id IN (%s, %s)"
                                  " GROUP BY photo_id", tuple(ids))
    assert {r["photo_id"]: r["n"] for r in faces} == {ids[0]: photos[0].face_count, ids[1]: photos[1].face_count}


def test_database_down_and_back_loses_nothing(system, case_id, people, person_one):
    # GIVEN the functions reach MySQL through a connection that can be cut
    server = urlsplit(system.db_url)
    proxy = OutageProxy(server.hostname, server.port or 3306)
    proxied = system.db_url.replace(f"{server.hostname}:{server.port or 3306}", f"127.0.0.1:{proxy.port}", 1)
    runtime = system.runtime
    system.runtime = LocalRuntime(system.stack, proxied)
    citizen = Citizen(system.gateway.url)
    try:
        # WHEN the database goes down while a sighting is uploaded, and ingest tries it
        proxy.cut()
        sighting = citizen.report_sighting(person_one())
        system.runtime.pump()
        # THEN the citizen's receipt answers 503 with Retry-After, not an error page
        response = requests.get(f"{system.gateway.url}/receipts/{sighting}", timeout=30)
        assert response.status_code == 503 and response.headers.get("Retry-After")
        assert system.store.get_photo(sighting) is None
        # WHEN the database comes back
        proxy.restore()
        [photo] = _settle(system, sighting)
    finally:
        system.runtime = runtime
        proxy.close()
    # THEN the sighting was processed and alerted exactly once
    assert photo.status is PhotoStatus.PROCESSED
    [alert] = _alerts_of(system, sighting)
    assert _emails_about(system, alert.id) == 1
    assert citizen.receipt(sighting)["status"] == "processed"


def test_the_same_bytes_uploaded_again_alert_once(system, case_id, people, person_one):
    # GIVEN one photo of the missing person, uploaded five times by different citizens
    citizen = Citizen(system.gateway.url)
    photo = person_one()
    ids = [citizen.report_sighting(photo, place=f"Stop {n}") for n in range(5)]
    # WHEN the stack has handled them all
    photos = _settle(system, *ids)
    # THEN one is processed and alerted once; the others are duplicates linked to it, each keeping its own place
    processed = [p for p in photos if p.status is PhotoStatus.PROCESSED]
    assert len(processed) == 1
    duplicates = [p for p in photos if p.status is PhotoStatus.DUPLICATE]
    assert len(duplicates) == 4 and {p.duplicate_of for p in duplicates} == {processed[0].id}
    assert sorted(p.place for p in photos) == [f"Stop {n}" for n in range(5)]
    alerts = [a for i in ids for a in _alerts_of(system, i)]
    assert len(alerts) == 1 and _emails_about(system, alerts[0].id) == 1
    assert citizen.receipt(duplicates[0].id)["status"] == "duplicate"


def test_a_ticket_used_twice_cannot_change_the_evidence(system, case_id, people, person_one):
    # GIVEN a sighting of the missing person, processed and alerted
    api = system.gateway.url
    ticket = requests.post(f"{api}/sightings/upload", json={"content_type": "image/jpeg"}, timeout=30).json()
    first = person_one().read_bytes()
    post_file(ticket, first, "a.jpg", "image/jpeg")
    [photo] = _settle(system, ticket["receipt_id"])
    [alert] = _alerts_of(system, photo.id)
    # WHEN the same ticket is used again, within its lifetime, for another person's photo
    post_file(ticket, people["person03"][1].read_bytes(), "b.jpg", "image/jpeg")
    system.drain()
    # THEN the alert still shows the bytes that were matched, and the attempt is recorded
    agency = system.store.get_case(alert.case_id).agency_id
    detail = AgencyUser(api, agency).open_alert(alert.id)
    assert requests.get(detail["sighting_photo_url"], timeout=30).content == first
    assert len(system.store.refused_uploads(photo.id)) == 1
    assert system.store.get_photo(photo.id).status is PhotoStatus.PROCESSED
    assert len(_alerts_of(system, photo.id)) == 1
