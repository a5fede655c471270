"""Dead-letter Lambda: every dead-letter queue -> a final state for the photo or alert a message names;
hourly (EventBridge) -> the sweep that fails photos no queue holds any more."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from facetrace.config import Settings
from facetrace.deadletter import record_dead_letter, sweep_stuck_photos
from facetrace.footage.deadletter import dead_footage
from facetrace.reembed import sweep_stuck_items
from facetrace.telemetry import count_failed_photos
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring (tests pass their own)."""
    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel)
    settings = wiring.settings

    def footage(body: str, stage: str) -> bool:
        return dead_footage(body, stage, wiring.store, wiring.footage_queue, settings.max_receives)

    def record_handler(record: SqsRecordModel) -> None:
        queue = record.eventSourceARN.rsplit(":", 1)[-1]
        outcome = record_dead_letter(record.body, queue, wiring.store, settings.max_receives, footage)
        count_failed_photos(stage for _, stage in outcome.failed)

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> dict:
        if event.get("source") == "aws.events":  # the hourly schedule
            before = datetime.now(timezone.utc) - timedelta(hours=settings.stuck_after_hours)
            failed = sweep_stuck_photos(wiring.store, before)
            count_failed_photos(["pipeline"] * len(failed))
            return {"failed": failed, "reembed_failed": sweep_stuck_items(wiring.store, before)}
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    return handler


handler = make_handler(Wiring(Settings()))
