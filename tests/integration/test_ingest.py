"""Ingest through the real handler: moto S3 + SQS and the real MariaDB."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from facetrace.case import CaseStatus
from facetrace.config import Settings
from facetrace.messages import Job, PhotoKind
from facetrace.photo import PhotoStatus
from facetrace.keys import parse_key, reference_key, sighting_key, upload_key
from facetrace.upload import SightingDetails, encode_metadata
from facetrace.wiring import Wiring
from functions.ingest.app import make_handler
from tests import events, fakes, images

pytestmark = pytest.mark.integration

BUCKET = "facetrace-test-uploads"


@dataclass
class Env:
    s3: object
    sqs: object
    jobs_url: str
    db_url: str
    store: object

    def wiring(self, **overrides) -> Wiring:
        settings = dict(upload_bucket=BUCKET, jobs_queue_url=self.jobs_url, db_url=self.db_url, aws_region=events.REGION)
        return Wiring(Settings(**{**settings, **overrides}))

    def upload(self, key: str, body: bytes, content_type: str = "image/jpeg", metadata: dict | None = None) -> dict:
        """What a browser's POST with a ticket for `key` does: write to the inbox; returns S3's event record."""
        inbox = key if key.startswith("uploads/") or not _issued(key) else upload_key(key)
        self.s3.put_object(Bucket=BUCKET, Key=inbox, Body=body, ContentType=content_type, Metadata=metadata or {})
        return events.s3_record(BUCKET, inbox, body)

    def keys(self) -> set[str]:
        return {o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}

    def pinned(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def ingest(self, *records: dict, wiring: Wiring | None = None) -> dict:
        return make_handler(wiring or self.wiring())(events.s3_event(*records), events.context("ingest"))

    def jobs(self) -> list[Job]:
        messages = self.sqs.receive_message(QueueUrl=self.jobs_url, MaxNumberOfMessages=10).get("Messages", [])
        return [Job.model_validate_json(m["Body"]) for m in messages]


def _issued(key: str) -> bool:
    try:
        parse_key(key)
    except ValueError:
        return False
    return True


@pytest.fixture
def env(db_url, store):
    with mock_aws():
        s3 = boto3.client("s3", region_name=events.REGION)
        s3.create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs", region_name=events.REGION)
        jobs_url = sqs.create_queue(QueueName="facetrace-test-jobs")["QueueUrl"]
        yield Env(s3, sqs, jobs_url, db_url, store)


def test_good_jpeg_is_received_and_queued_once(env):
    # GIVEN a citizen's JPEG uploaded with sighting details under a server-issued key
    photo_id = str(uuid.uuid4())
    details = SightingDetails(place="Gare de Lyon, Paris — hall 2", lat=48.8443, lon=2.3744)
    record = env.upload(sighting_key(photo_id), images.jpeg(640, 480), metadata=encode_metadata(details))
    # WHEN S3 notifies ingest
    response = env.ingest(record)
    # THEN the photo is recorded as received with its facts and details
    assert response == {"photos": [{"photo_id": photo_id, "status": "received", "reason": None}]}
    photo = env.store.get_photo(photo_id)
    assert (photo.status, photo.kind, photo.width, photo.height) == (PhotoStatus.RECEIVED, PhotoKind.SIGHTING, 640, 480)
    assert (photo.content_type, photo.place, photo.lat) == ("image/jpeg", details.place, details.lat)
    assert photo.job_sent_at is not None
    # AND exactly one job is queued for the worker
    body = env.pinned(sighting_key(photo_id))
    assert env.jobs() == [Job(photo_id=photo_id, kind=PhotoKind.SIGHTING, bucket=BUCKET, key=sighting_key(photo_id),
                              sha256=hashlib.sha256(body).hexdigest())]
    # AND the checked bytes are pinned under the photo's own key, the inbox emptied
    assert env.keys() == {sighting_key(photo_id)}
    assert photo.sha256 == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html><body>definitely not a photo</body></html>" * 4, "not an image"),
    (b"", "empty file"),
    (images.truncated_jpeg(), "truncated or corrupt"),
    (images.png_header_only(30_000, 30_000), "too many pixels"),
    (images.encode(64, 64, "GIF"), "unsupported image format GIF"),
], ids=["not-an-image", "empty", "truncated-jpeg", "30000x30000", "gif"])
def test_bad_upload_is_rejected_with_a_reason_and_not_queued(env, body, reason):
    # GIVEN an upload that is not an acceptable image
    photo_id = str(uuid.uuid4())
    record = env.upload(sighting_key(photo_id), body)
    # WHEN ingest handles it
    [outcome] = env.ingest(record)["photos"]
    # THEN it is recorded as rejected with the reason, and no GPU job is queued
    assert outcome["status"] == "rejected" and reason in outcome["reason"]
    photo = env.store.get_photo(photo_id)
    assert photo.status is PhotoStatus.REJECTED and reason in photo.reason
    assert photo.job_sent_at is None
    assert env.jobs() == []


def test_reference_photo_of_an_open_case_is_queued_with_its_case(env):
    # GIVEN an open case and a reference photo uploaded for it
    case, photo_id = fakes.stored_case(env.store), str(uuid.uuid4())
    record = env.upload(reference_key(case.id, photo_id), images.encode(300, 400, "PNG"), "image/png")
    # WHEN ingest handles it
    env.ingest(record)
    # THEN it is received for that case and queued as a reference job
    photo = env.store.get_photo(photo_id)
    assert (photo.status, photo.case_id, photo.content_type) == (PhotoStatus.RECEIVED, case.id, "image/png")
    [job] = env.jobs()
    assert (job.kind, job.case_id) == (PhotoKind.REFERENCE, case.id)


@pytest.mark.parametrize("case_status", [None, CaseStatus.CLOSED], ids=["unknown-case", "closed-case"])
def test_reference_photo_for_an_unknown_or_closed_case_is_rejected(env, case_status):
    # GIVEN a good photo uploaded under the key of a case that does not exist, or is closed
    case_id = str(uuid.uuid4()) if case_status is None else fakes.stored_case(env.store, case_status).id
    photo_id = str(uuid.uuid4())
    record = env.upload(reference_key(case_id, photo_id), images.jpeg())
    # WHEN ingest handles it
    env.ingest(record)
    # THEN it is rejected because the case is not open, and nothing is queued
    photo = env.store.get_photo(photo_id)
    assert photo.status is PhotoStatus.REJECTED
    assert photo.reason == f"case {case_id} is not open"
    assert env.jobs() == []


def test_duplicated_s3_event_gives_one_photo_and_one_job(env):
    # GIVEN one upload
    photo_id = str(uuid.uuid4())
    record = env.upload(sighting_key(photo_id), images.jpeg())
    # WHEN S3 delivers its event twice, once with the record repeated in the same event
    first = env.ingest(record)
    second = env.ingest(record, record)
    # THEN there is one photo row and one job
    assert [o["status"] for o in first["photos"] + second["photos"]] == ["received"] * 3
    assert env.store.db.query("SELECT COUNT(*) AS n FROM photos")[0]["n"] == 1
    assert [j.photo_id for j in env.jobs()] == [photo_id]


def test_event_retried_after_the_queue_failed_queues_the_job_once(env):
    # GIVEN an upload whose first ingest could not reach the jobs queue
    photo_id = str(uuid.uuid4())
    record = env.upload(sighting_key(photo_id), images.jpeg())
    missing = env.jobs_url.rsplit("/", 1)[0] + "/no-such-queue"
    with pytest.raises(ClientError, match="queue does not exist"):
        env.ingest(record, wiring=env.wiring(jobs_queue_url=missing))
    assert env.store.get_photo(photo_id).job_sent_at is None
    # WHEN Lambda retries the event (twice)
    env.ingest(record)
    env.ingest(record)
    # THEN the job is queued exactly once
    assert [j.photo_id for j in env.jobs()] == [photo_id]
    assert env.store.get_photo(photo_id).job_sent_at is not None


def test_object_keys_facetrace_never_issued_are_ignored(env):
    # GIVEN objects under keys FaceTrace did not hand out (one with a space, URL-encoded in the event)
    keys = ["uploads/holiday photo.jpg", "uploads/sightings/not-a-uuid.jpg", "uploads/results/x.model.json"]
    records = [env.upload(key, images.jpeg()) for key in keys]
    # WHEN ingest is notified of them
    response = env.ingest(*records)
    # THEN nothing is recorded or queued
    assert response == {"photos": []}
    assert env.store.db.query("SELECT COUNT(*) AS n FROM photos")[0]["n"] == 0
    assert env.jobs() == []


def test_a_second_upload_with_the_same_ticket_is_refused_and_recorded(env):
    # GIVEN a sighting that was uploaded, checked and pinned
    photo_id = str(uuid.uuid4())
    first = images.jpeg(seed=1)
    env.ingest(env.upload(sighting_key(photo_id), first))
    # WHEN the same ticket is used again for other bytes (within its five minutes)
    second = images.jpeg(seed=2)
    outcome = env.ingest(env.upload(sighting_key(photo_id), second))
    # THEN the evidence is still the first upload, the second write is deleted, and the refusal is recorded
    assert env.pinned(sighting_key(photo_id)) == first
    assert env.keys() == {sighting_key(photo_id)}
    assert outcome["photos"][0]["status"] == "received"
    [refused] = env.store.refused_uploads(photo_id)
    assert refused["sha256"] == hashlib.sha256(second).hexdigest() and "second upload" in refused["reason"]
    # AND only one job was ever queued, for the first bytes
    [job] = env.jobs()
    assert job.sha256 == hashlib.sha256(first).hexdigest()


def test_an_upload_replaced_before_ingest_read_it_is_taken_from_its_own_event(env):
    # GIVEN two writes to the same upload key before ingest ran (the browser retried with other bytes)
    photo_id = str(uuid.uuid4())
    stale = env.upload(sighting_key(photo_id), images.jpeg(seed=1))
    fresh_bytes = images.jpeg(seed=2)
    fresh = env.upload(sighting_key(photo_id), fresh_bytes)
    # WHEN ingest handles the stale event first, then the fresh one
    assert env.ingest(stale) == {"photos": []}
    env.ingest(fresh)
    # THEN the photo is the bytes its event announced, pinned and hashed
    assert env.pinned(sighting_key(photo_id)) == fresh_bytes
    assert env.store.get_photo(photo_id).sha256 == hashlib.sha256(fresh_bytes).hexdigest()


def test_the_same_bytes_uploaded_again_become_a_duplicate_with_no_job(env):
    # GIVEN a sighting on record
    body = images.jpeg(seed=3)
    original, again = str(uuid.uuid4()), str(uuid.uuid4())
    env.ingest(env.upload(sighting_key(original), body))
    # WHEN someone uploads exactly the same bytes with another ticket
    [outcome] = env.ingest(env.upload(sighting_key(again), body, metadata={"place": "Platform%204"}))["photos"]
    # THEN the second photo is a duplicate linked to the first, keeps its own details, and is not queued or kept
    assert outcome["status"] == "duplicate"
    photo = env.store.get_photo(again)
    assert (photo.status, photo.duplicate_of, photo.place) == (PhotoStatus.DUPLICATE, original, "Platform 4")
    assert [j.photo_id for j in env.jobs()] == [original]
    assert env.keys() == {sighting_key(original)}


def test_the_same_bytes_as_a_failed_photo_are_processed_afresh(env):
    # GIVEN a sighting that failed in the pipeline
    body = images.jpeg(seed=4)
    failed, again = str(uuid.uuid4()), str(uuid.uuid4())
    env.ingest(env.upload(sighting_key(failed), body))
    env.store.fail_photo(failed, "faces", "the worker gave up")
    # WHEN the same bytes are uploaded again
    env.ingest(env.upload(sighting_key(again), body))
    # THEN the new upload is received and queued: a failure must not swallow the next try
    assert env.store.get_photo(again).status is PhotoStatus.RECEIVED
    assert [j.photo_id for j in env.jobs()] == [failed, again]


def test_a_rejected_upload_keeps_its_reason_but_not_its_bytes(env):
    # GIVEN an upload that is not an image
    photo_id = str(uuid.uuid4())
    env.ingest(env.upload(sighting_key(photo_id), b"%PDF-1.7 not a photo" * 20))
    # THEN nothing of it is kept in the bucket, only the rejection
    assert env.store.get_photo(photo_id).status is PhotoStatus.REJECTED
    assert env.keys() == set()
