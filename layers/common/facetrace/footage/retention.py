"""Erasing footage after retention: a clip that arrived more than RetentionDays ago is deleted from the bucket
and its tracks from the store, unless one of its appearances has a confirmed alert (then it is evidence, kept
like a sighting with a confirmed match). Its appearances are sightings, erased by the ordinary purge."""

from __future__ import annotations

from datetime import datetime, timezone

from aws_lambda_powertools import Logger

from facetrace.footage.clip import FootageStore
from facetrace.past_sightings import retention_start
from typing import Protocol

from facetrace.retention import RetentionStore
from facetrace.retention import ObjectRemover

logger = Logger(child=True)


class FootageRetentionStore(FootageStore, RetentionStore, Protocol):
    """Clips and the photo rows that carry their life cycle."""


def purge_footage(store: FootageRetentionStore, objects: ObjectRemover, retention_days: int,
                  now: datetime | None = None, limit: int = 100) -> int:
    """Erase every clip past retention without a confirmed appearance (at most `limit` per run); how many."""
    now = now or datetime.now(timezone.utc)
    clips = store.expired_footage(retention_start(retention_days, now), limit)
    for clip in clips:
        # The object goes first: if that fails nothing is marked and the next run tries again.
        objects.delete(clip.s3_key)
        store.erase_footage(clip.id, now)
        store.erase_photo(clip.id, now)
    if clips:
        logger.info("footage erased", extra={"clips": len(clips)})
    return len(clips)
