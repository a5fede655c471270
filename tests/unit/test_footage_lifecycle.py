"""Every part of a clip reaches a final state, and footage is erased after retention (issue #14)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from facetrace.alert import AlertStatus
from facetrace.deadletter import record_dead_letter
from facetrace.footage.clip import PartStatus
from facetrace.footage.deadletter import dead_footage
from facetrace.footage.retention import purge_footage
from facetrace.messages import FootageProgress, PhotoKind, TracksResult
from facetrace.photo import PhotoStatus
from tests import fakes
from tests.fakes import with_cosine
from tests.unit.test_footage_results import REF, Clips, alerts, track


def _dead(clips: Clips, body: str, queue: str, results=None):
    results = results if results is not None else fakes.FakeQueue()
    outcome = record_dead_letter(body, queue, clips.store, 3,
                                 lambda b, stage: dead_footage(b, stage, clips.store, results, 3))
    return outcome, results


def test_a_dead_part_job_is_forwarded_as_a_failed_result_and_the_clip_finishes():
    clips = Clips()
    clips.send(clips.result(0, track(0, 1.0, 3.0, with_cosine(REF, 0.95))))
    clips.send(clips.result(2))
    job = clips.result(1).job
    # WHEN the worker kept failing on part 1 and its job was dead-lettered
    _, results = _dead(clips, job.model_dump_json(), "facetrace-jobs-dlq")
    # THEN a failed result for that part goes to the footage function, not a failed clip at once
    [(body, _)] = results.sent
    assert clips.store.get_photo(clips.clip.id).status is PhotoStatus.RECEIVED
    done = clips.send(TracksResult.model_validate_json(body))
    # AND there the clip finishes: the other parts' appearance alerts, the clip fails naming the part
    assert done.finished and len(alerts(clips)) == 1
    clip = clips.store.get_photo(clips.clip.id)
    assert clip.status is PhotoStatus.FAILED and "part 2 of 3" in clip.reason and "gave up after 3" in clip.reason


def test_a_dead_part_result_fails_the_part_and_the_clip_and_dead_progress_changes_nothing():
    clips = Clips()
    progress = FootageProgress(clip_id=clips.clip.id, part=0, frames_total=100, frames_done=10, faces_found=1)
    _dead(clips, progress.model_dump_json(), "facetrace-footage-dlq")
    assert clips.store.get_photo(clips.clip.id).status is PhotoStatus.RECEIVED
    _dead(clips, clips.result(1).model_dump_json(), "facetrace-footage-dlq")
    assert clips.store.parts_of(clips.clip.id)[1].status is PartStatus.FAILED
    clip = clips.store.get_photo(clips.clip.id)
    assert (clip.status, clip.failed_stage) == (PhotoStatus.FAILED, "match")


def test_a_photo_job_still_dead_letters_as_before():
    clips = Clips()
    photo = fakes.photo(PhotoKind.SIGHTING)
    clips.store.add_photo(photo)
    outcome, results = _dead(clips, fakes.job_for(photo).model_dump_json(), "facetrace-jobs-dlq")
    assert outcome.failed == [(photo.id, "faces")] and results.sent == []


def test_footage_past_retention_is_erased_unless_an_appearance_was_confirmed():
    clips, kept = Clips(), Clips()
    for world in (clips, kept):
        for n in range(3):
            world.send(world.result(n, *([track(0, 1.0, 3.0, with_cosine(REF, 0.95))] if n == 0 else [])))
    [alert] = alerts(kept)
    kept.store.set_review(alert.id, AlertStatus.CONFIRMED, "agency", "reviewer", "her", datetime.now(timezone.utc))
    later = datetime.now(timezone.utc) + timedelta(days=91)
    for world, erased in ((clips, 1), (kept, 0)):
        world.objects.add(world.clip.s3_key, b"video")
        assert purge_footage(world.store, world.objects, 90, now=later) == erased
    # THEN the unconfirmed clip's video, tracks and place are gone, its row says erased; the confirmed one stays
    assert clips.clip.s3_key not in clips.objects.objects and clips.store.tracks_of(clips.clip.id) == []
    assert clips.store.get_clip(clips.clip.id).erased_at == later and clips.store.get_photo(clips.clip.id).erased_at
    assert kept.clip.s3_key in kept.objects.objects and kept.store.tracks_of(kept.clip.id)
    assert purge_footage(clips.store, clips.objects, 90, now=later) == 0
