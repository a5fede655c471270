"""Searches by photo in MySQL: the search, its photo of kind search, its candidates and its audit round-trip."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from facetrace.access import Viewer
from facetrace.audit import AuditAction
from facetrace.case import CaseStatus
from facetrace.gallery.cache import GalleryCache
from facetrace.match import MatchDeps, process_faces
from facetrace.messages import PhotoKind
from facetrace.photo import Photo, PhotoStatus
from facetrace.keys import search_key
from facetrace.photo_search import Search, SearchCandidate, search_result
from tests import fakes
from tests.fakes import face, unit

pytestmark = pytest.mark.integration


def _agency(store):
    agency = fakes.agency()
    store.add_agency(agency)
    return agency


def _search(store, agency_id: str) -> Search:
    search = Search(id=str(uuid.uuid4()), agency_id=agency_id, user_sub="officer",
                    created_at=datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=timezone.utc))
    store.add_search(search)
    return search


def test_search_and_candidates_round_trip(store):
    mine = _agency(store)
    case = fakes.case(mine.id, person_name="Zoë Ångström")
    store.add_case(case)
    search = _search(store, mine.id)
    # WHEN read back before it completes  THEN it is the same, with no candidates
    assert store.get_search(search.id) == search and store.search_candidates(search.id) == []
    assert store.get_search(str(uuid.uuid4())) is None
    # WHEN completed twice (a retried job)  THEN the second set replaces the first, best first, with the name
    at = datetime(2025, 3, 1, 9, 0, 5, tzinfo=timezone.utc)
    store.complete_search(search.id, [SearchCandidate(case_id=case.id, score=0.5, reference_face_id=1, face_index=0)], at)
    store.complete_search(search.id, [SearchCandidate(case_id=case.id, score=0.75, reference_face_id=7, face_index=2)], at)
    assert store.search_candidates(search.id) == [
        SearchCandidate(case_id=case.id, person_name="Zoë Ångström", score=0.75, reference_face_id=7, face_index=2)]
    assert store.get_search(search.id).completed_at == at


def test_visible_cases_are_own_and_shared_open_ones(store):
    mine, theirs = _agency(store), _agency(store)
    own, closed = fakes.case(mine.id), fakes.case(mine.id, status=CaseStatus.CLOSED)
    shared, other = fakes.case(theirs.id), fakes.case(theirs.id)
    for c in (own, closed, shared, other):
        store.add_case(c)
    store.add_share(shared.id, mine.id, "owner")
    assert store.visible_case_ids(mine.id) == {own.id, shared.id}


def test_a_search_photo_is_matched_without_faces_matches_or_alerts(store):
    # GIVEN an enrolled case and a search photo of kind search recorded for the agency
    objects, publisher = fakes.FakeObjects(), fakes.FakePublisher()
    deps = MatchDeps(store, publisher, objects, GalleryCache(store, None))
    mine = _agency(store)
    case = fakes.case(mine.id)
    store.add_case(case)
    ref = fakes.photo(PhotoKind.REFERENCE, case.id)
    store.add_photo(ref)
    process_faces(fakes.faces_result(ref, [face(0, unit(1, 2, 3))]), deps)
    search = _search(store, mine.id)
    key = search_key(mine.id, search.id)
    photo = Photo(id=search.id, kind=PhotoKind.SEARCH, s3_key=key, status=PhotoStatus.RECEIVED)
    assert store.add_photo(photo)
    assert store.get_photo(search.id).kind is PhotoKind.SEARCH
    objects.add(key, b"jpeg")
    # WHEN the worker's result is matched
    process_faces(fakes.faces_result(photo, [face(0, unit(1, 2, 3))]), deps)
    # THEN the case is the candidate, and no face, match or alert of the search photo exists
    viewer = Viewer(mine.id, "officer")
    result = search_result(store, viewer, search.id)
    assert result.status == "done" and [c.case_id for c in result.candidates] == [case.id]
    assert store.db.query("SELECT COUNT(*) AS n FROM faces WHERE photo_id = %s", (search.id,))[0]["n"] == 0
    assert store.db.query("SELECT COUNT(*) AS n FROM matches")[0]["n"] == 0
    assert store.db.query("SELECT COUNT(*) AS n FROM alerts")[0]["n"] == 0
    assert key not in objects.objects and publisher.published == []
    # AND the read is in the audit trail, found by the search id
    assert [e.action for e in store.audit_of_object(search.id)] == [AuditAction.SEARCH_VIEWED]
