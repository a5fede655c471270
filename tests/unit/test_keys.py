"""S3 keys: only keys the server issued are recognised as sightings or reference photos."""

from __future__ import annotations

import uuid

import pytest

from facetrace.messages import PhotoKind
from facetrace.keys import parse_key, reference_key, search_key, sighting_key

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


# --------------------------------------------------------------------------- the template agrees
def _template():
    from devstack.template import load_template
    from tests.conftest import REPO

    return load_template(REPO / "infra" / "template.yaml")


def _bucket_arns(value) -> set[str]:
    """The key patterns of Sub'd upload-bucket ARNs in an IAM Resource value."""
    values = value if isinstance(value, list) else [value]
    out = set()
    for v in values:
        text = v.get("Fn::Sub", "") if isinstance(v, dict) else str(v)
        text = text[0] if isinstance(text, list) else text
        if "-uploads-" in text or "UploadBucket.Arn" in text:
            out.add(text.split("}/", 1)[-1] if "}/" in text else text.rsplit("/", 1)[-1])
    return out


def _statements(function: str) -> list[dict]:
    policies = _template()["Resources"][function]["Properties"].get("Policies", [])
    return [s for p in policies if isinstance(p, dict) for s in p.get("Statement", [])]


def test_lifecycle_rules_are_the_expiry_the_key_layout_states():
    from facetrace.keys import EXPIRY

    # GIVEN the upload bucket's lifecycle rules
    rules = _template()["Resources"]["UploadBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = {r["Prefix"]: r["ExpirationInDays"] for r in rules if "Prefix" in r}
    # THEN each prefix expires as keys.EXPIRY says (RetentionDays where it says "retention"), and no other does
    stated = {prefix: ({"Ref": "RetentionDays"} if days == "retention" else days)
              for prefix, days in EXPIRY.items() if days is not None}
    assert expiring == stated


def test_ingest_is_triggered_by_the_inbox_and_alone_writes_the_pinned_prefixes():
    from facetrace.keys import PINNED, UPLOADS

    template = _template()
    # GIVEN the ingest function's S3 events WHEN read THEN they are the inbox prefix only
    events = template["Resources"]["IngestFunction"]["Properties"]["Events"].values()
    assert [e["Properties"]["Filter"]["S3Key"]["Rules"][0]["Value"] for e in events if e["Type"] == "S3"] == [UPLOADS]
    # AND ingest may write the pinned prefixes and delete from the inbox
    puts = {p for s in _statements("IngestFunction") if s["Action"] == "s3:PutObject" for p in _bucket_arns(s["Resource"])}
    assert puts == {f"{prefix}*" for prefix in PINNED}
    deletes = {p for s in _statements("IngestFunction") if s["Action"] == "s3:DeleteObject"
               for p in _bucket_arns(s["Resource"])}
    assert deletes == {f"{UPLOADS}*"}
    # AND the API, which signs the tickets, may put into the inbox only
    api_puts = {p for s in _statements("ApiFunction") if s["Action"] == "s3:PutObject" for p in _bucket_arns(s["Resource"])}
    assert api_puts == {f"{UPLOADS}*"}


def test_the_worker_writes_results_and_match_writes_gallery_snapshots():
    from facetrace.keys import GALLERY, WORKER_WRITES

    template = _template()
    match_puts = {p for s in _statements("MatchFunction") if s["Action"] == "s3:PutObject" for p in _bucket_arns(s["Resource"])}
    assert match_puts == {f"{GALLERY}*"}
    task_role = template["Resources"]["WorkerTaskRole"]["Properties"]["Policies"]
    worker_puts = {p for pol in task_role for s in pol["PolicyDocument"]["Statement"] if s["Action"] == "s3:PutObject"
                   for p in _bucket_arns(s["Resource"])}
    assert worker_puts == {f"{prefix}*" for prefix in WORKER_WRITES}
