"""The MySQL store on the real MariaDB: every repository round-trips and keeps its idempotency rules."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import numpy as np
import pytest

from facetrace.alert import Alert, AlertStatus
from facetrace.case import CaseStatus
from facetrace.gallery import Candidate
from facetrace.messages import ModelInfo, PhotoKind
from facetrace.photo import PhotoStatus
from tests import fakes
from tests.fakes import MODEL, face, unit

pytestmark = pytest.mark.integration


def _photo(store, kind=PhotoKind.SIGHTING, case_id=None, **extra):
    p = fakes.photo(kind, case_id, **extra)
    assert store.add_photo(p)
    return p


def test_agency_round_trips(store):
    # GIVEN an agency
    agency = fakes.agency(name="Polizei Zürich — Vermisstenstelle", email="vermisst@polizei.example")
    # WHEN it is stored and read back THEN it is equal, and an unknown id is None
    store.add_agency(agency)
    assert store.get_agency(agency.id) == agency
    assert store.get_agency(str(uuid.uuid4())) is None


def test_case_round_trips_and_closes(store):
    # GIVEN an open case with a last-seen time
    agency = fakes.agency()
    store.add_agency(agency)
    case = fakes.case(agency.id, person_name="Zoë Ångström").model_copy(
        update={"last_seen_at": datetime(2024, 5, 1, 8, 15, 30, 123456, tzinfo=timezone.utc), "notes": "scar on chin"})
    # WHEN it is stored and read back
    store.add_case(case)
    # THEN every field survives, times as aware UTC
    assert store.get_case(case.id) == case
    # WHEN it is closed THEN it reads back closed
    store.set_case_status(case.id, CaseStatus.CLOSED)
    assert store.get_case(case.id).status is CaseStatus.CLOSED


def test_photo_round_trips_and_is_added_only_once(store):
    # GIVEN a sighting with all its details
    p = fakes.photo(PhotoKind.SIGHTING, content_type="image/jpeg", size_bytes=12345, width=640, height=480,
                    taken_at=datetime(2024, 6, 1, 12, 30, tzinfo=timezone.utc), place="Genève, Quai du Mont-Blanc",
                    lat=46.2089, lon=6.1486, contact="witness@example.org")
    # WHEN it is added twice
    first, second = store.add_photo(p), store.add_photo(p.model_copy(update={"place": "elsewhere"}))
    # THEN the first add is new, the second is not and changes nothing
    assert (first, second) == (True, False)
    assert store.get_photo(p.id) == p


def test_photo_status_job_sent_and_reason(store):
    # GIVEN a received photo
    p = _photo(store)
    sent_at = datetime(2024, 6, 1, 12, 0, 0, 500000, tzinfo=timezone.utc)
    # WHEN its job is sent and it is then processed with two faces, and later failed with a long reason
    store.mark_job_sent(p.id, sent_at)
    store.set_photo_status(p.id, PhotoStatus.PROCESSED, face_count=2)
    got = store.get_photo(p.id)
    # THEN each change is kept
    assert (got.job_sent_at, got.status, got.face_count) == (sent_at, PhotoStatus.PROCESSED, 2)
    store.set_photo_status(p.id, PhotoStatus.FAILED, reason="x" * 5000)
    got = store.get_photo(p.id)
    assert got.status is PhotoStatus.FAILED and got.reason == "x" * 1000
    assert got.face_count == 2  # not forgotten when no count is given


def test_face_embeddings_round_trip_exactly(store):
    # GIVEN a photo with two faces of awkward float32 values
    p = _photo(store)
    rng = np.random.default_rng(7)
    vectors = [rng.standard_normal(MODEL.dim).astype(np.float32) for _ in range(2)]
    vectors[1][0] = np.float32(1e-38)
    faces = [face(i, v) for i, v in enumerate(vectors)]
    # WHEN they are stored
    stored = store.add_faces(p.id, MODEL, faces, [True, False])
    # THEN they get ids, keep their usability, and the embedding bytes come back bit for bit
    assert [s.usable for s in stored] == [True, False]
    assert len({s.id for s in stored}) == 2
    assert store.photo_of_face(stored[0].id) == p.id
    rows = store.db.query("SELECT face_index, embedding, dim FROM faces WHERE photo_id = %s ORDER BY face_index", (p.id,))
    assert [r["embedding"] for r in rows] == [v.astype("<f4").tobytes() for v in vectors]
    assert {r["dim"] for r in rows} == {MODEL.dim}


def test_adding_the_same_faces_again_returns_the_same_ids(store):
    # GIVEN faces already stored for a photo
    p = _photo(store)
    faces = [face(0, unit(1)), face(1, unit(0, 1))]
    first = store.add_faces(p.id, MODEL, faces, [True, True])
    # WHEN the same result is stored again (a redelivered message)
    again = store.add_faces(p.id, MODEL, faces, [True, True])
    # THEN no row is added and the ids are the same
    assert [s.id for s in again] == [s.id for s in first]
    assert store.db.query("SELECT COUNT(*) AS n FROM faces")[0]["n"] == 2


def test_embedding_of_the_wrong_dimension_is_refused(store):
    # GIVEN a face whose embedding has 4 values for an 8-dimensional model
    p = _photo(store)
    bad = face(0, unit(1, dim=4))
    # WHEN it is stored THEN it is refused
    with pytest.raises(ValueError, match="model says 8"):
        store.add_faces(p.id, MODEL, [bad], [True])


def test_gallery_has_only_usable_reference_faces_of_open_cases_of_the_model(store):
    # GIVEN an open case and a closed case, each with a usable and an unusable reference face,
    # a sighting face, and a reference face by another model
    open_case, closed_case = fakes.stored_case(store), fakes.stored_case(store, CaseStatus.CLOSED)
    kept = None
    for case in (open_case, closed_case):
        ref = _photo(store, PhotoKind.REFERENCE, case.id)
        stored = store.add_faces(ref.id, MODEL, [face(0, unit(1, 2)), face(1, unit(3, 4))], [True, False])
        if case is open_case:
            kept = stored[0]
    sighting = _photo(store)
    store.add_faces(sighting.id, MODEL, [face(0, unit(5, 6))], [True])
    other = ModelInfo(name="other-model", version="2", dim=MODEL.dim, match_threshold=0.3, alert_threshold=0.4)
    store.add_faces(_photo(store, PhotoKind.REFERENCE, open_case.id).id, other, [face(0, unit(7))], [True])
    # WHEN the gallery of the model is read
    gallery = store.gallery(MODEL.name, MODEL.dim)
    # THEN it is exactly the open case's usable reference face, with its embedding
    assert gallery.case_ids == (open_case.id,)
    assert list(gallery.face_ids) == [kept.id]
    np.testing.assert_array_equal(gallery.vectors[0], unit(1, 2))
    # AND another dimension of the same name gives an empty gallery
    assert len(store.gallery(MODEL.name, 16)) == 0


def test_matches_are_stored_once_per_pair(store):
    # GIVEN a sighting face and a reference face
    case = fakes.stored_case(store)
    ref = store.add_faces(_photo(store, PhotoKind.REFERENCE, case.id).id, MODEL, [face(0, unit(1))], [True])[0]
    probe = store.add_faces(_photo(store).id, MODEL, [face(0, unit(1))], [True])[0]
    # WHEN the same candidate is recorded twice with different scores
    store.add_matches([(probe.id, Candidate(case.id, ref.id, 0.61))])
    store.add_matches([(probe.id, Candidate(case.id, ref.id, 0.62))])
    # THEN one match row holds the latest score
    rows = store.db.query("SELECT case_id, score FROM matches")
    assert len(rows) == 1 and rows[0]["case_id"] == case.id
    assert rows[0]["score"] == pytest.approx(0.62, abs=1e-6)


def _alert(case_id, sighting_id, face_id, ref_id, score=0.9) -> Alert:
    return Alert(id=str(uuid.uuid4()), case_id=case_id, sighting_id=sighting_id, sighting_face_id=face_id,
                 reference_face_id=ref_id, score=score, model_name=MODEL.name,
                 created_at=datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc))


def test_alerts_are_unique_per_sighting_and_case(store):
    # GIVEN a sighting face resembling a case's reference face
    case = fakes.stored_case(store)
    ref = store.add_faces(_photo(store, PhotoKind.REFERENCE, case.id).id, MODEL, [face(0, unit(1))], [True])[0]
    sighting = _photo(store)
    probe = store.add_faces(sighting.id, MODEL, [face(0, unit(1))], [True])[0]
    # WHEN an alert is added, published, and a second alert for the same pair is added
    first = store.add_alert(_alert(case.id, sighting.id, probe.id, ref.id))
    assert first.published_at is None and first.status is AlertStatus.NEW
    store.mark_published(first.id, datetime(2024, 6, 1, 12, 0, 1, tzinfo=timezone.utc))
    second = store.add_alert(_alert(case.id, sighting.id, probe.id, ref.id, score=0.95))
    # THEN the second returns the first, published, and only one row exists
    assert second.id == first.id and second.score == pytest.approx(0.9)
    assert second.published_at == datetime(2024, 6, 1, 12, 0, 1, tzinfo=timezone.utc)
    assert store.db.query("SELECT COUNT(*) AS n FROM alerts")[0]["n"] == 1


def _delivery_rows(store, alert_id):
    return store.db.query("SELECT channel, recipient, status, provider_id, error FROM deliveries WHERE alert_id = %s"
                          " ORDER BY channel", (alert_id,))


@pytest.fixture
def alert_id(store):
    case = fakes.stored_case(store)
    ref = store.add_faces(_photo(store, PhotoKind.REFERENCE, case.id).id, MODEL, [face(0, unit(1))], [True])[0]
    sighting = _photo(store)
    probe = store.add_faces(sighting.id, MODEL, [face(0, unit(1))], [True])[0]
    return store.add_alert(_alert(case.id, sighting.id, probe.id, ref.id)).id


def test_deliveries_are_one_row_per_channel_and_recipient(store, alert_id):
    # GIVEN / WHEN the same successful delivery is recorded twice, and an SMS once
    store.record_delivery(alert_id, "email", "mpu@police.example", True, "mail-1", None)
    store.record_delivery(alert_id, "email", "mpu@police.example", True, "mail-1", None)
    store.record_delivery(alert_id, "sms", "sms-topic", True, "msg-1", None)
    # THEN there is one row per channel
    assert _delivery_rows(store, alert_id) == [
        {"channel": "email", "recipient": "mpu@police.example", "status": "sent", "provider_id": "mail-1", "error": None},
        {"channel": "sms", "recipient": "sms-topic", "status": "sent", "provider_id": "msg-1", "error": None},
    ]


def test_failed_delivery_is_replaced_by_a_later_success_but_never_the_reverse(store, alert_id):
    # GIVEN a failed e-mail, then its successful retry
    store.record_delivery(alert_id, "email", "mpu@police.example", False, None, "SES throttled")
    store.record_delivery(alert_id, "email", "mpu@police.example", True, "mail-2", None)
    # WHEN a late failure report for the same delivery arrives
    store.record_delivery(alert_id, "email", "mpu@police.example", False, None, "late report")
    # THEN the single row still says sent
    [row] = _delivery_rows(store, alert_id)
    assert (row["status"], row["provider_id"], row["error"]) == ("sent", "mail-2", None)
