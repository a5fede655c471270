"""Dead-letter Lambda: jobs and faces DLQs -> mark the photo failed in MySQL with the stage that failed."""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from facetrace.config import Settings
from facetrace.deadletter import record_dead_letter
from facetrace.photo import PhotoStore
from facetrace.wiring import Wiring

logger = Logger(service="deadletter")


def make_handler(photos: Callable[[], PhotoStore]) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given photo store (tests pass their own)."""
    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel)

    def record_handler(record: SqsRecordModel) -> None:
        record_dead_letter(record.body, record.eventSourceARN.rsplit(":", 1)[-1], photos())

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> dict:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    return handler


_wiring = Wiring(Settings())
handler = make_handler(lambda: _wiring.store)
