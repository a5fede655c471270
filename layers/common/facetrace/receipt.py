"""Receipts: what a citizen may learn about their upload (its status), and nothing about matches."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from facetrace.messages import PhotoKind
from facetrace.photo import PhotoStatus, PhotoStore


class Receipt(BaseModel):
    receipt_id: str
    status: Literal["pending", "received", "processed", "rejected", "failed"]
    reason: str | None = None


def receipt_status(receipt_id: str, photos: PhotoStore) -> Receipt:
    """The upload's status; 'pending' until the upload has arrived and been checked."""
    photo = photos.get_photo(receipt_id)
    # A search's status is read at GET /searches/{id} by its agency only, never through the public receipts.
    if photo is None or photo.kind is PhotoKind.SEARCH:
        return Receipt(receipt_id=receipt_id, status="pending")
    # Only rejection reasons are the citizen's business; failure details stay internal.
    reason = photo.reason if photo.status is PhotoStatus.REJECTED else None
    return Receipt(receipt_id=receipt_id, status=photo.status.value, reason=reason)
