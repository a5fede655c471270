"""A model change loses nobody, through the whole local stack: a case enrolled with dlib is still found while the
worker moves to the ONNX pack, is re-embedded in the background, and after `facetrace reembed finish` is found by
the new model alone; each sighting alerts and e-mails once whichever model finds it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from PIL import Image

from devstack import cli
from devstack.system import LocalSystem
from devstack.users import AgencyUser, Citizen
from facetrace.case import Agency
from facetrace.keys import reference_key, snapshot_key
from facetrace.photo import FINAL, PhotoStatus
from facetrace.reembed import campaign_progress
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

DLIB = "dlib-resnet-v1"


@pytest.fixture(scope="module")
def onnx_pack(test_models, tmp_path_factory) -> str:
    """A pack directory for SCRFD-500M + MobileFaceNet from the shared models."""
    pack = tmp_path_factory.mktemp("pack")
    manifest = REPO / "gpu_worker" / "packs" / "manifests" / "scrfd500m-mbf" / "manifest.json"
    (pack / "manifest.json").write_text(manifest.read_text())
    for name in ("scrfd_500m_bnkps.onnx", "mobilefacenet_bgr.onnx"):
        (pack / name).symlink_to(test_models / name)
    return str(pack)


@pytest.fixture(scope="module")
def system(mysql_server):
    system = LocalSystem(pack="dlib", server=mysql_server, stack_name="facetrace-reembed").start()
    yield system
    system.stop()


_variants = itertools.count()


@pytest.fixture
def person_one(people, tmp_path):
    """A fresh photo of the missing person each call, re-encoded so its bytes are new (same bytes: a duplicate)."""
    def fresh() -> Path:
        n = next(_variants)
        out = tmp_path / f"person01-{n}.jpg"
        Image.open(people["person01"][2 + n % 6]).convert("RGB").save(out, "JPEG", quality=95 - n % 20)
        return out
    return fresh


@pytest.fixture
def facetrace(system, monkeypatch, capsys):
    """Run an operator command against the local stack: (exit code, stdout, stderr)."""
    for name, value in system.operator_env().items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def _settle(system: LocalSystem, *photo_ids: str) -> None:
    def final() -> bool:
        return all((p := system.store.get_photo(i)) is not None and p.status in FINAL for i in photo_ids)
    assert system.run_until(final, timeout_s=120), [system.store.get_photo(i) for i in photo_ids]
    system.drain()


def _alerts(system: LocalSystem, sighting_id: str):
    return [a for a in system.store.list_alerts() if a.sighting_id == sighting_id]


def _emails_about(system: LocalSystem, alert_id: str) -> int:
    return sum(alert_id in e.body for e in system.emails())


def _matched_by(system: LocalSystem, sighting_id: str, case_id: str) -> set[str]:
    """The models whose faces of this sighting matched the case."""
    rows = system.store.db.query("SELECT DISTINCT f.model_name FROM matches m JOIN faces f ON f.id = m.sighting_face_id"
                                 " WHERE f.photo_id = %s AND m.case_id = %s", (sighting_id, case_id))
    return {r["model_name"] for r in rows}


def _one_alert_one_email(system: LocalSystem, sighting_id: str, case_id: str):
    [alert] = _alerts(system, sighting_id)
    assert alert.case_id == case_id and _emails_about(system, alert.id) == 1
    return alert


def test_a_model_change_loses_nobody(system, onnx_pack, people, person_one, facetrace):
    # GIVEN a case enrolled through the dlib pack, and a sighting of her that alerted
    agency = Agency(name="Reembed Police", email="cases@reembed.test")
    system.store.add_agency(agency)
    officer = AgencyUser(system.gateway.url, agency.id)
    case = officer.open_case(person_name="Person One", last_seen_place="Test Town")["id"]
    refs = [officer.add_reference_photo(case, p) for p in people["person01"][:2]]
    # AND a second case whose only reference photo will be gone from the bucket when it is re-embedded
    other = officer.open_case(person_name="Person Two")["id"]
    lost_ref = officer.add_reference_photo(other, people["person02"][0])
    _settle(system, *refs, lost_ref)
    citizen = Citizen(system.gateway.url)
    past = citizen.report_sighting(person_one(), place="Before the switch")
    _settle(system, past)
    _one_alert_one_email(system, past, case)

    # WHEN the worker moves to the ONNX pack and keeps dlib as the previous pack
    model = system.switch_pack(onnx_pack, previous_pack="dlib")
    assert model == "scrfd500m-mbf"
    # AND a new sighting of her arrives before anything is re-embedded
    early = citizen.report_sighting(person_one(), place="During the switch")
    _settle(system, early)
    # THEN the dlib gallery still finds her: one alert, one e-mail
    assert _matched_by(system, early, case) == {DLIB}
    _one_alert_one_email(system, early, case)

    # WHEN the operator starts the campaign
    system.stack.client("s3").delete_object(Bucket=system.stack.physical["UploadBucket"],
                                            Key=reference_key(other, lost_ref))
    code, out, _ = facetrace("reembed", "start", "--model", model)
    # THEN the three reference photos and the past sighting are queued (the early sighting has both models already)
    assert code == 0 and "queued 3 reference photo(s) and 1 sighting(s)" in out
    # AND finish refuses while they are on their way, and keeps the old embeddings
    code, _, err = facetrace("reembed", "finish")
    assert code == 2 and "3 reference photo(s) still being re-embedded" in err

    # WHEN the stack has worked through the campaign
    def campaign_done() -> bool:
        progress = campaign_progress(system.store, 90)
        return progress.references.queued == 0 and progress.sightings.queued == 0
    assert system.run_until(campaign_done, timeout_s=120)
    system.drain()
    # THEN the status shows her case and the past sighting re-embedded, and the lost photo failed at fetch with the reason
    code, out, _ = facetrace("reembed", "status")
    assert code == 0, out
    assert "reference photos of open cases: 2 of 3 embedded by scrfd500m-mbf; 0 queued, 1 failed, 0 never queued" in out
    assert "sightings within retention: 2 of 2 embedded by scrfd500m-mbf; 0 queued, 0 failed, 0 never queued" in out
    assert f"failed: reference {lost_ref} of case {other} at fetch (1 attempt(s)): the photo was removed from storage" in out
    assert f"open cases without a usable reference face of scrfd500m-mbf: {other}" in out
    # AND the past sighting kept its single alert and e-mail
    assert system.store.get_photo(past).status is PhotoStatus.PROCESSED
    _one_alert_one_email(system, past, case)
    # AND finish still refuses: the second case would be lost
    code, _, err = facetrace("reembed", "finish")
    assert code == 2 and "1 open case(s) would have no usable reference face" in err and other in err

    # WHEN a new sighting of her arrives while both galleries hold her case
    both = citizen.report_sighting(person_one(), place="Both galleries")
    _settle(system, both)
    # THEN both models matched her, and there is one alert and one e-mail
    assert _matched_by(system, both, case) == {DLIB, model}
    _one_alert_one_email(system, both, case)

    # WHEN the operator finishes, accepting the second case's loss (its agency is asked for another photo)
    bucket = system.stack.physical["UploadBucket"]
    system.stack.client("s3").put_object(Bucket=bucket, Key=snapshot_key(DLIB), Body=b"old gallery")
    left_before = system.store.db.query("SELECT COUNT(*) AS n FROM faces WHERE model_name = %s", (DLIB,))[0]["n"]
    code, out, _ = facetrace("reembed", "finish", "--accept-losses")
    # THEN every dlib embedding and the dlib gallery snapshot are gone
    assert code == 0 and "finished" in out
    left = system.store.db.query("SELECT COUNT(*) AS n FROM faces WHERE model_name = %s AND embedding <> ''", (DLIB,))
    assert left[0]["n"] == 0
    assert "Contents" not in system.stack.client("s3").list_objects_v2(Bucket=bucket, Prefix=snapshot_key(DLIB))
    code, out, _ = facetrace("reembed", "status", "--json")
    status = json.loads(out)
    assert status["campaign"]["completed_at"] and status["campaign"]["erased_faces"] == left_before
    assert (status["references"]["covered"], status["sightings"]["covered"], status["complete"]) == (2, 3, True)

    # WHEN the worker drops the previous pack and a new sighting of her arrives
    system.switch_pack(onnx_pack)
    after = citizen.report_sighting(person_one(), place="After the switch")
    _settle(system, after)
    # THEN the new model alone finds her: one alert, one e-mail
    assert _matched_by(system, after, case) == {model}
    assert _one_alert_one_email(system, after, case).model_name == model
    # AND no sighting of the whole story alerted twice
    for sighting in (past, early, both, after):
        assert len(_alerts(system, sighting)) == 1
