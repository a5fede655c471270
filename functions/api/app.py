"""API Lambda: citizens get upload tickets and receipts; agencies manage cases and review alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Callable
from uuid import UUID

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from facetrace import casework, review, subscription
from facetrace.access import NotVisible, OwnerOnly, Viewer, owned_case, visible_case
from facetrace.alert import Alert, AlertStatus
from facetrace.audit import AuditEntry, case_audit
from facetrace.case import Case, NewCase, open_case
from facetrace.casework import CaseChanges, CaseClosed, ReferencePhoto, ShareRefused
from facetrace.config import Settings
from facetrace.receipt import Receipt, receipt_status
from facetrace.review import AlertDetail, AlertQuery, ReviewRequest
from facetrace.search import SearchResult, SearchTicket, search_result, start_search
from facetrace.subscription import NewSubscription, Subscription
from facetrace.upload import ContentType, SightingDetails, UploadTicket, request_reference_upload, request_sighting_upload
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


class CloseRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class ShareRequest(BaseModel):
    agency_id: UUID


class Share(BaseModel):
    case_id: str
    agency_id: str
    new: bool


def _error(status: int, message: str) -> Response:
    return Response(status, content_types.APPLICATION_JSON, {"statusCode": status, "message": message})


def make_app(wiring: Wiring) -> APIGatewayRestResolver:
    """The REST resolver over the given wiring (tests pass their own)."""
    app = APIGatewayRestResolver(enable_validation=True)

    def viewer() -> Viewer:
        authorizer = app.current_event.request_context.authorizer
        claims = (authorizer.claims or {}) if authorizer else {}
        if not claims.get("custom:agency_id"):
            raise UnauthorizedError("agency credentials required")
        return Viewer(claims["custom:agency_id"], claims.get("sub") or "unknown")

    # Not visible and not existing look the same (404), so ids reveal nothing about other agencies.
    app.exception_handler(NotVisible)(lambda e: _error(404, str(e)))
    app.exception_handler(OwnerOnly)(lambda e: _error(403, str(e)))
    app.exception_handler(CaseClosed)(lambda e: _error(409, str(e)))
    app.exception_handler(ShareRefused)(lambda e: _error(400, str(e)))

    @app.post("/sightings/upload")
    def sighting_upload(body: SightingDetails) -> Response[UploadTicket]:
        ticket = request_sighting_upload(body, wiring.objects, wiring.limits, wiring.settings.upload_url_ttl_s)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.get("/receipts/<receipt_id>")
    def receipt(receipt_id: UUID) -> Receipt:
        return receipt_status(str(receipt_id), wiring.store)

    @app.post("/cases")
    def create_case(body: CaseRequest) -> Response[Case]:
        case = open_case(wiring.store, NewCase(agency_id=viewer().agency_id, **body.model_dump(exclude_none=True)))
        return Response(201, content_types.APPLICATION_JSON, case)

    @app.get("/cases/<case_id>")
    def get_case(case_id: UUID) -> Case:
        return visible_case(wiring.store, wiring.store, viewer(), str(case_id))

    @app.patch("/cases/<case_id>")
    def update_case(case_id: UUID, body: CaseChanges) -> Case:
        return casework.update_case(wiring.store, viewer(), str(case_id), body)

    @app.post("/cases/<case_id>/close")
    def close_case(case_id: UUID, body: CloseRequest | None = None) -> Case:
        reason = body.reason if body else None
        return casework.close_case(wiring.store, viewer(), str(case_id), wiring.settings.reference_grace_days, reason)

    @app.post("/cases/<case_id>/shares")
    def share_case(case_id: UUID, body: ShareRequest) -> Response[Share]:
        new = casework.share_case(wiring.store, viewer(), str(case_id), str(body.agency_id))
        return Response(201 if new else 200, content_types.APPLICATION_JSON,
                        Share(case_id=str(case_id), agency_id=str(body.agency_id), new=new))

    @app.get("/cases/<case_id>/audit")
    def audit_trail(case_id: UUID) -> list[AuditEntry]:
        return case_audit(wiring.store, viewer(), str(case_id))

    @app.get("/cases/<case_id>/photos")
    def case_photos(case_id: UUID) -> list[ReferencePhoto]:
        return casework.reference_photos(wiring.store, viewer(), str(case_id))

    @app.post("/cases/<case_id>/photos")
    def add_photo(case_id: UUID, body: PhotoRequest) -> Response[UploadTicket]:
        owned_case(wiring.store, wiring.store, viewer(), str(case_id))
        ticket = request_reference_upload(str(case_id), body.content_type, wiring.store, wiring.objects,
                                          wiring.limits, wiring.settings.upload_url_ttl_s)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.post("/searches")
    def create_search(body: PhotoRequest) -> Response[SearchTicket]:
        ticket = start_search(wiring.store, wiring.store, viewer(), body.content_type, wiring.objects,
                              wiring.limits, wiring.settings.upload_url_ttl_s)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.get("/searches/<search_id>")
    def get_search(search_id: UUID) -> SearchResult:
        return search_result(wiring.store, viewer(), str(search_id))

    @app.get("/alerts")
    def list_alerts(status: Annotated[AlertStatus | None, Query()] = None,
                    case_id: Annotated[UUID | None, Query()] = None,
                    since: Annotated[datetime | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Alert]:
        query = AlertQuery(status=status, case_id=str(case_id) if case_id else None, since=since, limit=limit)
        return review.find_alerts(wiring.store, viewer(), query)

    @app.get("/alerts/<alert_id>")
    def open_alert(alert_id: UUID) -> AlertDetail:
        return review.open_alert(wiring.review(), viewer(), str(alert_id))

    @app.post("/alerts/<alert_id>/review")
    def review_alert(alert_id: UUID, body: ReviewRequest) -> Alert:
        return review.review_alert(wiring.store, viewer(), str(alert_id), body)

    @app.get("/subscriptions")
    def list_subscriptions() -> list[Subscription]:
        return subscription.list_subscriptions(wiring.store, viewer())

    @app.post("/subscriptions")
    def add_subscription(body: NewSubscription) -> Response[Subscription]:
        added = subscription.add_subscription(wiring.store, viewer(), body)
        return Response(201, content_types.APPLICATION_JSON, added)

    @app.delete("/subscriptions/<subscription_id>")
    def delete_subscription(subscription_id: UUID) -> Response[None]:
        subscription.delete_subscription(wiring.store, viewer(), str(subscription_id))
        return Response(204, content_types.APPLICATION_JSON, None)

    return app


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring."""
    app = make_app(wiring)

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> dict:
        return app.resolve(event, context)

    return handler


handler = make_handler(Wiring(Settings()))
