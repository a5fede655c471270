"""API Lambda: citizens get upload tickets and receipts; agencies manage cases and review alerts.

Every error answer has one shape, ErrorBody: {"statusCode", "message", "errors": [{"field", "in", "rule"}]}.
400: the body is not a JSON object (or is nested too deeply); 413: it is too large; 415: it is not JSON;
422: a field, path or query parameter breaks a rule (each one named); 401/403/404/409: who may do what;
503 with Retry-After: the database is unavailable; 500: anything else (logged; the client learns nothing more).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Annotated, Any, Callable, Literal
from uuid import UUID

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError, UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from facetrace import casework, review, subscription
from facetrace.access import AgencyNotRegistered, NotVisible, OwnerOnly, Viewer, signed_in, visible_case
from facetrace.alert import Alert, AlertStatus
from facetrace.audit import AuditEntry, case_audit
from facetrace.case import Case, CaseDetails, NewCase, open_case
from facetrace.casework import CaseChanges, CaseClosed, ReferencePhoto, ShareRefused
from facetrace.config import Settings
from facetrace.errors import StoreUnavailable
from facetrace.receipt import Receipt, UnknownReceipt, receipt_status
from facetrace.review import AlertDetail, AlertQuery, ReviewRequest
from facetrace.photo_search import SearchResult, SearchTicket, search_result, start_search
from facetrace.subscription import NewSubscription, Subscription
from facetrace.upload import ContentType, SightingDetails, UploadTicket
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers

# Every body this API takes is a small flat object: the largest valid one (4,000 characters of notes, each
# perhaps written as a 12-character escaped surrogate pair) stays under 64 KiB.
MAX_BODY_CHARS = 128 * 1024
MAX_JSON_DEPTH = 10
MAX_INT_DIGITS = 30
RETRY_AFTER_S = 5
_SURROGATE = re.compile("[\ud800-\udfff]")


class PhotoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: ContentType = "image/jpeg"


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000)


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agency_id: UUID


class Share(BaseModel):
    case_id: str
    agency_id: str
    new: bool


class FieldError(BaseModel):
    """One rule that one part of the request breaks."""

    model_config = ConfigDict(populate_by_name=True)

    field: str = Field(description="the field or parameter at fault; 'body' for the body as a whole")
    location: Literal["body", "path", "query", "header", "cookie"] = Field(alias="in")
    rule: str = Field(description="what the value must be")


class ErrorBody(BaseModel):
    """Every error answer: the status again, what went wrong and, for a bad request, each rule broken."""

    statusCode: int  # noqa: N815 - the name powertools' own answers use
    message: str
    errors: list[FieldError] = Field(default_factory=list)


class BodyRejected(json.JSONDecodeError):
    """A body refused before validation: it is a JSONDecodeError because that is the error powertools turns
    into a RequestValidationError (caused by this one), which our handler answers with this status and rule."""

    def __init__(self, rule: str, status: int = 400) -> None:
        super().__init__(rule, "", 0)
        self.rule, self.status = rule, status


def parse_body(text: str) -> dict:
    """The request body as a JSON object of bounded size and depth, or BodyRejected saying why not."""
    if len(text) > MAX_BODY_CHARS:
        raise BodyRejected(f"must be at most {MAX_BODY_CHARS} characters", 413)
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_int=_integer, parse_float=_finite)
    except BodyRejected:
        raise
    except json.JSONDecodeError as e:
        raise BodyRejected(f"must be JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        # json recurses once per level: thousands of levels exhaust the stack before the tree can be measured.
        raise BodyRejected(f"must not be nested more than {MAX_JSON_DEPTH} levels deep") from None
    if not isinstance(data, dict):
        raise BodyRejected("must be a JSON object")
    _check_tree(data)
    return data


def _no_constant(name: str) -> float:
    raise BodyRejected(f"must be JSON: {name} is not a JSON number")


def _integer(digits: str) -> int:
    # Python refuses to convert over 4,300 digits with a bare ValueError; no field here needs more than a few.
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise BodyRejected(f"must not hold an integer of more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyRejected(f"must not hold a number out of range ({text[:20]})")
    return value


def _check_tree(data: dict) -> None:
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
            raise BodyRejected(f"must not be nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(value, dict):
            pending += [(k, depth) for k in value] + [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            pending += [(v, depth + 1) for v in value]
        # A lone surrogate (from a \ud800 escape) is no character: the database could not store it.
        elif isinstance(value, str) and _SURROGATE.search(value):
            raise BodyRejected("must be valid Unicode: a string holds an unpaired surrogate escape")


def _error(status: int, message: str, errors: list[FieldError] | None = None,
           headers: dict[str, str] | None = None) -> Response:
    body = ErrorBody(statusCode=status, message=message, errors=errors or [])
    return Response(status, content_types.APPLICATION_JSON, body.model_dump(by_alias=True), headers=headers)


def _field_error(error: dict) -> FieldError:
    where, *path = error["loc"]
    rule = error["msg"].removeprefix("Value error, ")
    if not path and error["type"] == "missing":
        rule = "a JSON object is required"
    return FieldError(field=".".join(str(p) for p in path) or where, location=where, rule=rule)


BODY_MESSAGES = {400: "malformed request body", 413: "request body too large"}


def _invalid(error: RequestValidationError) -> Response:
    """400/413 for a body refused before validation, else 422 naming every field that breaks a rule."""
    cause = error.__cause__
    if isinstance(cause, BodyRejected):
        return _error(cause.status, BODY_MESSAGES[cause.status], [FieldError(field="body", location="body", rule=cause.rule)])
    return _error(422, "invalid request", [_field_error(e) for e in error.errors()])


def _unsupported(error: Exception) -> Response:
    rule = "must be application/json"
    return _error(415, "unsupported content type", [FieldError(field="Content-Type", location="header", rule=rule)])


ERROR_ANSWERS = {
    400: "the body is not a JSON object, or is nested too deeply", 401: "no agency credentials",
    403: "the agency is not registered, or only the case's owner may do this",
    404: "not found, or not visible to this agency", 409: "the case is closed",
    413: "the body is too large", 415: "the body is not JSON", 422: "a field or parameter breaks a rule",
    500: "an unexpected error (logged)", 503: "the database is unavailable; retry after Retry-After seconds",
}
BODY = (400, 413, 415, 422)
AGENCY = (401, 403)


def _answers(status: int, description: str, *errors: int) -> dict[int, dict]:
    """A route's OpenAPI responses: its success, then each error it may answer (500 always)."""
    documented = {status: {"description": description}}
    for code in sorted({*errors, 500}):
        documented[code] = {"description": ERROR_ANSWERS[code],
                            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}}}
    return documented


def make_app(wiring: Wiring) -> APIGatewayRestResolver:
    """The REST resolver over the given wiring (tests pass their own)."""
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_body)

    def viewer() -> Viewer:
        # Once per request: the agency is looked up in the store here, and only here.
        if "viewer" not in app.context:
            authorizer = app.current_event.request_context.authorizer
            claims = (authorizer.claims or {}) if authorizer else {}
            if not claims.get("custom:agency_id"):
                raise UnauthorizedError("agency credentials required")
            app.append_context(viewer=signed_in(wiring.store, claims["custom:agency_id"], claims.get("sub") or "unknown"))
        return app.context["viewer"]

    def request_keys() -> dict[str, str]:
        event = app.current_event
        return {"method": event.http_method, "route": event.resource, "path": event.path}

    def store_unavailable(e: StoreUnavailable) -> Response:
        logger.error("database unavailable", extra={**request_keys(), "db_error_code": e.code, "db_error": e.reason})
        return _error(503, "service temporarily unavailable; retry later", headers={"Retry-After": str(RETRY_AFTER_S)})

    def unexpected(e: Exception) -> Response:
        logger.exception("unhandled error", extra={**request_keys(), "error_type": type(e).__name__})
        return _error(500, "internal error")

    def value_error(e: ValueError) -> Response:
        # powertools parses multipart bodies itself, and a malformed one escapes it as a bare ValueError.
        if app.current_event.headers.get("content-type", "").startswith("multipart/"):
            return _unsupported(e)
        return unexpected(e)

    app.exception_handler(RequestValidationError)(_invalid)
    app.exception_handler(RequestUnsupportedContentType)(_unsupported)
    app.exception_handler(ServiceError)(lambda e: _error(e.status_code, e.msg))
    app.exception_handler(AgencyNotRegistered)(lambda e: _error(403, "agency not registered"))
    # Not visible and not existing look the same (404), so ids reveal nothing about other agencies.
    app.exception_handler(NotVisible)(lambda e: _error(404, str(e)))
    app.exception_handler(UnknownReceipt)(lambda e: _error(404, str(e)))
    app.exception_handler(OwnerOnly)(lambda e: _error(403, str(e)))
    app.exception_handler(CaseClosed)(lambda e: _error(409, str(e)))
    app.exception_handler(ShareRefused)(lambda e: _error(400, str(e)))
    app.exception_handler(StoreUnavailable)(store_unavailable)
    app.exception_handler(ValueError)(value_error)
    app.exception_handler(Exception)(unexpected)

    @app.post("/sightings/upload", responses=_answers(201, "the upload form and receipt id", *BODY))
    def sighting_upload(body: SightingDetails) -> Response[UploadTicket]:
        ticket = wiring.uploads.sighting(body)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.get("/receipts/<receipt_id>", responses=_answers(200, "the upload's status", 404, 422, 503))
    def receipt(receipt_id: UUID) -> Receipt:
        return receipt_status(str(receipt_id), wiring.store, wiring.objects, wiring.settings.upload_url_ttl_s)

    @app.post("/cases", responses=_answers(201, "the new case", *BODY, *AGENCY, 503))
    def create_case(body: CaseDetails) -> Response[Case]:
        case = open_case(wiring.store, NewCase(**body.model_dump(), agency_id=viewer().agency_id))
        return Response(201, content_types.APPLICATION_JSON, case)

    @app.get("/cases/<case_id>", responses=_answers(200, "the case", 422, *AGENCY, 404, 503))
    def get_case(case_id: UUID) -> Case:
        return visible_case(wiring.store, viewer(), str(case_id))

    @app.patch("/cases/<case_id>", responses=_answers(200, "the changed case", *BODY, *AGENCY, 404, 409, 503))
    def update_case(case_id: UUID, body: CaseChanges) -> Case:
        return casework.update_case(wiring.store, viewer(), str(case_id), body)

    @app.post("/cases/<case_id>/close", responses=_answers(200, "the closed case", *BODY, *AGENCY, 404, 503))
    def close_case(case_id: UUID, body: CloseRequest | None = None) -> Case:
        reason = body.reason if body else None
        return casework.close_case(wiring.store, viewer(), str(case_id), wiring.settings.reference_grace_days, reason)

    @app.post("/cases/<case_id>/shares",
              responses=_answers(201, "shared (200 when it already was)", *BODY, *AGENCY, 404, 409, 503))
    def share_case(case_id: UUID, body: ShareRequest) -> Response[Share]:
        new = casework.share_case(wiring.store, viewer(), str(case_id), str(body.agency_id))
        return Response(201 if new else 200, content_types.APPLICATION_JSON,
                        Share(case_id=str(case_id), agency_id=str(body.agency_id), new=new))

    @app.get("/cases/<case_id>/audit", responses=_answers(200, "the case's audit trail", 422, *AGENCY, 404, 503))
    def audit_trail(case_id: UUID) -> list[AuditEntry]:
        return case_audit(wiring.store, viewer(), str(case_id))

    @app.get("/cases/<case_id>/photos", responses=_answers(200, "the case's reference photos", 422, *AGENCY, 404, 503))
    def case_photos(case_id: UUID) -> list[ReferencePhoto]:
        return casework.reference_photos(wiring.store, viewer(), str(case_id))

    @app.post("/cases/<case_id>/photos", responses=_answers(201, "the upload form", *BODY, *AGENCY, 404, 409, 503))
    def add_photo(case_id: UUID, body: PhotoRequest) -> Response[UploadTicket]:
        ticket = casework.reference_upload(wiring.store, viewer(), str(case_id), body.content_type, wiring.uploads)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.post("/searches", responses=_answers(201, "the search's upload form", *BODY, *AGENCY, 503))
    def create_search(body: PhotoRequest) -> Response[SearchTicket]:
        ticket = start_search(wiring.store, viewer(), body.content_type, wiring.uploads)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.get("/searches/<search_id>", responses=_answers(200, "the search's status and candidates", 422, *AGENCY, 404, 503))
    def get_search(search_id: UUID) -> SearchResult:
        return search_result(wiring.store, viewer(), str(search_id))

    @app.get("/alerts", responses=_answers(200, "alerts, newest first", 422, *AGENCY, 404, 503))
    def list_alerts(status: Annotated[AlertStatus | None, Query()] = None,
                    case_id: Annotated[UUID | None, Query()] = None,
                    since: Annotated[datetime | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Alert]:
        query = AlertQuery(status=status, case_id=str(case_id) if case_id else None, since=since, limit=limit)
        return review.find_alerts(wiring.store, viewer(), query)

    @app.get("/alerts/<alert_id>", responses=_answers(200, "the alert with its photos", 422, *AGENCY, 404, 503))
    def open_alert(alert_id: UUID) -> AlertDetail:
        return review.open_alert(wiring.review(), viewer(), str(alert_id))

    @app.post("/alerts/<alert_id>/review", responses=_answers(200, "the reviewed alert", *BODY, *AGENCY, 404, 503))
    def review_alert(alert_id: UUID, body: ReviewRequest) -> Alert:
        return review.review_alert(wiring.store, viewer(), str(alert_id), body)

    @app.get("/subscriptions", responses=_answers(200, "the agency's subscriptions", *AGENCY, 503))
    def list_subscriptions() -> list[Subscription]:
        return subscription.list_subscriptions(wiring.store, viewer())

    @app.post("/subscriptions", responses=_answers(201, "the new subscription", *BODY, *AGENCY, 404, 503))
    def add_subscription(body: NewSubscription) -> Response[Subscription]:
        added = subscription.add_subscription(wiring.store, viewer(), body)
        return Response(201, content_types.APPLICATION_JSON, added)

    @app.delete("/subscriptions/<subscription_id>", responses=_answers(204, "deleted", 422, *AGENCY, 404, 503))
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
