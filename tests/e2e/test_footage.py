"""Footage end to end (issue #14): clips encoded here from real LFW faces moving across a background, uploaded
over HTTP, decoded by the real library, searched by the default pack (buffalo_s) on the whole local stack."""

from __future__ import annotations

import os

import pytest
import requests

from devstack.footage import Camera, FootageUser
from devstack.system import LocalSystem
from devstack.users import AgencyUser
from facetrace.case import Agency
from facetrace.photo import PhotoStatus
from tests.clips import Walker, encode_clip, lfw, truncated

pytestmark = pytest.mark.e2e
PART_S = "8"  # a 20 s clip is three parts: appearances must be joined across them
POST_MAX = "150000"  # clips larger than this go up in parts (presigned multipart upload)
STARTED = "2025-03-01T08:00:00Z"


@pytest.fixture(scope="module")
def system(mysql_server, test_models):
    # Read by every function's and the worker's Settings.
    os.environ.update(FACETRACE_FOOTAGE_PART_S=PART_S, FACETRACE_FOOTAGE_POST_MAX_BYTES=POST_MAX)
    try:
        system = LocalSystem(pack="buffalo_s", model_dir=str(test_models), server=mysql_server,
                             stack_name="facetrace-footage").start()
        yield system
        system.stop()
    finally:
        for name in ("FACETRACE_FOOTAGE_PART_S", "FACETRACE_FOOTAGE_POST_MAX_BYTES"):
            del os.environ[name]


@pytest.fixture(scope="module")
def agency(system):
    agency = Agency(name="Transit Police", email="footage@police.test")
    system.store.add_agency(agency)
    return agency


@pytest.fixture(scope="module")
def enrolled(system, agency, test_data):
    """Two cases: Colin Powell (who walks through the clips) and George W. Bush (who never does)."""
    officer = AgencyUser(system.gateway.url, agency.id)
    cases = {}
    for person in ("Colin_Powell", "George_W_Bush"):
        case = officer.open_case(person_name=person.replace("_", " "), last_seen_place="Geneva")
        photo = officer.add_reference_photo(case["id"], lfw(test_data, person, 1))
        cases[person] = case["id"]
        assert system.run_until(lambda: getattr(system.store.get_photo(photo), "status", None) not in (
            None, PhotoStatus.RECEIVED), 120)
        assert system.store.get_photo(photo).face_count == 1
    return cases


def _finished(system, clip_id: str, timeout_s: float = 240) -> None:
    def done() -> bool:
        photo = system.store.get_photo(clip_id)
        return photo is not None and photo.status.value != "received"
    assert system.run_until(done, timeout_s), "the clip was not processed in time"
    system.drain()


def test_the_enrolled_person_is_found_once_per_appearance_with_the_time_range(system, agency, enrolled, test_data,
                                                                              tmp_path):
    # GIVEN a 20 s clip: Powell (another photo than the reference) walks through at 1-5 s, a stranger at 6-9.5 s,
    # and Powell again at 14-19 s, across the boundary of parts 2 and 3
    walkers = [Walker(lfw(test_data, "Colin_Powell", 2), 1.0, 5.0),
               Walker(lfw(test_data, "Gerhard_Schroeder", 2), 6.0, 9.5, y=0.1),
               Walker(lfw(test_data, "Colin_Powell", 2), 14.0, 19.0, y=0.25)]
    clip = encode_clip(tmp_path / "platform.mp4", walkers, 20.0, fps=8)
    user = FootageUser(system.gateway.url, agency.id)
    emails = len(system.emails())
    # WHEN the agency uploads it (in parts: it is larger than the POST limit)
    assert clip.stat().st_size > int(POST_MAX)
    clip_id = user.upload_clip(clip, STARTED, place="Gare Cornavin, platform 4")
    _finished(system, clip_id)
    # THEN the clip is processed in three parts, every frame decoded, three appearances found
    view = user.clip(clip_id)
    assert (view["status"], view["parts_total"], view["parts_done"], view["progress"]) == ("processed", 3, 3, 1.0)
    assert view["frames_done"] == view["frames_total"] == 160 and view["faces_found"] >= 20
    ranges = [(a["start_s"], a["end_s"]) for a in view["appearances"]]
    assert len(ranges) == 3, ranges
    # AND Powell's two appearances alert his case once each, with the right time ranges; the stranger none
    alerts = system.store.list_alerts(enrolled["Colin_Powell"])
    assert len(alerts) == 2 and system.store.list_alerts(enrolled["George_W_Bush"]) == []
    found = sorted((system.store.appearance_of_sighting(a.sighting_id) for a in alerts), key=lambda a: a.start_s)
    assert found[0].start_s == pytest.approx(1.0, abs=1.0) and found[0].end_s == pytest.approx(4.5, abs=1.0)
    assert found[1].start_s == pytest.approx(14.0, abs=1.0) and found[1].end_s == pytest.approx(18.5, abs=1.0)
    assert {p for p, _ in found[1].tracks} == {1, 2}  # joined across the part boundary at 16 s
    stranger = [a for a in view["appearances"] if a["start_s"] > 5.5 and a["end_s"] < 10.5]
    assert len(stranger) == 1 and stranger[0]["alert_ids"] == []
    # AND each alert was e-mailed once, dated by the appearance
    assert len(system.emails()) - emails == 2
    sighting = system.store.get_photo(found[0].sighting_id)
    assert sighting.place == "Gare Cornavin, platform 4" and sighting.taken_at.isoformat().startswith("2025-03-01T08:00:0")
    # AND the alert page plays the clip from a few seconds before, with the face's path; the viewing is audited
    first = next(a for a in alerts if a.sighting_id == found[1].sighting_id)
    played = user.alert_footage(first.id)
    assert played["play_from_s"] == pytest.approx(max(0.0, found[1].start_s - 5), abs=0.01)
    assert played["path"] and all(found[1].start_s <= p[0] <= found[1].end_s for p in played["path"])
    assert requests.get(played["clip_url"], timeout=30).content == clip.read_bytes()
    audit = AgencyUser(system.gateway.url, agency.id).case_audit(enrolled["Colin_Powell"])
    assert any(e["action"] == "footage.viewed" and e["alert_id"] == first.id for e in audit)


def test_a_truncated_clip_fails_alone_with_its_reason(system, agency, enrolled, test_data, tmp_path):
    # GIVEN a clip cut short, and a good clip uploaded right after it
    good = encode_clip(tmp_path / "good.mkv", [Walker(lfw(test_data, "Colin_Powell", 3), 0.5, 3.5)], 4.0, fps=8)
    cut = truncated(encode_clip(tmp_path / "src.mkv", [Walker(lfw(test_data, "Colin_Powell", 2), 0.5, 3.5)], 6.0),
                    tmp_path / "cut.mkv")
    user = FootageUser(system.gateway.url, agency.id)
    bad_id = user.upload_clip(cut, STARTED)
    good_id = user.upload_clip(good, STARTED)
    _finished(system, bad_id)
    _finished(system, good_id)
    # THEN the cut one is rejected, saying why, and the other one goes through and alerts
    bad = user.clip(bad_id)
    assert bad["status"] == "rejected" and "ends early" in bad["reason"] and bad["parts_total"] == 0
    assert user.clip(good_id)["status"] == "processed"
    assert any(system.store.appearance_of_sighting(a.sighting_id).clip_id == good_id
               for a in system.store.list_alerts(enrolled["Colin_Powell"]))


def test_a_camera_uploads_with_its_own_key_at_its_place(system, agency, enrolled, test_data, tmp_path):
    # GIVEN a camera registered by the agency
    user = FootageUser(system.gateway.url, agency.id)
    registered = user.register_camera("Gate 3", "Main station, gate 3")
    camera = Camera(system.gateway.url, registered["camera"]["id"], registered["key"])
    clip = encode_clip(tmp_path / "gate.avi", [Walker(lfw(test_data, "Colin_Powell", 4), 0.5, 3.0)], 3.5, fps=6)
    # WHEN it uploads a clip with its key (and someone tries with a wrong key)
    clip_id = camera.upload_clip(clip, STARTED)
    wrong = requests.post(f"{system.gateway.url}/cameras/{camera.camera_id}/footage", headers={"X-Camera-Key": "x"},
                          json={"size_bytes": 1000, "started_at": STARTED}, timeout=30)
    _finished(system, clip_id)
    # THEN the wrong key gets nothing, and the camera's clip is searched at the camera's place
    assert wrong.status_code == 401
    view = user.clip(clip_id)
    assert view["status"] == "processed" and view["camera_id"] == camera.camera_id
    alerts = [a for a in system.store.list_alerts(enrolled["Colin_Powell"])
              if system.store.appearance_of_sighting(a.sighting_id).clip_id == clip_id]
    assert len(alerts) == 1 and system.store.get_photo(alerts[0].sighting_id).place == "Main station, gate 3"
