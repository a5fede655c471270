"""Receipts: a citizen learns what happened to their upload, including that it never arrived."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from facetrace.messages import PhotoKind
from facetrace.photo import PhotoStatus
from facetrace.keys import sighting_key, upload_key
from facetrace.receipt import UnknownReceipt, receipt_status
from facetrace.upload import issued_at, new_receipt_id
from tests import fakes

TTL = 300


@pytest.fixture
def world():
    return fakes.MemoryStore(), fakes.FakeObjects()


def test_receipt_ids_carry_the_time_they_were_issued():
    # GIVEN a receipt id issued at a known time WHEN it is read back THEN the time is there to the millisecond
    now = datetime(2026, 11, 30, 12, 0, 0, 123000, tzinfo=timezone.utc)
    rid = new_receipt_id(now.timestamp())
    assert uuid.UUID(rid).version == 7 and issued_at(rid) == now
    # AND two ids issued in the same millisecond still differ
    assert new_receipt_id(now.timestamp()) != rid


def test_a_ticket_that_is_still_valid_is_pending(world):
    store, objects = world
    rid = new_receipt_id()
    assert receipt_status(rid, store, objects, TTL).status == "pending"


def test_an_upload_that_never_arrived_is_expired_once_its_ticket_ran_out(world):
    # GIVEN a ticket issued ten minutes ago for a five-minute upload, and nothing in the inbox
    store, objects = world
    now = datetime.now(timezone.utc)
    rid = new_receipt_id((now - timedelta(minutes=10)).timestamp())
    # WHEN the citizen asks
    receipt = receipt_status(rid, store, objects, TTL, now=now)
    # THEN the receipt says that no photo arrived, and when the ticket expired
    assert receipt.status == "expired" and "no photo arrived" in receipt.reason


def test_an_upload_waiting_in_the_inbox_is_still_pending_after_the_ticket_ran_out(world):
    # GIVEN an old ticket whose upload did arrive but is not checked yet (ingest is retrying)
    store, objects = world
    now = datetime.now(timezone.utc)
    rid = new_receipt_id((now - timedelta(hours=1)).timestamp())
    objects.add(upload_key(sighting_key(rid)), b"jpeg bytes")
    # WHEN the citizen asks THEN it is pending, not expired
    assert receipt_status(rid, store, objects, TTL, now=now).status == "pending"


@pytest.mark.parametrize("rid", [str(uuid.uuid4()), new_receipt_id(datetime(2099, 1, 1).timestamp())],
                         ids=["random-uuid", "from-the-future"])
def test_an_id_no_ticket_was_issued_with_is_unknown(world, rid):
    store, objects = world
    with pytest.raises(UnknownReceipt):
        receipt_status(rid, store, objects, TTL)


@pytest.mark.parametrize(("status", "reason", "shown"), [
    (PhotoStatus.REJECTED, "not an image", "not an image"),
    (PhotoStatus.DUPLICATE, "the same photo was already received", "the same photo was already received"),
    (PhotoStatus.FAILED, "gave up at matching; see the logs", None),
    (PhotoStatus.PROCESSED, None, None),
])
def test_a_recorded_upload_shows_its_status_and_only_the_reasons_a_citizen_may_see(world, status, reason, shown):
    store, objects = world
    photo = fakes.photo(PhotoKind.SIGHTING, status=status, reason=reason)
    store.add_photo(photo)
    receipt = receipt_status(photo.id, store, objects, TTL)
    assert (receipt.status, receipt.reason) == (status.value, shown)


@pytest.mark.parametrize("faces,reason", [(0, "no face was found"), (3, None)])
def test_a_processed_receipt_says_how_many_faces_were_found(world, faces, reason):
    # GIVEN a sighting processed with this many faces
    store, objects = world
    photo = fakes.photo(PhotoKind.SIGHTING, status=PhotoStatus.PROCESSED, face_count=faces)
    store.add_photo(photo)
    # WHEN the citizen reads the receipt
    receipt = receipt_status(photo.id, store, objects, TTL)
    # THEN it says processed with the count, and, for a photo without a face, that it could not be searched
    assert (receipt.status, receipt.faces) == ("processed", faces)
    assert (reason is None and receipt.reason is None) or reason in receipt.reason


def test_a_receipt_gives_no_face_count_before_processing(world):
    # GIVEN a sighting still being searched  WHEN read  THEN no count is claimed yet
    store, objects = world
    photo = fakes.photo(PhotoKind.SIGHTING)
    store.add_photo(photo)
    assert receipt_status(photo.id, store, objects, TTL).faces is None
