"""Alert review and case work through the API function, over in-memory fakes."""

from __future__ import annotations

import pytest

from facetrace.gallery.cache import GalleryCache
from facetrace.match import MatchDeps, process_faces
from facetrace.messages import PhotoKind
from tests import fakes
from tests.api import Api, FakeWiring
from tests.fakes import face, unit, with_cosine

REF = unit(1, 2, 3)


class Scene:
    """Agency A owns a case whose reference face is REF; a citizen's sighting of that face raised one alert.
    Agency B exists and owns nothing."""

    def __init__(self) -> None:
        self.wiring = FakeWiring()
        self.store, self.objects = self.wiring.store, self.wiring.objects
        self.deps = MatchDeps(self.store, fakes.FakePublisher(), self.objects,
                              GalleryCache(self.store, None))
        self.a, self.b = fakes.agency("A"), fakes.agency("B", "b@police.example")
        self.store.add_agency(self.a)
        self.store.add_agency(self.b)
        self.case = fakes.case(self.a.id)
        self.store.add_case(self.case)
        self.reference = self.photo(PhotoKind.REFERENCE, self.case.id)
        process_faces(fakes.faces_result(self.reference, [face(0, REF)]), self.deps)
        self.sighting = self.photo(PhotoKind.SIGHTING, place="Harbour", contact="citizen@example.org")
        process_faces(fakes.faces_result(self.sighting, [face(0, with_cosine(REF, 0.95))]), self.deps)
        (self.alert,) = self.store.alerts.values()
        self.api = Api(self.wiring)

    def photo(self, kind, case_id=None, **extra):
        p = fakes.photo(kind, case_id, **extra)
        self.store.add_photo(p)
        self.objects.add(p.s3_key, b"jpeg")
        return p


@pytest.fixture
def scene():
    s = Scene()
    yield s
    s.api.close()


def test_agency_lists_and_opens_its_alert_and_the_viewing_is_audited(scene):
    # GIVEN agency A's new alert
    # WHEN A lists new alerts of the case and opens the alert
    status, listed = scene.api.call("GET", f"/alerts?status=new&case_id={scene.case.id}", scene.a.id)
    opened_status, detail = scene.api.call("GET", f"/alerts/{scene.alert.id}", scene.a.id)
    # THEN the list holds the alert, and the detail has the case, score, place, face box and both photo links
    assert status == 200 and [a["id"] for a in listed] == [scene.alert.id]
    assert opened_status == 200
    assert detail["case"]["id"] == scene.case.id and detail["alert"]["score"] == pytest.approx(0.95, abs=1e-4)
    assert detail["place"] == "Harbour" and detail["face_box"] == [10.0, 20.0, 110.0, 140.0]
    assert detail["sighting_photo_url"].startswith(f"https://objects.test/{scene.sighting.s3_key}")
    assert detail["reference_photo_url"].startswith(f"https://objects.test/{scene.reference.s3_key}")
    # AND the viewing of both photos is in the audit log, with the user
    (entry,) = scene.store.audit
    assert (entry.action.value, entry.alert_id, entry.agency_id, entry.user_sub) == (
        "alert.viewed", scene.alert.id, scene.a.id, "dev")
    assert sorted(entry.object_ids) == sorted([scene.sighting.id, scene.reference.id])


def test_alert_list_filters_by_status_and_date(scene):
    # GIVEN A's one new alert
    # WHEN A asks for confirmed alerts, and for alerts since a date after it
    _, confirmed = scene.api.call("GET", "/alerts?status=confirmed", scene.a.id)
    _, later = scene.api.call("GET", "/alerts?since=2999-01-01T00:00:00Z", scene.a.id)
    _, everything = scene.api.call("GET", "/alerts", scene.a.id)
    # THEN neither has it, and the unfiltered list does
    assert confirmed == [] and later == [] and len(everything) == 1


@pytest.mark.parametrize("decision", ["confirmed", "rejected"])
def test_review_decision_is_stored_and_audited_with_the_note(scene, decision):
    # GIVEN A's new alert
    # WHEN a reviewer of A decides with a note
    status, alert = scene.api.call("POST", f"/alerts/{scene.alert.id}/review", scene.a.id,
                                   {"decision": decision, "note": "compared the ears"})
    # THEN the alert carries the decision, the reviewer and the note
    assert status == 200
    assert (alert["status"], alert["reviewed_by_agency"], alert["review_note"]) == (
        decision, scene.a.id, "compared the ears")
    # AND the case audit shows the decision and why
    _, trail = scene.api.call("GET", f"/cases/{scene.case.id}/audit", scene.a.id)
    assert [(e["action"], e["alert_id"], e["reason"]) for e in trail] == [
        (f"alert.{decision}", scene.alert.id, "compared the ears")]


def test_the_alert_shows_every_decision_and_change_oldest_first(scene):
    # GIVEN A's alert, confirmed and then changed to rejected on purpose
    url = f"/alerts/{scene.alert.id}"
    scene.api.call("POST", f"{url}/review", scene.a.id, {"decision": "confirmed", "note": "same scar"})
    scene.api.call("POST", f"{url}/review", scene.a.id, {"decision": "rejected", "note": "photo from 2019",
                                                           "override": True})
    # WHEN the alert is opened
    status, detail = scene.api.call("GET", url, scene.a.id)
    # THEN its history holds both decisions in order, with who and why
    assert status == 200
    assert [(d["action"], d["user_sub"], d["reason"]) for d in detail["decisions"]] == [
        ("alert.confirmed", "dev", "same scar"), ("alert.decision_changed", "dev", "confirmed -> rejected: photo from 2019")]


def test_a_review_needs_a_valid_decision(scene):
    # GIVEN A's alert  WHEN a review says "maybe"
    status, _ = scene.api.call("POST", f"/alerts/{scene.alert.id}/review", scene.a.id, {"decision": "maybe"})
    # THEN it is refused and nothing is recorded
    assert status == 422
    assert scene.store.alerts[scene.alert.id].status.value == "new" and scene.store.audit == []


def test_other_candidates_show_only_cases_the_reviewer_may_see(scene):
    # GIVEN B's own case whose reference also resembles the sighting face, matched and stored
    b_case = fakes.case(scene.b.id, "John Doe")
    scene.store.add_case(b_case)
    ref = scene.photo(PhotoKind.REFERENCE, b_case.id)
    process_faces(fakes.faces_result(ref, [face(0, with_cosine(REF, 0.99))]), scene.deps)
    sighting_face = scene.alert.sighting_face_id
    b_ref_face = next(i for i, (p, _, _) in scene.store.faces.items() if p == ref.id)
    scene.store.matches[(sighting_face, b_ref_face)] = 0.9
    # WHEN A opens its alert  THEN B's case is not among the other candidates
    _, detail = scene.api.call("GET", f"/alerts/{scene.alert.id}", scene.a.id)
    assert detail["other_candidates"] == []
    # AND once B shares its case with A, it is
    scene.api.call("POST", f"/cases/{b_case.id}/shares", scene.b.id, {"agency_id": scene.a.id})
    _, detail = scene.api.call("GET", f"/alerts/{scene.alert.id}", scene.a.id)
    assert [(c["case_id"], c["person_name"]) for c in detail["other_candidates"]] == [(b_case.id, "John Doe")]


def test_case_update_changes_only_given_fields_and_is_audited(scene):
    # GIVEN A's open case  WHEN A changes the notes
    status, case = scene.api.call("PATCH", f"/cases/{scene.case.id}", scene.a.id, {"notes": "wears a red coat"})
    # THEN the notes changed, nothing else did, and the change is audited by field name
    assert status == 200 and case["notes"] == "wears a red coat" and case["person_name"] == "Jane Roe"
    assert [(e.action.value, e.object_ids) for e in scene.store.audit] == [("case.updated", ["notes"])]


def test_case_photos_list_each_reference_with_its_verdict(scene):
    # GIVEN a second reference photo of A's case whose only face is of low quality
    bad = scene.photo(PhotoKind.REFERENCE, scene.case.id)
    process_faces(fakes.faces_result(bad, [face(0, REF, reference=False, reasons=["blurry"])]), scene.deps)
    # WHEN A lists the case's photos
    status, photos = scene.api.call("GET", f"/cases/{scene.case.id}/photos", scene.a.id)
    # THEN each has its status, usable faces and verdict; the poor one is enrolled too, and says why a clearer
    # photo would help (refusing it would lose the person)
    assert status == 200
    by_id = {p["id"]: p for p in photos}
    assert (by_id[scene.reference.id]["verdict"], by_id[scene.reference.id]["usable_faces"]) == ("enrolled", 1)
    assert by_id[bad.id]["verdict"] == "enrolled" and "blurry" in by_id[bad.id]["reason"]
    assert "clearer photo" in by_id[bad.id]["reason"]


def test_closed_case_cannot_be_updated(scene):
    # GIVEN A closed its case
    assert scene.api.call("POST", f"/cases/{scene.case.id}/close", scene.a.id, {"reason": "found"})[0] == 200
    # WHEN A tries to change it  THEN 409
    assert scene.api.call("PATCH", f"/cases/{scene.case.id}", scene.a.id, {"notes": "x"})[0] == 409
