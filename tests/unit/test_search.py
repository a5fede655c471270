"""Search by photo: the agency gets its visible cases as candidates; nothing is stored that could alert or be searched."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from facetrace.access import NotVisible, Viewer
from facetrace.audit import AuditAction
from facetrace.gallery.cache import GalleryCache
from facetrace.image_check import Limits
from facetrace.match import MatchDeps, process_faces
from facetrace.messages import PhotoKind
from facetrace.photo import Photo, PhotoStatus
from facetrace.keys import parse_upload_key
from facetrace.receipt import UnknownReceipt, receipt_status
from facetrace.upload import Uploads
from facetrace.photo_search import search_result, start_search
from tests import fakes
from tests.fakes import MODEL, face, unit

JANE = unit(1, 2, 3)
JOHN = unit(0, 0, 0, 1)
STRANGER = unit(0, 0, 0, 0, 1)


SearchMemory = fakes.MemoryStore  # every fake store keeps searches too


class World:
    """Two agencies, each with one enrolled case; the first searches by photo."""

    def __init__(self) -> None:
        self.store = SearchMemory()
        self.objects = fakes.FakeObjects()
        self.uploads = Uploads(self.objects, Limits(1, 10_000_000, 64, 8000, 50_000_000), 300)
        self.publisher = fakes.FakePublisher()
        self.deps = MatchDeps(store=self.store, publisher=self.publisher, objects=self.objects,
                              galleries=GalleryCache(self.store, self.objects))
        self.mine, self.theirs = fakes.agency("Mine"), fakes.agency("Theirs", "other@police.example")
        for a in (self.mine, self.theirs):
            self.store.add_agency(a)
        self.jane = self.enrol(self.mine.id, "Jane Roe", JANE)
        self.john = self.enrol(self.theirs.id, "John Doe", JOHN)
        self.officer = Viewer(self.mine.id, "officer-1")

    def enrol(self, agency_id: str, name: str, embedding):
        case = fakes.case(agency_id, name)
        self.store.add_case(case)
        ref = fakes.photo(PhotoKind.REFERENCE, case.id)
        self.store.add_photo(ref)
        process_faces(fakes.faces_result(ref, [face(0, embedding)]), self.deps)
        return case

    def search(self, *embeddings, viewer: Viewer | None = None):
        """Start a search, 'upload' its photo, and match the worker's result for it."""
        viewer = viewer or self.officer
        ticket = start_search(self.store, viewer, "image/jpeg", self.uploads)
        key = ticket.fields["key"].removeprefix("uploads/")
        kind, photo_id, case_id = parse_upload_key(ticket.fields["key"])
        photo = Photo(id=photo_id, kind=kind, case_id=case_id, s3_key=key, status=PhotoStatus.RECEIVED)
        self.store.add_photo(photo)
        self.objects.add(key, b"jpeg")
        outcome = process_faces(fakes.faces_result(photo, [face(i, e) for i, e in enumerate(embeddings)]), self.deps)
        return ticket.search_id, photo, outcome


@pytest.fixture
def world() -> World:
    return World()


def test_search_returns_the_visible_case_and_stores_nothing_else(world):
    faces_before, matches_before = len(world.store.faces), len(world.store.matches)
    # WHEN the agency searches a photo showing both its own case's person and the other agency's
    search_id, photo, outcome = world.search(JANE, JOHN)
    # THEN only its own case is a candidate, with a high score and the face it matched
    result = search_result(world.store, world.officer, search_id)
    assert result.status == "done"
    assert [(c.case_id, c.person_name, c.face_index) for c in result.candidates] == [(world.jane.id, "Jane Roe", 0)]
    assert result.candidates[0].score > 0.99
    # AND no alert was raised or published, no face or match was stored, and the photo was deleted
    assert world.store.alerts == {} and world.publisher.published == []
    assert len(world.store.faces) == faces_before and len(world.store.matches) == matches_before
    assert photo.s3_key not in world.objects.objects
    assert world.store.get_photo(photo.id).status is PhotoStatus.PROCESSED
    # AND the search photo never joins the gallery
    gallery = world.store.gallery(MODEL.name, MODEL.dim)
    assert photo.id not in {world.store.photo_of_face(int(f)) for f in gallery.face_ids}


def test_a_shared_case_is_visible_to_the_search(world):
    # GIVEN the other agency shared its case
    world.store.add_share(world.john.id, world.mine.id, "owner")
    # WHEN the agency searches John's face  THEN John's case is the candidate
    search_id, _, _ = world.search(JOHN)
    assert [c.case_id for c in search_result(world.store, world.officer, search_id).candidates] == [world.john.id]


def test_a_stranger_finds_nothing_and_a_photo_without_face_says_so(world):
    stranger, _, _ = world.search(STRANGER)
    assert search_result(world.store, world.officer, stranger).candidates == []
    empty, _, _ = world.search()
    result = search_result(world.store, world.officer, empty)
    assert result.status == "done" and result.candidates == [] and "no face" in result.reason


def test_only_the_searching_agency_reads_the_result_and_both_are_audited(world):
    search_id, _, _ = world.search(JANE)
    # WHEN another agency asks for the search  THEN it does not exist for them
    with pytest.raises(NotVisible):
        search_result(world.store, Viewer(world.theirs.id, "nosy"), search_id)
    # AND the owner's read is audited after the creation, naming the search and the candidate case
    search_result(world.store, world.officer, search_id)
    entries = [e for e in world.store.audit if search_id in e.object_ids]
    assert [(e.action, e.agency_id, e.user_sub) for e in entries] == [
        (AuditAction.SEARCH_CREATED, world.mine.id, "officer-1"), (AuditAction.SEARCH_VIEWED, world.mine.id, "officer-1")]
    assert world.jane.id in entries[1].object_ids


def test_a_search_is_pending_until_its_photo_arrives_and_hidden_from_receipts(world):
    ticket = start_search(world.store, world.officer, "image/png", world.uploads)
    assert search_result(world.store, world.officer, ticket.search_id).status == "pending"
    assert ticket.receipt_id == ticket.search_id
    # AND once recorded, the public receipt does not reveal it
    world.store.add_photo(Photo(id=ticket.search_id, kind=PhotoKind.SEARCH, s3_key="searches/x",
                                status=PhotoStatus.RECEIVED))
    with pytest.raises(UnknownReceipt):
        receipt_status(ticket.search_id, world.store, world.objects, 300)
    assert datetime.now(timezone.utc) >= world.store.get_search(ticket.search_id).created_at
