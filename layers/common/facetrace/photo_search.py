"""Search by photo (issue #6): an agency uploads a photo and reads back the closest cases it may see.

Asynchronous, because only the GPU worker runs the face model: `start_search` records the search and issues a
presigned POST for `searches/<agency>/<search>`; ingest records the upload as a photo of kind `search` and
queues a job; the worker embeds it as usual; `run_search` (called by match) searches the gallery and stores the
top candidates among the cases the agency may see. A search stores no faces, no matches and raises no alert, so
the photo never becomes searchable itself; match deletes the S3 object once searched (a 1-day lifecycle rule on
`searches/` is the backstop). Creating a search and reading its result are both audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Literal, Protocol, Sequence

import numpy as np
from pydantic import BaseModel

from facetrace.access import NotVisible, Viewer
from facetrace.audit import AuditAction, AuditLog, record
from facetrace.gallery import Candidate
from facetrace.gallery.cache import GalleryCache
from facetrace.messages import FacesResult
from facetrace.photo import Photo, PhotoStatus, PhotoStore
from facetrace.keys import search_key
from facetrace.ports import ObjectStore
from facetrace.upload import ContentType, Uploads, UploadTicket

# Candidates kept per search: enough for a person to compare, few enough to stay a short list.
MAX_CANDIDATES = 10


class Search(BaseModel):
    """Who asked for a search and when; its photo is a row of kind `search` with the same id."""

    id: str
    agency_id: str
    user_sub: str
    created_at: datetime
    completed_at: datetime | None = None


class SearchCandidate(BaseModel):
    """A case the agency may see whose reference face resembles a face of the search photo."""

    case_id: str
    person_name: str | None = None
    score: float
    reference_face_id: int
    face_index: int  # which face of the search photo


class SearchResult(BaseModel):
    """What GET /searches/{id} answers: pending until the photo is searched, then the candidates, best first."""

    search_id: str
    status: Literal["pending", "received", "done", "rejected", "failed"]
    reason: str | None = None
    faces: int | None = None
    created_at: datetime
    completed_at: datetime | None = None
    candidates: list[SearchCandidate] = []


class SearchTicket(UploadTicket):
    """The upload form for a search photo; receipt_id is the search id."""

    search_id: str


class SearchStore(Protocol):
    def add_search(self, search: Search) -> None: ...

    def get_search(self, search_id: str) -> Search | None: ...

    def visible_case_ids(self, agency_id: str) -> set[str]:
        """Ids of the open cases the agency owns or that were shared with it."""
        ...

    def complete_search(self, search_id: str, candidates: Sequence[SearchCandidate], at: datetime) -> None:
        """Store the candidates (replacing any from an earlier attempt) and mark the search completed."""
        ...

    def search_candidates(self, search_id: str) -> list[SearchCandidate]:
        """The stored candidates, best first, with the case's person name."""
        ...


class SearchReader(SearchStore, PhotoStore, AuditLog, Protocol):
    """What reading a search result needs."""


class SearchStarter(SearchStore, AuditLog, Protocol):
    """What starting a search records."""


class SearchWriter(SearchStore, PhotoStore, Protocol):
    """What running a search reads and writes."""


def start_search(store: SearchStarter, viewer: Viewer, content_type: ContentType, uploads: Uploads) -> SearchTicket:
    """Record a new search for the viewer's agency (audited) and issue the presigned POST for its photo."""
    search = Search(id=str(uuid.uuid4()), agency_id=viewer.agency_id, user_sub=viewer.user_sub,
                    created_at=datetime.now(timezone.utc))
    store.add_search(search)
    record(store, viewer, AuditAction.SEARCH_CREATED, object_ids=[search.id])
    ticket = uploads.ticket(search.id, search_key(viewer.agency_id, search.id), content_type)
    return SearchTicket(**ticket.model_dump(), search_id=search.id)


def search_result(store: SearchReader, viewer: Viewer, search_id: str) -> SearchResult:
    """The search's status and candidates; only the agency that made it may read it (audited)."""
    search = store.get_search(search_id)
    if search is None or search.agency_id != viewer.agency_id:
        raise NotVisible(f"search {search_id} not found")
    photo = store.get_photo(search_id)
    candidates = store.search_candidates(search_id) if search.completed_at else []
    record(store, viewer, AuditAction.SEARCH_VIEWED, object_ids=[search_id, *(c.case_id for c in candidates)])
    status = _status(photo, search)
    # Failure details stay internal; a rejection or "no face" is the searcher's business.
    reason = "processing failed" if status == "failed" else (photo.reason if photo else None)
    return SearchResult(search_id=search_id, status=status, reason=reason,
                        faces=photo.face_count if photo else None, created_at=search.created_at,
                        completed_at=search.completed_at, candidates=candidates)


def _status(photo: Photo | None, search: Search) -> str:
    if photo is None:
        return "pending"
    if photo.status is PhotoStatus.PROCESSED:
        return "done" if search.completed_at else "received"
    return photo.status.value


def run_search(photo: Photo, result: FacesResult, store: SearchWriter, galleries: GalleryCache,
               objects: ObjectStore, min_score: float) -> list[SearchCandidate]:
    """Search every usable face of a search photo among the cases its agency may see; store nothing else."""
    search = store.get_search(photo.id)
    if search is None:
        raise LookupError(f"search {photo.id} is not recorded")
    probes = [f for f in result.faces if f.quality.usable_as_sighting]
    best: dict[str, SearchCandidate] = {}
    if probes:
        visible = store.visible_case_ids(search.agency_id)
        gallery = galleries.current(result.model.name, result.model.dim)
        # Every case above the threshold, then only the visible ones: other agencies' cases never show.
        hits = gallery.search(np.stack([f.embedding() for f in probes]), min_score, k=max(len(gallery), 1))
        for face, found in zip(probes, hits):
            for c in found:
                if c.case_id in visible and (c.case_id not in best or c.score > best[c.case_id].score):
                    best[c.case_id] = _candidate(c, face.index)
    top = sorted(best.values(), key=lambda c: -c.score)[:MAX_CANDIDATES]
    store.complete_search(photo.id, top, datetime.now(timezone.utc))
    store.set_photo_status(photo.id, PhotoStatus.PROCESSED,
                            reason=None if probes else _no_face(result), face_count=len(result.faces))
    # The photo was only needed for this search.
    objects.delete(photo.s3_key)
    return top


def _candidate(c: Candidate, face_index: int) -> SearchCandidate:
    return SearchCandidate(case_id=c.case_id, score=round(float(c.score), 4), reference_face_id=c.reference_face_id,
                           face_index=face_index)


def _no_face(result: FacesResult) -> str:
    if not result.faces:
        return "no face found in the photo"
    return "no face good enough to search: " + "; ".join(sorted({r for f in result.faces for r in f.quality.reasons}))
