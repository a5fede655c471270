"""A clip's parts reported by the worker: tracks joined into appearances, each searched and alerted once per case."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from facetrace.footage.clip import Clip, PartStatus, VideoFacts, plan_parts
from facetrace.footage.results import FootageDeps, handle_footage_message, parse_message
from facetrace.gallery.cache import GalleryCache
from facetrace.keys import footage_key
from facetrace.match import MatchDeps, Thresholds, process_faces
from facetrace.messages import FootagePart, FootageProgress, Job, PhotoKind, Track, TracksResult
from facetrace.photo import Photo, PhotoStatus
from tests import fakes
from tests.fakes import MODEL, face, unit, with_cosine
from tests.footage_fakes import FootageMemoryStore

REF = unit(1, 2, 3)
STRANGER = unit(0, 0, 0, 0, 1)
STARTED = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


class Clips:
    """An open case enrolled with REF, and a clip in parts of 10 s waiting for the worker."""

    def __init__(self, duration: float = 30.0) -> None:
        self.store = FootageMemoryStore()
        self.objects = fakes.FakeObjects()
        self.publisher = fakes.FakePublisher()
        self.match = MatchDeps(self.store, self.publisher, self.objects, GalleryCache(self.store, self.objects))
        self.deps = FootageDeps(self.store, self.objects, self.match, Thresholds.of, "uploads", join_gap_s=5.0)
        owner = fakes.agency()
        self.store.add_agency(owner)
        self.case = fakes.case(owner.id)
        self.store.add_case(self.case)
        ref = fakes.photo(PhotoKind.REFERENCE, self.case.id)
        self.store.add_photo(ref)
        process_faces(fakes.faces_result(ref, [face(0, REF)]), self.match)
        clip_id = str(uuid.uuid4())
        self.clip = Clip(id=clip_id, agency_id=owner.id, s3_key=footage_key(owner.id, clip_id), started_at=STARTED,
                         place="Gare Cornavin", content_type="video/mp4", created_at=STARTED)
        self.store.add_clip(self.clip)
        self.store.add_photo(Photo(id=clip_id, kind=PhotoKind.FOOTAGE, s3_key=self.clip.s3_key,
                                   status=PhotoStatus.RECEIVED))
        facts = VideoFacts(container="matroska,webm", codec="h264", width=640, height=360, fps=10, duration_s=duration,
                           frames=int(duration * 10))
        self.parts = plan_parts(duration, 10.0)
        self.store.set_clip_facts(clip_id, facts, self.parts)

    def result(self, part: int, *tracks: Track, status: str = "ok", **extra) -> TracksResult:
        job = Job(photo_id=self.clip.id, kind=PhotoKind.FOOTAGE, bucket="uploads", key=self.clip.s3_key,
                  part=self.parts[part])
        return TracksResult(job=job, status=status, model=MODEL, tracks=list(tracks), frames_total=100,
                            frames_decoded=100, frames_sampled=20, faces_found=len(tracks) * 4, **extra)

    def send(self, message):
        return handle_footage_message(parse_message(message.model_dump_json()), self.deps)


def track(number: int, start: float, end: float, vector) -> Track:
    f = face(0, vector)
    return Track(track=number, start_s=start, end_s=end, best_s=(start + end) / 2, frames=int((end - start) * 2) + 1,
                 box=f.box, landmarks=f.landmarks, quality=f.quality, embedding_b64=f.embedding_b64,
                 still_key=f"stills/x/{number}.jpg", still_width=640, still_height=360,
                 path=[(start, *f.box), (end, *f.box)])


def alerts(clips: Clips):
    """Every alert raised, oldest first."""
    return sorted(clips.store.alerts.values(), key=lambda a: a.created_at)


@pytest.fixture
def clips() -> Clips:
    return Clips()


def test_the_clip_waits_for_every_part_then_one_appearance_alerts_once(clips):
    # GIVEN the enrolled person seen in part 1 (12-15 s) and a stranger in part 0
    first = clips.send(clips.result(0, track(0, 2.0, 4.0, STRANGER)))
    # THEN nothing is searched while parts are missing
    assert not first.finished and alerts(clips) == []
    clips.send(clips.result(1, track(0, 12.0, 15.0, with_cosine(REF, 0.95))))
    last = clips.send(clips.result(2))
    # WHEN the last part is in THEN two appearances, one alert: for the person, at the right time and place
    assert last.finished and last.appearances == 2 and len(last.alerts) == 1
    [alert] = alerts(clips)
    appearance = clips.store.appearance_of_sighting(alert.sighting_id)
    assert (appearance.start_s, appearance.end_s, alert.case_id) == (12.0, 15.0, clips.case.id)
    sighting = clips.store.get_photo(alert.sighting_id)
    assert sighting.kind is PhotoKind.SIGHTING and sighting.taken_at == STARTED + timedelta(seconds=13.5)
    assert sighting.place == "Gare Cornavin" and sighting.s3_key == "stills/x/0.jpg"
    # AND the clip is processed, its face count the appearances
    clip = clips.store.get_photo(clips.clip.id)
    assert (clip.status, clip.face_count) == (PhotoStatus.PROCESSED, 2)
    assert len(clips.publisher.published) == 1


def test_a_person_crossing_a_part_boundary_is_one_appearance(clips):
    # GIVEN the person walking from 8 s to 12 s: the end of part 0 and the start of part 1
    clips.send(clips.result(0, track(3, 8.0, 9.5, with_cosine(REF, 0.93))))
    clips.send(clips.result(2))
    done = clips.send(clips.result(1, track(0, 10.0, 12.0, with_cosine(REF, 0.92))))
    # THEN one appearance from 8 s to 12 s, one alert
    [appearance] = clips.store.appearances_of(clips.clip.id)
    assert (appearance.start_s, appearance.end_s, appearance.tracks) == (8.0, 12.0, [(0, 3), (1, 0)])
    assert len(done.alerts) == 1 and len(alerts(clips)) == 1


def test_leaving_and_coming_back_later_is_a_second_appearance_and_alert(clips):
    # GIVEN the person at 1-3 s, away for 10 s, back at 13-16 s; and a turn of the head at 25-26 / 27-28 s
    clips.send(clips.result(0, track(0, 1.0, 3.0, with_cosine(REF, 0.95))))
    clips.send(clips.result(1, track(0, 13.0, 16.0, with_cosine(REF, 0.94))))
    clips.send(clips.result(2, track(0, 25.0, 26.0, with_cosine(REF, 0.95)), track(1, 27.0, 28.0, with_cosine(REF, 0.95))))
    # THEN three appearances (the 1 s gap joins), each alerting the case once
    ranges = [(a.start_s, a.end_s) for a in clips.store.appearances_of(clips.clip.id)]
    assert ranges == [(1.0, 3.0), (13.0, 16.0), (25.0, 28.0)]
    assert len(alerts(clips)) == 3 and len({a.sighting_id for a in alerts(clips)}) == 3


def test_a_result_delivered_twice_changes_nothing(clips):
    results = [clips.result(0, track(0, 1.0, 3.0, with_cosine(REF, 0.95))), clips.result(1), clips.result(2)]
    for message in results + results:
        clips.send(message)
    assert len(alerts(clips)) == 1 and len(clips.publisher.published) == 1
    assert len(clips.store.appearances_of(clips.clip.id)) == 1


def test_a_failed_part_fails_the_clip_with_its_reason_and_keeps_what_was_found(clips):
    # GIVEN part 1 broke half-way after finding the person, and the others went through
    clips.send(clips.result(0))
    clips.send(clips.result(1, track(0, 11.0, 13.0, with_cosine(REF, 0.95)), status="failed", stage="decode",
                            error="the video cannot be decoded after 14.2 s: Invalid data"))
    clips.send(clips.result(2))
    # THEN the person still alerts, and the clip is failed at decode naming the part
    assert len(alerts(clips)) == 1
    clip = clips.store.get_photo(clips.clip.id)
    assert clip.status is PhotoStatus.FAILED and clip.failed_stage == "decode"
    assert "part 2 of 3 (10-20 s) failed at decode: the video cannot be decoded after 14.2 s" in clip.reason
    assert [p.status for p in clips.store.parts_of(clips.clip.id)] == [PartStatus.DONE, PartStatus.FAILED,
                                                                       PartStatus.DONE]


def test_a_track_with_a_bad_embedding_fails_its_part_not_the_others(clips):
    bad = track(0, 1.0, 2.0, REF).model_copy(update={"embedding_b64": "AAAA"})
    clips.send(clips.result(0, bad))
    clips.send(clips.result(1, track(0, 12.0, 14.0, with_cosine(REF, 0.95))))
    clips.send(clips.result(2))
    part = clips.store.parts_of(clips.clip.id)[0]
    assert (part.status, part.stage) == (PartStatus.FAILED, "match") and "invalid track data" in part.reason
    assert len(alerts(clips)) == 1


def test_progress_is_recorded_while_a_part_runs(clips):
    clips.send(FootageProgress(clip_id=clips.clip.id, part=0, frames_total=100, frames_done=40, faces_found=3))
    part = clips.store.parts_of(clips.clip.id)[0]
    assert (part.frames_done, part.frames_total, part.faces_found, part.status) == (40, 100, 3, PartStatus.QUEUED)


def test_tracks_left_in_the_bucket_are_read_from_there(clips):
    from pydantic import TypeAdapter

    key = "results/clip-0.test-model.json"
    clips.objects.put(key, TypeAdapter(list[Track]).dump_json([track(0, 1.0, 3.0, with_cosine(REF, 0.95))]),
                      "application/json")
    clips.send(clips.result(0, tracks_key=key))
    clips.send(clips.result(1))
    clips.send(clips.result(2))
    assert len(alerts(clips)) == 1
