"""Onboard Lambda, outside the VPC: one operator call registers an agency (through the admin function, which
reaches the database) and invites its first users into the Cognito user pool with its custom:agency_id.

    aws lambda invoke --function-name <OnboardFunctionName> --cli-binary-format raw-in-base64-out \
      --payload '{"agency": {"name": "...", "email": "..."}, "users": ["officer@..."], "operator": "you"}' out.json
"""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger

from facetrace.config import Settings
from facetrace.onboarding import OnboardRequest, onboard
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring (tests pass their own)."""

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> dict:
        request = OnboardRequest.model_validate(event)
        registry, directory = wiring.onboarding()
        return onboard(registry, directory, request).model_dump(mode="json")

    return handler


handler = make_handler(Wiring(Settings()))
