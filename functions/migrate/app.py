"""Migrate Lambda: a CloudFormation custom resource that applies the schema migrations on deploy."""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger

from facetrace.adapters import cfn
from facetrace.config import Settings
from facetrace.db.migrate import migrate
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers

PHYSICAL_ID = "facetrace-schema"


def make_handler(wiring: Wiring, respond: Callable[..., None] = cfn.respond) -> Callable[[dict, Any], None]:
    """The custom-resource handler; a failed migration fails the deployment visibly in CloudFormation."""

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> None:
        if event["RequestType"] == "Delete":
            respond(event, "SUCCESS", "schema is kept when the stack is deleted", PHYSICAL_ID)
            return
        try:
            applied = migrate(wiring.store.db.url)
        except Exception as exc:
            logger.exception("migration failed")
            respond(event, "FAILED", f"migration failed: {exc}", PHYSICAL_ID)
            return
        respond(event, "SUCCESS", f"applied {len(applied)} migrations", PHYSICAL_ID, {"Applied": ",".join(applied)})

    return handler


handler = make_handler(Wiring(Settings()))
