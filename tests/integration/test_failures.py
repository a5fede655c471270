"""Failures: a message that keeps failing is dead-lettered after three receives, and its photo marked failed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import boto3
import numpy as np
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws

from facetrace.config import Settings
from facetrace.messages import PhotoKind
from facetrace.photo import PhotoStatus
from facetrace.wiring import Wiring
from functions.deadletter.app import make_handler as deadletter_handler
from functions.match.app import make_handler as match_handler
from tests import events, fakes
from tests.fakes import face, unit

pytestmark = pytest.mark.integration

BUCKET = "facetrace-test-uploads"
MAX_RECEIVES = 3


@dataclass
class Queue:
    url: str
    arn: str


@dataclass
class Env:
    sqs: object
    faces: Queue
    faces_dlq: Queue
    jobs_dlq: Queue
    wiring: Wiring
    store: object

    def send(self, queue: Queue, body: str) -> None:
        self.sqs.send_message(QueueUrl=queue.url, MessageBody=body)

    def deliver(self, queue: Queue, handler: Callable[[dict, object], dict]) -> tuple[int, set[str]]:
        """One poll of an event source mapping: receive, invoke, delete successes, release failures at once.

        Returns how many messages were delivered and the ids that failed (all of them when the invocation raised,
        as powertools does when every record of a batch fails)."""
        messages = self.sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10, AttributeNames=["All"]
                                            ).get("Messages", [])
        if not messages:
            return 0, set()
        try:
            response = handler(events.sqs_event(*(events.sqs_record_from(m, queue.arn) for m in messages)),
                               events.context())
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        except BatchProcessingError:
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)
            else:
                self.sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages), failed

    def bodies(self, queue: Queue) -> list[str]:
        messages = self.sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages", [])
        return [m["Body"] for m in messages]


def _create_queue(sqs, name: str, attributes: dict | None = None) -> Queue:
    url = sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
    return Queue(url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


@pytest.fixture
def env(db_url, store):
    with mock_aws():
        sqs = boto3.client("sqs", region_name=events.REGION)
        boto3.client("s3", region_name=events.REGION).create_bucket(Bucket=BUCKET)
        topic = boto3.client("sns", region_name=events.REGION).create_topic(Name="facetrace-test-alerts")["TopicArn"]
        # Named like the template's queues: the dead-letter function reads the stage from the DLQ's name.
        faces_dlq = _create_queue(sqs, "facetrace-test-faces-dlq")
        jobs_dlq = _create_queue(sqs, "facetrace-test-jobs-dlq")
        redrive = {"deadLetterTargetArn": faces_dlq.arn, "maxReceiveCount": MAX_RECEIVES}
        faces = _create_queue(sqs, "facetrace-test-faces", {"RedrivePolicy": json.dumps(redrive)})
        wiring = Wiring(Settings(upload_bucket=BUCKET, faces_queue_url=faces.url, alerts_topic_arn=topic,
                                 db_url=db_url, aws_region=events.REGION))
        yield Env(sqs, faces, faces_dlq, jobs_dlq, wiring, store)


def _sighting(store):
    p = fakes.photo(PhotoKind.SIGHTING)
    store.add_photo(p)
    return p


def _drive_until_dead(env: Env, handler) -> list[set[str]]:
    """Deliver the faces queue until it is empty; the failed ids of each delivery."""
    failures = []
    while (delivered := env.deliver(env.faces, handler))[0]:
        failures.append(delivered[1])
        assert len(failures) <= MAX_RECEIVES, "the message was never dead-lettered"
    return failures


@pytest.mark.parametrize("body", [
    "{this is not json",
    fakes.faces_result(fakes.photo(PhotoKind.SIGHTING), [face(0, unit(1))]).model_dump_json(),
], ids=["poison-body", "unknown-photo"])
def test_message_failing_three_times_goes_to_the_dlq_and_is_dropped_there(env, body):
    # GIVEN a faces message the match function can never process
    env.send(env.faces, body)
    handler = match_handler(env.wiring)
    # WHEN it is delivered until SQS gives up
    failures = _drive_until_dead(env, handler)
    # THEN it failed on each of three receives and now sits in the dead-letter queue
    assert len(failures) == MAX_RECEIVES
    assert all(len(f) == 1 for f in failures)
    assert env.bodies(env.faces) == []
    [dead] = env.bodies(env.faces_dlq)
    assert dead == body
    # AND the dead-letter function accepts it without marking any photo (there is none to mark)
    env.send(env.faces_dlq, dead)
    delivered, failed = env.deliver(env.faces_dlq, deadletter_handler(env.wiring))
    assert (delivered, failed) == (1, set())
    assert env.store.db.query("SELECT COUNT(*) AS n FROM photos WHERE status = 'failed'")[0]["n"] == 0


@pytest.mark.parametrize("bad_face", [
    face(0, unit(1, dim=4)),
    face(0, np.full(fakes.DIM, np.nan, dtype=np.float32)),
    face(0, np.full(fakes.DIM, 3.0, dtype=np.float32)),
], ids=["wrong-size", "nan", "not-unit-length"])
def test_a_result_with_invalid_faces_fails_its_photo_at_once_and_alone(env, bad_face):
    # GIVEN a batch of two results: a good one, and one whose embedding no pack could have produced
    good, bad = _sighting(env.store), _sighting(env.store)
    records = [events.sqs_record(fakes.faces_result(good, [face(0, unit(1, 1))]).model_dump_json(), env.faces.arn),
               events.sqs_record(fakes.faces_result(bad, [bad_face]).model_dump_json(), env.faces.arn)]
    # WHEN the match function handles the batch
    response = match_handler(env.wiring)(events.sqs_event(*records), events.context("match"))
    # THEN neither record is retried: the good photo is processed, the bad one failed at "match" with why
    assert response == {"batchItemFailures": []}
    assert env.store.get_photo(good.id).status is PhotoStatus.PROCESSED
    photo = env.store.get_photo(bad.id)
    assert (photo.status, photo.failed_stage) == (PhotoStatus.FAILED, "match")
    assert "invalid face data" in photo.reason
    # AND nothing of the bad photo was stored as a face
    assert env.store.db.query("SELECT COUNT(*) AS n FROM faces WHERE photo_id = %s", (bad.id,))[0]["n"] == 0


def test_recorded_photo_whose_faces_keep_failing_is_marked_failed_at_matching(env):
    # GIVEN a recorded sighting whose faces message names a model whose size disagrees with its gallery
    p, case = _sighting(env.store), fakes.stored_case(env.store)
    reference = fakes.photo(PhotoKind.REFERENCE, case_id=case.id)
    env.store.add_photo(reference)
    env.store.add_faces(reference.id, fakes.MODEL, [face(0, unit(1))], [True])  # the gallery is 8-d
    warm = _sighting(env.store)
    env.send(env.faces, fakes.faces_result(warm, [face(0, unit(1))]).model_dump_json())
    assert env.deliver(env.faces, match_handler(env.wiring)) == (1, set())
    small = fakes.MODEL.model_copy(update={"dim": 4})
    env.send(env.faces, fakes.faces_result(p, [face(0, unit(1, dim=4))], model=small).model_dump_json())
    # WHEN it is delivered until dead-lettered, then the dead-letter function runs on it
    assert len(_drive_until_dead(env, match_handler(env.wiring))) == MAX_RECEIVES
    assert env.store.get_photo(p.id).status is PhotoStatus.RECEIVED
    delivered, failed = env.deliver(env.faces_dlq, deadletter_handler(env.wiring))
    # THEN the photo is failed with a reason naming the matching stage
    assert (delivered, failed) == (1, set())
    photo = env.store.get_photo(p.id)
    assert (photo.status, photo.failed_stage) == (PhotoStatus.FAILED, "match")
    assert "at matching" in photo.reason and "3 failed attempts" in photo.reason


def test_dead_job_marks_its_recorded_photo_failed_at_detection(env):
    # GIVEN a recorded photo whose worker job was dead-lettered
    p = _sighting(env.store)
    env.send(env.jobs_dlq, fakes.job_for(p, BUCKET).model_dump_json())
    # WHEN the dead-letter function receives it from the jobs DLQ
    delivered, failed = env.deliver(env.jobs_dlq, deadletter_handler(env.wiring))
    # THEN the photo is failed with a reason naming the worker stage
    assert (delivered, failed) == (1, set())
    photo = env.store.get_photo(p.id)
    assert photo.status is PhotoStatus.FAILED
    assert photo.failed_stage == "faces" and "face detection" in photo.reason


def test_match_reports_only_the_bad_record_of_a_mixed_batch(env):
    # GIVEN a batch with a good result for a recorded sighting between two bad records
    good = _sighting(env.store)
    stranger = fakes.photo(PhotoKind.SIGHTING)
    good_record = events.sqs_record(fakes.faces_result(good, [face(0, unit(1, 1))]).model_dump_json(), env.faces.arn)
    unknown = events.sqs_record(fakes.faces_result(stranger, []).model_dump_json(), env.faces.arn)
    poison = events.sqs_record('{"version": 1, "job": {}}', env.faces.arn)
    # WHEN the match function handles the batch
    response = match_handler(env.wiring)(events.sqs_event(unknown, good_record, poison), events.context("match"))
    # THEN exactly the two bad records are reported for retry, and the good one is processed
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(
        [unknown["messageId"], poison["messageId"]])
    photo = env.store.get_photo(good.id)
    assert (photo.status, photo.face_count) == (PhotoStatus.PROCESSED, 1)


def test_match_batch_of_good_records_reports_no_failures(env):
    # GIVEN a batch of two good results
    photos = [_sighting(env.store) for _ in range(2)]
    records = [events.sqs_record(fakes.faces_result(p, []).model_dump_json(), env.faces.arn) for p in photos]
    # WHEN the match function handles it THEN nothing is reported and both are processed
    assert match_handler(env.wiring)(events.sqs_event(*records), events.context("match")) == {"batchItemFailures": []}
    assert {env.store.get_photo(p.id).status for p in photos} == {PhotoStatus.PROCESSED}
