"""Ingest through the real handler: moto S3 + SQS and the real MariaDB."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from facetrace.case import CaseStatus
from facetrace.config import Settings
from facetrace.messages import Job, PhotoKind
from facetrace.photo import PhotoStatus, reference_key, sighting_key
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
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type, Metadata=metadata or {})
        return events.s3_record(BUCKET, key, len(body))

    def ingest(self, *records: dict, wiring: Wiring | None = None) -> dict:
        return make_handler(wiring or self.wiring())(events.s3_event(*records), events.context("ingest"))

    def jobs(self) -> list[Job]:
        messages = self.sqs.receive_message(QueueUrl=self.jobs_url, MaxNumberOfMessages=10).get("Messages", [])
        return [Job.model_validate_json(m["Body"]) for m in messages]


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
    assert env.jobs() == [Job(photo_id=photo_id, kind=PhotoKind.SIGHTING, bucket=BUCKET, key=sighting_key(photo_id))]


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
    keys = ["uploads/holiday photo.jpg", "sightings/not-a-uuid.jpg", "results/x.model.json"]
    records = [env.upload(key, images.jpeg()) for key in keys]
    # WHEN ingest is notified of them
    response = env.ingest(*records)
    # THEN nothing is recorded or queued
    assert response == {"photos": []}
    assert env.store.db.query("SELECT COUNT(*) AS n FROM photos")[0]["n"] == 0
    assert env.jobs() == []
