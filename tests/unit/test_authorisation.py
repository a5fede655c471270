"""Who may call what: citizens only the public routes, agencies only their own (or shared) cases and alerts.
Not visible answers 404 (exists-or-not is not revealed); visible through a share but owner-only answers 403."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.api import template_routes
from tests.unit.test_review_api import Scene


@pytest.fixture
def scene():
    s = Scene()
    yield s
    s.api.close()


AGENCY_ROUTES = [r for r in template_routes() if not r.public]


def test_only_the_citizen_and_camera_routes_are_public():
    # GIVEN / WHEN the API function's routes are read  THEN only the citizen routes and the cameras' own upload
    # routes are public at the gateway (a camera has no Cognito user: its key is checked in the function, and a
    # wrong or revoked key gets 401: tests/unit/test_footage_api.py)
    assert {(r.method, r.path) for r in template_routes() if r.public} == {
        ("POST", "/sightings/upload"), ("GET", "/receipts/{photo_id}"), ("POST", "/cameras/{camera_id}/frames"),
        ("POST", "/cameras/{camera_id}/footage"), ("POST", "/cameras/{camera_id}/footage/{clip_id}/complete")}
    assert len(AGENCY_ROUTES) >= 11


@pytest.mark.parametrize("route", AGENCY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_a_citizen_without_a_token_gets_401_on_every_agency_route(scene, route):
    # GIVEN an agency route with real ids in it
    path = re.sub(r"\{(\w+)\}", lambda m: scene.alert.id if m[1] == "alert_id" else scene.case.id, route.path)
    # WHEN it is called without a token
    status, _ = scene.api.call(route.method, path, None, {"decision": "confirmed"})
    # THEN the gateway refuses it, and nothing was read or changed
    assert status == 401
    assert scene.store.audit == [] and scene.store.alerts[scene.alert.id].status.value == "new"


OTHER_AGENCY_CALLS = [
    ("GET", "/cases/{case}", None), ("PATCH", "/cases/{case}", {"notes": "x"}),
    ("POST", "/cases/{case}/close", {}), ("POST", "/cases/{case}/shares", {"agency_id": "{b}"}),
    ("GET", "/cases/{case}/audit", None), ("GET", "/cases/{case}/photos", None),
    ("POST", "/cases/{case}/photos", {"content_type": "image/jpeg"}), ("GET", "/alerts?case_id={case}", None),
    ("GET", "/alerts/{alert}", None), ("POST", "/alerts/{alert}/review", {"decision": "rejected"}),
]


def _fill(text, scene):
    return text.format(case=scene.case.id, alert=scene.alert.id, b=scene.b.id) if isinstance(text, str) else text


@pytest.mark.parametrize("method,path,body", OTHER_AGENCY_CALLS, ids=lambda v: str(v))
def test_another_agency_gets_404_for_a_case_and_alert_it_may_not_see(scene, method, path, body):
    # GIVEN agency A's case and alert, not shared
    body = {k: _fill(v, scene) for k, v in body.items()} if body else body
    # WHEN agency B calls the route on them
    status, _ = scene.api.call(method, _fill(path, scene), scene.b.id, body)
    # THEN it is told they do not exist, and nothing was read, changed or shared
    assert status == 404
    assert scene.store.audit == [] and scene.store.shares == set()
    assert scene.store.alerts[scene.alert.id].status.value == "new"
    assert scene.store.cases[scene.case.id].status.value == "open"


def test_another_agencys_alert_list_is_empty_and_an_unknown_id_is_also_404(scene):
    # GIVEN A's alert  WHEN B lists every alert, and asks for an id that never existed
    _, listed = scene.api.call("GET", "/alerts", scene.b.id)
    status, _ = scene.api.call("GET", f"/alerts/{uuid.uuid4()}", scene.b.id)
    # THEN B sees none, and the unknown id looks exactly like A's
    assert listed == [] and status == 404


def test_a_shared_case_can_be_read_and_reviewed_but_only_the_owner_changes_it(scene):
    # GIVEN A shared its case with B
    status, share = scene.api.call("POST", f"/cases/{scene.case.id}/shares", scene.a.id, {"agency_id": scene.b.id})
    assert status == 201 and share["new"] is True
    # WHEN B reads the case, lists and opens the alert and confirms it
    assert scene.api.call("GET", f"/cases/{scene.case.id}", scene.b.id)[0] == 200
    assert [a["id"] for a in scene.api.call("GET", "/alerts", scene.b.id)[1]] == [scene.alert.id]
    assert scene.api.call("GET", f"/alerts/{scene.alert.id}", scene.b.id)[0] == 200
    status, alert = scene.api.call("POST", f"/alerts/{scene.alert.id}/review", scene.b.id, {"decision": "confirmed"})
    # THEN it may, and the decision names B
    assert status == 200 and alert["reviewed_by_agency"] == scene.b.id
    # AND B may not update, close, re-share or read the audit of A's case (403: it can see the case)
    for method, path, body in [("PATCH", "", {"notes": "x"}), ("POST", "/close", {}),
                               ("POST", "/shares", {"agency_id": scene.a.id}), ("GET", "/audit", None)]:
        assert scene.api.call(method, f"/cases/{scene.case.id}{path}", scene.b.id, body)[0] == 403, path
    # AND the audit (read by A) shows the share, B's reading of the case and of the alert, and B's decision
    _, trail = scene.api.call("GET", f"/cases/{scene.case.id}/audit", scene.a.id)
    assert [(e["action"], e["agency_id"]) for e in trail] == [
        ("case.shared", scene.a.id), ("case.viewed", scene.b.id), ("alert.viewed", scene.b.id),
        ("alert.confirmed", scene.b.id)]


def test_sharing_twice_is_one_share_and_sharing_with_an_unknown_agency_is_refused(scene):
    # GIVEN A's case  WHEN A shares it with B twice and with an agency that does not exist
    first = scene.api.call("POST", f"/cases/{scene.case.id}/shares", scene.a.id, {"agency_id": scene.b.id})
    second = scene.api.call("POST", f"/cases/{scene.case.id}/shares", scene.a.id, {"agency_id": scene.b.id})
    unknown = scene.api.call("POST", f"/cases/{scene.case.id}/shares", scene.a.id, {"agency_id": str(uuid.uuid4())})
    # THEN one share exists, audited once, and the unknown agency is a bad request
    assert (first[0], second[0], unknown[0]) == (201, 200, 400)
    assert [e.action.value for e in scene.store.audit] == ["case.shared"]


def test_a_receipt_reveals_nothing_about_matches(scene):
    # GIVEN a citizen's sighting that raised an alert
    # WHEN the citizen reads its receipt, without a token
    status, receipt = scene.api.call("GET", f"/receipts/{scene.sighting.id}")
    # THEN it has the status and the number of faces found, and nothing else: no alert, case, score or match
    assert status == 200
    assert receipt == {"receipt_id": scene.sighting.id, "status": "processed", "reason": None, "faces": 1}
