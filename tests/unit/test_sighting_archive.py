"""The sighting archive: segments written from the store, searched exactly one by one, and retro-search through it
finding what a search of the whole database finds, never an erased face."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from pydantic import ValidationError

from facetrace import sighting_archive as archive
from facetrace.gallery.cache import GalleryCache
from facetrace.match import MatchDeps, process_faces
from facetrace.messages import PhotoKind
from tests import fakes
from tests.fakes import face, unit, with_cosine

NOW = datetime.now(timezone.utc)
DAY = timedelta(days=1)


class InProcessMap:
    """The fan-out as the state machine runs it, one task per segment through the worker's own entry point."""

    def __init__(self, objects) -> None:
        self.objects, self.tasks = objects, []

    def search(self, keys, refs, since, min_score):
        answers = []
        for key in keys:
            task = archive.SegmentTask.model_validate({"key": key, **archive.SegmentTask.query(refs, since, min_score)})
            self.tasks.append(task.key)
            answers.append(archive.run_task(self.objects, task))
        return archive.hits_of(answers)


def _random_faces(n: int, dim: int, seed: int, arrived_from: int = 0) -> archive.ArchivedFaces:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return archive.ArchivedFaces(np.arange(1, n + 1, dtype=np.int64), np.arange(arrived_from, arrived_from + n),
                                 vectors.astype(np.float16))


def test_a_segment_search_finds_exactly_what_brute_force_finds_best_first():
    # GIVEN a segment of 5,000 random faces with three planted look-alikes of two references
    faces = _random_faces(5000, 512, seed=1)
    refs = faces.vectors[[10, 20]].astype(np.float32)
    for row, ref, cosine in ((100, 0, 0.7), (200, 1, 0.6), (300, 0, 0.45)):
        faces.vectors[row] = with_cosine(refs[ref], cosine).astype(np.float16)
    # WHEN it is searched at 0.4 (blocks smaller than the segment, to cross block edges)
    archive.BLOCK, block = 1000, archive.BLOCK
    try:
        hits = archive.search_segment(faces, refs, datetime.fromtimestamp(0, timezone.utc), 0.4)
    finally:
        archive.BLOCK = block
    # THEN the hits are the brute-force ones: the references themselves and the look-alikes, best first
    scores = faces.vectors.astype(np.float32) @ refs.T
    expected = {int(faces.face_ids[i]) for i in np.flatnonzero(scores.max(axis=1) >= 0.4)}
    assert {h.face_id for h in hits} == expected == {11, 21, 101, 201, 301}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {h.face_id: h.ref for h in hits}[201] == 1


def test_a_segment_search_keeps_the_window_and_its_bound():
    # GIVEN faces that arrived at seconds 0..999, all resembling the reference
    faces = _random_faces(1000, 16, seed=2)
    ref = unit(1, dim=16).astype(np.float32)
    faces.vectors[:] = np.stack([with_cosine(ref, 0.5 + i / 4000) for i in range(1000)]).astype(np.float16)
    since = datetime.fromtimestamp(900, timezone.utc)
    # WHEN searched since second 900, with a bound of 10 hits
    hits = archive.search_segment(faces, ref[None, :], since, 0.3, limit=10)
    # THEN only the last 100 arrivals count, and the 10 best of them come back
    assert len(hits) == 10 and all(h.face_id > 900 for h in hits)
    assert min(h.face_id for h in hits) >= 985  # the best are the latest (float16 may tie neighbours)


def test_segments_and_tasks_survive_their_encodings():
    faces = _random_faces(50, 8, seed=3)
    back = archive.decode(archive.encode(faces))
    assert np.array_equal(back.face_ids, faces.face_ids) and np.array_equal(back.vectors, faces.vectors)
    refs = np.eye(2, 8, dtype=np.float32)
    task = archive.SegmentTask.of(archive.segment_key("m", 1, 50), refs, NOW, 0.5)
    assert np.array_equal(archive.SegmentTask.model_validate_json(task.model_dump_json()).refs(), refs)


@pytest.mark.parametrize("bad", [{"key": "sightings/x"}, {"key": "archive/m/../x.npz"}, {"dim": 0},
                                 {"min_score": 2.0}, {"extra": 1}])
def test_a_malformed_task_is_refused(bad):
    good = archive.SegmentTask.of(archive.segment_key("m", 1, 2), np.eye(1, 8), NOW, 0.5).model_dump()
    with pytest.raises(ValidationError):
        archive.SegmentTask.model_validate({**good, **bad})


def test_a_task_whose_references_do_not_fit_its_dimension_fails():
    task = archive.SegmentTask.of(archive.segment_key("m", 1, 2), np.eye(1, 8), NOW, 0.5).model_copy(update={"dim": 3})
    with pytest.raises(ValueError, match="not a multiple"):
        task.refs()


@pytest.mark.parametrize("damage", [b"", b"not a segment", b"PK\x03\x04broken zip", "wrong dimension"])
def test_a_damaged_segment_has_no_hits_and_fails_nothing(damage):
    # GIVEN a segment object that is empty, not npz, a broken zip, or of another embedding size
    objects = fakes.FakeObjects()
    key = archive.segment_key("m", 1, 50)
    body = archive.encode(_random_faces(50, 4, seed=5)) if damage == "wrong dimension" else damage
    objects.put(key, body, "application/octet-stream")
    # WHEN a worker searches it with 8-d references  THEN it answers no hits instead of raising
    assert archive.search_stored_segment(objects, key, np.eye(1, 8), NOW, 0.1) == []


def test_a_missing_segment_has_no_hits():
    objects = fakes.FakeObjects()
    assert archive.search_stored_segment(objects, archive.segment_key("m", 1, 2), np.eye(1, 8), NOW, 0.1) == []


def stranger(seed: int) -> np.ndarray:
    """Someone else: orthogonal to the person of the scene (who lives in the first three components)."""
    return unit(0, 0, 0, *np.random.default_rng(seed).random(5))


class Scene:
    """A store with an open case, sightings of various people, and the archive's fan-out in process."""

    def __init__(self) -> None:
        self.store, self.objects = fakes.MemoryStore(), fakes.FakeObjects()
        self.fanout = InProcessMap(self.objects)
        self.deps = MatchDeps(self.store, fakes.FakePublisher(), self.objects, GalleryCache(self.store, None),
                              archive=self.fanout)
        self.agency = fakes.agency("A")
        self.store.add_agency(self.agency)
        self.case = fakes.case(self.agency.id)
        self.store.add_case(self.case)
        self.person = unit(1, 2, 3)

    def sighting(self, embedding, age: timedelta = timedelta(0)) -> str:
        p = fakes.photo(PhotoKind.SIGHTING)
        self.store.add_photo(p)
        self.store.photo_created[p.id] = NOW - age
        process_faces(fakes.faces_result(p, [face(0, embedding)]), self.deps)
        return p.id

    def settle_all(self) -> None:
        for face_id in self.store.face_created:
            self.store.face_created[face_id] = NOW - timedelta(hours=1)

    def enrol(self):
        p = fakes.photo(PhotoKind.REFERENCE, self.case.id)
        self.store.add_photo(p)
        return process_faces(fakes.faces_result(p, [face(0, self.person)]), self.deps)


def test_archiving_writes_settled_faces_once_in_bounded_segments():
    # GIVEN five settled sighting faces and one that just arrived
    scene = Scene()
    for i in range(5):
        scene.sighting(stranger(i))
    scene.settle_all()
    fresh = scene.sighting(stranger(5))
    # WHEN archived in segments of at most two faces, twice
    written = archive.archive_sightings(scene.store, scene.objects, NOW, segment_faces=2)
    again = archive.archive_sightings(scene.store, scene.objects, NOW, segment_faces=2)
    # THEN the settled five are in three segments, in id order, nothing twice, and the fresh face waits
    assert [s.faces for s in written] == [2, 2, 1] and again == []
    ids = np.concatenate([archive.decode(scene.objects.get(s.key)).face_ids for s in written])
    assert list(ids) == sorted(ids) and len(set(ids)) == 5
    assert fresh not in {scene.store.faces[int(i)][0] for i in ids}
    assert scene.store.archive_watermark(fakes.MODEL.name) == int(ids[-1])


def test_retro_search_through_the_archive_finds_old_and_new_sightings_once_and_no_erased_one():
    # GIVEN sightings of the person: two archived (one of them erased since), one not archived yet, one too old
    scene = Scene()
    archived = scene.sighting(with_cosine(scene.person, 0.93))
    erased = scene.sighting(with_cosine(scene.person, 0.95))
    old = scene.sighting(with_cosine(scene.person, 0.96), age=200 * DAY)
    for i in range(20):
        scene.sighting(stranger(i))
    scene.settle_all()
    assert archive.archive_sightings(scene.store, scene.objects, NOW)
    scene.store.erase_photo(erased, NOW)
    recent = scene.sighting(with_cosine(scene.person, 0.9))
    # WHEN the case gains a reference photo
    outcome = scene.enrol()
    # THEN the archived and the recent sighting alert, once each; the erased and the expired one do not
    alerted = sorted(a.sighting_id for a in scene.store.alerts.values() if a.case_id == scene.case.id)
    assert alerted == sorted([archived, recent]) and len(outcome.alerts) == 2 and old not in alerted
    # AND the archived faces were searched through the fan-out, one task per segment
    assert scene.fanout.tasks == [s.key for s in scene.store.archive_segments(fakes.MODEL.name, NOW - 90 * DAY)]


def test_expired_and_replaced_segments_are_dropped_rows_first():
    # GIVEN an archived segment of old sightings and one of recent ones
    scene = Scene()
    scene.sighting(stranger(0), age=100 * DAY)
    scene.settle_all()
    [old] = archive.archive_sightings(scene.store, scene.objects, NOW)
    scene.sighting(stranger(1))
    scene.settle_all()
    [new] = archive.archive_sightings(scene.store, scene.objects, NOW)
    # WHEN the segments whose faces all arrived more than 90 days ago are dropped
    dropped = archive.drop_segments(scene.store, scene.objects, scene.store.expired_archive_segments(NOW - 90 * DAY))
    # THEN only the old one is gone, row and object
    assert dropped == 1 and not scene.objects.exists(old.key) and scene.objects.exists(new.key)
    assert [s.key for s in scene.store.archive_segments(fakes.MODEL.name, NOW - 365 * DAY)] == [new.key]
    # AND another model's segments are dropped when that model is replaced
    assert [s.key for s in scene.store.expired_archive_segments(NOW - 365 * DAY, keep_model="new-model")] == [new.key]


def test_the_archive_search_function_answers_one_task_and_refuses_a_bad_one():
    from types import SimpleNamespace

    from functions.archive_search.app import make_handler
    from tests.events import context

    # GIVEN a stored segment with one face like the reference
    objects = fakes.FakeObjects()
    faces = _random_faces(100, 8, seed=4)
    ref = faces.vectors[[7]].astype(np.float32)
    key = archive.segment_key("m", 1, 100)
    objects.put(key, archive.encode(faces), "application/octet-stream")
    handler = make_handler(SimpleNamespace(objects=objects))
    # WHEN the state machine's item arrives
    item = {"key": key, **archive.SegmentTask.query(ref, datetime.fromtimestamp(0, timezone.utc), 0.99)}
    answer = handler(item, context("archive-search"))
    # THEN it answers that face's hit as JSON; an item naming a key outside the archive is refused
    assert answer == {"hits": [[8, 0, pytest.approx(1.0, abs=1e-3)]]}
    with pytest.raises(ValidationError):
        handler({**item, "key": "sightings/x"}, context("archive-search"))


def test_the_state_machine_adapter_sends_one_query_and_gathers_hits_or_says_it_failed():
    import json

    from facetrace.adapters.aws import StepFunctionsSegmentSearch
    from facetrace.errors import StoreUnavailable

    class FakeSfn:
        def __init__(self, answer):
            self.answer, self.inputs = answer, []

        def start_sync_execution(self, stateMachineArn, input):
            self.inputs.append(json.loads(input))
            return self.answer

    keys = [archive.segment_key("m", 1, 2), archive.segment_key("m", 3, 4)]
    # GIVEN an execution that succeeds with two segments' answers
    ok = FakeSfn({"status": "SUCCEEDED", "output": json.dumps([{"hits": [[2, 0, 0.9]]}, {"hits": []}])})
    hits = StepFunctionsSegmentSearch(ok, "arn:sm").search(keys, np.eye(1, 8), NOW, 0.5)
    # THEN the segments and the shared query went in once, and the hits came back
    assert hits == [archive.Hit(2, 0, 0.9)] and ok.inputs[0]["segments"] == keys
    assert ok.inputs[0]["task"]["dim"] == 8 and ok.inputs[0]["task"]["min_score"] == 0.5
    # AND a failed execution is an outage the faces message is retried for, never "no hits"
    failed = FakeSfn({"status": "FAILED", "error": "States.TaskFailed", "cause": "boom"})
    with pytest.raises(StoreUnavailable, match="FAILED"):
        StepFunctionsSegmentSearch(failed, "arn:sm").search(keys, np.eye(1, 8), NOW, 0.5)
