"""Dead letters: a message that failed repeatedly marks its photo as failed, with where it failed."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from facetrace.messages import FacesResult, Job
from facetrace.photo import PhotoStatus, PhotoStore

logger = Logger(child=True)

STAGES = {"jobs": "face detection (worker)", "faces": "matching"}


def record_dead_letter(body: str, queue_name: str, photos: PhotoStore, attempts: int = 3) -> str | None:
    """Mark the message's photo as failed with a reason; return the photo id, or None if the message is unreadable."""
    photo_id = photo_id_of(body)
    photo = photos.get_photo(photo_id) if photo_id else None
    if photo is None:
        logger.error("dead letter for no known photo", extra={"queue": queue_name, "body": body[:500]})
        return None
    if photo.status in (PhotoStatus.PROCESSED, PhotoStatus.REJECTED):
        return photo.id  # a later attempt succeeded after all
    stage = STAGES.get(_stage_key(queue_name), queue_name)
    reason = f"gave up after {attempts} failed attempts at {stage}; see the logs for photo {photo.id}"
    photos.set_photo_status(photo.id, PhotoStatus.FAILED, reason=reason)
    logger.warning("photo failed", extra={"photo_id": photo.id, "queue": queue_name})
    return photo.id


def photo_id_of(body: str) -> str | None:
    """The photo a pipeline message is about, whichever stage it belongs to."""
    for model in (Job, FacesResult):
        try:
            parsed = model.model_validate_json(body)
        except ValidationError:
            continue
        return parsed.photo_id if isinstance(parsed, Job) else parsed.job.photo_id
    return None


def _stage_key(queue_name: str) -> str:
    name = queue_name.removesuffix(".fifo").removesuffix("-dlq")
    return name.rsplit("-", 1)[-1]
