"""Archive search Lambda: one segment of the sighting archive searched exactly, as one item of the retro-search
state machine's Map state (outside the VPC: it reads the bucket only, never the database)."""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger

from facetrace.config import Settings
from facetrace.sighting_archive import SegmentTask, run_task
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring (tests pass their own)."""

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> dict:
        task = SegmentTask.model_validate(event)
        hits = run_task(wiring.objects, task)
        logger.info("segment searched", extra={"key": task.key, "hits": len(hits)})
        return {"hits": hits}

    return handler


handler = make_handler(Wiring(Settings()))
