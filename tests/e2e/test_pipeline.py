"""End to end: the whole local stack (moto, MariaDB, functions, worker, API) driven over HTTP as its users would."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from facetrace.case import Agency
from devstack.system import LocalSystem
from devstack.users import AgencyUser, Citizen, post_file
from tests.conftest import REPO

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def system(mysql_server):
    system = LocalSystem(pack="dlib", server=mysql_server).start()
    yield system
    system.stop()


@pytest.fixture(scope="module")
def onnx_system(mysql_server, test_models, tmp_path_factory):
    """The same stack with the ONNX pack (SCRFD-500M + MobileFaceNet) from the shared models."""
    pack = tmp_path_factory.mktemp("pack")
    manifest = REPO / "gpu_worker" / "packs" / "manifests" / "scrfd500m-mbf" / "manifest.json"
    (pack / "manifest.json").write_text(manifest.read_text())
    for name in ("scrfd_500m_bnkps.onnx", "mobilefacenet_bgr.onnx"):
        (pack / name).symlink_to(test_models / name)
    system = LocalSystem(pack=str(pack), server=mysql_server, stack_name="facetrace-onnx").start()
    yield system
    system.stop()


@pytest.fixture(scope="module")
def default_system(mysql_server, test_models):
    """The stack with the default pack, buffalo_s, its files found by hash among the shared models."""
    system = LocalSystem(pack="buffalo_s", model_dir=str(test_models), server=mysql_server,
                         stack_name="facetrace-default").start()
    yield system
    system.stop()


@pytest.fixture
def officer(system) -> AgencyUser:
    agency = Agency(name="Test Police", email="cases@police.test")
    system.store.add_agency(agency)
    return AgencyUser(system.gateway.url, agency.id)


def _processed(system: LocalSystem, *photo_ids: str):
    def done() -> bool:
        photos = [system.store.get_photo(p) for p in photo_ids]
        return all(p is not None and p.status.value != "received" for p in photos)
    assert system.run_until(done, timeout_s=120), "photos were not processed in time"
    system.drain()
    return [system.store.get_photo(p) for p in photo_ids]


def _enrol(system, officer: AgencyUser, name: str, photos: list[Path]) -> str:
    case = officer.open_case(person_name=name, last_seen_place="Test Town")
    ids = [officer.add_reference_photo(case["id"], p) for p in photos]
    assert all(p.status.value == "processed" and p.face_count for p in _processed(system, *ids))
    return case["id"]


def test_two_people_enrolled_two_alerts_and_none_for_a_stranger(system, officer, people):
    # GIVEN two open cases, each enrolled with two reference photos of a different person
    case_a = _enrol(system, officer, "Person A", people["person01"][:2])
    case_b = _enrol(system, officer, "Person B", people["person02"][:2])
    emails_before = len(system.emails())
    citizen = Citizen(system.gateway.url)

    # WHEN citizens upload an unseen photo of each person and a photo of someone never enrolled
    sighting_a = citizen.report_sighting(people["person01"][4], place="Market Square")
    sighting_b = citizen.report_sighting(people["person02"][4], place="Bus Station")
    stranger = citizen.report_sighting(people["person03"][0], place="Harbour")
    _processed(system, sighting_a, sighting_b, stranger)

    # THEN exactly two alerts exist, each for the right case, and the stranger raised none
    alerts = system.store.list_alerts(case_a) + system.store.list_alerts(case_b)
    assert sorted((a.case_id, a.sighting_id) for a in alerts) == sorted([(case_a, sighting_a), (case_b, sighting_b)])
    assert not [a for a in system.store.list_alerts() if a.sighting_id == stranger]
    # AND the agency received one e-mail per alert, and each delivery is recorded
    new_emails = system.emails()[emails_before:]
    assert len(new_emails) == 2
    for alert in alerts:
        assert {(d["channel"], d["status"]) for d in system.store.deliveries_of(alert.id)} == {
            ("email", "sent"), ("sms", "sent")}
    assert {"Person A", "Person B"} == {e.subject.split("sighting of ")[1].split(" (")[0] for e in new_emails}


def test_citizen_receipt_tells_why_an_upload_was_rejected(system):
    # GIVEN a citizen with an upload ticket for a JPEG
    citizen = Citizen(system.gateway.url)
    ticket = requests.post(f"{system.gateway.url}/sightings/upload", json={}, timeout=30).json()

    # WHEN the "photo" uploaded is not an image at all
    post_file(ticket, b"this is not a photo, just some text " * 20, "note.jpg", "image/jpeg")
    system.run_until(lambda: citizen.receipt(ticket["receipt_id"])["status"] != "pending", timeout_s=60)

    # THEN the receipt says rejected, and why
    receipt = citizen.receipt(ticket["receipt_id"])
    assert receipt["status"] == "rejected"
    assert "not an image" in receipt["reason"]


def test_group_photo_and_photo_without_faces(onnx_system, test_data):
    # GIVEN a selfie of six or seven people and a photo of a cup of coffee
    citizen = Citizen(onnx_system.gateway.url)
    group = citizen.report_sighting(test_data / "fixtures" / "groups" / "selfie-many-people.jpg")
    coffee = citizen.report_sighting(test_data / "fixtures" / "noface" / "coffee.png")

    # WHEN they have gone through the pipeline (ONNX pack: dlib's HOG detector misses turned heads)
    group_photo, coffee_photo = _processed(onnx_system, group, coffee)

    # THEN every face of the group was recorded and the coffee has none; neither is an error
    assert group_photo.status.value == "processed" and 6 <= group_photo.face_count <= 7
    assert coffee_photo.status.value == "processed" and coffee_photo.face_count == 0


def test_onnx_pack_alerts_for_the_right_case(onnx_system, people):
    # GIVEN a case enrolled through the ONNX pack (a 128-d gallery of its own model)
    agency = Agency(name="Other Police", email="cases@other.test")
    onnx_system.store.add_agency(agency)
    officer = AgencyUser(onnx_system.gateway.url, agency.id)
    case = _enrol(onnx_system, officer, "Person C", people["person03"][:2])
    # WHEN a citizen uploads another photo of that person
    sighting = Citizen(onnx_system.gateway.url).report_sighting(people["person03"][3])
    _processed(onnx_system, sighting)
    # THEN one alert names that case
    assert [(a.case_id, a.sighting_id) for a in onnx_system.store.list_alerts()] == [(case, sighting)]


def test_agency_routes_refuse_callers_without_credentials(system):
    # GIVEN no agency token WHEN opening a case THEN the gateway answers 401, as the Cognito authorizer would
    response = requests.post(f"{system.gateway.url}/cases", json={"person_name": "X"}, timeout=30)
    assert response.status_code == 401


def test_agency_reviews_an_alert_and_the_audit_shows_it(system, officer, people):
    # GIVEN a case enrolled with reference photos of one person
    case = _enrol(system, officer, "Person D", people["person04"][:2])
    # WHEN a citizen uploads a sighting of that person
    sighting = Citizen(system.gateway.url).report_sighting(people["person04"][4], place="Riverside")
    _processed(system, sighting)
    # AND the agency lists its new alerts, opens the one for the sighting and confirms it
    (listed,) = officer.list_alerts(status="new", case_id=case)
    detail = officer.open_alert(listed["id"])
    decided = officer.review_alert(listed["id"], "confirmed", "same scar on the chin")
    # THEN the alert was about this sighting, with a working link to the sighting photo
    assert listed["sighting_id"] == sighting and detail["place"] == "Riverside" and detail["face_box"]
    assert requests.get(detail["sighting_photo_url"], timeout=30).status_code == 200
    assert decided["status"] == "confirmed"
    # AND the case audit shows every step: the case opened, its two photos added, the viewing of both photos
    # and the decision with its note
    trail = officer.case_audit(case)
    assert [(e["action"], e["alert_id"]) for e in trail] == [
        ("case.created", None), ("case.photo_added", None), ("case.photo_added", None),
        ("alert.viewed", listed["id"]), ("alert.confirmed", listed["id"])]
    assert len(trail[-2]["object_ids"]) == 2 and trail[-1]["reason"] == "same scar on the chin"
    # AND the citizen's receipt still says only "processed", and how many faces (never whose)
    assert Citizen(system.gateway.url).receipt(sighting) == {"receipt_id": sighting, "status": "processed",
                                                             "reason": None, "faces": 1}


def test_agency_searches_by_photo_and_only_it_reads_the_result(system, officer, people):
    # GIVEN a case enrolled with reference photos of one person
    case = _enrol(system, officer, "Person E", people["person05"][:2])
    alerts_before = len(system.store.list_alerts())
    # WHEN the agency searches with an unseen photo of that person
    search_id = officer.search_by_photo(people["person05"][4])
    assert officer.search(search_id)["status"] in ("pending", "received", "done")
    assert system.run_until(lambda: officer.search(search_id)["status"] != "pending"
                            and system.store.get_search(search_id).completed_at is not None, timeout_s=120)
    system.drain()
    # THEN that case is the top candidate, with its score
    result = officer.search(search_id)
    assert result["status"] == "done"
    assert result["candidates"][0]["case_id"] == case and result["candidates"][0]["person_name"] == "Person E"
    assert result["candidates"][0]["score"] > 0
    # AND the search raised no alert, stored no face, and its photo is gone from the bucket
    assert len(system.store.list_alerts()) == alerts_before
    assert system.store.db.query("SELECT COUNT(*) AS n FROM faces WHERE photo_id = %s", (search_id,))[0]["n"] == 0
    assert system.store.get_photo(search_id).kind.value == "search"
    # AND another agency cannot read the search (404, as if it did not exist)
    other = Agency(name="Other Police", email="cases@other-police.test")
    system.store.add_agency(other)
    response = requests.get(f"{system.gateway.url}/searches/{search_id}",
                            headers=AgencyUser(system.gateway.url, other.id)._auth, timeout=30)
    assert response.status_code == 404
    # AND the audit shows the search was created and read, by the searching agency only
    entries = system.store.audit_of_object(search_id)
    assert [e.action.value for e in entries][:2] == ["search.created", "search.viewed"]
    assert {e.agency_id for e in entries} == {officer.agency_id}


def test_the_default_pack_alerts_for_the_right_case_and_not_for_a_stranger(default_system, people):
    # GIVEN the default pack (buffalo_s, 512-d) and a case enrolled with two photos of one person
    assert (default_system.worker.engine.model.name, default_system.worker.engine.model.dim) == ("buffalo_s", 512)
    agency = Agency(name="Default Police", email="cases@default.test")
    default_system.store.add_agency(agency)
    officer = AgencyUser(default_system.gateway.url, agency.id)
    case = _enrol(default_system, officer, "Person F", people["person06"][:2])
    # WHEN citizens upload another photo of that person and a photo of someone else
    citizen = Citizen(default_system.gateway.url)
    seen, stranger = citizen.report_sighting(people["person06"][3]), citizen.report_sighting(people["person07"][0])
    _processed(default_system, seen, stranger)
    # THEN exactly one alert, for that case and that sighting
    assert [(a.case_id, a.sighting_id) for a in default_system.store.list_alerts()] == [(case, seen)]


def test_a_case_opened_after_its_person_was_seen_alerts_through_the_sighting_archive(system, officer, people):
    # GIVEN a citizen's sighting of someone not yet missing, and a stranger's, both copied into the sighting
    # archive by the hourly step (run now, the faces taken as settled)
    citizen = Citizen(system.gateway.url)
    seen = citizen.report_sighting(people["person05"][4], place="Ferry Terminal")
    stranger = citizen.report_sighting(people["person06"][0], place="Ferry Terminal")
    _processed(system, seen, stranger)
    report = system.runtime.invoke("AdminFunction", {"command": "archive", "settle_s": 0})
    segments = system.stack.client("s3").list_objects_v2(Bucket=system.runtime.settings("MatchFunction").upload_bucket,
                                                        Prefix="archive/").get("KeyCount", 0)
    assert report["segments"] >= 1 and segments == report["segments"]
    [row] = system.store.db.query("SELECT id, model_name FROM faces WHERE photo_id = %s", (seen,))
    # (the face is archived: retro-search can only reach it through the archive's Map state and its function)
    assert system.store.archive_watermark(row["model_name"]) >= row["id"]
    # WHEN the person's case is opened and enrolled afterwards
    case_id = _enrol(system, officer, "Seen Before", people["person05"][:2])
    # THEN the earlier sighting alerts for the case, once, and the stranger's does not
    assert system.run_until(lambda: bool(system.store.list_alerts(case_id)), timeout_s=60)
    assert [a.sighting_id for a in system.store.list_alerts(case_id)] == [seen]
    assert not [a for a in system.store.list_alerts() if a.sighting_id == stranger]

