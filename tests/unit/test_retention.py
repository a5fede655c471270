"""Retro-search of past sightings when a case gains reference faces, and erasure (closure, purge), with fakes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from facetrace.access import Viewer
from facetrace.alert import AlertStatus
from facetrace.casework import close_case
from facetrace.gallery.cache import GalleryCache
from facetrace.match import MatchDeps, process_faces
from facetrace.messages import AlertMessage, PhotoKind
from facetrace.retention import purge
from tests import fakes
from tests.fakes import face, unit, with_cosine

PERSON = unit(1, 2, 3)
OTHER = unit(0, 0, 0, 0, 1)
NOW = datetime.now(timezone.utc)


class World:
    def __init__(self) -> None:
        self.store, self.objects, self.publisher = fakes.MemoryStore(), fakes.FakeObjects(), fakes.FakePublisher()
        self.deps = MatchDeps(self.store, self.publisher, self.objects,
                              GalleryCache(self.store, None), retention_days=90)
        self.agency = fakes.agency()
        self.store.add_agency(self.agency)
        self.case = fakes.case(self.agency.id)
        self.store.add_case(self.case)
        self.viewer = Viewer(self.agency.id, "officer-1")

    def photo(self, kind, case_id=None, age_days: float = 0, **extra):
        p = fakes.photo(kind, case_id, **extra)
        self.store.add_photo(p)
        self.store.photo_created[p.id] = NOW - timedelta(days=age_days)
        self.objects.add(p.s3_key, b"jpeg")
        return p

    def sighting(self, *embeddings, age_days: float = 0):
        p = self.photo(PhotoKind.SIGHTING, age_days=age_days, place="Old Town")
        process_faces(fakes.faces_result(p, [face(i, e) for i, e in enumerate(embeddings)]), self.deps)
        return p

    def enrol(self, embedding=PERSON):
        ref = self.photo(PhotoKind.REFERENCE, self.case.id)
        return ref, process_faces(fakes.faces_result(ref, [face(0, embedding)]), self.deps)


@pytest.fixture
def world() -> World:
    return World()


def test_a_new_reference_raises_alerts_for_earlier_sightings_within_retention(world):
    # GIVEN sightings of the person 10 and 200 days ago (before any reference existed), and one of a stranger
    recent = world.sighting(OTHER, with_cosine(PERSON, 0.9), age_days=10)
    world.sighting(with_cosine(PERSON, 0.95), age_days=200)
    world.sighting(OTHER, age_days=1)
    assert world.store.alerts == {}
    # WHEN the case's reference photo is enrolled
    _, outcome = world.enrol()
    # THEN exactly one alert is raised: for the recent sighting, its matching face, published once
    (alert,) = world.store.alerts.values()
    assert outcome.alerts == [alert.id]
    assert (alert.case_id, alert.sighting_id, alert.score) == (world.case.id, recent.id, pytest.approx(0.9, abs=1e-5))
    assert world.store.face_location(alert.sighting_face_id).index == 1
    (message,) = [AlertMessage.model_validate_json(m) for m, _, _ in world.publisher.published]
    assert (message.alert_id, message.face_index, message.place) == (alert.id, 1, "Old Town")
    # AND the match is stored for review
    assert world.store.candidates_of(alert.sighting_face_id)[0].case_id == world.case.id


def test_retro_search_keeps_the_one_alert_per_sighting_and_case_rule(world):
    # GIVEN a recent sighting of the person, and a case enrolled once already (one alert)
    world.sighting(with_cosine(PERSON, 0.9), age_days=3)
    world.enrol()
    # WHEN a second reference photo of the same person is enrolled
    _, outcome = world.enrol(with_cosine(PERSON, 0.99))
    # THEN no second alert is raised or published
    assert outcome.alerts == [] and len(world.store.alerts) == 1 and len(world.publisher.published) == 1


def test_a_sighting_below_the_alert_threshold_is_matched_but_not_alerted(world):
    # GIVEN a recent sighting scoring between the match (0.5) and alert (0.8) thresholds
    world.sighting(with_cosine(PERSON, 0.6), age_days=1)
    # WHEN the reference is enrolled  THEN a match is stored and no alert raised
    world.enrol()
    assert world.store.alerts == {} and list(world.store.matches.values()) == [pytest.approx(0.6, abs=1e-5)]


def test_closing_a_case_erases_its_reference_embeddings_and_schedules_its_photos(world):
    # GIVEN an enrolled case
    ref, _ = world.enrol()
    # WHEN its agency closes it
    closed_at = datetime.now(timezone.utc)
    close_case(world.store, world.viewer, world.case.id, grace_days=30, reason="found alive")
    # THEN its reference faces have no embedding and are unusable, so no gallery can hold them
    faces = [s for p, _, s in world.store.faces.values() if p == ref.id]
    assert faces and all(s.face.embedding_b64 == "" and not s.usable for s in faces)
    assert len(world.store.gallery(fakes.MODEL.name, fakes.MODEL.dim)) == 0
    # AND a later sighting of the person raises nothing
    world.sighting(with_cosine(PERSON, 0.99))
    assert world.store.alerts == {}
    # AND the photos become deletable after the grace period, and the closure is audited with its reason
    assert world.store.delete_after[world.case.id] - closed_at == pytest.approx(timedelta(days=30),
                                                                               abs=timedelta(seconds=5))
    assert [(e.action.value, e.reason, e.user_sub) for e in world.store.audit] == [
        ("case.closed", "found alive", "officer-1")]


def test_purge_deletes_due_references_and_expired_unconfirmed_sightings(world):
    # GIVEN a closed case past its grace period, an old sighting with a confirmed alert, an old one without,
    # and a recent one
    ref, _ = world.enrol()
    confirmed = world.sighting(with_cosine(PERSON, 0.95), age_days=0)
    world.store.photo_created[confirmed.id] = NOW - timedelta(days=120)
    (alert,) = world.store.alerts.values()
    world.store.set_review(alert.id, AlertStatus.CONFIRMED, world.agency.id, "u", None, NOW)
    expired = world.sighting(OTHER, age_days=100)
    recent = world.sighting(OTHER, age_days=5)
    close_case(world.store, world.viewer, world.case.id, grace_days=0)
    # WHEN the purge runs
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    report = purge(world.store, world.objects, retention_days=90, now=later)
    # THEN the reference photo and the expired sighting are gone from the bucket and marked erased
    assert (report.references, report.sightings) == (1, 1)
    assert ref.s3_key not in world.objects.objects and expired.s3_key not in world.objects.objects
    assert world.store.get_photo(expired.id).erased_at is not None
    assert world.store.get_photo(expired.id).place is None
    assert all(s.face.embedding_b64 == "" for p, _, s in world.store.faces.values() if p == expired.id)
    # AND the confirmed and the recent sightings stay
    assert confirmed.s3_key in world.objects.objects and recent.s3_key in world.objects.objects
    # AND a second run has nothing left to do
    assert purge(world.store, world.objects, retention_days=90, now=later).sightings == 0


def test_purge_leaves_a_closed_case_within_its_grace_period(world):
    # GIVEN a case closed with 30 days of grace
    ref, _ = world.enrol()
    close_case(world.store, world.viewer, world.case.id, grace_days=30)
    # WHEN the purge runs today  THEN the reference photo stays
    assert purge(world.store, world.objects, retention_days=90).references == 0
    assert ref.s3_key in world.objects.objects
