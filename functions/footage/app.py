"""Footage Lambda: footage queue -> a part's progress or tracks; once a clip's last part is in, its appearances are
searched and alerted (one alert per appearance and case) and the clip gets its final state."""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from facetrace.config import Settings
from facetrace.footage.results import handle_footage_message, parse_message
from facetrace.telemetry import count_failed_photos
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers
metrics = Metrics(namespace="FaceTrace")


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring (tests pass their own)."""
    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel)

    def record_handler(record: SqsRecordModel) -> None:
        outcome = handle_footage_message(parse_message(record.body), wiring.footage())
        if outcome.finished:
            metrics.add_metric(name="ClipsFinished", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="AlertsRaised", unit=MetricUnit.Count, value=len(outcome.alerts))
        if outcome.failed_stage:
            count_failed_photos([outcome.failed_stage])

    @logger.inject_lambda_context
    @metrics.log_metrics
    def handler(event: dict, context: Any) -> dict:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    return handler


handler = make_handler(Wiring(Settings()))
