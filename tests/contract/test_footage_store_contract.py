"""The footage half of the store contract (issue #14): every behaviour on the in-memory store the unit tests use
and on MySQLStore with MariaDB, so the fake cannot drift."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from facetrace.adapters.mysql import MySQLStore
from facetrace.alert import Alert, AlertStatus
from facetrace.footage.clip import Appearance, Camera, Clip, PartOutcome, PartStatus, VideoFacts, plan_parts
from facetrace.keys import footage_key
from facetrace.messages import Face, PhotoKind, Track
from facetrace.photo import Photo, PhotoStatus
from tests import fakes
from tests.fakes import MODEL, face, unit
from tests.footage_fakes import FootageMemoryStore

pytestmark = pytest.mark.integration
NOW = datetime.now(timezone.utc).replace(microsecond=0)
FACTS = VideoFacts(container="matroska,webm", codec="h264", width=640, height=360, fps=10.0, duration_s=650.0,
                   frames=6500)


@pytest.fixture(params=["memory", "mysql"])
def any_store(request):
    """The in-memory store, then MySQLStore on a fresh database."""
    if request.param == "memory":
        yield FootageMemoryStore()
        return
    store = MySQLStore.from_url(request.getfixturevalue("db_url"))
    yield store
    store.db.close()


@pytest.fixture
def agency_id(any_store):
    owner = fakes.agency()
    any_store.add_agency(owner)
    return owner.id


def _clip(store, agency_id: str, camera_id: str | None = None, photo: bool = True) -> Clip:
    clip_id = str(uuid.uuid4())
    clip = Clip(id=clip_id, agency_id=agency_id, camera_id=camera_id, s3_key=footage_key(agency_id, clip_id),
                started_at=NOW - timedelta(hours=1), place="Platform 4", lat=46.2, lon=6.1,
                content_type="video/x-matroska", created_at=NOW)
    store.add_clip(clip)
    if photo:
        store.add_photo(Photo(id=clip_id, kind=PhotoKind.FOOTAGE, s3_key=clip.s3_key, status=PhotoStatus.RECEIVED,
                              taken_at=clip.started_at, place=clip.place))
    return clip


def _track(number: int, start: float, vector) -> Track:
    f: Face = face(0, vector)
    return Track(track=number, start_s=start, end_s=start + 2, best_s=start + 1, frames=4, box=f.box,
                 landmarks=f.landmarks, quality=f.quality, embedding_b64=f.embedding_b64,
                 still_key=f"stills/x/{number}.jpg", still_width=640, still_height=360,
                 path=[(start, 1.0, 2.0, 3.0, 4.0)])


def test_a_camera_reads_back_lists_by_agency_and_is_revoked_once(any_store, agency_id):
    camera = Camera(id=str(uuid.uuid4()), agency_id=agency_id, name="Gate 3", place="Main station, gate 3",
                    lat=46.21, lon=6.14, key_hash="ab" * 32, created_at=NOW)
    any_store.add_camera(camera)
    assert any_store.get_camera(camera.id) == camera and any_store.get_camera(camera.id).key_hash == "ab" * 32
    assert any_store.cameras_of(agency_id) == [camera] and any_store.cameras_of(str(uuid.uuid4())) == []
    assert any_store.revoke_camera(camera.id, str(uuid.uuid4()), NOW) is False  # another agency's camera
    assert any_store.revoke_camera(camera.id, agency_id, NOW) is True
    assert any_store.revoke_camera(camera.id, agency_id, NOW) is False
    assert any_store.get_camera(camera.id).revoked_at == NOW


def test_a_clip_reads_back_and_its_parts_are_planned_once(any_store, agency_id):
    clip = _clip(any_store, agency_id, photo=False)
    assert any_store.get_clip(clip.id) == clip
    parts = plan_parts(FACTS.duration_s, 300)
    any_store.set_clip_facts(clip.id, FACTS, parts)
    any_store.set_clip_facts(clip.id, FACTS, parts)  # a retried event
    stored = any_store.get_clip(clip.id)
    assert (stored.codec, stored.width, stored.fps, stored.duration_s, stored.frames_total, stored.parts) == (
        "h264", 640, 10.0, 650.0, 6500, 2)
    assert [(p.index, p.start_s, p.end_s, p.status) for p in any_store.parts_of(clip.id)] == [
        (0, 0.0, 300.0, PartStatus.QUEUED), (1, 300.0, 650.0, PartStatus.QUEUED)]


def test_progress_only_grows_and_a_part_is_finished_once_with_its_tracks(any_store, agency_id):
    clip = _clip(any_store, agency_id)
    any_store.set_clip_facts(clip.id, FACTS, plan_parts(FACTS.duration_s, 300))
    any_store.record_progress(clip.id, 0, 3000, 120, 4)
    any_store.record_progress(clip.id, 0, 3000, 60, 2)  # a late, older report
    part = any_store.parts_of(clip.id)[0]
    assert (part.frames_total, part.frames_done, part.faces_found) == (3000, 120, 4)
    tracks = [_track(0, 1.0, unit(1, 0)), _track(1, 5.0, unit(0, 1))]
    outcome = PartOutcome(status=PartStatus.DONE, frames_total=3000, frames_done=3000, frames_sampled=600,
                          faces_found=40, model=MODEL, tracks=tracks)
    assert any_store.finish_part(clip.id, 0, outcome) is True
    assert any_store.finish_part(clip.id, 0, outcome.model_copy(update={"status": PartStatus.FAILED})) is False
    any_store.record_progress(clip.id, 0, 9999, 9999, 99)  # too late: the part is final
    part = any_store.parts_of(clip.id)[0]
    assert (part.status, part.frames_done, part.frames_sampled, part.faces_found, part.tracks, part.model_name) == (
        PartStatus.DONE, 3000, 600, 40, 2, MODEL.name)
    stored = any_store.tracks_of(clip.id)
    assert [(s.part, s.model, s.track) for s in stored] == [(0, MODEL, tracks[0]), (0, MODEL, tracks[1])]


def test_a_failed_part_keeps_its_reason_and_the_tracks_found_before(any_store, agency_id):
    clip = _clip(any_store, agency_id)
    any_store.set_clip_facts(clip.id, FACTS, plan_parts(FACTS.duration_s, 300))
    failed = PartOutcome(status=PartStatus.FAILED, stage="decode", reason="cannot be decoded after 12.0 s",
                         model=MODEL, tracks=[_track(0, 1.0, unit(1, 0))])
    assert any_store.finish_part(clip.id, 1, failed) is True
    part = any_store.parts_of(clip.id)[1]
    assert (part.status, part.stage, part.reason) == (PartStatus.FAILED, "decode", "cannot be decoded after 12.0 s")
    assert [s.part for s in any_store.tracks_of(clip.id)] == [1]


def test_an_appearance_is_added_once_and_found_by_clip_and_sighting(any_store, agency_id):
    clip = _clip(any_store, agency_id)
    case = fakes.stored_case(any_store)
    sighting = fakes.photo(PhotoKind.SIGHTING, status=PhotoStatus.PROCESSED)
    any_store.add_photo(sighting)
    appearance = Appearance(clip_id=clip.id, number=0, sighting_id=sighting.id, model_name=MODEL.name, start_s=1.5,
                            end_s=9.0, best_s=4.0, tracks=[(0, 0), (1, 2)], box=(1.0, 2.0, 3.0, 4.0),
                            still_key="stills/x/0-0.jpg", path=[(1.5, 1.0, 2.0, 3.0, 4.0)])
    assert any_store.add_appearance(appearance) is True
    assert any_store.add_appearance(appearance) is False
    assert any_store.appearances_of(clip.id) == [appearance]
    assert any_store.appearance_of_sighting(sighting.id) == appearance
    assert any_store.appearance_of_sighting(str(uuid.uuid4())) is None
    [stored] = any_store.add_faces(sighting.id, MODEL, [face(0, unit(1, 0))], [True])
    ref = fakes.photo(PhotoKind.REFERENCE, case.id)
    any_store.add_photo(ref)
    [ref_face] = any_store.add_faces(ref.id, MODEL, [face(0, unit(1, 0))], [True])
    alert = any_store.add_alert(Alert(id=str(uuid.uuid4()), case_id=case.id, sighting_id=sighting.id,
                                      sighting_face_id=stored.id, reference_face_id=ref_face.id, score=0.9,
                                      model_name=MODEL.name, created_at=NOW))
    assert [a.id for a in any_store.alerts_of_sightings([sighting.id])] == [alert.id]
    assert any_store.alerts_of_sightings([]) == []


def test_footage_expires_unless_an_appearance_is_confirmed_and_erasure_drops_its_tracks(any_store, agency_id):
    plain, kept = _clip(any_store, agency_id), _clip(any_store, agency_id)
    for clip in (plain, kept):
        any_store.set_clip_facts(clip.id, FACTS, plan_parts(FACTS.duration_s, 300))
        any_store.finish_part(clip.id, 0, PartOutcome(status=PartStatus.DONE, model=MODEL,
                                                      tracks=[_track(0, 1.0, unit(1, 0))]))
    case = fakes.stored_case(any_store)
    sighting = fakes.photo(PhotoKind.SIGHTING, status=PhotoStatus.PROCESSED)
    any_store.add_photo(sighting)
    any_store.add_appearance(Appearance(clip_id=kept.id, number=0, sighting_id=sighting.id, model_name=MODEL.name,
                                        start_s=1, end_s=3, best_s=2, tracks=[(0, 0)], box=(1, 2, 3, 4)))
    [stored] = any_store.add_faces(sighting.id, MODEL, [face(0, unit(1, 0))], [True])
    ref = fakes.photo(PhotoKind.REFERENCE, case.id)
    any_store.add_photo(ref)
    [ref_face] = any_store.add_faces(ref.id, MODEL, [face(0, unit(1, 0))], [True])
    alert = any_store.add_alert(Alert(id=str(uuid.uuid4()), case_id=case.id, sighting_id=sighting.id,
                                      sighting_face_id=stored.id, reference_face_id=ref_face.id, score=0.9,
                                      model_name=MODEL.name, created_at=NOW))
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert {c.id for c in any_store.expired_footage(later, 10)} == {plain.id, kept.id}
    any_store.set_review(alert.id, AlertStatus.CONFIRMED, case.agency_id, "reviewer", "it is her", NOW)
    assert [c.id for c in any_store.expired_footage(later, 10)] == [plain.id]
    assert any_store.expired_footage(NOW - timedelta(days=1), 10) == []
    any_store.erase_footage(plain.id, NOW)
    erased = any_store.get_clip(plain.id)
    assert erased.erased_at == NOW and erased.place is None and erased.lat is None
    assert any_store.tracks_of(plain.id) == [] and len(any_store.tracks_of(kept.id)) == 1
    assert any_store.expired_footage(later, 10) == []


def test_an_agencys_clips_are_listed_newest_first_with_status_and_appearances(any_store, agency_id):
    # GIVEN three clips of the agency a minute apart (the oldest not uploaded yet, the middle one with an
    # appearance, the newest its camera's), and one of another agency
    other = fakes.agency("Harbour Police", "duty@harbour.example")
    any_store.add_agency(other)
    clips = []
    for n, camera in enumerate([None, None, str(uuid.uuid4())]):
        clip_id = str(uuid.uuid4())
        clip = Clip(id=clip_id, agency_id=agency_id, camera_id=camera, s3_key=footage_key(camera or agency_id, clip_id),
                    started_at=NOW - timedelta(hours=1), place=f"Platform {n}", content_type="video/mp4",
                    created_at=NOW + timedelta(minutes=n))
        any_store.add_clip(clip)
        if n:
            any_store.add_photo(Photo(id=clip.id, kind=PhotoKind.FOOTAGE, s3_key=clip.s3_key,
                                      status=PhotoStatus.PROCESSED if n == 1 else PhotoStatus.REJECTED,
                                      reason=None if n == 1 else "not a video"))
        clips.append(clip)
    _clip(any_store, other.id)
    sighting = fakes.photo(PhotoKind.SIGHTING, status=PhotoStatus.PROCESSED)
    any_store.add_photo(sighting)
    any_store.add_appearance(Appearance(clip_id=clips[1].id, number=0, sighting_id=sighting.id, model_name=MODEL.name,
                                        start_s=1, end_s=3, best_s=2, tracks=[(0, 0)], box=(1, 2, 3, 4)))
    # WHEN they are listed
    listed = any_store.clips_of(agency_id, None, 10)
    # THEN newest first, only the agency's, each the clip as stored with its upload's status and reason (none
    # before the upload) and how many appearances it has
    assert [c.id for c in listed] == [c.id for c in clips[::-1]]
    assert [(c.status, c.reason, c.appearances) for c in listed] == [
        ("rejected", "not a video", 0), ("processed", None, 1), (None, None, 0)]
    assert [c.model_dump(exclude={"status", "reason", "appearances"}) for c in listed] == [
        c.model_dump() for c in clips[::-1]]
    # AND a page holds at most `limit` clips, those after the cursor's (created_at, id) only
    assert [c.id for c in any_store.clips_of(agency_id, None, 1)] == [clips[2].id]
    assert [c.id for c in any_store.clips_of(agency_id, (clips[2].created_at, clips[2].id), 1)] == [clips[1].id]
    assert [c.id for c in any_store.clips_of(agency_id, (clips[1].created_at, clips[1].id), 10)] == [clips[0].id]
    assert any_store.clips_of(agency_id, (clips[0].created_at, clips[0].id), 10) == []
    assert any_store.clips_of(str(uuid.uuid4()), None, 10) == []
