"""Dead letters: whatever a queue gave up on gives the photo (or alert) it names a final state."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from facetrace.deadletter import photo_references, record_dead_letter, stage_of, sweep_stuck_photos
from facetrace.messages import DeliveryRecord, PhotoKind
from facetrace.photo import PhotoStatus
from facetrace.keys import sighting_key, upload_key
from tests import fakes
from tests.fakes import face, unit


@pytest.fixture
def store():
    return fakes.MemoryStore()


def _recorded(store, status=PhotoStatus.RECEIVED, kind=PhotoKind.SIGHTING):
    p = fakes.photo(kind, status=status)
    store.add_photo(p)
    return p


@pytest.mark.parametrize(("queue", "stage"), [
    ("facetrace-jobs-dlq", "faces"),
    ("facetrace-prod-jobs-dlq.fifo", "faces"),
    ("facetrace-faces-dlq", "match"),
    ("facetrace-ingest-dlq", "ingest"),
    ("facetrace-alerts-dlq", "notify"),
    ("facetrace-deliveries-dlq", "deliveries"),
    ("something-else", "pipeline"),
])
def test_stage_is_read_from_the_dead_letter_queue_name(queue, stage):
    assert stage_of(queue) == stage


def test_dead_job_marks_its_photo_failed_at_detection(store):
    # GIVEN a recorded photo whose job kept failing in the worker
    p = _recorded(store)
    # WHEN the job arrives from the jobs dead-letter queue
    outcome = record_dead_letter(fakes.job_for(p).model_dump_json(), "facetrace-jobs-dlq", store)
    # THEN the photo is failed at stage "faces" with a reason naming the stage, the attempts and the photo
    assert outcome.failed == [(p.id, "faces")]
    photo = store.get_photo(p.id)
    assert (photo.status, photo.failed_stage) == (PhotoStatus.FAILED, "faces")
    assert "face detection" in photo.reason and "3 failed attempts" in photo.reason and p.id in photo.reason


@pytest.mark.parametrize("mutate", [
    lambda m: {**m, "version": 2},
    lambda m: {**m, "priority": "high"},
    lambda m: {"envelope": {"payload": json.dumps(m)}},
    lambda m: {"Type": "Notification", "Message": json.dumps(m)},
], ids=["version-2", "extra-field", "nested-json-string", "sns-envelope"])
def test_a_dead_message_of_any_shape_still_fails_the_photo_it_names(store, mutate):
    # GIVEN a recorded photo and its faces message in a shape no stage reads (another version, an extra field...)
    p = _recorded(store)
    message = json.loads(fakes.faces_result(p, [face(0, unit(1))]).model_dump_json())
    # WHEN it arrives from the faces dead-letter queue
    record_dead_letter(json.dumps(mutate(message)), "facetrace-faces-dlq", store)
    # THEN the photo it names is failed at matching
    assert store.get_photo(p.id).status is PhotoStatus.FAILED
    assert store.get_photo(p.id).failed_stage == "match"


def test_a_body_that_is_not_json_is_searched_for_the_photo_id(store):
    # GIVEN a recorded photo and a truncated message that still holds its id
    p = _recorded(store)
    body = fakes.job_for(p).model_dump_json()[:70]
    assert p.id in body
    # WHEN it is dead-lettered THEN the photo is failed
    record_dead_letter(body, "facetrace-jobs-dlq", store)
    assert store.get_photo(p.id).status is PhotoStatus.FAILED


@pytest.mark.parametrize("status", [PhotoStatus.PROCESSED, PhotoStatus.REJECTED, PhotoStatus.DUPLICATE])
def test_photo_that_got_through_after_all_is_left_alone(store, status):
    # GIVEN a photo a later attempt finished
    p = _recorded(store, status)
    # WHEN a stale copy of its job is dead-lettered
    outcome = record_dead_letter(fakes.job_for(p).model_dump_json(), "facetrace-jobs-dlq", store)
    # THEN its status is unchanged and nothing is counted as failed
    assert store.get_photo(p.id).status is status
    assert outcome.failed == []


@pytest.mark.parametrize("body", ["", "not json", '{"photo_id": "x"}', '{"version": 2}', "[" * 100_000])
def test_dead_letter_naming_no_photo_changes_nothing(store, body):
    # GIVEN a recorded photo and a dead letter about no photo FaceTrace can tell
    p = _recorded(store)
    # WHEN it is handled THEN nothing is marked, and nothing raises (not even 100,000 nested brackets)
    assert record_dead_letter(body, "facetrace-jobs-dlq", store).failed == []
    assert store.get_photo(p.id).status is PhotoStatus.RECEIVED


def test_an_upload_ingest_never_recorded_is_recorded_as_failed(store):
    # GIVEN Lambda's on-failure record for an S3 event ingest kept failing on (its photo was never recorded)
    photo_id = str(uuid.uuid4())
    s3_event = {"Records": [{"s3": {"object": {"key": upload_key(sighting_key(photo_id)), "size": 1234}}}]}
    body = json.dumps({"requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
                       "requestPayload": s3_event, "responsePayload": {"errorMessage": "database unreachable"}})
    # WHEN it arrives from the ingest dead-letter queue
    outcome = record_dead_letter(body, "facetrace-ingest-dlq", store)
    # THEN the photo is recorded, failed at ingest, so the citizen's receipt says so
    photo = store.get_photo(photo_id)
    assert (photo.status, photo.failed_stage, photo.kind, photo.s3_key) == (
        PhotoStatus.FAILED, "ingest", PhotoKind.SIGHTING, sighting_key(photo_id))
    assert outcome.failed == [(photo_id, "ingest")]


def test_an_undeliverable_alert_gets_a_failed_delivery(store):
    # GIVEN an alert whose notification kept failing
    alert_id = str(uuid.uuid4())
    store.alerts[alert_id] = object()
    body = json.dumps({"version": 1, "alert_id": alert_id, "case_id": str(uuid.uuid4())})
    # WHEN it arrives from the alerts dead-letter queue
    outcome = record_dead_letter(body, "facetrace-alerts-dlq", store)
    # THEN a failed delivery is recorded for it, saying notification gave up
    assert outcome.alerts == [alert_id]
    [(key, row)] = store.deliveries.items()
    assert key[0] == alert_id and row["ok"] is False and "gave up" in row["error"]


def test_a_dead_delivery_report_is_recorded_again(store):
    # GIVEN a delivery report the record function could not store
    record = DeliveryRecord(alert_id=str(uuid.uuid4()), channel="email", recipient="mpu@police.example", ok=True,
                            provider_id="ses-1")
    # WHEN it arrives from the deliveries dead-letter queue THEN it is stored
    record_dead_letter(record.model_dump_json(), "facetrace-deliveries-dlq", store)
    assert store.deliveries[(record.alert_id, "email", "mpu@police.example")]["ok"] is True


def test_sweep_fails_photos_no_queue_holds_any_more(store):
    # GIVEN a photo received long ago and never finished, and a recent one still on its way
    old, recent = _recorded(store), _recorded(store)
    store.photo_created[old.id] = datetime.now(timezone.utc) - timedelta(days=5)
    # WHEN the sweep runs for photos older than four days
    failed = sweep_stuck_photos(store, datetime.now(timezone.utc) - timedelta(days=4))
    # THEN only the old one is failed, at stage "pipeline"
    assert failed == [old.id]
    assert (store.get_photo(old.id).status, store.get_photo(old.id).failed_stage) == (PhotoStatus.FAILED, "pipeline")
    assert store.get_photo(recent.id).status is PhotoStatus.RECEIVED


def test_photo_references_prefer_upload_keys_and_named_ids():
    # GIVEN a message naming a photo by upload key, and mentioning a case id in passing
    photo_id, case_id = str(uuid.uuid4()), str(uuid.uuid4())
    body = json.dumps({"key": upload_key(f"references/{case_id}/{photo_id}"), "note": f"case {case_id}"})
    # WHEN its references are read THEN the photo comes first, with its key
    refs = photo_references(body)
    assert refs[0] == (photo_id, upload_key(f"references/{case_id}/{photo_id}"))
    assert (case_id, None) in refs
