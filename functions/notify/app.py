"""Notify Lambda: alerts queue (fed by the alerts SNS topic) -> SES e-mail and SMS summary, each recorded."""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from facetrace.config import Settings
from facetrace.messages import AlertMessage
from facetrace.notify import deliver_alert
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers
metrics = Metrics(namespace="FaceTrace")


class AlertRecord(SqsRecordModel):
    body: Json[AlertMessage]


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring (tests pass their own)."""
    processor = BatchProcessor(event_type=EventType.SQS, model=AlertRecord)

    @logger.inject_lambda_context
    @metrics.log_metrics
    def handler(event: dict, context: Any) -> dict:
        deps = wiring.notify(context)

        def record_handler(record: AlertRecord) -> None:
            sent = deliver_alert(record.body, deps)
            metrics.add_metric(name="Deliveries", unit=MetricUnit.Count, value=len(sent))

        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    return handler


handler = make_handler(Wiring(Settings()))
