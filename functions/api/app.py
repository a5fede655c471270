"""API Lambda: citizens get upload tickets and receipts; agencies open cases and add reference photos."""

from __future__ import annotations

from typing import Any, Callable
from uuid import UUID

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, UnauthorizedError
from pydantic import BaseModel

from facetrace.case import NewCase, open_case
from facetrace.config import Settings
from facetrace.receipt import receipt_status
from facetrace.upload import ContentType, SightingDetails, request_reference_upload, request_sighting_upload
from facetrace.wiring import Wiring

logger = Logger(service="api")


class CaseRequest(BaseModel):
    person_name: str
    age: int | None = None
    sex: str | None = None
    last_seen_place: str | None = None
    last_seen_at: str | None = None
    notes: str | None = None


class PhotoRequest(BaseModel):
    content_type: ContentType = "image/jpeg"


def make_app(wiring: Wiring) -> APIGatewayRestResolver:
    """The REST resolver over the given wiring (tests pass their own)."""
    app = APIGatewayRestResolver(enable_validation=True)

    def agency_id() -> str:
        claims = (app.current_event.request_context.authorizer.claims or {}) if app.current_event.request_context.authorizer else {}
        if not claims.get("custom:agency_id"):
            raise UnauthorizedError("agency credentials required")
        return claims["custom:agency_id"]

    def own_case(case_id: str):
        UUID(case_id)
        case = wiring.store.get_case(case_id)
        if case is None or case.agency_id != agency_id():
            raise NotFoundError(f"case {case_id} not found")
        return case

    @app.post("/sightings/upload")
    def sighting_upload(body: SightingDetails) -> Response[dict]:
        ticket = request_sighting_upload(body, wiring.objects, wiring.limits, wiring.settings.upload_url_ttl_s)
        return Response(201, "application/json", ticket.model_dump(mode="json"))

    @app.get("/receipts/<receipt_id>")
    def receipt(receipt_id: UUID) -> dict:
        return receipt_status(str(receipt_id), wiring.store).model_dump(mode="json")

    @app.post("/cases")
    def create_case(body: CaseRequest) -> Response[dict]:
        case = open_case(wiring.store, NewCase(agency_id=agency_id(), **body.model_dump(exclude_none=True)))
        return Response(201, "application/json", case.model_dump(mode="json"))

    @app.get("/cases/<case_id>")
    def get_case(case_id: str) -> dict:
        return own_case(case_id).model_dump(mode="json")

    @app.post("/cases/<case_id>/photos")
    def add_photo(case_id: str, body: PhotoRequest) -> Response[dict]:
        own_case(case_id)
        ticket = request_reference_upload(case_id, body.content_type, wiring.store, wiring.objects, wiring.limits, wiring.settings.upload_url_ttl_s)
        return Response(201, "application/json", ticket.model_dump(mode="json"))

    return app


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring."""
    app = make_app(wiring)

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> dict:
        return app.resolve(event, context)

    return handler


handler = make_handler(Wiring(Settings()))
