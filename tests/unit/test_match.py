"""Matching: references join the gallery; sighting faces are searched and raise each alert once."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from pydantic import TypeAdapter

from facetrace.case import close_case
from facetrace.gallery.cache import GalleryCache
from facetrace.match import LOW_QUALITY, MatchDeps, Thresholds, process_faces, find_candidates
from facetrace.messages import AlertMessage, Face, FacesResult, PhotoKind
from facetrace.photo import PhotoStatus
from tests import fakes
from tests.fakes import MODEL, face, unit, with_cosine

REF = unit(1, 2, 3)
STRANGER = unit(0, 0, 0, 0, 1)


class World:
    """An agency with one open case whose reference face is REF, and the deps matching uses."""

    def __init__(self) -> None:
        self.store = fakes.MemoryStore()
        self.objects = fakes.FakeObjects()
        self.publisher = fakes.FakePublisher()
        self.deps = MatchDeps(store=self.store, publisher=self.publisher, objects=self.objects,
                              galleries=GalleryCache(self.store, self.objects))
        self.agency = agency = fakes.agency()
        self.store.add_agency(agency)
        self.case = fakes.case(agency.id)
        self.store.add_case(self.case)
        self.reference = self.add_photo(PhotoKind.REFERENCE, self.case.id)
        process_faces(fakes.faces_result(self.reference, [face(0, REF)]), self.deps)

    def add_photo(self, kind: PhotoKind, case_id: str | None = None, **extra):
        p = fakes.photo(kind, case_id, **extra)
        self.store.add_photo(p)
        return p

    def sighting(self, *embeddings, **extra):
        p = self.add_photo(PhotoKind.SIGHTING, place="Quai du Mont-Blanc", **extra)
        return p, fakes.faces_result(p, [face(i, e) for i, e in enumerate(embeddings)])


@pytest.fixture
def world() -> World:
    return World()


def test_usable_reference_face_joins_the_gallery(world):
    # GIVEN the world's reference photo was processed with one good face
    # WHEN the gallery is read
    gallery = world.store.gallery(MODEL.name, MODEL.dim)
    # THEN it holds that face for the case, and the photo is processed without a reason
    assert gallery.case_ids == (world.case.id,)
    photo = world.store.get_photo(world.reference.id)
    assert (photo.status, photo.reason, photo.face_count) == (PhotoStatus.PROCESSED, None, 1)


def test_reference_with_only_a_poor_face_enrols_it_and_asks_for_a_better_photo(world):
    # GIVEN a second reference photo whose only face fails the reference quality gate
    p = world.add_photo(PhotoKind.REFERENCE, world.case.id)
    poor = [face(0, unit(0, 1), reference=False, reasons=["too blurry", "face too small"])]
    # WHEN it is processed
    outcome = process_faces(fakes.faces_result(p, poor), world.deps)
    # THEN the face joins the gallery all the same (refusing it would lose the person) ...
    assert outcome.faces == 1
    assert len(world.store.gallery(MODEL.name, MODEL.dim)) == 2
    # ... and the photo tells the agency why a clearer one would help
    photo = world.store.get_photo(p.id)
    assert photo.status is PhotoStatus.PROCESSED
    assert photo.reason == LOW_QUALITY + "face too small; too blurry"


def test_a_good_face_is_preferred_to_a_poor_one_of_similar_size(world):
    # GIVEN a reference photo with the missing person's good face beside a turned bystander of the same size
    p = world.add_photo(PhotoKind.REFERENCE, world.case.id)
    faces = [face(0, unit(0, 1)), face(1, unit(0, 0, 1), reference=False, reasons=["face turned away"])]
    # WHEN it is processed THEN only the good face enrols, with no complaint
    outcome = process_faces(fakes.faces_result(p, faces), world.deps)
    assert outcome.faces == 1 and world.store.get_photo(p.id).reason is None


def test_two_poor_faces_of_similar_size_are_refused_as_ambiguous(world):
    # GIVEN a reference photo with two poor faces of the same size
    p = world.add_photo(PhotoKind.REFERENCE, world.case.id)
    poor = [face(0, unit(0, 1), reference=False, reasons=["face too small"]),
            face(1, unit(0, 0, 1), reference=False, reasons=["face too small"])]
    # WHEN it is processed THEN neither enrols: either could be a bystander
    assert process_faces(fakes.faces_result(p, poor), world.deps).faces == 0
    assert "several faces of similar size" in world.store.get_photo(p.id).reason


def test_reference_without_faces_says_so(world):
    # GIVEN a reference photo in which the worker found no face
    p = world.add_photo(PhotoKind.REFERENCE, world.case.id)
    # WHEN it is processed THEN the reason says no face was found
    process_faces(fakes.faces_result(p, []), world.deps)
    assert world.store.get_photo(p.id).reason == "no face found in the reference photo"


def test_reference_with_a_bystander_enrols_only_the_clearly_larger_face(world):
    # GIVEN a reference photo with the missing person close up and a small face in the background
    p = world.add_photo(PhotoKind.REFERENCE, world.case.id)
    person, bystander = face(0, unit(0, 1), reference=True), face(1, unit(0, 0, 1), reference=True)
    bystander = bystander.model_copy(update={"box": (300.0, 20.0, 330.0, 50.0)})
    # WHEN it is processed
    outcome = process_faces(fakes.faces_result(p, [person, bystander]), world.deps)
    # THEN only the large face joins the gallery
    assert outcome.faces == 1
    assert len(world.store.gallery(MODEL.name, MODEL.dim)) == 2
    assert world.store.get_photo(p.id).reason is None


def test_reference_with_two_similar_faces_is_refused(world):
    # GIVEN a reference photo of two people of the same size: which one is missing cannot be told
    p = world.add_photo(PhotoKind.REFERENCE, world.case.id)
    faces = [face(0, unit(0, 1), reference=True), face(1, unit(0, 0, 1), reference=True)]
    # WHEN it is processed
    process_faces(fakes.faces_result(p, faces), world.deps)
    # THEN neither face enrols and the agency is told why
    assert len(world.store.gallery(MODEL.name, MODEL.dim)) == 1
    assert "only the missing person" in world.store.get_photo(p.id).reason


def test_close_sighting_raises_one_alert_and_publishes_it(world):
    # GIVEN a sighting whose face is 0.9 similar to the reference (alert threshold 0.8)
    seen_at = datetime(2024, 6, 1, 12, 30, tzinfo=timezone.utc)
    p, result = world.sighting(with_cosine(REF, 0.9), taken_at=seen_at)
    # WHEN it is processed
    outcome = process_faces(result, world.deps)
    # THEN one alert is stored and published with what the agency needs to know
    assert len(outcome.alerts) == 1 and len(world.store.alerts) == 1
    assert len(world.publisher.published) == 1
    body, subject, attributes = world.publisher.published[0]
    message = AlertMessage.model_validate_json(body)
    assert message.alert_id == outcome.alerts[0]
    assert (message.case_id, message.sighting_id, message.reference_photo_id) == (world.case.id, p.id, world.reference.id)
    assert message.score == pytest.approx(0.9, abs=1e-3)
    assert (message.place, message.seen_at) == ("Quai du Mont-Blanc", seen_at)
    assert (message.person_name, message.agency_id, message.agency_email) == (
        world.case.person_name, world.agency.id, world.agency.email)
    assert attributes == {"case_id": world.case.id}
    assert world.store.alerts[message.alert_id].published_at is not None
    assert world.store.get_photo(p.id).status is PhotoStatus.PROCESSED


def test_two_close_faces_in_one_sighting_raise_one_alert_for_the_best(world):
    # GIVEN a sighting with two faces both above the alert threshold for the same case
    p, result = world.sighting(with_cosine(REF, 0.85), with_cosine(REF, 0.95))
    # WHEN it is processed
    process_faces(result, world.deps)
    # THEN one alert is raised, for the closer face
    [message] = [AlertMessage.model_validate_json(b) for b, _, _ in world.publisher.published]
    assert message.face_index == 1
    assert message.score == pytest.approx(0.95, abs=1e-3)


def test_processing_the_same_result_twice_raises_no_second_alert(world):
    # GIVEN a sighting that already raised an alert
    p, result = world.sighting(with_cosine(REF, 0.9))
    process_faces(result, world.deps)
    # WHEN the same FacesResult is delivered again (SQS at-least-once)
    again = process_faces(result, world.deps)
    # THEN no new alert is stored and nothing new is published
    assert again.alerts == []
    assert len(world.store.alerts) == 1
    assert len(world.publisher.published) == 1
    assert len(world.store.faces) == 2  # the sighting face was not stored twice


def test_face_below_match_threshold_stores_no_match(world):
    # GIVEN a sighting face only 0.3 similar (match threshold 0.5)
    p, result = world.sighting(with_cosine(REF, 0.3))
    # WHEN it is processed
    outcome = process_faces(result, world.deps)
    # THEN neither a match nor an alert is recorded
    assert outcome.matches == 0 and world.store.matches == {}
    assert world.store.alerts == {} and world.publisher.published == []


def test_face_between_thresholds_stores_a_match_but_no_alert(world):
    # GIVEN a sighting face 0.65 similar (between match 0.5 and alert 0.8)
    p, result = world.sighting(with_cosine(REF, 0.65))
    # WHEN it is processed
    outcome = process_faces(result, world.deps)
    # THEN the match is kept for investigators but nobody is alerted
    assert outcome.matches == 1
    assert list(world.store.matches.values()) == [pytest.approx(0.65, abs=1e-3)]
    assert world.publisher.published == []


def test_operator_thresholds_override_the_models(world):
    # GIVEN a 0.65 face and an operator alert threshold of 0.6
    p, result = world.sighting(with_cosine(REF, 0.65))
    # WHEN it is processed with those thresholds THEN it alerts
    process_faces(result, world.deps, Thresholds.of(MODEL, alert=0.6))
    assert len(world.publisher.published) == 1


def test_stranger_raises_no_alert(world):
    # GIVEN a sighting of someone unrelated to any case
    p, result = world.sighting(STRANGER)
    # WHEN it is processed
    outcome = process_faces(result, world.deps)
    # THEN nothing is matched or published, and the photo is done with one face
    assert outcome.alerts == [] and world.publisher.published == []
    photo = world.store.get_photo(p.id)
    assert (photo.status, photo.face_count) == (PhotoStatus.PROCESSED, 1)


def test_sighting_face_unfit_for_search_is_not_searched(world):
    # GIVEN an identical face that the worker judged unusable for a sighting (e.g. too blurry)
    p = world.add_photo(PhotoKind.SIGHTING)
    result = fakes.faces_result(p, [face(0, REF, sighting=False, reasons=["too blurry"])])
    # WHEN it is processed THEN no alert is raised
    assert process_faces(result, world.deps).alerts == []
    assert world.publisher.published == []


def test_faces_left_in_the_object_store_are_loaded(world):
    # GIVEN a result whose faces were too big for SQS and were left in S3
    p = world.add_photo(PhotoKind.SIGHTING)
    faces = [face(0, with_cosine(REF, 0.9)), face(1, STRANGER)]
    world.objects.put("results/big.json", TypeAdapter(list[Face]).dump_json(faces), "application/json")
    result = fakes.faces_result(p, [], faces_key="results/big.json")
    # WHEN it is processed
    outcome = process_faces(result, world.deps)
    # THEN the faces are read from S3 and matched
    assert "results/big.json" in world.objects.gets
    assert outcome.faces == 2 and len(outcome.alerts) == 1
    assert world.store.get_photo(p.id).face_count == 2


def test_failed_result_marks_the_photo_failed_with_the_workers_error(world):
    # GIVEN a worker result saying the image could not be decoded
    p = world.add_photo(PhotoKind.SIGHTING)
    result = FacesResult(job=fakes.job_for(p), status="failed", error="cannot decode image: truncated")
    # WHEN it is processed
    process_faces(result, world.deps)
    # THEN the photo is failed with that error and nothing else happens
    photo = world.store.get_photo(p.id)
    assert (photo.status, photo.reason) == (PhotoStatus.FAILED, "cannot decode image: truncated")
    assert world.publisher.published == []


def test_result_for_an_unknown_photo_raises(world):
    # GIVEN a result for a photo that was never recorded
    p = fakes.photo(PhotoKind.SIGHTING)
    # WHEN it is processed THEN it raises so the message is retried and dead-lettered
    with pytest.raises(LookupError):
        process_faces(fakes.faces_result(p, [face(0, REF)]), world.deps)


def test_a_closed_case_never_alerts_again(world):
    # GIVEN the world's case was searched once (the gallery is warm) and is then closed
    first, result = world.sighting(with_cosine(REF, 0.95))
    process_faces(result, world.deps)
    close_case(world.store, world.case.id)
    # WHEN a new sighting of the same face arrives
    second, result = world.sighting(with_cosine(REF, 0.95))
    outcome = process_faces(result, world.deps)
    # THEN it raises no alert
    assert outcome.alerts == []
    assert [a.sighting_id for a in world.store.alerts.values()] == [first.id]


class CountingGalleries:
    """Wraps a GalleryCache and counts the searches made through it."""

    def __init__(self, inner: GalleryCache) -> None:
        self.inner, self.searches = inner, 0

    def current(self, model_name, dim):
        live, outer = self.inner.current(model_name, dim), self

        class Counted:
            def search(self, probes, min_score, k):
                outer.searches += 1
                return live.search(probes, min_score, k)

        return Counted()


def test_a_batch_of_sightings_is_searched_in_one_matrix_product(world):
    # GIVEN three sightings in one SQS batch, two of them close to the case's reference
    galleries = CountingGalleries(world.deps.galleries)
    deps = replace(world.deps, galleries=galleries)
    batch = [world.sighting(with_cosine(REF, 0.95)), world.sighting(STRANGER), world.sighting(with_cosine(REF, 0.9))]
    # WHEN the batch is searched once and each result then processed with what was found
    found = find_candidates([r for _, r in batch], deps, lambda model: Thresholds.of(model))
    outcomes = [process_faces(r, deps, None, found) for _, r in batch]
    # THEN there was one search, and the two close sightings raised one alert each
    assert galleries.searches == 1
    assert [len(o.alerts) for o in outcomes] == [1, 0, 1]
