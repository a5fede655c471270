"""Ingest Lambda: S3 ObjectCreated under uploads/ -> check the upload, pin it, record it in MySQL, queue a face job
(or a clip's part jobs)."""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model

from facetrace.config import Settings
from facetrace.footage.ingest import ingest_footage, is_footage
from facetrace.ingest import Upload, ingest_upload
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers
metrics = Metrics(namespace="FaceTrace")


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring (tests pass their own)."""

    @logger.inject_lambda_context
    @metrics.log_metrics
    def handler(event: dict, context: Any) -> dict:
        s3_event = parse(event=event, model=S3Model)
        uploads = [Upload(unquote_plus(r.s3.object.key), r.s3.object.eTag) for r in s3_event.Records]
        # Video clips (uploads/footage/...) are checked by the video library; photos as before.
        photos = [ingest_footage(upload, wiring.footage_ingest()) if is_footage(upload.key)
                  else ingest_upload(upload, wiring.ingest()) for upload in uploads]
        outcomes = [{"photo_id": p.id, "status": p.status.value, "reason": p.reason} for p in photos if p]
        for o in outcomes:
            metrics.add_metric(name=f"Photos{o['status'].title()}", unit=MetricUnit.Count, value=1)
        return {"photos": outcomes}

    return handler


handler = make_handler(Wiring(Settings()))
