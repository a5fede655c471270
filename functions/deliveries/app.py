"""Deliveries Lambda: deliveries queue -> store each e-mail/SMS delivery of an alert in MySQL."""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from facetrace.config import Settings
from facetrace.delivery import record_delivery
from facetrace.messages import DeliveryRecord
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers


class DeliveryRecordModel(SqsRecordModel):
    body: Json[DeliveryRecord]


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring (tests pass their own)."""
    processor = BatchProcessor(event_type=EventType.SQS, model=DeliveryRecordModel)

    def record_handler(record: DeliveryRecordModel) -> None:
        record_delivery(record.body, wiring.store)

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> dict:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    return handler


handler = make_handler(Wiring(Settings()))
