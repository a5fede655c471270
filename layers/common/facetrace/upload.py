"""Upload tickets: presigned POSTs whose key, size and type the server decides."""

from __future__ import annotations

import os
from dataclasses import dataclass
import time
import uuid
from datetime import datetime, timezone
from typing import Literal
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, Field

from facetrace.case import Place, SeenAt
from facetrace.image_check import Limits
from facetrace.keys import reference_key, sighting_key, upload_key
from facetrace.ports import ObjectStore

ContentType = Literal["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "image/avif"]


class SightingDetails(BaseModel):
    """What a citizen may tell about a photo; all optional, each with the same rules as a case's details."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not a detail silently lost

    content_type: ContentType = "image/jpeg"
    taken_at: SeenAt | None = None
    place: Place | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    contact: Place | None = None


class UploadTicket(BaseModel):
    """The receipt id and the form to POST the file to S3 with: `fields` first, then the file as `file`, last."""

    receipt_id: str = Field(description="the photo's id: a citizen's receipt number, or a reference photo's id")
    url: str = Field(description="POST a multipart/form-data form here (S3, not this API)")
    fields: dict[str, str] = Field(description="form fields to send as they are (key, policy, signature, "
                                   "Content-Type...), before the file")
    max_bytes: int = Field(description="the largest file the form accepts")
    expires_in: int = Field(description="seconds the form stays valid")


@dataclass(frozen=True)
class Uploads:
    """Issues upload tickets: presigned POSTs to the bucket's inbox under the server's key, within the limits."""

    objects: ObjectStore
    limits: Limits
    ttl_s: int

    def sighting(self, details: SightingDetails) -> UploadTicket:
        """A ticket for one citizen sighting; its details travel as signed metadata."""
        photo_id = new_receipt_id()
        return self.ticket(photo_id, sighting_key(photo_id), details.content_type, encode_metadata(details))

    def reference(self, case_id: str, content_type: ContentType) -> UploadTicket:
        """A ticket for one reference photo of a case (the caller checks the case is open and the agency's)."""
        photo_id = new_receipt_id()
        return self.ticket(photo_id, reference_key(case_id, photo_id), content_type)

    def ticket(self, photo_id: str, key: str, content_type: ContentType,
               metadata: dict[str, str] | None = None) -> UploadTicket:
        """A ticket for the photo that ingest will pin under `key`."""
        # The browser writes to the inbox; ingest pins the checked bytes under `key`, which no ticket can reach.
        limits = self.limits
        form = self.objects.presign_post(upload_key(key), content_type, limits.min_bytes, limits.max_bytes,
                                         metadata or {}, self.ttl_s)
        return UploadTicket(receipt_id=photo_id, url=form.url, fields=form.fields, max_bytes=limits.max_bytes,
                            expires_in=self.ttl_s)


def new_receipt_id(now: float | None = None) -> str:
    """A UUIDv7: random, but its first 48 bits are the issue time in ms, so a receipt knows when its ticket ran out."""
    ms = int((time.time() if now is None else now) * 1000)
    raw = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)  # version 7
    raw[8] = 0x80 | (raw[8] & 0x3F)  # RFC 4122 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def issued_at(receipt_id: str) -> datetime | None:
    """When a receipt id made by new_receipt_id was issued; None for any other id."""
    try:
        value = uuid.UUID(receipt_id)
    except ValueError:
        return None
    if value.version != 7:
        return None
    return datetime.fromtimestamp(int.from_bytes(value.bytes[:6], "big") / 1000, tz=timezone.utc)


def encode_metadata(details: SightingDetails) -> dict[str, str]:
    """S3 user metadata for a sighting; values percent-encoded because S3 headers are ASCII only."""
    raw = details.model_dump(exclude={"content_type"}, exclude_none=True, mode="json")
    return {name.replace("_", "-"): quote(str(value), safe="") for name, value in raw.items()}


def decode_metadata(metadata: dict[str, str]) -> SightingDetails:
    """Read sighting details back from S3 user metadata; unknown or invalid fields are dropped."""
    known = {"taken-at", "place", "lat", "lon", "contact"}
    values = {k.replace("-", "_"): unquote(v) for k, v in metadata.items() if k in known}
    return SightingDetails(**{k: v for k, v in values.items() if _valid(k, v)})


def _valid(name: str, value: str) -> bool:
    try:
        SightingDetails(**{name: value})
    except ValueError:
        return False
    return True
