"""The upload bucket's key layout, in one place: who writes where, and how long each prefix is kept.

    uploads/<key>            browsers POST here (presigned); ingest deletes it once checked (1-day backstop)
    sightings/<photo>        a citizen's photo, pinned by ingest, written once; kept RetentionDays
    references/<case>/<photo>  an agency's reference photo, pinned by ingest; kept until the case is erased
    searches/<agency>/<photo>  an agency's search photo, pinned by ingest; deleted once searched (1-day backstop)
    results/<photo>.<model>.json  faces too big for one queue message (worker); kept RetentionDays
    gallery/<model>.npz      a match container's gallery snapshot; rewritten, never expires
    footage/<owner>/<clip>   a video clip (owner: the agency or camera it was issued to), pinned by ingest, written
                             once; kept RetentionDays (erased earlier by the purge unless an appearance is confirmed)
    stills/<clip>/<part>-<track>.jpg  the best frame of one face track (worker); an appearance's sighting photo;
                             kept RetentionDays
    archive/<model>/<first>-<last>.npz  sighting embeddings for retro-search (sighting_archive), written once;
                             the purge deletes a segment once all its faces expired; RetentionDays a backstop

infra/template.yaml's lifecycle rules, S3 trigger and IAM resources name the same prefixes
(tests/unit/test_keys.py holds them together).
"""

from __future__ import annotations

import re

from facetrace.messages import PhotoKind

UPLOADS = "uploads/"
SIGHTINGS = "sightings/"
REFERENCES = "references/"
SEARCHES = "searches/"
RESULTS = "results/"
GALLERY = "gallery/"
FOOTAGE = "footage/"
STILLS = "stills/"
ARCHIVE = "archive/"
PINNED = (SIGHTINGS, REFERENCES, SEARCHES, FOOTAGE)  # written once by ingest, never by a ticket
WORKER_WRITES = (RESULTS, STILLS)  # the only prefixes the worker's role may write
# How long each prefix is kept by the bucket's lifecycle rules: days, "retention" (RetentionDays) or None (never
# expires; erased by the application).
EXPIRY = {UPLOADS: 1, SIGHTINGS: "retention", RESULTS: "retention", SEARCHES: 1, REFERENCES: None, GALLERY: None,
          FOOTAGE: "retention", STILLS: "retention", ARCHIVE: "retention"}

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# fullmatch, not match with "$": "$" also matches before a trailing newline.
_SIGHTING_KEY = re.compile(rf"sightings/(?P<photo>{_UUID})")
_REFERENCE_KEY = re.compile(rf"references/(?P<case>{_UUID})/(?P<photo>{_UUID})")
_SEARCH_KEY = re.compile(rf"searches/(?P<agency>{_UUID})/(?P<photo>{_UUID})")
_FOOTAGE_KEY = re.compile(rf"footage/(?P<owner>{_UUID})/(?P<clip>{_UUID})")


def sighting_key(photo_id: str) -> str:
    """The S3 key the server assigns to a citizen's sighting."""
    return f"{SIGHTINGS}{photo_id}"


def reference_key(case_id: str, photo_id: str) -> str:
    """The S3 key the server assigns to an agency's reference photo."""
    return f"{REFERENCES}{case_id}/{photo_id}"


def search_key(agency_id: str, search_id: str) -> str:
    """The S3 key the server assigns to an agency's search photo."""
    return f"{SEARCHES}{agency_id}/{search_id}"


def upload_key(key: str) -> str:
    """Where the browser POSTs a photo; ingest pins the checked bytes under `key` itself, written once."""
    return UPLOADS + key


def parse_upload_key(key: str) -> tuple[PhotoKind, str, str | None]:
    """(kind, photo_id, case_id) of an upload key the server issued, else ValueError."""
    if not key.startswith(UPLOADS):
        raise ValueError(f"key {key!r} is not an upload key")
    return parse_key(key.removeprefix(UPLOADS))


def parse_key(key: str) -> tuple[PhotoKind, str, str | None]:
    """Return (kind, photo_id, case_id) for a key the server issued, else raise ValueError."""
    if m := _SIGHTING_KEY.fullmatch(key):
        return PhotoKind.SIGHTING, m["photo"], None
    if m := _REFERENCE_KEY.fullmatch(key):
        return PhotoKind.REFERENCE, m["photo"], m["case"]
    if m := _SEARCH_KEY.fullmatch(key):
        return PhotoKind.SEARCH, m["photo"], None
    if m := _FOOTAGE_KEY.fullmatch(key):
        return PhotoKind.FOOTAGE, m["clip"], None
    raise ValueError(f"key {key!r} was not issued by FaceTrace")


def results_key(photo_id: str, model_name: str) -> str:
    """Where the worker leaves the faces of a photo that do not fit in one queue message."""
    return f"{RESULTS}{photo_id}.{model_name}.json"


def snapshot_key(model_name: str) -> str:
    """Where a model's gallery snapshot lives."""
    return f"{GALLERY}{model_name}.npz"


def footage_key(owner_id: str, clip_id: str) -> str:
    """The S3 key the server assigns to a video clip of an agency or one of its cameras."""
    return f"{FOOTAGE}{owner_id}/{clip_id}"


def footage_owner(key: str) -> str:
    """The agency or camera a footage key (pinned or in the inbox) was issued to, else ValueError."""
    m = _FOOTAGE_KEY.fullmatch(key.removeprefix(UPLOADS))
    if m is None:
        raise ValueError(f"key {key!r} is not a footage key")
    return m["owner"]


def still_key(clip_id: str, part: int, track: int) -> str:
    """Where the worker leaves the best frame of one face track of a clip's part."""
    return f"{STILLS}{clip_id}/{part}-{track}.jpg"
