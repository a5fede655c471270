"""Match Lambda: faces queue -> enrol reference faces or search sighting faces, record matches, raise alerts."""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json, ValidationError

from facetrace.config import Settings
from facetrace.match import Thresholds, process_faces, find_candidates
from facetrace.messages import FacesResult, ModelInfo
from facetrace.telemetry import count_failed_photos
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers
metrics = Metrics(namespace="FaceTrace")


class FacesRecord(SqsRecordModel):
    body: Json[FacesResult]


def _parsed(event: dict) -> list[FacesResult]:
    results = []
    for record in event.get("Records", []):
        try:
            results.append(FacesResult.model_validate_json(record["body"]))
        except (ValidationError, KeyError, TypeError):
            continue  # fails on its own in the record handler, with its reason
    return results


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring (tests pass their own)."""
    settings = wiring.settings
    processor = BatchProcessor(event_type=EventType.SQS, model=FacesRecord)

    def thresholds(model: ModelInfo) -> Thresholds:
        return Thresholds.of(model, settings.default_match_threshold, settings.default_alert_threshold)

    @logger.inject_lambda_context
    @metrics.log_metrics
    def handler(event: dict, context: Any) -> dict:
        deps = wiring.match()
        # One gallery search for the whole batch; a record it could not search is searched on its own below.
        found = find_candidates(_parsed(event), deps, thresholds)

        def record_handler(record: FacesRecord) -> None:
            result = record.body
            outcome = process_faces(result, deps, thresholds(result.model) if result.model else None, found)
            metrics.add_metric(name="AlertsRaised", unit=MetricUnit.Count, value=len(outcome.alerts))
            if outcome.failed_stage:
                count_failed_photos([outcome.failed_stage])
            if outcome.reembed:  # progress of a model change (facetrace/reembed.py): ReembedDone, ReembedFailed
                metrics.add_metric(name=f"Reembed{outcome.reembed.title()}", unit=MetricUnit.Count, value=1)

        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    return handler


handler = make_handler(Wiring(Settings()))
