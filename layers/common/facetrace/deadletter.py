"""Dead letters: whatever a queue gave up on is traced to its photo or alert, which then gets a final state.

A dead message may be anything: a valid message, another version, an extra field, a Lambda on-failure record
wrapping an S3 event, an SNS envelope, or not JSON at all. Every photo id or upload key it names is looked up;
a photo still on its way becomes `failed` with the stage that gave up (a photo ingest never recorded is
recorded, failed); an alert that could not be delivered gets a failed delivery. A re-embedding job (or its
result) fails its campaign's item instead, never the photo, which was processed before. The sweep is the last
net: a photo still `received` long after any queue could hold its message is failed too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Collection, Iterator, Protocol

from aws_lambda_powertools import Logger

from facetrace.delivery import DeliveryStore
from facetrace.messages import DeliveryRecord, PhotoKind
from facetrace.photo import Photo, PhotoStatus, PhotoStore
from facetrace.reembed import REEMBED, EmbeddedStore, ItemStatus
from facetrace.keys import UPLOADS, parse_key, parse_upload_key

logger = Logger(child=True)

# The queue a dead-letter queue serves -> the stage that gave up on its messages.
STAGES = {"ingest": "ingest", "jobs": "faces", "faces": "match", "alerts": "notify", "deliveries": "deliveries",
          "footage": "match"}
STAGE_NAMES = {"ingest": "checking the upload", "faces": "face detection", "match": "matching",
               "notify": "notification", "deliveries": "recording a delivery", "pipeline": "the pipeline"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ID_FIELDS = ("photo_id", "receipt_id", "sighting_id", "search_id")
MAX_REFERENCES = 20  # a dead message names one photo; a few more is noise, never worth many queries
MAX_DEPTH = 32


class DeadLetterStore(PhotoStore, DeliveryStore, EmbeddedStore, Protocol):
    def alert_exists(self, alert_id: str) -> bool: ...

    def stuck_photos(self, before: datetime, limit: int) -> list[Photo]:
        """Photos still `received` that arrived before `before`, oldest first."""
        ...


@dataclass
class DeadLetterOutcome:
    """What one dead message changed: photos failed (id, stage) and alerts marked undelivered."""

    stage: str
    failed: list[tuple[str, str]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    reembed: list[str] = field(default_factory=list)  # photos whose re-embedding item failed


def record_dead_letter(body: str, queue_name: str, store: DeadLetterStore, attempts: int = 3,
                       footage: Callable[[str, str], bool] | None = None) -> DeadLetterOutcome:
    """Give the photos (or alert) a dead message names a final state; unreadable messages are only logged.
    `footage(body, stage)` gives a clip's part its own final state, and says whether the message was one."""
    stage = stage_of(queue_name)
    outcome = DeadLetterOutcome(stage)
    if stage == "deliveries":
        _record_again(body, store)
    elif stage == "notify":
        outcome.alerts = _undelivered(body, store, attempts)
    elif footage is not None and footage(body, stage):
        return outcome  # a clip's part (facetrace/footage/deadletter.py): the clip's final state follows from it
    else:
        jobs = list(dict.fromkeys(_reembed_jobs(_loads(body))))
        outcome.reembed = _fail_reembeds(jobs, stage, store, attempts)
        # The photo of a re-embedding job was processed long ago: it is not the one to fail.
        outcome.failed = _fail_photos(body, stage, store, attempts, skip={photo_id for _, photo_id in jobs})
    if not outcome.failed and not outcome.alerts and not outcome.reembed and stage != "deliveries":
        logger.error("dead letter names nothing on record", extra={"queue": queue_name, "body": body[:500]})
    return outcome


def stage_of(queue_name: str) -> str:
    """The stage whose messages a dead-letter queue holds, from its name (<stack>-<queue>-dlq[.fifo])."""
    name = queue_name.removesuffix(".fifo").removesuffix("-dlq")
    return STAGES.get(name.rsplit("-", 1)[-1], "pipeline")


def _fail_photos(body: str, stage: str, store: DeadLetterStore, attempts: int,
                 skip: Collection[str] = ()) -> list[tuple[str, str]]:
    reason = f"gave up after {attempts} failed attempts at {STAGE_NAMES[stage]}"
    failed = []
    for photo_id, key in photo_references(body):
        if photo_id in skip:
            continue
        photo = store.get_photo(photo_id)
        if photo is None and key is not None and stage == "ingest":
            changed = _record_failed_upload(photo_id, key, reason, store)
        elif photo is not None:
            changed = store.fail_photo(photo_id, stage, f"{reason}; see the logs for photo {photo_id}")
        else:
            continue
        logger.warning("dead letter", extra={"photo_id": photo_id, "stage": stage, "changed": changed})
        if changed:
            failed.append((photo_id, stage))
    return failed


def _fail_reembeds(jobs: list[tuple[str, str]], stage: str, store: DeadLetterStore, attempts: int) -> list[str]:
    reason = f"gave up after {attempts} failed attempts at {STAGE_NAMES[stage]}"
    failed = []
    for campaign_id, photo_id in jobs:
        changed = store.finish_reembed_item(campaign_id, photo_id, ItemStatus.FAILED, stage, reason,
                                            datetime.now(timezone.utc))
        logger.warning("dead letter", extra={"photo_id": photo_id, "campaign_id": campaign_id, "stage": stage,
                                             "purpose": REEMBED, "changed": changed})
        if changed:
            failed.append(photo_id)
    return failed


def _reembed_jobs(data: Any, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(campaign id, photo id) of every re-embedding job in a JSON value (a Job, or the job of a FacesResult)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(data, dict):
        campaign_id, photo_id = data.get("campaign_id"), data.get("photo_id")
        if data.get("purpose") == REEMBED and isinstance(campaign_id, str) and isinstance(photo_id, str):
            yield campaign_id, photo_id
        for value in data.values():
            yield from _reembed_jobs(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _reembed_jobs(value, depth + 1)
    elif isinstance(data, str) and data[:1] in "{[" and (inner := _loads(data)) is not None:
        yield from _reembed_jobs(inner, depth + 1)  # an SNS envelope or an on-failure record


def _record_failed_upload(photo_id: str, key: str, reason: str, store: DeadLetterStore) -> bool:
    # Ingest never recorded it: record it now, failed, so its receipt says so and nobody waits for it.
    kind, _, case_id = parse_upload_key(key)
    photo = Photo(id=photo_id, kind=kind, case_id=case_id if kind is PhotoKind.REFERENCE else None,
                  s3_key=key.removeprefix(UPLOADS), status=PhotoStatus.FAILED, failed_stage="ingest",
                  reason=reason)
    return store.add_photo(photo)


def _undelivered(body: str, store: DeadLetterStore, attempts: int) -> list[str]:
    alerts = []
    for alert_id in _ids_in(body, ("alert_id",)):
        if store.alert_exists(alert_id):
            store.record_delivery(alert_id, "email", "(all recipients)", False, None,
                                  f"notification gave up after {attempts} failed attempts")
            logger.warning("alert undelivered", extra={"alert_id": alert_id})
            alerts.append(alert_id)
    return alerts


def _record_again(body: str, store: DeadLetterStore) -> None:
    try:
        record = DeliveryRecord.model_validate_json(body)
    except ValueError:
        logger.error("dead delivery report is unreadable", extra={"body": body[:500]})
        return
    store.record_delivery(record.alert_id, record.channel, record.recipient, record.ok, record.provider_id,
                          record.error)


def sweep_stuck_photos(store: DeadLetterStore, before: datetime, limit: int = 1000) -> list[str]:
    """Fail every photo still `received` that arrived before `before` (no queue holds its message any more)."""
    failed = []
    for photo in store.stuck_photos(before, limit):
        reason = f"no result since {photo.id} arrived; every queue would have delivered or dead-lettered it by now"
        if store.fail_photo(photo.id, "pipeline", reason):
            failed.append(photo.id)
    if failed:
        logger.warning("stuck photos failed", extra={"photos": len(failed), "before": before.isoformat()})
    return failed


def photo_references(body: str) -> list[tuple[str, str | None]]:
    """(photo id, upload key or None) for every photo a message may name, most specific first."""
    found: dict[str, str | None] = {}
    for value in _strings(_loads(body)):
        for photo_id, key in _as_reference(value):
            if found.get(photo_id) is None:
                found[photo_id] = key
    for match in _UUID.finditer(body.lower()):
        found.setdefault(match.group(), None)
    return list(found.items())[:MAX_REFERENCES]


def _as_reference(value: tuple[str | None, str]) -> Iterator[tuple[str, str | None]]:
    name, text = value
    for parse in (parse_upload_key, parse_key):
        try:
            kind, photo_id, _ = parse(text)
        except ValueError:
            continue
        yield photo_id, text if parse is parse_upload_key else None
        return
    if name in _ID_FIELDS and _UUID.fullmatch(text):
        yield text, None


def _ids_in(body: str, names: tuple[str, ...]) -> list[str]:
    named = [text for name, text in _strings(_loads(body)) if name in names and _UUID.fullmatch(text)]
    return list(dict.fromkeys(named + _UUID.findall(body.lower())))[:MAX_REFERENCES]


def _loads(body: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _strings(data: Any, name: str | None = None, depth: int = 0) -> Iterator[tuple[str | None, str]]:
    """Every string in a JSON value with the key it sits under; JSON inside strings (SNS envelopes) is opened."""
    if depth > MAX_DEPTH:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, str(key), depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value, name, depth + 1)
    elif isinstance(data, str):
        yield name, data
        if data[:1] in "{[" and (inner := _loads(data)) is not None:
            yield from _strings(inner, name, depth + 1)
