"""Upload tickets: presigned POSTs whose key, size and type the server decides."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal
from urllib.parse import quote, unquote

from pydantic import BaseModel, Field

from facetrace.case import CaseStatus, CaseStore
from facetrace.image_check import Limits
from facetrace.photo import reference_key, sighting_key
from facetrace.ports import ObjectStore

ContentType = Literal["image/jpeg", "image/png", "image/webp"]


class SightingDetails(BaseModel):
    """What a citizen may tell about a photo; all optional."""

    content_type: ContentType = "image/jpeg"
    taken_at: datetime | None = None
    place: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    contact: str | None = Field(default=None, max_length=300)


class UploadTicket(BaseModel):
    """The receipt id and the form to POST the file to S3 with."""

    receipt_id: str
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_in: int


def request_sighting_upload(details: SightingDetails, objects: ObjectStore, limits: Limits, ttl_s: int) -> UploadTicket:
    """Issue a presigned POST for one citizen sighting."""
    photo_id = str(uuid.uuid4())
    return _ticket(photo_id, sighting_key(photo_id), details.content_type, encode_metadata(details), objects, limits, ttl_s)


def request_reference_upload(
    case_id: str, content_type: ContentType, cases: CaseStore, objects: ObjectStore, limits: Limits, ttl_s: int
) -> UploadTicket:
    """Issue a presigned POST for one reference photo of an open case."""
    case = cases.get_case(case_id)
    if case is None or case.status is not CaseStatus.OPEN:
        raise LookupError(f"case {case_id} is not open")
    photo_id = str(uuid.uuid4())
    return _ticket(photo_id, reference_key(case_id, photo_id), content_type, {}, objects, limits, ttl_s)


def _ticket(photo_id, key, content_type, metadata, objects: ObjectStore, limits: Limits, ttl_s) -> UploadTicket:
    form = objects.presign_post(key, content_type, limits.min_bytes, limits.max_bytes, metadata, ttl_s)
    return UploadTicket(receipt_id=photo_id, url=form.url, fields=form.fields, max_bytes=limits.max_bytes, expires_in=ttl_s)


def encode_metadata(details: SightingDetails) -> dict[str, str]:
    """S3 user metadata for a sighting; values percent-encoded because S3 headers are ASCII only."""
    raw = details.model_dump(exclude={"content_type"}, exclude_none=True, mode="json")
    return {name.replace("_", "-"): quote(str(value), safe="") for name, value in raw.items()}


def decode_metadata(metadata: dict[str, str]) -> SightingDetails:
    """Read sighting details back from S3 user metadata; unknown or invalid fields are dropped."""
    known = {"taken-at", "place", "lat", "lon", "contact"}
    values = {k.replace("-", "_"): unquote(v) for k, v in metadata.items() if k in known}
    try:
        return SightingDetails(**values)
    except ValueError:
        return SightingDetails(**{k: v for k, v in values.items() if k in ("place", "contact")})
