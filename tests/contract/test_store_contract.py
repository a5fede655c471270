"""One contract, two stores: every test runs against the in-memory store the unit tests use and against
MySQLStore on the real MariaDB, so the fake cannot drift from what production does."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from facetrace.adapters.mysql import MySQLStore
from facetrace.alert import Alert, AlertStatus
from facetrace.audit import AuditAction, AuditEntry
from facetrace.case import CaseStatus
from facetrace.gallery import Candidate
from facetrace.keys import reference_key, sighting_key
from facetrace.messages import PhotoKind
from facetrace.photo import DuplicateContent, Photo, PhotoStatus
from facetrace.photo_search import Search, SearchCandidate
from facetrace.reembed import Campaign, Coverage, ItemStatus
from facetrace.sighting_archive import Segment, segment_key
from facetrace.subscription import Subscription
from tests import fakes
from tests.fakes import MODEL, face, unit

pytestmark = pytest.mark.integration
NOW = datetime.now(timezone.utc)


@pytest.fixture(params=["memory", "mysql"])
def any_store(request):
    """The in-memory store, then MySQLStore on a fresh database."""
    if request.param == "memory":
        yield fakes.MemoryStore()
        return
    store = MySQLStore.from_url(request.getfixturevalue("db_url"))
    yield store
    store.db.close()


@pytest.fixture
def case(any_store):
    return fakes.stored_case(any_store)


def _photo(store, kind=PhotoKind.SIGHTING, case_id=None, **extra) -> Photo:
    photo = fakes.photo(kind, case_id, **extra)
    assert store.add_photo(photo) is True
    return photo


def _reference(store, case_id, vector) -> int:
    ref = _photo(store, PhotoKind.REFERENCE, case_id)
    [stored] = store.add_faces(ref.id, MODEL, [face(0, vector)], [True])
    return stored.id


# --------------------------------------------------------------------------- photos
def test_a_photo_is_added_once_and_reads_back_whole(any_store, case):
    photo = fakes.photo(PhotoKind.REFERENCE, case.id, sha256="ab" * 32, dedup_key=f"reference:{case.id}:x",
                        place="Quai 4", lat=46.2, lon=6.1, width=640, height=480, size_bytes=1234,
                        content_type="image/jpeg")
    assert any_store.add_photo(photo) is True
    assert any_store.add_photo(photo) is False  # the same id again: a retried event
    assert any_store.get_photo(photo.id) == photo


def test_the_same_bytes_are_claimed_once_and_released_when_a_photo_fails(any_store):
    first = _photo(any_store, dedup_key="sighting:cafe")
    with pytest.raises(DuplicateContent) as raised:
        any_store.add_photo(fakes.photo(PhotoKind.SIGHTING, dedup_key="sighting:cafe"))
    assert raised.value.original_id == first.id
    assert any_store.photo_by_content("sighting:cafe").id == first.id
    any_store.release_content(first.id)
    assert any_store.photo_by_content("sighting:cafe") is None
    assert any_store.add_photo(fakes.photo(PhotoKind.SIGHTING, dedup_key="sighting:cafe")) is True


def test_failing_a_photo_never_overrides_a_final_state(any_store):
    waiting = _photo(any_store)
    done = _photo(any_store, status=PhotoStatus.PROCESSED)
    assert any_store.fail_photo(waiting.id, "faces", "engine crashed") is True
    assert any_store.fail_photo(waiting.id, "match", "again") is False  # failed is final too
    assert any_store.fail_photo(done.id, "faces", "late") is False
    assert any_store.fail_photo(str(uuid.uuid4()), "faces", "unknown") is False
    failed = any_store.get_photo(waiting.id)
    assert (failed.status, failed.failed_stage, failed.reason) == (PhotoStatus.FAILED, "faces", "engine crashed")
    assert any_store.get_photo(done.id).status is PhotoStatus.PROCESSED


def test_status_job_and_face_count_updates(any_store):
    photo = _photo(any_store)
    any_store.mark_job_sent(photo.id, NOW)
    any_store.set_photo_status(photo.id, PhotoStatus.PROCESSED, face_count=2)
    any_store.set_photo_status(photo.id, PhotoStatus.PROCESSED, reason="late reason")  # count kept
    stored = any_store.get_photo(photo.id)
    assert (stored.status, stored.face_count, stored.reason) == (PhotoStatus.PROCESSED, 2, "late reason")
    assert abs((stored.job_sent_at - NOW).total_seconds()) < 0.01


def test_stuck_photos_are_the_received_ones_that_arrived_before_the_cut(any_store):
    received, done = _photo(any_store), _photo(any_store, status=PhotoStatus.PROCESSED)
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert [p.id for p in any_store.stuck_photos(later, 10)] == [received.id]
    assert done.id not in [p.id for p in any_store.stuck_photos(later, 10)]
    assert any_store.stuck_photos(datetime.now(timezone.utc) - timedelta(hours=1), 10) == []


# --------------------------------------------------------------------------- cases, shares, subscriptions, audit
def test_cases_and_agencies_read_back_and_close(any_store, case):
    assert any_store.get_case(case.id) == case
    assert any_store.get_agency(case.agency_id).id == case.agency_id
    assert any_store.get_case(str(uuid.uuid4())) is None and any_store.get_agency(str(uuid.uuid4())) is None
    any_store.set_case_status(case.id, CaseStatus.CLOSED)
    assert any_store.get_case(case.id).status is CaseStatus.CLOSED


def test_a_share_is_new_once(any_store, case):
    other = fakes.agency("Other", "other@police.example")
    any_store.add_agency(other)
    assert any_store.is_shared_with(case.id, other.id) is False
    assert any_store.add_share(case.id, other.id, "officer") is True
    assert any_store.add_share(case.id, other.id, "officer") is False
    assert any_store.is_shared_with(case.id, other.id) is True


def test_subscriptions_belong_to_their_agency(any_store, case):
    sub = Subscription(id=str(uuid.uuid4()), agency_id=case.agency_id, channel="email", address="duty@police.example",
                       case_id=case.id, region="harbour", created_at=NOW)
    any_store.add_subscription(sub, "officer")
    assert [s.id for s in any_store.subscriptions_of(case.agency_id)] == [sub.id]
    assert any_store.delete_subscription(sub.id, str(uuid.uuid4())) is False  # not another agency's
    assert any_store.delete_subscription(sub.id, case.agency_id) is True
    assert any_store.subscriptions_of(case.agency_id) == []


def test_the_audit_trail_is_appended_in_order(any_store, case):
    entries = [AuditEntry(agency_id=case.agency_id, user_sub="u", action=action,
                          case_id=case.id, object_ids=["x"], at=NOW + timedelta(seconds=i))
               for i, action in enumerate((AuditAction.ALERT_VIEWED, AuditAction.ALERT_CONFIRMED))]
    for entry in entries:
        any_store.append_audit(entry)
    assert [e.action for e in any_store.audit_of_case(case.id)] == [e.action for e in entries]


# --------------------------------------------------------------------------- faces and the gallery
def test_faces_are_stored_once_per_photo_model_and_index(any_store, case):
    ref = _photo(any_store, PhotoKind.REFERENCE, case.id)
    first = any_store.add_faces(ref.id, MODEL, [face(0, unit(1)), face(1, unit(0, 1))], [True, False])
    again = any_store.add_faces(ref.id, MODEL, [face(0, unit(1)), face(1, unit(0, 1))], [True, False])
    assert [s.id for s in first] == [s.id for s in again]
    assert [s.usable for s in first] == [True, False]
    assert any_store.photo_of_face(first[0].id) == ref.id
    assert any_store.face_location(first[1].id).index == 1


def test_the_gallery_holds_usable_reference_faces_of_open_cases_only(any_store, case):
    kept = _reference(any_store, case.id, unit(1))
    closed = fakes.stored_case(any_store)
    _reference(any_store, closed.id, unit(0, 1))
    any_store.set_case_status(closed.id, CaseStatus.CLOSED)
    sighting = _photo(any_store)
    any_store.add_faces(sighting.id, MODEL, [face(0, unit(1))], [True])
    gallery = any_store.gallery(MODEL.name, MODEL.dim)
    assert [int(f) for f in gallery.face_ids] == [kept] and list(gallery.case_ids) == [case.id]
    assert any_store.gallery("another-model", MODEL.dim).face_ids.size == 0


def test_matches_are_kept_once_and_read_best_first(any_store, case):
    ref_a = _reference(any_store, case.id, unit(1))
    other = fakes.stored_case(any_store)
    ref_b = _reference(any_store, other.id, unit(0, 1))
    sighting = _photo(any_store)
    [probe] = any_store.add_faces(sighting.id, MODEL, [face(0, unit(1, 1))], [True])
    pairs = [(probe.id, Candidate(case.id, ref_a, 0.6)), (probe.id, Candidate(other.id, ref_b, 0.9))]
    any_store.add_matches(pairs)
    any_store.add_matches(pairs)
    found = any_store.candidates_of(probe.id)
    assert [(c.case_id, c.reference_face_id) for c in found] == [(other.id, ref_b), (case.id, ref_a)]
    assert [round(c.score, 4) for c in found] == [0.9, 0.6]


def test_recent_usable_sighting_faces_are_found_and_erased_ones_are_not(any_store):
    kept, erased = _photo(any_store), _photo(any_store)
    any_store.add_faces(kept.id, MODEL, [face(0, unit(1))], [True])
    any_store.add_faces(erased.id, MODEL, [face(0, unit(0, 1))], [True])
    any_store.erase_photo(erased.id, NOW)
    found = any_store.sighting_faces_since(MODEL.name, MODEL.dim, NOW - timedelta(hours=1))
    assert found.photo_ids == (kept.id,)
    assert any_store.sighting_faces_since(MODEL.name, MODEL.dim, datetime.now(timezone.utc) + timedelta(hours=1)).photo_ids == ()


def test_sighting_faces_after_an_id_and_among_ids(any_store):
    # GIVEN three recent sighting faces, one of them erased
    photos = [_photo(any_store) for _ in range(3)]
    ids = [any_store.add_faces(p.id, MODEL, [face(0, unit(i + 1))], [True])[0].id for i, p in enumerate(photos)]
    any_store.erase_photo(photos[2].id, NOW)
    since = NOW - timedelta(hours=1)
    # WHEN asked for those after the first, and for the ids the archive found
    after = any_store.sighting_faces_since(MODEL.name, MODEL.dim, since, after_face_id=ids[0])
    among = any_store.sighting_faces_with_ids(MODEL.name, MODEL.dim, since, [ids[0], ids[2], 10**12])
    # THEN the erased one is never there, and each query keeps to what it was asked
    assert list(after.face_ids) == [ids[1]] and list(among.face_ids) == [ids[0]]
    assert len(any_store.sighting_faces_with_ids(MODEL.name, MODEL.dim, since, [])) == 0


def test_the_archive_copies_settled_sighting_faces_and_lists_its_segments(any_store, case):
    # GIVEN two sighting faces and a reference face of the same model, and a clock past the settling time
    photos = [_photo(any_store) for _ in range(2)]
    ids = [any_store.add_faces(p.id, MODEL, [face(0, unit(i + 1))], [True])[0].id for i, p in enumerate(photos)]
    _reference(any_store, case.id, unit(3))
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    # WHEN the settled faces after 0 are read, and with a clock before they were written
    settled = any_store.settled_sighting_faces(MODEL.name, MODEL.dim, 0, later, 10)
    none_yet = any_store.settled_sighting_faces(MODEL.name, MODEL.dim, 0, NOW - timedelta(hours=1), 10)
    # THEN only the sighting faces come, in id order, as float16 with their arrival; nothing before they settle
    assert list(settled.face_ids) == ids and settled.vectors.dtype == np.float16 and len(none_yet) == 0
    assert all(abs(int(a) - NOW.timestamp()) < 120 for a in settled.arrived)
    assert any_store.sighting_models() == [(MODEL.name, MODEL.dim)]
    # WHEN a segment of them is recorded
    segment = Segment(segment_key(MODEL.name, ids[0], ids[1]), MODEL.name, ids[0], ids[1], NOW - timedelta(days=100),
                      NOW - timedelta(days=95), 2)
    any_store.add_archive_segment(segment)
    # THEN the watermark follows it, and the segment is listed until its faces expire
    assert any_store.archive_watermark(MODEL.name) == ids[1] and any_store.archive_watermark("other") == 0
    assert [s.key for s in any_store.archive_segments(MODEL.name, NOW - timedelta(days=96))] == [segment.key]
    assert any_store.archive_segments(MODEL.name, NOW - timedelta(days=90)) == []
    [expired] = any_store.expired_archive_segments(NOW - timedelta(days=90))
    assert expired == segment
    assert any_store.expired_archive_segments(NOW - timedelta(days=365), keep_model=MODEL.name) == []
    any_store.remove_archive_segments([segment.key])
    assert any_store.expired_archive_segments(NOW) == []


# --------------------------------------------------------------------------- alerts and deliveries
def _alert(store, case, **extra) -> Alert:
    ref = _reference(store, case.id, unit(1))
    sighting = _photo(store)
    [probe] = store.add_faces(sighting.id, MODEL, [face(0, unit(1))], [True])
    return Alert(id=str(uuid.uuid4()), case_id=case.id, sighting_id=sighting.id, sighting_face_id=probe.id,
                 reference_face_id=ref, score=0.91, model_name=MODEL.name, created_at=NOW, **extra)


def test_an_alert_is_stored_once_per_sighting_and_case(any_store, case):
    alert = _alert(any_store, case)
    assert any_store.add_alert(alert).id == alert.id
    twin = alert.model_copy(update={"id": str(uuid.uuid4())})
    assert any_store.add_alert(twin).id == alert.id  # the stored one, not a second alert
    any_store.mark_published(alert.id, NOW)
    assert any_store.get_alert(alert.id).published_at is not None
    assert any_store.alert_exists(alert.id) and not any_store.alert_exists(str(uuid.uuid4()))


def test_alerts_are_found_by_owner_and_by_agencies_the_case_was_shared_with(any_store, case):
    alert = any_store.add_alert(_alert(any_store, case))
    other = fakes.agency("Other", "other@police.example")
    any_store.add_agency(other)
    assert any_store.find_alerts(other.id, None, None, None, 10) == []
    any_store.add_share(case.id, other.id, "owner")
    assert [a.id for a in any_store.find_alerts(other.id, AlertStatus.NEW, case.id, None, 10)] == [alert.id]
    any_store.set_review(alert.id, AlertStatus.CONFIRMED, case.agency_id, "officer", "same scar", NOW)
    reviewed = any_store.get_alert(alert.id)
    assert (reviewed.status, reviewed.reviewed_by_user, reviewed.review_note) == (AlertStatus.CONFIRMED, "officer",
                                                                                 "same scar")
    assert any_store.find_alerts(case.agency_id, AlertStatus.NEW, None, None, 10) == []


def test_a_sent_delivery_is_never_overwritten_by_a_late_failure(any_store, case):
    alert = any_store.add_alert(_alert(any_store, case))
    any_store.record_delivery(alert.id, "email", "mpu@police.example", True, "ses-1", None)
    any_store.record_delivery(alert.id, "email", "mpu@police.example", False, None, "throttled")
    any_store.record_delivery(alert.id, "sms", "+41791234567", False, None, "no route")
    any_store.record_delivery(alert.id, "sms", "+41791234567", True, "sns-2", None)
    rows = _deliveries(any_store, alert.id)
    assert rows == {("email", "mpu@police.example"): True, ("sms", "+41791234567"): True}


def _deliveries(store, alert_id: str) -> dict[tuple[str, str], bool]:
    if isinstance(store, fakes.MemoryStore):
        return {(c, r): row["ok"] for (a, c, r), row in store.deliveries.items() if a == alert_id}
    return {(d["channel"], d["recipient"]): d["status"] == "sent" for d in store.deliveries_of(alert_id)}


# --------------------------------------------------------------------------- retention
def test_erasing_a_photo_clears_its_embeddings_details_and_claim(any_store):
    photo = _photo(any_store, contact="+41 79 000 00 00", place="Quai 4", dedup_key="sighting:beef")
    any_store.add_faces(photo.id, MODEL, [face(0, unit(1))], [True])
    any_store.erase_photo(photo.id, NOW)
    erased = any_store.get_photo(photo.id)
    assert erased.erased_at is not None and (erased.contact, erased.place, erased.dedup_key) == (None, None, None)
    assert any_store.photo_by_content("sighting:beef") is None


def test_expired_sightings_exclude_confirmed_ones(any_store, case):
    alert = any_store.add_alert(_alert(any_store, case))
    any_store.set_review(alert.id, AlertStatus.CONFIRMED, case.agency_id, "officer", None, NOW)
    plain = _photo(any_store)
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    expired = {p.id for p in any_store.expired_sightings(later, 100)}
    assert plain.id in expired and alert.sighting_id not in expired


# --------------------------------------------------------------------------- searches
def test_a_search_completes_with_its_visible_candidates(any_store, case):
    ref = _reference(any_store, case.id, unit(1))
    search = Search(id=str(uuid.uuid4()), agency_id=case.agency_id, user_sub="officer", created_at=NOW)
    any_store.add_search(search)
    assert any_store.get_search(search.id).completed_at is None
    assert case.id in any_store.visible_case_ids(case.agency_id)
    candidate = SearchCandidate(case_id=case.id, score=0.8, reference_face_id=ref, face_index=0)
    any_store.complete_search(search.id, [candidate], NOW)
    [found] = any_store.search_candidates(search.id)
    assert (found.case_id, found.person_name, round(found.score, 4)) == (case.id, case.person_name, 0.8)
    assert any_store.get_search(search.id).completed_at is not None


def test_keys_of_stored_photos_are_the_ones_given(any_store, case):
    photo = _photo(any_store, PhotoKind.REFERENCE, case.id)
    assert any_store.get_photo(photo.id).s3_key == reference_key(case.id, photo.id)
    sighting = _photo(any_store)
    assert any_store.get_photo(sighting.id).s3_key == sighting_key(sighting.id)


# --------------------------------------------------------------------------- re-embedding after a model change
NEW = MODEL.model_copy(update={"name": "new-model", "version": "2"})
HOUR = timedelta(hours=1)


def _campaign(store, model: str = NEW.name, started_at: datetime = NOW) -> Campaign:
    campaign = Campaign(id=str(uuid.uuid4()), target_model=model, started_at=started_at)
    assert store.add_campaign(campaign) is True
    return campaign


def _processed(store, kind=PhotoKind.SIGHTING, case_id=None, **extra) -> Photo:
    return _photo(store, kind, case_id, status=PhotoStatus.PROCESSED, **extra)


def test_one_campaign_runs_at_a_time_and_finishing_it_frees_the_slot(any_store):
    assert any_store.running_campaign() is None and any_store.latest_campaign() is None
    first = _campaign(any_store)
    assert any_store.add_campaign(Campaign(id=str(uuid.uuid4()), target_model="other", started_at=NOW)) is False
    assert any_store.running_campaign() == first and any_store.latest_campaign() == first
    any_store.complete_campaign(first.id, NOW + HOUR, 3)
    any_store.complete_campaign(first.id, NOW + 2 * HOUR, 2)  # finished again: adds, keeps the first time
    done = any_store.latest_campaign()
    assert any_store.running_campaign() is None
    assert (done.id, done.erased_faces, abs((done.completed_at - NOW - HOUR).total_seconds()) < 0.01) == (first.id, 5, True)
    second = _campaign(any_store, "third-model", NOW + 2 * HOUR)
    assert any_store.latest_campaign().id == second.id
    any_store.cancel_campaign(second.id, NOW + 3 * HOUR)
    cancelled = any_store.latest_campaign()
    assert any_store.running_campaign() is None and cancelled.id == second.id
    assert (cancelled.completed_at, cancelled.erased_faces, cancelled.cancelled_at is not None) == (None, None, True)
    assert any_store.add_campaign(Campaign(id=str(uuid.uuid4()), target_model="fourth", started_at=NOW)) is True


def test_photos_to_reembed_are_open_cases_references_first_then_recent_sightings(any_store, case):
    closed = fakes.stored_case(any_store)
    any_store.set_case_status(closed.id, CaseStatus.CLOSED)
    sighting = _processed(any_store, sha256="cd" * 32)
    reference = _processed(any_store, PhotoKind.REFERENCE, case.id, sha256="ab" * 32)
    _processed(any_store, PhotoKind.REFERENCE, closed.id)  # closed case
    _photo(any_store, PhotoKind.REFERENCE, case.id)  # still received: its own job is on its way
    _photo(any_store, PhotoKind.SIGHTING, status=PhotoStatus.DUPLICATE)  # processed once, as its original
    _photo(any_store, PhotoKind.SEARCH, status=PhotoStatus.PROCESSED)
    erased = _processed(any_store)
    any_store.erase_photo(erased.id, NOW)
    done = _processed(any_store)
    any_store.mark_embedded(done.id, NEW.name, 0, 0)  # the new model found no face, but it has seen it
    any_store.mark_embedded(sighting.id, MODEL.name, 1, 1)  # the old model's mark does not count
    campaign = _campaign(any_store)
    found = any_store.photos_to_reembed(campaign.id, NEW.name, NOW - HOUR, 100)
    assert [(p.id, p.sha256) for p in found] == [(reference.id, reference.sha256), (sighting.id, sighting.sha256)]
    assert found[0].s3_key == reference.s3_key
    assert [p.id for p in any_store.photos_to_reembed(campaign.id, NEW.name, NOW + HOUR, 100)] == [reference.id]
    assert len(any_store.photos_to_reembed(campaign.id, NEW.name, NOW - HOUR, 1)) == 1


def test_queued_photos_leave_the_list_failed_ones_come_back_and_done_is_final(any_store, case):
    reference = _processed(any_store, PhotoKind.REFERENCE, case.id)
    sighting = _processed(any_store)
    campaign = _campaign(any_store)
    any_store.queue_reembed_items(campaign.id, [reference, sighting], NOW)
    assert any_store.photos_to_reembed(campaign.id, NEW.name, NOW - HOUR, 10) == []
    stored = any_store.running_campaign()
    assert (stored.references_queued, stored.sightings_queued) == (1, 1)
    assert any_store.finish_reembed_item(campaign.id, reference.id, ItemStatus.FAILED, "fetch", "gone", NOW) is True
    assert any_store.finish_reembed_item(campaign.id, reference.id, ItemStatus.FAILED, "faces", "again", NOW) is False
    assert [p.id for p in any_store.photos_to_reembed(campaign.id, NEW.name, NOW - HOUR, 10)] == [reference.id]
    [failure] = any_store.reembed_failures(campaign.id, NEW.name, NOW - HOUR, 10)
    assert (failure.photo_id, failure.kind, failure.case_id, failure.stage, failure.reason, failure.attempts) == (
        reference.id, PhotoKind.REFERENCE, case.id, "fetch", "gone", 1)
    any_store.queue_reembed_items(campaign.id, [reference], NOW)  # `start` again retries it
    assert any_store.reembed_failures(campaign.id, NEW.name, NOW - HOUR, 10) == []
    assert any_store.finish_reembed_item(campaign.id, sighting.id, ItemStatus.DONE, None, None, NOW) is True
    assert any_store.finish_reembed_item(campaign.id, sighting.id, ItemStatus.FAILED, "match", "late", NOW) is False
    assert any_store.finish_reembed_item(campaign.id, str(uuid.uuid4()), ItemStatus.DONE, None, None, NOW) is False
    assert any_store.finish_reembed_item(campaign.id, reference.id, ItemStatus.FAILED, "faces", "crash", NOW) is True
    assert any_store.reembed_failures(campaign.id, NEW.name, NOW - HOUR, 10)[0].attempts == 2
    assert any_store.finish_reembed_item(campaign.id, reference.id, ItemStatus.DONE, None, None, NOW) is True  # late success
    assert any_store.running_campaign().references_queued == 2


def test_coverage_counts_each_photo_in_scope_once(any_store, case):
    refs = [_processed(any_store, PhotoKind.REFERENCE, case.id) for _ in range(4)]
    sightings = [_processed(any_store) for _ in range(2)]
    campaign = _campaign(any_store)
    any_store.queue_reembed_items(campaign.id, refs[:3] + sightings[:1], NOW)
    any_store.finish_reembed_item(campaign.id, refs[0].id, ItemStatus.DONE, None, None, NOW)
    any_store.mark_embedded(refs[0].id, NEW.name, 1, 1)
    any_store.finish_reembed_item(campaign.id, refs[1].id, ItemStatus.FAILED, "fetch", "gone", NOW)
    any_store.mark_embedded(sightings[1].id, NEW.name, 2, 1)  # embedded by both models as it arrived
    coverage = any_store.reembed_coverage(campaign.id, NEW.name, NOW - HOUR)
    assert coverage[PhotoKind.REFERENCE] == Coverage(in_scope=4, covered=1, queued=1, failed=1, not_queued=1)
    assert coverage[PhotoKind.SIGHTING] == Coverage(in_scope=2, covered=1, queued=1, failed=0, not_queued=0)
    assert PhotoKind.SIGHTING not in any_store.reembed_coverage(campaign.id, NEW.name, NOW + HOUR)


def test_items_queued_too_long_are_found_oldest_first(any_store):
    old, recent = _processed(any_store), _processed(any_store)
    campaign = _campaign(any_store)
    any_store.queue_reembed_items(campaign.id, [recent], NOW)
    any_store.queue_reembed_items(campaign.id, [old], NOW - 2 * HOUR)
    assert any_store.stuck_reembed_items(NOW - HOUR, 10) == [(campaign.id, old.id)]
    assert any_store.stuck_reembed_items(NOW + HOUR, 10) == [(campaign.id, old.id), (campaign.id, recent.id)]
    any_store.finish_reembed_item(campaign.id, old.id, ItemStatus.DONE, None, None, NOW)
    assert any_store.stuck_reembed_items(NOW + HOUR, 10) == [(campaign.id, recent.id)]


def test_cases_left_without_the_new_model_and_erasing_every_other_model(any_store, case):
    both = case
    old_only = fakes.stored_case(any_store)
    closed = fakes.stored_case(any_store)
    for c, models in ((both, (MODEL, NEW)), (old_only, (MODEL,)), (closed, (MODEL,))):
        ref = _processed(any_store, PhotoKind.REFERENCE, c.id)
        for model in models:
            any_store.add_faces(ref.id, model, [face(0, unit(1))], [True])
    any_store.set_case_status(closed.id, CaseStatus.CLOSED)
    sighting = _processed(any_store)
    any_store.add_faces(sighting.id, MODEL, [face(0, unit(1)), face(1, unit(0, 1))], [True, True])
    any_store.add_faces(sighting.id, NEW, [face(0, unit(1))], [True])
    assert any_store.cases_without_model(NEW.name) == [old_only.id]
    assert any_store.face_models() == {MODEL.name, NEW.name}
    events = any_store.gallery_watermark(MODEL.name).event_seq
    # WHEN every embedding of another model is erased, two faces per transaction
    assert any_store.erase_other_models(NEW.name, 2) == 5
    # THEN the old model's gallery and past sightings are empty, the new model's are whole
    assert len(any_store.gallery(MODEL.name, MODEL.dim)) == 0
    assert [c for c in any_store.gallery(NEW.name, NEW.dim).case_ids] == [both.id]
    assert len(any_store.sighting_faces_since(MODEL.name, MODEL.dim, NOW - HOUR)) == 0
    assert len(any_store.sighting_faces_since(NEW.name, NEW.dim, NOW - HOUR)) == 1
    # AND the open cases that lost faces are announced to warm galleries; the rows stay for alerts and review
    assert any_store.gallery_watermark(MODEL.name).event_seq == events + 2
    assert any_store.face_location(any_store.add_faces(sighting.id, MODEL, [face(1, unit(0, 1))], [True])[0].id).index == 1
    assert any_store.erase_other_models(NEW.name, 2) == 0
    assert any_store.cases_without_model(NEW.name) == []


# --------------------------------------------------------------------------- case lists, names, agencies (issue #11)
def test_visible_cases_are_own_and_shared_newest_first_a_page_at_a_time(any_store, case):
    # GIVEN the agency's case, two more of its own (one closed), another agency's case, and one shared with it
    own = [any_store.get_case(case.id)]
    for age in (1, 2):
        later = fakes.case(case.agency_id, f"Person {age}",
                           status=CaseStatus.CLOSED if age == 2 else CaseStatus.OPEN)
        later = later.model_copy(update={"created_at": case.created_at + timedelta(seconds=age)})
        any_store.add_case(later)
        own.append(later)
    other = fakes.stored_case(any_store)
    shared = fakes.case(other.agency_id, "Shared Person")
    shared = shared.model_copy(update={"created_at": case.created_at + timedelta(seconds=3)})
    any_store.add_case(shared)
    any_store.add_share(shared.id, case.agency_id, "owner")
    # WHEN the agency lists them two at a time, newest first
    first = any_store.visible_cases(case.agency_id, None, None, 2)
    rest = any_store.visible_cases(case.agency_id, None, (first[-1].created_at, first[-1].id), 10)
    # THEN it sees its own and the shared one, never the other agency's own, each once, in order
    assert [c.id for c in first + rest] == [shared.id, own[2].id, own[1].id, own[0].id]
    assert first[0] == shared
    # AND a status filter keeps only open or closed ones
    assert [c.id for c in any_store.visible_cases(case.agency_id, CaseStatus.CLOSED, None, 10)] == [own[2].id]
    assert other.id not in {c.id for c in any_store.visible_cases(case.agency_id, None, None, 10)}


def test_person_names_and_the_agency_list(any_store, case):
    other = fakes.stored_case(any_store)
    names = any_store.person_names([case.id, other.id, case.id, str(uuid.uuid4())])
    assert names == {case.id: case.person_name, other.id: other.person_name}
    assert any_store.person_names([]) == {}
    assert {a.id for a in any_store.list_agencies()} == {case.agency_id, other.agency_id}


def test_open_alert_counts_only_what_waits_for_review(any_store, case):
    # GIVEN two new alerts and a decided one on a case, and another case without alerts
    other = fakes.stored_case(any_store)
    waiting = [any_store.add_alert(_alert(any_store, case)) for _ in range(2)]
    decided = any_store.add_alert(_alert(any_store, case))
    any_store.set_review(decided.id, AlertStatus.REJECTED, case.agency_id, "u", "no", NOW)
    # WHEN counted THEN only the new ones count, and a case without any is left out
    assert len(waiting) == 2
    assert any_store.open_alert_counts([case.id, other.id, case.id]) == {case.id: 2}
    assert any_store.open_alert_counts([]) == {}


def test_a_review_decides_once_unless_it_expects_the_current_status(any_store, case):
    alert = any_store.add_alert(_alert(any_store, case))
    # GIVEN a new alert  WHEN two reviewers decide, both expecting it new  THEN only the first one is stored
    assert any_store.set_review(alert.id, AlertStatus.CONFIRMED, case.agency_id, "first", "yes", NOW,
                                only_if=AlertStatus.NEW) is True
    assert any_store.set_review(alert.id, AlertStatus.REJECTED, case.agency_id, "second", "no", NOW,
                                only_if=AlertStatus.NEW) is False
    assert any_store.get_alert(alert.id).reviewed_by_user == "first"
    # AND a change that expects the current decision goes through
    assert any_store.set_review(alert.id, AlertStatus.REJECTED, case.agency_id, "second", "no", NOW,
                                only_if=AlertStatus.CONFIRMED) is True
    assert any_store.get_alert(alert.id).status is AlertStatus.REJECTED


def test_reference_photos_say_when_they_were_erased(any_store, case):
    kept, erased = _photo(any_store, PhotoKind.REFERENCE, case.id), _photo(any_store, PhotoKind.REFERENCE, case.id)
    any_store.erase_photo(erased.id, NOW)
    assert {p.id: p.erased for p in any_store.reference_photos(case.id)} == {kept.id: False, erased.id: True}


# --------------------------------------------------------------------------- near misses (issue #11)
def test_near_misses_are_each_sighting_faces_best_match_without_an_alert(any_store, case):
    # GIVEN a case with two reference faces, a sighting face matching both, a second sighting that raised an
    # alert, and another case's match
    ref_a, ref_b = _reference(any_store, case.id, unit(1)), _reference(any_store, case.id, unit(1, 1))
    missed = _photo(any_store, place="Quay 7", taken_at=NOW - timedelta(hours=2))
    [near] = any_store.add_faces(missed.id, MODEL, [face(0, unit(1, 0.5))], [True])
    alerted = any_store.add_alert(_alert(any_store, case))
    other = fakes.stored_case(any_store)
    ref_other = _reference(any_store, other.id, unit(0, 1))
    any_store.add_matches([(near.id, Candidate(case.id, ref_a, 0.93)), (near.id, Candidate(case.id, ref_b, 0.9576)),
                           (alerted.sighting_face_id, Candidate(case.id, alerted.reference_face_id, 0.99)),
                           (near.id, Candidate(other.id, ref_other, 0.94))])
    # WHEN the case's near misses are read
    found = any_store.near_misses(case.id, 10)
    # THEN the missed sighting is there once, with its best match, its place and time; the alerted one is not
    assert [(m.sighting_id, m.sighting_face_id, m.reference_face_id, m.score) for m in found] == [
        (missed.id, near.id, ref_b, 0.9576)]
    assert (found[0].place, found[0].erased) == ("Quay 7", False)
    assert abs((found[0].seen_at - (NOW - timedelta(hours=2))).total_seconds()) < 0.01
    assert any_store.near_miss(case.id, near.id) == found[0]
    # AND the other case has its own, and a face that is no near miss of the case is None
    assert [m.case_id for m in any_store.near_misses(other.id, 10)] == [other.id]
    assert any_store.near_miss(case.id, alerted.sighting_face_id) is None
    # AND once erased, the near miss stays listed but says so
    any_store.erase_photo(missed.id, NOW)
    assert any_store.near_miss(case.id, near.id).erased is True
