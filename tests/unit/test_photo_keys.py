"""S3 keys: only keys the server issued are recognised as sightings or reference photos."""

from __future__ import annotations

import uuid

import pytest

from facetrace.messages import PhotoKind
from facetrace.photo import parse_key, reference_key, search_key, sighting_key

PHOTO = str(uuid.uuid4())
CASE = str(uuid.uuid4())


def test_sighting_key_round_trips():
    # GIVEN the key the server assigns to a sighting
    key = sighting_key(PHOTO)
    # WHEN it is parsed THEN it is that sighting, with no case
    assert key == f"sightings/{PHOTO}"
    assert parse_key(key) == (PhotoKind.SIGHTING, PHOTO, None)


def test_reference_key_round_trips():
    # GIVEN the key the server assigns to a case's reference photo
    key = reference_key(CASE, PHOTO)
    # WHEN it is parsed THEN it is that photo of that case
    assert key == f"references/{CASE}/{PHOTO}"
    assert parse_key(key) == (PhotoKind.REFERENCE, PHOTO, CASE)


def test_search_key_round_trips():
    # GIVEN the key the server assigns to an agency's search photo
    key = search_key(CASE, PHOTO)
    # WHEN it is parsed THEN it is that search, with no case
    assert key == f"searches/{CASE}/{PHOTO}"
    assert parse_key(key) == (PhotoKind.SEARCH, PHOTO, None)


@pytest.mark.parametrize("key", [
    f"uploads/{PHOTO}",                       # unknown prefix
    f"sightings/{PHOTO}.jpg",                 # client-chosen suffix
    f"sightings/{PHOTO}/extra",               # deeper path
    f"sightings/{PHOTO.upper()}",             # not the server's spelling
    "sightings/not-a-uuid",
    "sightings/",
    f"references/{PHOTO}",                    # reference without a case
    f"references/{CASE}/{PHOTO}/x",
    f"references/../{CASE}/{PHOTO}",
    f"searches/{PHOTO}",                      # search without an agency
    f"searches/{CASE}/{PHOTO}/x",
    f"results/{PHOTO}.model.json",            # the worker's own offloaded results
    f"/sightings/{PHOTO}",
    f"sightings/{PHOTO}\n",
])
def test_keys_the_server_never_issues_are_refused(key):
    # GIVEN a key FaceTrace would never hand out
    # WHEN it is parsed THEN it is refused
    with pytest.raises(ValueError, match="not issued by FaceTrace"):
        parse_key(key)
