"""Issue #11 through the API function over fakes: case lists, the audit of every viewing and decision, decisions
that change only on purpose, near misses, and who is signed in."""

from __future__ import annotations

import uuid

import pytest

from facetrace.messages import PhotoKind
from tests import fakes
from tests.fakes import face, unit, with_cosine
from tests.unit.test_review_api import REF, Scene

# fakes.MODEL stores a match above 0.5 and alerts above 0.8.
NEAR = 0.7


@pytest.fixture
def scene():
    s = Scene()
    yield s
    s.api.close()


def test_an_agency_lists_its_own_and_shared_cases_a_page_at_a_time(scene):
    # GIVEN A's case (from the scene), three more opened through the API, and B's case shared with A
    opened = [scene.api.call("POST", "/cases", scene.a.id, {"person_name": f"Person {i}"})[1] for i in range(3)]
    b_case = scene.api.call("POST", "/cases", scene.b.id, {"person_name": "B's person"})[1]
    scene.api.call("POST", f"/cases/{b_case['id']}/shares", scene.b.id, {"agency_id": scene.a.id})
    # WHEN A pages through its cases, two at a time
    status, first = scene.api.call("GET", "/cases?limit=2", scene.a.id)
    _, second = scene.api.call("GET", f"/cases?limit=2&cursor={first['next_cursor']}", scene.a.id)
    _, third = scene.api.call("GET", f"/cases?limit=2&cursor={second['next_cursor']}", scene.a.id)
    # THEN every case it may see comes once, newest first, each saying whether A owns it; the last page ends it
    listed = first["cases"] + second["cases"] + third["cases"]
    assert status == 200 and third["next_cursor"] is None
    assert [c["id"] for c in listed] == [b_case["id"], *[c["id"] for c in reversed(opened)], scene.case.id]
    assert [c["owned"] for c in listed] == [False, True, True, True, True]
    # AND each says how many of its alerts wait for review (the scene's case has its one new alert)
    assert [c["open_alerts"] for c in listed] == [0, 0, 0, 0, 1]
    # AND B sees only its own case, and a status filter works
    assert [c["id"] for c in scene.api.call("GET", "/cases", scene.b.id)[1]["cases"]] == [b_case["id"]]
    assert scene.api.call("GET", "/cases?status=closed", scene.a.id)[1] == {"cases": [], "next_cursor": None}


@pytest.mark.parametrize("query", ["cursor=not-a-cursor", "cursor=" + "x" * 201, "limit=0", "limit=101",
                                   "status=lost"])
def test_a_bad_page_request_is_422_naming_the_parameter(scene, query):
    status, body = scene.api.call("GET", f"/cases?{query}", scene.a.id)
    assert status == 422 and body["errors"][0]["field"] == query.split("=")[0]


def test_creating_adding_photos_viewing_and_deciding_are_all_in_the_trail(scene):
    # GIVEN an officer of A  WHEN they open a case, add three reference photos and read the case
    status, case = scene.api.call("POST", "/cases", scene.a.id, {"person_name": "Sam Doe", "age": 9})
    tickets = [scene.api.call("POST", f"/cases/{case['id']}/photos", scene.a.id, {"content_type": "image/jpeg"})[1]
               for _ in range(3)]
    assert status == 201 and scene.api.call("GET", f"/cases/{case['id']}", scene.a.id)[0] == 200
    # AND an alert of the case is opened and decided twice (the second time changing the decision on purpose)
    alert = _alert_for(scene, case["id"])
    scene.api.call("GET", f"/alerts/{alert.id}", scene.a.id)
    scene.api.call("POST", f"/alerts/{alert.id}/review", scene.a.id, {"decision": "confirmed", "note": "same scar"})
    scene.api.call("POST", f"/alerts/{alert.id}/review", scene.a.id,
                   {"decision": "rejected", "note": "twin brother", "override": True})
    # THEN the case's audit trail holds every one of these, in order, with the photos' ids
    _, trail = scene.api.call("GET", f"/cases/{case['id']}/audit", scene.a.id)
    assert [e["action"] for e in trail] == [
        "case.created", "case.photo_added", "case.photo_added", "case.photo_added", "case.viewed",
        "alert.viewed", "alert.confirmed", "alert.decision_changed"]
    assert [e["object_ids"] for e in trail[1:4]] == [[t["receipt_id"]] for t in tickets]
    assert trail[-1]["reason"] == "confirmed -> rejected: twin brother"


def _alert_for(scene, case_id: str):
    ref = scene.photo(PhotoKind.REFERENCE, case_id)
    vector = unit(3, 1, 4, 1, 5)
    from facetrace.match import process_faces

    process_faces(fakes.faces_result(ref, [face(0, vector)]), scene.deps)
    sighting = scene.photo(PhotoKind.SIGHTING, place="Pier 2")
    process_faces(fakes.faces_result(sighting, [face(0, with_cosine(vector, 0.97))]), scene.deps)
    return next(a for a in scene.store.alerts.values() if a.case_id == case_id)


def test_a_decided_alert_changes_only_with_an_override_and_a_note(scene):
    # GIVEN A's alert, confirmed
    url = f"/alerts/{scene.alert.id}/review"
    assert scene.api.call("POST", url, scene.a.id, {"decision": "confirmed", "note": "same"})[0] == 200
    # WHEN someone rejects it with a plain review  THEN 409, and nothing changed
    status, body = scene.api.call("POST", url, scene.a.id, {"decision": "rejected"})
    assert status == 409 and "override" in body["message"]
    assert scene.store.alerts[scene.alert.id].status.value == "confirmed"
    # AND an override without a note is 422, naming the rule
    status, body = scene.api.call("POST", url, scene.a.id, {"decision": "rejected", "override": True, "note": " "})
    assert status == 422 and body["errors"][0]["field"] == "override"
    # AND with a note it changes, and the change is audited with the old and new decision
    status, alert = scene.api.call("POST", url, scene.a.id, {"decision": "rejected", "override": True,
                                                             "note": "the photo is from 2019"})
    assert status == 200 and alert["status"] == "rejected" and alert["review_note"] == "the photo is from 2019"
    assert [(e.action.value, e.reason) for e in scene.store.audit] == [
        ("alert.confirmed", "same"), ("alert.decision_changed", "confirmed -> rejected: the photo is from 2019")]


def test_two_reviewers_deciding_at_once_cannot_both_win(scene, monkeypatch):
    # GIVEN A's new alert and a second reviewer who decides while the first one's request is being handled
    real = scene.store.set_review

    def meanwhile(*args, **kwargs):
        real(scene.alert.id, fakes.AlertStatus.REJECTED, scene.a.id, "other", "no", fakes.datetime.now(fakes.timezone.utc))
        return real(*args, **kwargs)
    monkeypatch.setattr(scene.store, "set_review", meanwhile)
    # WHEN the first reviewer's confirmation arrives  THEN it is 409 and the other decision stands
    status, _ = scene.api.call("POST", f"/alerts/{scene.alert.id}/review", scene.a.id, {"decision": "confirmed"})
    assert status == 409 and scene.store.alerts[scene.alert.id].reviewed_by_user == "other"


def test_the_alert_queue_names_the_person(scene):
    _, alerts = scene.api.call("GET", "/alerts", scene.a.id)
    assert [(a["id"], a["person_name"]) for a in alerts] == [(scene.alert.id, scene.case.person_name)]


def test_photo_links_are_given_only_when_asked_and_their_showing_is_audited(scene):
    # GIVEN A's case with its enrolled reference photo, and one that was rejected
    rejected = scene.photo(PhotoKind.REFERENCE, scene.case.id)
    scene.store.set_photo_status(rejected.id, fakes.PhotoStatus.REJECTED, reason="not an image")
    # WHEN A lists the photos, then asks for their links
    _, plain = scene.api.call("GET", f"/cases/{scene.case.id}/photos", scene.a.id)
    assert all(p["url"] is None for p in plain) and scene.store.audit == []
    _, shown = scene.api.call("GET", f"/cases/{scene.case.id}/photos?urls=true", scene.a.id)
    # THEN only the kept photo has a link, and its showing is audited before it was given
    urls = {p["id"]: p["url"] for p in shown}
    assert urls[rejected.id] is None and urls[scene.reference.id].startswith("https://objects.test/references/")
    assert [(e.action.value, e.object_ids) for e in scene.store.audit] == [("case.photos_viewed", [scene.reference.id])]


def test_me_names_the_agency_and_an_unregistered_agency_is_403(scene):
    status, me = scene.api.call("GET", "/me", scene.a.id)
    assert status == 200 and (me["agency"]["id"], me["agency"]["name"], me["user_sub"]) == (scene.a.id, "A", "dev")
    status, body = scene.api.call("GET", "/me", str(uuid.uuid4()))
    assert (status, body["message"]) == (403, "agency not registered")


def test_answers_to_a_browser_carry_the_allowed_origin_for_the_portal(scene):
    # GIVEN the portal on another origin (CloudFront) calling the API (WebOrigin defaults to *)
    headers = {"Authorization": f"Dev {scene.a.id}", "Origin": "https://d1.cloudfront.net"}
    # WHEN it reads an answer, and an error  THEN both carry the origin, so the browser lets the portal read them
    status, answer, _ = scene.api.gateway.handle("GET", "/me", headers, b"")
    assert status == 200 and answer.get("Access-Control-Allow-Origin") == "*"
    status, answer, _ = scene.api.gateway.handle("GET", f"/cases/{uuid.uuid4()}", headers, b"")
    assert status == 404 and answer.get("Access-Control-Allow-Origin") == "*"


# --------------------------------------------------------------------------- near misses
class NearMisses:
    """A's case gets a sighting scored between the match and the alert threshold: stored, never alerted."""

    def __init__(self, scene) -> None:
        self.scene = scene
        self.sighting = scene.photo(PhotoKind.SIGHTING, place="Bus station")
        from facetrace.match import process_faces

        process_faces(fakes.faces_result(self.sighting, [face(0, with_cosine(REF, NEAR))]), scene.deps)
        self.face_id = next(i for i, (p, _, _) in scene.store.faces.items() if p == self.sighting.id)


def test_a_reviewer_sees_a_match_below_the_alert_threshold_and_opening_it_is_audited(scene):
    # GIVEN a sighting of A's person that scored below the alert threshold (no alert was raised)
    near = NearMisses(scene)
    assert all(a.sighting_id != near.sighting.id for a in scene.store.alerts.values())
    # WHEN A lists the case's near misses
    status, misses = scene.api.call("GET", f"/cases/{scene.case.id}/near-misses", scene.a.id)
    # THEN it is there with its score and place (the alerted sighting is not: it is reviewed as an alert)
    assert status == 200
    assert [(m["sighting_id"], round(m["score"], 2), m["place"]) for m in misses] == [
        (near.sighting.id, NEAR, "Bus station")]
    assert scene.store.audit == []  # a list shows no face
    # AND opening it shows both photos with the face box, and is audited first
    status, detail = scene.api.call("GET", f"/cases/{scene.case.id}/near-misses/{near.face_id}", scene.a.id)
    assert status == 200 and detail["face_box"] == [10.0, 20.0, 110.0, 140.0]
    assert detail["sighting_photo_url"].startswith(f"https://objects.test/{near.sighting.s3_key}")
    assert detail["reference_photo_url"].startswith(f"https://objects.test/{scene.reference.s3_key}")
    [entry] = scene.store.audit
    assert (entry.action.value, entry.case_id, sorted(entry.object_ids)) == (
        "near_miss.viewed", scene.case.id, sorted([near.sighting.id, scene.reference.id]))


def test_near_misses_are_for_the_cases_agencies_only(scene):
    near = NearMisses(scene)
    # GIVEN B, which cannot see A's case  WHEN it asks  THEN 404 for both the list and the near miss
    assert scene.api.call("GET", f"/cases/{scene.case.id}/near-misses", scene.b.id)[0] == 404
    assert scene.api.call("GET", f"/cases/{scene.case.id}/near-misses/{near.face_id}", scene.b.id)[0] == 404
    # AND a face that is no near miss of the case is 404 too, even for A
    assert scene.api.call("GET", f"/cases/{scene.case.id}/near-misses/{scene.alert.sighting_face_id}",
                          scene.a.id)[0] == 404
    # AND once A shares the case, B sees it
    scene.api.call("POST", f"/cases/{scene.case.id}/shares", scene.a.id, {"agency_id": scene.b.id})
    assert len(scene.api.call("GET", f"/cases/{scene.case.id}/near-misses", scene.b.id)[1]) == 1


def test_with_the_portal_origin_set_only_the_portal_may_read_the_answers():
    # GIVEN the API deployed with WebOrigin set to the portal's URL
    from facetrace.config import Settings
    from tests.api import Api, FakeWiring

    wiring = FakeWiring(settings=Settings(web_origin="https://d1.cloudfront.net"))
    agency = fakes.agency()
    wiring.store.add_agency(agency)
    api = Api(wiring)
    try:
        def origin_seen(origin: str) -> str | None:
            headers = {"Authorization": f"Dev {agency.id}", "Origin": origin}
            return api.gateway.handle("GET", "/me", headers, b"")[1].get("Access-Control-Allow-Origin")
        # WHEN the portal and another site call it  THEN only the portal's browser may read the answer
        assert origin_seen("https://d1.cloudfront.net") == "https://d1.cloudfront.net"
        assert origin_seen("https://evil.example") is None
    finally:
        api.close()
