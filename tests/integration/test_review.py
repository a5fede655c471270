"""Review, sharing, audit, retro-search and erasure on the real MariaDB, with moto S3 and the real API handler."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from facetrace.access import Viewer
from facetrace.alert import AlertStatus
from facetrace.casework import close_case
from devstack.cli import main as cli
from facetrace.config import Settings
from facetrace.gallery.cache import GalleryCache
from facetrace.match import MatchDeps, process_faces
from facetrace.messages import PhotoKind
from facetrace.retention import purge
from facetrace.wiring import Wiring
from tests import events, fakes
from tests.api import Api
from tests.fakes import MODEL, face, unit, with_cosine

pytestmark = pytest.mark.integration

BUCKET = "facetrace-test-uploads"
PERSON = unit(1, 2, 3)
OTHER = unit(0, 0, 0, 0, 1)


class Env:
    """Agencies A and B in MySQL, A's case, a bucket in moto, and matching over them."""

    def __init__(self, db_url: str, s3) -> None:
        self.s3 = s3
        self.wiring = Wiring(Settings(upload_bucket=BUCKET, db_url=db_url, aws_region=events.REGION))
        self.store = self.wiring.store
        self.publisher = fakes.FakePublisher()
        self.deps = MatchDeps(self.store, self.publisher, self.wiring.objects,
                              GalleryCache(self.store, None), retention_days=90)
        self.a, self.b = fakes.agency("A"), fakes.agency("B", "b@police.example")
        self.store.add_agency(self.a)
        self.store.add_agency(self.b)
        self.case = fakes.case(self.a.id)
        self.store.add_case(self.case)

    def photo(self, kind, case_id=None, age_days: float = 0, **extra):
        p = fakes.photo(kind, case_id, **extra)
        self.store.add_photo(p)
        self.store.db.execute("UPDATE photos SET created_at = %s WHERE id = %s",
                              (datetime.utcnow() - timedelta(days=age_days), p.id))
        self.s3.put_object(Bucket=BUCKET, Key=p.s3_key, Body=b"jpeg")
        return p

    def enrol(self, embedding=PERSON):
        ref = self.photo(PhotoKind.REFERENCE, self.case.id)
        return ref, process_faces(fakes.faces_result(ref, [face(0, embedding)]), self.deps)

    def sighting(self, *embeddings, age_days: float = 0):
        p = self.photo(PhotoKind.SIGHTING, age_days=age_days, place="Old Town", contact="me@example.org")
        process_faces(fakes.faces_result(p, [face(i, e) for i, e in enumerate(embeddings)]), self.deps)
        return p

    def keys(self) -> set[str]:
        return {o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


@pytest.fixture
def env(db_url, monkeypatch):
    with mock_aws():
        s3 = boto3.client("s3", region_name=events.REGION)
        s3.create_bucket(Bucket=BUCKET)
        env = Env(db_url, s3)
        yield env
        env.store.db.close()


@pytest.fixture
def api(env):
    api = Api(env.wiring)
    yield api
    api.close()


def test_review_flow_through_the_handler_writes_the_alert_and_the_audit(env, api):
    # GIVEN an enrolled case and a sighting of the person that raised one alert
    ref, _ = env.enrol()
    sighting = env.sighting(with_cosine(PERSON, 0.93))
    # WHEN agency A lists new alerts, opens the alert and rejects it with a note
    _, listed = api.call("GET", f"/alerts?status=new&case_id={env.case.id}", env.a.id)
    status, detail = api.call("GET", f"/alerts/{listed[0]['id']}", env.a.id)
    _, decided = api.call("POST", f"/alerts/{listed[0]['id']}/review", env.a.id,
                          {"decision": "rejected", "note": "different person"})
    # THEN the detail has real presigned S3 links to both photos
    assert status == 200 and detail["alert"]["sighting_id"] == sighting.id
    assert re.search(rf"/{re.escape(sighting.s3_key)}\?.*Signature", detail["sighting_photo_url"])
    assert ref.s3_key in detail["reference_photo_url"] and detail["place"] == "Old Town"
    # AND the decision is stored with the reviewer
    stored = env.store.get_alert(listed[0]["id"])
    assert (stored.status, stored.reviewed_by_agency, stored.review_note) == (
        AlertStatus.REJECTED, env.a.id, "different person")
    assert decided["status"] == "rejected" and stored.reviewed_at is not None
    # AND the audit trail in MySQL holds the viewing (both photos) and the decision, in order
    _, trail = api.call("GET", f"/cases/{env.case.id}/audit", env.a.id)
    assert [(e["action"], e["user_sub"]) for e in trail] == [("alert.viewed", "dev"), ("alert.rejected", "dev")]
    assert sorted(trail[0]["object_ids"]) == sorted([sighting.id, ref.id])
    assert trail[1]["reason"] == "different person"


def test_alert_visibility_filters_and_sharing_in_sql(env, api):
    # GIVEN one alert on A's case
    env.enrol()
    env.sighting(with_cosine(PERSON, 0.93))
    # WHEN B lists alerts before and after A shares the case, and A filters by status and date
    before = api.call("GET", "/alerts", env.b.id)[1]
    assert api.call("POST", f"/cases/{env.case.id}/shares", env.a.id, {"agency_id": env.b.id})[0] == 201
    after = api.call("GET", "/alerts", env.b.id)[1]
    confirmed = api.call("GET", "/alerts?status=confirmed", env.a.id)[1]
    future = api.call("GET", "/alerts?since=2999-01-01T00:00:00Z", env.a.id)[1]
    # THEN B sees nothing, then the alert; the filters exclude it
    assert before == [] and len(after) == 1 and confirmed == [] and future == []
    assert env.store.is_shared_with(env.case.id, env.b.id)
    # AND B cannot update the case it was only shared (403), nor read another case at all (404)
    assert api.call("PATCH", f"/cases/{env.case.id}", env.b.id, {"notes": "x"})[0] == 403
    other = fakes.case(env.a.id)
    env.store.add_case(other)
    assert api.call("GET", f"/cases/{other.id}", env.b.id)[0] == 404


def test_case_photos_and_update_on_mysql(env, api):
    # GIVEN an enrolled reference photo and one whose only face is of low quality (enrolled too, since issue #12)
    ref, _ = env.enrol()
    bad = env.photo(PhotoKind.REFERENCE, env.case.id)
    process_faces(fakes.faces_result(bad, [face(0, PERSON, reference=False, reasons=["blurry"])]), env.deps)
    # WHEN A lists the photos and changes the case
    _, photos = api.call("GET", f"/cases/{env.case.id}/photos", env.a.id)
    _, case = api.call("PATCH", f"/cases/{env.case.id}", env.a.id, {"age": 35, "last_seen_place": "Pier 4"})
    # THEN each photo has its verdict (the poor one saying why a clearer photo would help), and the change is
    # stored and audited
    assert {p["id"]: p["verdict"] for p in photos} == {ref.id: "enrolled", bad.id: "enrolled"}
    assert "blurry" in next(p["reason"] for p in photos if p["id"] == bad.id)
    assert env.store.get_case(env.case.id).last_seen_place == "Pier 4" and case["age"] == 35
    assert [(e.action.value, e.object_ids) for e in env.store.audit_of_case(env.case.id)] == [
        ("case.updated", ["age", "last_seen_place"])]


def test_issue_11_routes_on_mysql_cases_near_misses_and_changed_decisions(env, api):
    # GIVEN A's enrolled case, a sighting that alerted, one that scored between the thresholds, and B's case
    # shared with A
    ref, _ = env.enrol()
    alerted = env.sighting(with_cosine(PERSON, 0.95))
    near = env.sighting(with_cosine(PERSON, 0.7))  # MODEL: match above 0.5, alert above 0.8
    b_case = api.call("POST", "/cases", env.b.id, {"person_name": "Shared Person"})[1]
    api.call("POST", f"/cases/{b_case['id']}/shares", env.b.id, {"agency_id": env.a.id})
    # WHEN A lists its cases one per page
    first = api.call("GET", "/cases?limit=1", env.a.id)[1]
    second = api.call("GET", f"/cases?limit=1&cursor={first['next_cursor']}", env.a.id)[1]
    # THEN the shared case comes first (newest), then its own, and the pages end
    assert [(c["id"], c["owned"]) for c in first["cases"] + second["cases"]] == [
        (b_case["id"], False), (env.case.id, True)]
    assert second["next_cursor"] is None
    # AND the near miss is listed (not the alerted sighting) and opening it presigns both photos, audited
    [miss] = api.call("GET", f"/cases/{env.case.id}/near-misses", env.a.id)[1]
    assert miss["sighting_id"] == near.id and round(miss["score"], 2) == 0.7 and miss["place"] == "Old Town"
    status, detail = api.call("GET", f"/cases/{env.case.id}/near-misses/{miss['sighting_face_id']}", env.a.id)
    assert status == 200 and near.s3_key in detail["sighting_photo_url"] and ref.s3_key in detail["reference_photo_url"]
    # AND the alert's queue entry names the person; a second decision needs an override with a note
    [alert] = api.call("GET", "/alerts", env.a.id)[1]
    assert alert["sighting_id"] == alerted.id and alert["person_name"] == env.case.person_name
    url = f"/alerts/{alert['id']}/review"
    assert api.call("POST", url, env.a.id, {"decision": "confirmed", "note": "yes"})[0] == 200
    assert api.call("POST", url, env.a.id, {"decision": "rejected"})[0] == 409
    assert api.call("POST", url, env.a.id, {"decision": "rejected", "override": True, "note": "no"})[0] == 200
    assert [e.action.value for e in env.store.audit_of_case(env.case.id)] == [
        "near_miss.viewed", "alert.confirmed", "alert.decision_changed"]


def test_retro_search_on_mysql_alerts_recent_sightings_only(env):
    # GIVEN sightings of the person 10 and 200 days ago, and a recent one of a stranger, before any case photo
    recent = env.sighting(OTHER, with_cosine(PERSON, 0.9), age_days=10)
    env.sighting(with_cosine(PERSON, 0.95), age_days=200)
    env.sighting(OTHER, age_days=1)
    since = datetime.now(timezone.utc) - timedelta(days=90)
    assert len(env.store.sighting_faces_since(MODEL.name, MODEL.dim, since)) == 3
    # WHEN the case's reference photo is enrolled
    _, outcome = env.enrol()
    # THEN one alert for the recent sighting is stored and published, with its match
    alerts = env.store.list_alerts(env.case.id)
    assert [(a.sighting_id, a.id) for a in alerts] == [(recent.id, outcome.alerts[0])]
    assert len(env.publisher.published) == 1
    assert env.store.face_location(alerts[0].sighting_face_id).index == 1
    assert env.store.candidates_of(alerts[0].sighting_face_id)[0].case_id == env.case.id
    # AND enrolling another photo raises nothing more
    assert env.enrol(with_cosine(PERSON, 0.99))[1].alerts == [] and len(env.publisher.published) == 1


def test_closing_erases_embeddings_and_purge_deletes_what_is_due(env, api):
    # GIVEN an enrolled case, a confirmed old sighting, an old unconfirmed one and a recent one
    ref, _ = env.enrol()
    confirmed = env.sighting(with_cosine(PERSON, 0.95), age_days=120)
    (alert,) = env.store.list_alerts(env.case.id)
    env.store.set_review(alert.id, AlertStatus.CONFIRMED, env.a.id, "u", None, datetime.now(timezone.utc))
    expired = env.sighting(OTHER, age_days=100)
    recent = env.sighting(OTHER, age_days=5)
    # WHEN A closes the case through the API
    assert api.call("POST", f"/cases/{env.case.id}/close", env.a.id, {"reason": "found"})[0] == 200
    # THEN no reference embedding of the case is left, the gallery is empty, and the photos have a due date
    rows = env.store.db.query("SELECT f.embedding, f.usable FROM faces f JOIN photos p ON p.id = f.photo_id"
                              " WHERE p.case_id = %s", (env.case.id,))
    assert rows and all(r["embedding"] == b"" and r["usable"] == 0 for r in rows)
    assert len(env.store.gallery(MODEL.name, MODEL.dim)) == 0
    due = env.store.db.query("SELECT references_delete_after FROM cases WHERE id = %s", (env.case.id,))[0]
    assert due["references_delete_after"] > datetime.utcnow() + timedelta(days=29)
    # AND the purge (after the grace period) deletes the reference photo and the expired sighting only
    report = purge(env.store, env.wiring.objects, 90, now=datetime.now(timezone.utc) + timedelta(days=31))
    assert (report.references, report.sightings) == (1, 1)
    assert env.keys() == {confirmed.s3_key, recent.s3_key}
    erased = env.store.get_photo(expired.id)
    assert erased.erased_at is not None and erased.contact is None and erased.place is None
    assert env.store.get_photo(ref.id).erased_at is not None


def test_purge_cli_uses_the_environment(env, monkeypatch, capsys):
    # GIVEN a closed case with no grace period and an expired sighting
    env.enrol()
    env.sighting(OTHER, age_days=95)
    close_case(env.store, Viewer(env.a.id, "u"), env.case.id, grace_days=0)
    monkeypatch.setenv("FACETRACE_UPLOAD_BUCKET", BUCKET)
    monkeypatch.setenv("FACETRACE_AWS_REGION", events.REGION)
    # WHEN an operator runs `facetrace purge`
    assert cli(["purge", "--db-url", env.wiring.settings.db_url]) == 0
    # THEN both are erased and the bucket is empty
    assert capsys.readouterr().out.strip() == "erased 1 reference photo(s) and 1 sighting(s)"
    assert env.keys() == set()


def test_the_application_never_updates_or_deletes_the_audit_log():
    # GIVEN every SQL statement of the MySQL adapters
    adapters = Path(__file__).resolve().parents[2] / "layers" / "common" / "facetrace" / "adapters"
    source = " ".join(p.read_text() for p in adapters.rglob("*.py"))
    # WHEN statements that change audit_log are looked for  THEN there are none
    assert re.findall(r"(?i)(UPDATE|DELETE\s+FROM|TRUNCATE|REPLACE\s+INTO)\s+`?audit_log", source) == []
    assert "INSERT INTO audit_log" in source
