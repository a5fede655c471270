"""Erasure after retention: reference photos of closed cases after their grace period, and old sightings
that never got a confirmed match. What is erased: the S3 object, the faces' embeddings and the citizen's
contact and place; the photo row stays (marked erased) so alerts and the audit trail still point somewhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Protocol

from aws_lambda_powertools import Logger

from facetrace.photo import Photo
from facetrace.past_sightings import retention_start

logger = Logger(child=True)


class RetentionStore(Protocol):
    def due_reference_photos(self, now: datetime, limit: int) -> list[Photo]:
        """Reference photos of closed cases whose references_delete_after has passed, not yet erased."""
        ...

    def expired_sightings(self, before: datetime, limit: int) -> list[Photo]:
        """Sightings that arrived before `before`, not erased, with no confirmed alert."""
        ...

    def erase_photo(self, photo_id: str, at: datetime) -> None:
        """Clear the photo's face embeddings and the uploader's contact and place; mark it erased."""
        ...


class ObjectRemover(Protocol):
    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class PurgeReport:
    """How many photos a purge erased, and whether nothing more was due when it stopped."""

    references: int
    sightings: int
    complete: bool = True


def purge(store: RetentionStore, objects: ObjectRemover, retention_days: int, now: datetime | None = None,
          limit: int = 1000) -> PurgeReport:
    """Erase every due reference photo and expired sighting (at most `limit` of each per run)."""
    now = now or datetime.now(timezone.utc)
    references = _erase(store, objects, store.due_reference_photos(now, limit), now)
    sightings = _erase(store, objects, store.expired_sightings(retention_start(retention_days, now), limit), now)
    logger.info("purge", extra={"references": references, "sightings": sightings})
    return PurgeReport(references, sightings)


def _erase(store: RetentionStore, objects: ObjectRemover, photos: list[Photo], now: datetime) -> int:
    for photo in photos:
        # The object goes first: if that fails the row is not marked and the next run tries again.
        objects.delete(photo.s3_key)
        store.erase_photo(photo.id, now)
    return len(photos)


def purge_due(store: RetentionStore, objects: ObjectRemover, retention_days: int, batch: int,
              time_left: Callable[[], float], reserve_s: float = 60) -> PurgeReport:
    """Purge batch after batch until nothing more is due, or until fewer than reserve_s seconds are left (the
    report then says it is incomplete; the next run goes on where this one stopped)."""
    references = sightings = 0
    while True:
        report = purge(store, objects, retention_days, limit=batch)
        references, sightings = references + report.references, sightings + report.sightings
        more = report.references == batch or report.sightings == batch
        if not more or time_left() < reserve_s:
            done = PurgeReport(references, sightings, complete=not more)
            logger.info("purge finished", extra={"references": references, "sightings": sightings,
                                                 "complete": done.complete})
            return done
