"""Receipts: what a citizen may learn about their upload (its status), and nothing about matches."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, Field

from facetrace.messages import PhotoKind
from facetrace.photo import PhotoStatus, PhotoStore
from facetrace.keys import sighting_key, upload_key
from facetrace.ports import ObjectStore
from facetrace.upload import issued_at

# S3 announces an upload within seconds; this much after a ticket expires, an upload that never came never will.
ARRIVAL_GRACE = timedelta(minutes=2)
# Clocks differ a little between the API's hosts; an id from further ahead was not issued here.
CLOCK_SKEW = timedelta(minutes=5)


class UnknownReceipt(LookupError):
    """No upload ticket was issued with this id (answered as 404)."""


# What a citizen reads when their photo was searched but held no face to search with.
NO_FACE = "no face was found in the photo, so it could not be searched; a clearer, closer photo may help"


class Receipt(BaseModel):
    """What the uploader of a sighting may know: its status, why (when rejected or faceless), and its faces."""

    receipt_id: str
    status: Literal["pending", "received", "processed", "rejected", "failed", "duplicate", "expired"]
    reason: str | None = None
    faces: int | None = Field(default=None, description="faces found in the photo, once processed (never who they are)")


def receipt_status(receipt_id: str, photos: PhotoStore, inbox: ObjectStore, ticket_ttl_s: int,
                   now: datetime | None = None) -> Receipt:
    """The upload's status; 'pending' until it arrives and is checked, 'expired' if it never arrived."""
    photo = photos.get_photo(receipt_id)
    # A search's status is read at GET /searches/{id} by its agency only, never through the public receipts.
    if photo is not None and photo.kind is not PhotoKind.SEARCH:
        # Only rejection and duplicate reasons are the citizen's business; failure details stay internal.
        shown = photo.reason if photo.status in (PhotoStatus.REJECTED, PhotoStatus.DUPLICATE) else None
        faces = photo.face_count if photo.status is PhotoStatus.PROCESSED else None
        if faces == 0:
            shown = NO_FACE
        return Receipt(receipt_id=receipt_id, status=photo.status.value, reason=shown, faces=faces)
    return _not_recorded(receipt_id, inbox, ticket_ttl_s, now or datetime.now(timezone.utc))


def _not_recorded(receipt_id: str, inbox: ObjectStore, ticket_ttl_s: int, now: datetime) -> Receipt:
    issued = issued_at(receipt_id)
    if issued is None or issued > now + CLOCK_SKEW:
        raise UnknownReceipt(f"receipt {receipt_id} not found")
    expires = issued + timedelta(seconds=ticket_ttl_s)
    if now < expires + ARRIVAL_GRACE or inbox.exists(upload_key(sighting_key(receipt_id))):
        return Receipt(receipt_id=receipt_id, status="pending")
    reason = f"no photo arrived before the upload ticket expired at {expires.isoformat(timespec='seconds')}"
    return Receipt(receipt_id=receipt_id, status="expired", reason=reason)
