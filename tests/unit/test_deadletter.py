"""Dead letters: a message that kept failing marks its photo failed, naming the stage that failed."""

from __future__ import annotations

import pytest

from facetrace.deadletter import photo_id_of, record_dead_letter
from facetrace.messages import PhotoKind
from facetrace.photo import PhotoStatus
from tests import fakes
from tests.fakes import face, unit


@pytest.fixture
def store():
    return fakes.MemoryStore()


def _recorded(store, status=PhotoStatus.RECEIVED):
    p = fakes.photo(PhotoKind.SIGHTING, status=status)
    store.add_photo(p)
    return p


@pytest.mark.parametrize(("queue", "stage"), [
    ("facetrace-jobs-dlq", "face detection (worker)"),
    ("facetrace-prod-jobs-dlq.fifo", "face detection (worker)"),
])
def test_dead_job_marks_its_photo_failed_at_detection(store, queue, stage):
    # GIVEN a recorded photo whose job kept failing in the worker
    p = _recorded(store)
    # WHEN the job arrives from the jobs dead-letter queue
    assert record_dead_letter(fakes.job_for(p).model_dump_json(), queue, store) == p.id
    # THEN the photo is failed with a reason naming the stage and the photo
    photo = store.get_photo(p.id)
    assert photo.status is PhotoStatus.FAILED
    assert stage in photo.reason and "3 failed attempts" in photo.reason and p.id in photo.reason


def test_dead_faces_result_marks_its_photo_failed_at_matching(store):
    # GIVEN a recorded photo whose faces message kept failing in match
    p = _recorded(store)
    body = fakes.faces_result(p, [face(0, unit(1))]).model_dump_json()
    # WHEN it arrives from the faces dead-letter queue
    record_dead_letter(body, "facetrace-faces-dlq", store)
    # THEN the reason names matching
    assert "at matching" in store.get_photo(p.id).reason


@pytest.mark.parametrize("status", [PhotoStatus.PROCESSED, PhotoStatus.REJECTED])
def test_photo_that_got_through_after_all_is_left_alone(store, status):
    # GIVEN a photo a later attempt finished
    p = _recorded(store, status)
    # WHEN a stale copy of its job is dead-lettered
    assert record_dead_letter(fakes.job_for(p).model_dump_json(), "facetrace-jobs-dlq", store) == p.id
    # THEN its status is unchanged
    assert store.get_photo(p.id).status is status


@pytest.mark.parametrize("body", ["", "not json", '{"photo_id": "x"}', '{"version": 2}'])
def test_unreadable_dead_letter_is_logged_and_dropped(store, body):
    # GIVEN a recorded photo and a dead letter about no photo FaceTrace can tell
    p = _recorded(store)
    # WHEN it is handled THEN nothing is marked
    assert record_dead_letter(body, "facetrace-jobs-dlq", store) is None
    assert store.get_photo(p.id).status is PhotoStatus.RECEIVED


def test_dead_letter_for_an_unrecorded_photo_is_dropped(store):
    # GIVEN a job for a photo that was never recorded
    job = fakes.job_for(fakes.photo(PhotoKind.SIGHTING))
    # WHEN it is handled THEN there is nothing to mark
    assert record_dead_letter(job.model_dump_json(), "facetrace-jobs-dlq", store) is None


def test_photo_id_is_read_from_either_stage_message():
    # GIVEN a job and a faces result for the same photo
    p = fakes.photo(PhotoKind.SIGHTING)
    # WHEN / THEN the photo id is found in both
    assert photo_id_of(fakes.job_for(p).model_dump_json()) == p.id
    assert photo_id_of(fakes.faces_result(p, []).model_dump_json()) == p.id
