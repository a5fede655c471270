"""The match function's in-memory gallery on the real MariaDB: deltas, closed cases, snapshots in S3."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from facetrace.adapters.aws import S3Objects
from facetrace.case import CaseStatus, close_case
from facetrace.gallery.cache import GalleryCache
from facetrace.keys import snapshot_key
from facetrace.messages import PhotoKind
from tests import fakes
from tests.fakes import MODEL, face, unit

pytestmark = pytest.mark.integration

A, B = unit(1, 0, 0), unit(0, 1, 0)


def _enrolled(store, embedding):
    case = fakes.stored_case(store)
    photo = fakes.photo(PhotoKind.REFERENCE, case.id)
    store.add_photo(photo)
    store.add_faces(photo.id, MODEL, [face(0, embedding)], [True])
    return case


def _found(cache, probe):
    live = cache.current(MODEL.name, MODEL.dim)
    return [c.case_id for c in live.search(probe[None, :], 0.9, 5)[0]]


def test_new_references_and_closed_cases_reach_a_warm_gallery(store):
    # GIVEN a warm gallery holding case A
    case_a = _enrolled(store, A)
    cache = GalleryCache(store, None)
    assert _found(cache, A) == [case_a.id]
    # WHEN case B is enrolled THEN the next search finds it without a full reload
    case_b = _enrolled(store, B)
    assert _found(cache, B) == [case_b.id]
    # WHEN case A is closed THEN the very next search no longer finds it
    close_case(store, case_a.id)
    assert _found(cache, A) == []
    # WHEN it is reopened THEN its face is back
    store.set_case_status(case_a.id, CaseStatus.OPEN)
    assert _found(cache, A) == [case_a.id]


def test_a_new_container_starts_from_the_s3_snapshot(store):
    with mock_aws():
        # GIVEN a bucket and a gallery that wrote a snapshot after its first change
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="uploads")
        objects = S3Objects(s3, "uploads")
        case_a = _enrolled(store, A)
        GalleryCache(store, objects, snapshot_every=1).current(MODEL.name, MODEL.dim)
        assert objects.get_if_exists(snapshot_key(MODEL.name)) is not None
        # WHEN case B arrives after the snapshot and a new container starts
        case_b = _enrolled(store, B)
        fresh = GalleryCache(store, objects)
        # THEN it serves both: A from the snapshot, B from the delta since the snapshot's watermark
        assert _found(fresh, A) == [case_a.id] and _found(fresh, B) == [case_b.id]
