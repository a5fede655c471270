"""Near misses: sightings that resembled a case above the match threshold but below the alert threshold.

Match stores every candidate above the pack's match threshold (`matches`) and raises an alert only above its
alert threshold, once per (sighting, case). A near miss is a stored match of a case whose sighting raised no
alert for that case: a true sighting scored a little low (0.9576 against 0.958) would otherwise never be seen.
Reviewers of the case (owner and shared agencies) list them by score and may open one to compare the photos;
opening is audited like an alert's viewing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

from facetrace.access import NotVisible, Viewer, visible_case
from facetrace.audit import AuditAction, record
from facetrace.case import Case
from facetrace.photo import Photo
from facetrace.review import ReviewDeps, ReviewStore

MAX_NEAR_MISSES = 200


class NearMiss(BaseModel):
    """A sighting face's best stored match with a case that raised no alert for that sighting."""

    case_id: str
    sighting_id: str
    sighting_face_id: int
    reference_face_id: int
    score: float
    matched_at: datetime | None = None
    seen_at: datetime | None = None
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    erased: bool = Field(default=False, description="the sighting was erased after retention: no photo to show")


class NearMissDetail(BaseModel):
    """What a reviewer needs to look at one near miss: the case, the face box and both photos."""

    near_miss: NearMiss
    case: Case
    face_box: tuple[float, float, float, float] | None = None
    sighting_photo_url: str | None = Field(default=None, description="presigned GET; null once the photo is erased")
    reference_photo_url: str | None = Field(default=None, description="presigned GET; null once the photo is erased")
    urls_expire_in: int


class NearMissStore(ReviewStore, Protocol):
    def near_misses(self, case_id: str, limit: int) -> list[NearMiss]:
        """The case's near misses, best score first: each sighting face once, with its best match."""
        ...

    def near_miss(self, case_id: str, sighting_face_id: int) -> NearMiss | None: ...


def list_near_misses(store: NearMissStore, viewer: Viewer, case_id: str, limit: int = 50) -> list[NearMiss]:
    """A visible case's near misses, best first (no photos: opening one is what shows, and audits, them)."""
    visible_case(store, viewer, case_id)
    return store.near_misses(case_id, min(limit, MAX_NEAR_MISSES))


def open_near_miss(deps: ReviewDeps, viewer: Viewer, case_id: str, sighting_face_id: int) -> NearMissDetail:
    """One near miss with presigned links to both photos; the viewing is audited before any link is made."""
    store: NearMissStore = deps.store  # type: ignore[assignment]
    case = visible_case(store, viewer, case_id)
    miss = store.near_miss(case_id, sighting_face_id)
    if miss is None:
        raise NotVisible(f"near miss {sighting_face_id} of case {case_id} not found")
    face = store.face_location(sighting_face_id)
    ref = store.face_location(miss.reference_face_id)
    sighting = store.get_photo(miss.sighting_id)
    reference = store.get_photo(ref.photo_id) if ref else None
    shown = [p for p in (sighting, reference) if p is not None and p.erased_at is None]
    record(store, viewer, AuditAction.NEAR_MISS_VIEWED, case.id, object_ids=[p.id for p in shown],
           reason=f"score {miss.score:.4f}")
    return NearMissDetail(near_miss=miss, case=case, face_box=face.box if face else None,
                          sighting_photo_url=_url(deps, sighting, shown), reference_photo_url=_url(deps, reference, shown),
                          urls_expire_in=deps.url_ttl_s)


def _url(deps: ReviewDeps, photo: Photo | None, shown: list[Photo]) -> str | None:
    return deps.objects.presign_get(photo.s3_key, deps.url_ttl_s) if photo in shown else None
