"""Upload tickets: the server picks the key, size range and type; sighting details survive S3 metadata."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from facetrace.adapters.aws import S3Objects
from facetrace.case import CaseStatus
from facetrace.keys import parse_upload_key, reference_key, upload_key
from facetrace.access import NotVisible, Viewer
from facetrace.casework import CaseClosed, reference_upload
from facetrace.upload import SightingDetails, Uploads, decode_metadata, encode_metadata
from tests import fakes
from tests.images import LIMITS

BUCKET = "facetrace-uploads-test"
DETAILS = SightingDetails(
    content_type="image/png",
    taken_at=datetime(2024, 5, 17, 18, 45, 10, tzinfo=timezone.utc),
    place="Zürich Hauptbahnhof, Gleis 7 — near the café «Müller»",
    lat=47.37772,
    lon=8.54017,
    contact="Søren Ødegård +41 79 000 00 00",
)


@pytest.fixture
def s3_objects():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield S3Objects(s3, BUCKET)


def _policy(fields: dict[str, str]) -> dict:
    return json.loads(base64.b64decode(fields["policy"]))


def _conditions(policy: dict) -> tuple[dict[str, str], list[list]]:
    exact = {k: v for c in policy["conditions"] if isinstance(c, dict) for k, v in c.items()}
    ranges = [c for c in policy["conditions"] if isinstance(c, list)]
    return exact, ranges


def test_metadata_is_ascii_and_round_trips_non_ascii_details():
    # GIVEN sighting details with non-ASCII place and contact
    # WHEN they are encoded as S3 user metadata
    metadata = encode_metadata(DETAILS)
    # THEN every header value is ASCII, and decoding gives the details back (the type travels separately)
    assert all(v.isascii() for v in metadata.values())
    assert set(metadata) == {"taken-at", "place", "lat", "lon", "contact"}
    assert decode_metadata(metadata) == DETAILS.model_copy(update={"content_type": "image/jpeg"})


def test_metadata_round_trips_through_s3(s3_objects):
    # GIVEN an object stored with the encoded metadata of a sighting
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=BUCKET, Key="sightings/x", Body=b"x" * 200, Metadata=encode_metadata(DETAILS))
    # WHEN ingest reads it back with HEAD
    details = decode_metadata(s3_objects.head("sightings/x").metadata)
    # THEN the place (with its umlauts and guillemets) and the rest are intact
    assert details.place == DETAILS.place
    assert details.contact == DETAILS.contact
    assert details.taken_at == DETAILS.taken_at
    assert (details.lat, details.lon) == (DETAILS.lat, DETAILS.lon)


def test_invalid_metadata_loses_only_the_invalid_fields():
    # GIVEN metadata tampered with outside the form: an impossible latitude and an unknown field
    metadata = {**encode_metadata(DETAILS), "lat": "123", "x-injected": "1"}
    # WHEN it is decoded
    details = decode_metadata(metadata)
    # THEN the invalid value and the unknown field are dropped, every valid detail is kept
    assert details.lat is None
    assert (details.place, details.taken_at, details.lon) == (DETAILS.place, DETAILS.taken_at, DETAILS.lon)


def test_empty_details_give_no_metadata():
    # GIVEN a citizen who says nothing about the photo
    # WHEN the metadata is encoded THEN there is none to send
    assert encode_metadata(SightingDetails()) == {}


def test_presigned_post_policy_fixes_key_type_size_and_expiry(s3_objects):
    # GIVEN a real S3 adapter on a (moto) bucket and a 300 s ticket lifetime
    before = datetime.now(timezone.utc)
    # WHEN a citizen asks to upload a PNG sighting
    ticket = Uploads(s3_objects, LIMITS, 300).sighting(DETAILS)
    # THEN the signed policy pins the server-chosen key, the exact type and the size range
    policy = _policy(ticket.fields)
    exact, ranges = _conditions(policy)
    key = f"uploads/sightings/{ticket.receipt_id}"
    assert parse_upload_key(ticket.fields["key"])[1] == ticket.receipt_id
    assert exact["key"] == ticket.fields["key"] == key
    assert exact["bucket"] == BUCKET
    assert exact["Content-Type"] == ticket.fields["Content-Type"] == "image/png"
    assert ["content-length-range", LIMITS.min_bytes, LIMITS.max_bytes] in ranges
    assert not any(r[0] == "starts-with" for r in ranges)  # nothing is left to the client's choice
    # AND the sighting details are signed as metadata fields
    assert exact["x-amz-meta-place"] == ticket.fields["x-amz-meta-place"] == encode_metadata(DETAILS)["place"]
    # AND it expires after the ticket's lifetime
    expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before + timedelta(seconds=295) <= expiration <= datetime.now(timezone.utc) + timedelta(seconds=301)
    assert ticket.expires_in == 300 and ticket.max_bytes == LIMITS.max_bytes
    assert ticket.url.startswith("https://") and BUCKET in ticket.url


def test_each_ticket_gets_a_fresh_key(s3_objects):
    # GIVEN / WHEN two tickets are requested with the same details
    first = Uploads(s3_objects, LIMITS, 60).sighting(SightingDetails())
    second = Uploads(s3_objects, LIMITS, 60).sighting(SightingDetails())
    # THEN they point at different keys
    assert first.receipt_id != second.receipt_id
    assert first.fields["key"] != second.fields["key"]


def test_reference_ticket_for_an_open_case_uses_the_case_key():
    # GIVEN an open case
    store, objects = fakes.MemoryStore(), fakes.FakeObjects()
    agency = fakes.agency()
    store.add_agency(agency)
    case = fakes.case(agency.id)
    store.add_case(case)
    # WHEN the agency asks to upload a reference photo
    ticket = reference_upload(store, Viewer(agency.id, "officer"), case.id, "image/jpeg", Uploads(objects, LIMITS, 60))
    # THEN the key files the photo under that case, in the upload inbox
    assert ticket.fields["key"] == upload_key(reference_key(case.id, ticket.receipt_id))


@pytest.mark.parametrize("status", [None, CaseStatus.CLOSED])
def test_no_reference_ticket_for_a_missing_or_closed_case(status):
    # GIVEN a case id that is unknown, or a closed case
    store, objects = fakes.MemoryStore(), fakes.FakeObjects()
    agency = fakes.agency()
    store.add_agency(agency)
    agency_id, case_id = agency.id, str(uuid.uuid4())
    if status is not None:
        case = fakes.case(agency.id, status=status)
        store.add_case(case)
        case_id = case.id
    # WHEN a reference upload is requested THEN it is refused: an unknown case is not visible, a closed one closed
    with pytest.raises(CaseClosed if status else NotVisible):
        reference_upload(store, Viewer(agency_id, "officer"), case_id, "image/jpeg", Uploads(objects, LIMITS, 60))
