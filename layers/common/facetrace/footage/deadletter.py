"""Dead letters of footage: a clip's part that a queue gave up on gets a final state of its own.

A dead part job (the worker kept failing, or died, on it) is forwarded to the footage function as a failed result,
so the clip is finished there like any other (its other parts' appearances searched, the clip failed naming the
part). A dead part result (the footage function kept failing on it) fails the part and the clip here. A dead
progress report changes nothing: the part's result, or its dead job, follows.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Protocol

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from facetrace.deadletter import STAGE_NAMES
from facetrace.footage.clip import FootageStore, PartOutcome, PartStatus
from facetrace.messages import FootageProgress, Job, PhotoKind, TracksResult
from facetrace.photo import PhotoStore
from facetrace.ports import Queue

logger = Logger(child=True)


class DeadFootageStore(FootageStore, PhotoStore, Protocol):
    """Parts and the clip's photo row."""


def dead_footage(body: str, stage: str, store: DeadFootageStore, results: Queue, attempts: int) -> bool:
    """Give the part a dead footage message names a final state; False when the message is not footage's."""
    reason = f"gave up after {attempts} failed attempts at {STAGE_NAMES.get(stage, stage)}"
    message = _footage_message(body)
    if isinstance(message, Job):
        failed = TracksResult(job=message, status="failed", stage="faces", error=reason)
        results.send(failed.model_dump_json(), dedup_id=f"{message.photo_id}:{message.part.index}:dead")
        logger.warning("dead part forwarded", extra={"photo_id": message.photo_id, "part": message.part.index,
                                                     "stage": stage})
    elif isinstance(message, TracksResult):
        _fail_part(message, stage, reason, store)
    elif isinstance(message, FootageProgress):
        logger.info("dead progress report ignored", extra={"photo_id": message.clip_id, "part": message.part})
    return message is not None


def _footage_message(body: str) -> Job | TracksResult | FootageProgress | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    kind = {"tracks": TracksResult, "progress": FootageProgress}.get(data.get("type"), Job)
    try:
        message = kind.model_validate(data)
    except ValidationError:
        return None
    if isinstance(message, Job) and (message.kind is not PhotoKind.FOOTAGE or message.part is None):
        return None
    return message


def _fail_part(result: TracksResult, stage: str, reason: str, store: DeadFootageStore) -> None:
    clip_id, part = result.job.photo_id, result.job.part.index if result.job.part else 0
    store.finish_part(clip_id, part, PartOutcome(status=PartStatus.FAILED, stage=stage, reason=reason))
    changed = store.fail_photo(clip_id, stage, f"part {part + 1}: {reason}")
    logger.warning("dead part result", extra={"photo_id": clip_id, "part": part, "stage": stage,
                                              "changed": changed, "at": datetime.now(timezone.utc).isoformat()})
