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
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError, UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from facetrace import casework, near_miss, review, subscription
from facetrace.access import AgencyNotRegistered, NotVisible, OwnerOnly, Viewer, signed_in
from facetrace.alert import Alert, AlertStatus
from facetrace.audit import AuditEntry, case_audit
from facetrace.case import Agency, Case, CaseDetails, CaseStatus
from facetrace.casework import CaseChanges, CaseClosed, CasePage, CaseQuery, InvalidCursor, ReferencePhoto, ShareRefused
from facetrace.config import Settings
from facetrace.errors import StoreUnavailable
from facetrace.near_miss import NearMiss, NearMissDetail
from facetrace.receipt import Receipt, UnknownReceipt, receipt_status
from facetrace.review import AlertDetail, AlertListing, AlertQuery, AlreadyDecided, ReviewRequest
from facetrace.photo_search import SearchResult, SearchTicket, search_result, start_search
from facetrace.subscription import NewSubscription, Subscription
from facetrace.footage import tickets, views
from facetrace.footage.clip import Camera
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


class Me(BaseModel):
    """Who is signed in: the registered agency the token names, and the user's id."""

    agency: Agency
    user_sub: str


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
    404: "not found, or not visible to this agency",
    409: "the case is closed, or the alert was already decided (send override with a note to change it)",
    413: "the body is too large", 415: "the body is not JSON", 422: "a field or parameter breaks a rule",
    500: "an unexpected error (logged)", 503: "the database is unavailable; retry after Retry-After seconds",
}
BODY = (400, 413, 415, 422)
AGENCY = (401, 403)

# The agency routes sit behind API Gateway's Cognito authorizer (Locally: the development gateway's token).
SECURITY_SCHEMES = {"agencyToken": APIKey(
    name="Authorization", in_=APIKeyIn.header,
    description="An agency user's Cognito ID token, as it is (no 'Bearer ' prefix); it must carry the "
                "custom:agency_id claim of a registered agency. Locally: 'Dev <agency id>'.")}
# Footage (issue #14): a registered camera asks for its tickets with its own key.
SECURITY_SCHEMES["cameraKey"] = APIKey(
    name="X-Camera-Key", in_=APIKeyIn.header,
    description="The key a camera got when its agency registered it (POST /cameras), shown once.")
CAMERA_SECURITY = [{"cameraKey": []}]
AGENCY_SECURITY = [{"agencyToken": []}]
PUBLIC = [{}]  # an empty requirement: no credentials (the citizen routes)

UPLOAD_FORM = (
    " POST the photo straight to `url` as multipart/form-data: every entry of `fields` as a form field, in any "
    "order, then the photo as the part named `file`, last (S3 ignores every field after the file). The form "
    "allows one content type (the one asked for), at most `max_bytes` bytes, and expires after `expires_in` seconds.")


def _answers(status: int, description: str, *errors: int) -> dict[int, dict]:
    """A route's OpenAPI responses: its success, then each error it may answer (500 always)."""
    documented = {status: {"description": description}}
    for code in sorted({*errors, 500}):
        documented[code] = {"description": ERROR_ANSWERS[code],
                            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}}}
    return documented


def make_app(wiring: Wiring) -> APIGatewayRestResolver:
    """The REST resolver over the given wiring (tests pass their own)."""
    # API Gateway answers the browsers' preflight itself; the function's answers carry the allowed origin.
    cors = CORSConfig(allow_origin=wiring.settings.web_origin, allow_headers=["Authorization", "Content-Type"])
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_body, cors=cors)
    app.configure_openapi(security_schemes=SECURITY_SCHEMES, security=AGENCY_SECURITY)

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
    app.exception_handler(AlreadyDecided)(lambda e: _error(409, str(e)))
    app.exception_handler(ShareRefused)(lambda e: _error(400, str(e)))
    app.exception_handler(InvalidCursor)(lambda e: _error(422, "invalid request", [
        FieldError(field="cursor", location="query", rule=str(e))]))
    app.exception_handler(StoreUnavailable)(store_unavailable)
    app.exception_handler(ValueError)(value_error)
    app.exception_handler(Exception)(unexpected)

    # ---------------------------------------------------------------- citizens (public)
    @app.post("/sightings/upload", security=PUBLIC, description="A citizen asks to upload one photo of a sighting, "
              "with optional details (place, time, coordinates, contact), and gets a receipt id." + UPLOAD_FORM,
              responses=_answers(201, "the upload form and receipt id", *BODY))
    def sighting_upload(body: SightingDetails) -> Response[UploadTicket]:
        """Issue an upload form for a citizen's sighting."""
        ticket = wiring.uploads.sighting(body)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.get("/receipts/<receipt_id>", security=PUBLIC,
             description="What the uploader may know about a sighting: pending (no photo yet), received (being "
             "searched), processed (with the number of faces found; a reason when none was), rejected or duplicate "
             "(with the reason), failed, or expired (no photo arrived in time). Never whether it matched anyone. "
             "An id that was never issued is 404.",
             responses=_answers(200, "the upload's status", 404, 422, 503))
    def receipt(receipt_id: UUID) -> Receipt:
        """Read the status of an upload by its receipt id."""
        return receipt_status(str(receipt_id), wiring.store, wiring.objects, wiring.settings.upload_url_ttl_s)

    # ---------------------------------------------------------------- the signed-in agency
    @app.get("/me", description="The agency the token belongs to. A valid token of an agency that is not "
             "registered (yet) is 403 'agency not registered', as on every agency route.",
             responses=_answers(200, "the agency and the user", *AGENCY, 503))
    def me() -> Me:
        """Who is signed in, and for which agency."""
        who = viewer()
        return Me(agency=wiring.store.get_agency(who.agency_id), user_sub=who.user_sub)

    # ---------------------------------------------------------------- cases
    @app.get("/cases", description="Cases the agency owns and cases other agencies shared with it (`owned` false), "
             "newest first, a page at a time: pass the answer's `next_cursor` as `cursor` for the next page.",
             responses=_answers(200, "a page of cases", 422, *AGENCY, 503))
    def list_cases(status: Annotated[CaseStatus | None, Query(description="open or closed; all when left out")] = None,
                   cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
                   limit: Annotated[int, Query(ge=1, le=100, description="cases per page")] = 25) -> CasePage:
        """List the cases the agency may see."""
        return casework.list_cases(wiring.store, viewer(), CaseQuery(status=status, cursor=cursor, limit=limit))

    @app.post("/cases", description="Open a case for a missing person; audited (case.created).",
              responses=_answers(201, "the new case", *BODY, *AGENCY, 503))
    def create_case(body: CaseDetails) -> Response[Case]:
        """Open a case."""
        case = casework.create_case(wiring.store, viewer(), body)
        return Response(201, content_types.APPLICATION_JSON, case)

    @app.get("/cases/<case_id>", description="A case the agency owns or was shared; the reading is audited "
             "(case.viewed).", responses=_answers(200, "the case", 422, *AGENCY, 404, 503))
    def get_case(case_id: UUID) -> Case:
        """Read a case."""
        return casework.view_case(wiring.store, viewer(), str(case_id))

    @app.patch("/cases/<case_id>", description="Change the given details of an open case (owner only); audited "
               "with the names of the fields changed.", responses=_answers(200, "the changed case", *BODY, *AGENCY, 404, 409, 503))
    def update_case(case_id: UUID, body: CaseChanges) -> Case:
        """Change a case's details."""
        return casework.update_case(wiring.store, viewer(), str(case_id), body)

    @app.post("/cases/<case_id>/close", description="Close a case (owner only): its reference embeddings are "
              "erased at once and its reference photos deleted after the grace period; audited with the reason.",
              responses=_answers(200, "the closed case", *BODY, *AGENCY, 404, 503))
    def close_case(case_id: UUID, body: CloseRequest | None = None) -> Case:
        """Close a case."""
        reason = body.reason if body else None
        return casework.close_case(wiring.store, viewer(), str(case_id), wiring.settings.reference_grace_days, reason)

    @app.post("/cases/<case_id>/shares", description="Let another registered agency read the case and review its "
              "alerts (owner only); audited.",
              responses=_answers(201, "shared (200 when it already was)", *BODY, *AGENCY, 404, 409, 503))
    def share_case(case_id: UUID, body: ShareRequest) -> Response[Share]:
        """Share a case with another agency."""
        new = casework.share_case(wiring.store, viewer(), str(case_id), str(body.agency_id))
        return Response(201 if new else 200, content_types.APPLICATION_JSON,
                        Share(case_id=str(case_id), agency_id=str(body.agency_id), new=new))

    @app.get("/cases/<case_id>/audit", description="Every audited action on the case, oldest first (owner only).",
             responses=_answers(200, "the case's audit trail", 422, *AGENCY, 404, 503))
    def audit_trail(case_id: UUID) -> list[AuditEntry]:
        """Read a case's audit trail."""
        return case_audit(wiring.store, viewer(), str(case_id))

    @app.get("/cases/<case_id>/photos", description="The case's reference photos with status, reason, usable faces "
             "and verdict. With urls=true each photo still held also gets a presigned link, and the showing is "
             "audited (case.photos_viewed).", responses=_answers(200, "the case's reference photos", 422, *AGENCY, 404, 503))
    def case_photos(case_id: UUID, urls: Annotated[bool, Query(description="also presign a link to each photo")] = False
                    ) -> list[ReferencePhoto]:
        """List a case's reference photos and their verdicts."""
        objects = wiring.objects if urls else None
        return casework.reference_photos(wiring.store, viewer(), str(case_id), objects, wiring.settings.photo_url_ttl_s)

    @app.post("/cases/<case_id>/photos", description="Ask to upload a reference photo of an open case (owner only); "
              "audited with the photo's id (case.photo_added). Its verdict appears in GET /cases/{case_id}/photos "
              "once checked." + UPLOAD_FORM, responses=_answers(201, "the upload form", *BODY, *AGENCY, 404, 409, 503))
    def add_photo(case_id: UUID, body: PhotoRequest) -> Response[UploadTicket]:
        """Issue an upload form for a reference photo."""
        ticket = casework.reference_upload(wiring.store, viewer(), str(case_id), body.content_type, wiring.uploads)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.get("/cases/<case_id>/near-misses", description="Sightings that resembled the case above the match "
             "threshold but below the alert threshold (so no alert was raised), best score first; no photos.",
             responses=_answers(200, "the case's near misses", 422, *AGENCY, 404, 503))
    def list_near_misses(case_id: UUID, limit: Annotated[int, Query(ge=1, le=200, description="at most")] = 50
                         ) -> list[NearMiss]:
        """List a case's near misses."""
        return near_miss.list_near_misses(wiring.store, viewer(), str(case_id), limit)

    @app.get("/cases/<case_id>/near-misses/<sighting_face_id>", description="One near miss with presigned links to "
             "the sighting and reference photos; the viewing is audited (near_miss.viewed).",
             responses=_answers(200, "the near miss with its photos", 422, *AGENCY, 404, 503))
    def open_near_miss(case_id: UUID, sighting_face_id: int) -> NearMissDetail:
        """Look at one near miss."""
        return near_miss.open_near_miss(wiring.review(), viewer(), str(case_id), sighting_face_id)

    # ---------------------------------------------------------------- search by photo
    @app.post("/searches", description="Search the cases the agency may see with a photo; the search is audited "
              "and its result read at GET /searches/{search_id}." + UPLOAD_FORM,
              responses=_answers(201, "the search's upload form", *BODY, *AGENCY, 503))
    def create_search(body: PhotoRequest) -> Response[SearchTicket]:
        """Start a search by photo."""
        ticket = start_search(wiring.store, viewer(), body.content_type, wiring.uploads)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.get("/searches/<search_id>", description="pending, received, done (with up to 10 candidate cases, best "
             "first), rejected or failed; only the searching agency may read it, and each reading is audited.",
             responses=_answers(200, "the search's status and candidates", 422, *AGENCY, 404, 503))
    def get_search(search_id: UUID) -> SearchResult:
        """Read a search's status and candidates."""
        return search_result(wiring.store, viewer(), str(search_id))

    # ---------------------------------------------------------------- alerts
    @app.get("/alerts", description="Alerts of the agency's own and shared cases, newest first, each with the "
             "person's name; filter by status, case and creation time.",
             responses=_answers(200, "alerts, newest first", 422, *AGENCY, 404, 503))
    def list_alerts(status: Annotated[AlertStatus | None, Query(description="new, confirmed or rejected")] = None,
                    case_id: Annotated[UUID | None, Query(description="one case's alerts")] = None,
                    since: Annotated[datetime | None, Query(description="raised at or after (ISO 8601)")] = None,
                    limit: Annotated[int, Query(ge=1, le=500, description="at most")] = 100) -> list[AlertListing]:
        """List alerts."""
        query = AlertQuery(status=status, case_id=str(case_id) if case_id else None, since=since, limit=limit)
        return review.find_alerts(wiring.store, viewer(), query)

    @app.get("/alerts/<alert_id>", description="Everything a reviewer needs: the case, score, place and time, the "
             "face box, presigned links to both photos and other visible candidates. The viewing is audited "
             "(alert.viewed) before any link is made.",
             responses=_answers(200, "the alert with its photos", 422, *AGENCY, 404, 503))
    def open_alert(alert_id: UUID) -> AlertDetail:
        """Open an alert for review."""
        return review.open_alert(wiring.review(), viewer(), str(alert_id))

    @app.post("/alerts/<alert_id>/review", description="Confirm or reject a new alert, with a note; audited. An "
              "alert already decided answers 409 unless the body says override: true with a note, which is audited "
              "as alert.decision_changed (old -> new).",
              responses=_answers(200, "the reviewed alert", *BODY, *AGENCY, 404, 409, 503))
    def review_alert(alert_id: UUID, body: ReviewRequest) -> Alert:
        """Decide about an alert."""
        return review.review_alert(wiring.store, viewer(), str(alert_id), body)

    # ---------------------------------------------------------------- subscriptions
    @app.get("/subscriptions", description="Who receives the agency's alerts (never another agency's subscriptions).",
             responses=_answers(200, "the agency's subscriptions", *AGENCY, 503))
    def list_subscriptions() -> list[Subscription]:
        """List the agency's alert subscriptions."""
        return subscription.list_subscriptions(wiring.store, viewer())

    @app.post("/subscriptions", description="E-mail or SMS alerts to an address, for one of the agency's cases or "
              "all of them, anywhere or in a region (text the sighting's place must contain); audited.",
              responses=_answers(201, "the new subscription", *BODY, *AGENCY, 404, 503))
    def add_subscription(body: NewSubscription) -> Response[Subscription]:
        """Add an alert subscription."""
        added = subscription.add_subscription(wiring.store, viewer(), body)
        return Response(201, content_types.APPLICATION_JSON, added)

    @app.delete("/subscriptions/<subscription_id>", description="Remove one of the agency's subscriptions; audited.",
                responses=_answers(204, "deleted", 422, *AGENCY, 404, 503))
    def delete_subscription(subscription_id: UUID) -> Response[None]:
        """Delete an alert subscription."""
        subscription.delete_subscription(wiring.store, viewer(), str(subscription_id))
        return Response(204, content_types.APPLICATION_JSON, None)

    _footage_routes(app, wiring, viewer)
    _summaries(app)
    return app


def _footage_routes(app: APIGatewayRestResolver, wiring: Wiring, viewer: Callable[[], Viewer]) -> None:
    """Footage (issue #14): clip tickets for agencies and cameras, camera registration, a clip's progress and
    appearances, an alert's stretch of video."""
    app.exception_handler(tickets.CameraRefused)(lambda e: _error(401, "unknown camera or wrong key"))
    app.exception_handler(tickets.FootageTooLarge)(lambda e: _error(422, "invalid request", [
        FieldError(field="size_bytes", location="body", rule=str(e))]))

    def camera_key() -> str | None:
        return app.current_event.headers.get("X-Camera-Key")  # case-insensitive in powertools v3

    def camera_answers(status: int, description: str, *errors: int) -> dict[int, dict]:
        answers = _answers(status, description, *errors, 401)
        answers[401] = {**answers[401], "description": "unknown camera, or a wrong or revoked key"}
        return answers

    @app.post("/footage/upload", description="Upload a video clip (MP4/MOV/MKV with H.264/H.265, or MJPEG): say "
              "its size, when the recording started and where. A clip up to the POST limit gets one presigned POST "
              "(as photos do); a larger one a presigned PUT per part, then POST /footage/{clip_id}/complete. "
              "Audited (footage.uploaded); follow it at GET /footage/{clip_id}.",
              responses=_answers(201, "the clip's id and how to upload it", *BODY, *AGENCY, 503))
    def footage_upload(body: tickets.FootageRequest) -> Response[tickets.FootageTicket]:
        """Issue an upload ticket for a clip."""
        ticket = tickets.agency_upload(wiring.store, viewer(), body, wiring.footage_uploads)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.post("/footage/<clip_id>/complete", description="Finish a multipart upload with each part's ETag; the "
              "clip is then checked and searched.", responses=_answers(200, "the upload is complete", *BODY,
                                                                        *AGENCY, 404, 503))
    def footage_complete(clip_id: UUID, body: tickets.CompleteRequest) -> dict:
        """Complete a clip's multipart upload."""
        tickets.complete_upload(wiring.store, viewer().agency_id, str(clip_id), body, wiring.objects)
        return {"clip_id": str(clip_id), "status": "uploaded"}

    @app.get("/footage", description="The agency's clips, its cameras' included (never another agency's), newest "
             "first, a page at a time: each with its status, when and where it was recorded and how many appearances "
             "were found. Pass the answer's `next_cursor` as `cursor` for the next page.",
             responses=_answers(200, "a page of clips", 422, *AGENCY, 503))
    def list_footage(cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
                     limit: Annotated[int, Query(ge=1, le=100, description="clips per page")] = 25) -> views.ClipPage:
        """List the agency's clips."""
        return views.list_clips(wiring.store, viewer(), cursor, limit)

    @app.get("/footage/<clip_id>", description="A clip of the agency's: status (pending, received while it is "
             "searched, processed, rejected or failed with the reason), progress (parts and frames done of all, "
             "faces found) and each appearance of a person with its time range and the alerts the agency may see. "
             "Audited (footage.viewed).", responses=_answers(200, "the clip", 422, *AGENCY, 404, 503))
    def footage_status(clip_id: UUID) -> views.ClipView:
        """Follow a clip."""
        return views.clip_view(wiring.store, viewer(), str(clip_id))

    @app.get("/alerts/<alert_id>/footage", description="For an alert raised by an appearance in a clip: a "
             "presigned link to the clip, where to start playing (a few seconds before the appearance), its time "
             "range and the face's box along the way. The viewing is audited (footage.viewed) before the link is "
             "made; an alert from a photo is 404.", responses=_answers(200, "the clip stretch", 422, *AGENCY, 404, 503))
    def alert_footage(alert_id: UUID) -> views.AlertFootage:
        """Play an alert's appearance."""
        return views.alert_footage(wiring.store, wiring.objects, wiring.settings.photo_url_ttl_s, viewer(),
                                   str(alert_id))

    @app.post("/cameras", description="Register a camera (name, place): its id and key, shown once. The camera "
              "asks for tickets at /cameras/{camera_id}/footage and /frames with the key as X-Camera-Key; its "
              "clips land under uploads/footage/<camera>/. Audited (camera.registered).",
              responses=_answers(201, "the camera and its key", *BODY, *AGENCY, 503))
    def add_camera(body: tickets.NewCamera) -> Response[tickets.CameraCredentials]:
        """Register a camera."""
        return Response(201, content_types.APPLICATION_JSON, tickets.register_camera(wiring.store, viewer(), body))

    @app.get("/cameras", description="The agency's cameras (never another agency's), with revoked ones.",
             responses=_answers(200, "the agency's cameras", *AGENCY, 503))
    def cameras() -> list[Camera]:
        """List the agency's cameras."""
        return tickets.list_cameras(wiring.store, viewer())

    @app.delete("/cameras/<camera_id>", description="Revoke a camera's key (audited); it gets no ticket after.",
                responses=_answers(204, "revoked", 422, *AGENCY, 404, 503))
    def revoke_camera(camera_id: UUID) -> Response[None]:
        """Revoke a camera."""
        tickets.revoke_camera(wiring.store, viewer(), str(camera_id))
        return Response(204, content_types.APPLICATION_JSON, None)

    @app.post("/cameras/<camera_id>/footage", security=CAMERA_SECURITY, description="A camera asks to upload a clip "
              "(its place is the camera's): the same ticket as POST /footage/upload, under its own prefix.",
              responses=camera_answers(201, "the clip's id and how to upload it", *BODY, 503))
    def camera_footage(camera_id: UUID, body: tickets.CameraFootageRequest) -> Response[tickets.FootageTicket]:
        """Issue a clip ticket to a camera."""
        ticket = tickets.camera_upload(wiring.store, str(camera_id), camera_key(), body, wiring.footage_uploads)
        return Response(201, content_types.APPLICATION_JSON, ticket)

    @app.post("/cameras/<camera_id>/footage/<clip_id>/complete", security=CAMERA_SECURITY,
              description="A camera finishes a multipart upload.",
              responses=camera_answers(200, "the upload is complete", *BODY, 404, 503))
    def camera_complete(camera_id: UUID, clip_id: UUID, body: tickets.CompleteRequest) -> dict:
        """Complete a camera's multipart upload."""
        cam = tickets.camera(wiring.store, str(camera_id), camera_key())
        tickets.complete_upload(wiring.store, cam.id, str(clip_id), body, wiring.objects)
        return {"clip_id": str(clip_id), "status": "uploaded"}

    @app.post("/cameras/<camera_id>/frames", security=CAMERA_SECURITY, description="A camera asks to upload one "
              "still frame: a sighting at the camera's place and the frame's time (the receipt id follows it)."
              + UPLOAD_FORM, responses=camera_answers(201, "the upload form and receipt id", *BODY, 503))
    def camera_frame(camera_id: UUID, body: tickets.CameraFrameRequest) -> Response[UploadTicket]:
        """Issue a still-frame ticket to a camera."""
        ticket = tickets.camera_frame(wiring.store, str(camera_id), camera_key(), body, wiring.uploads)
        return Response(201, content_types.APPLICATION_JSON, ticket)


def _summaries(app: APIGatewayRestResolver) -> None:
    """Each route's OpenAPI summary is its handler's one-line docstring."""
    for route in app._static_routes + app._dynamic_routes:  # powertools keeps no public list of routes
        route.summary = route.summary or (route.func.__doc__ or "").strip() or None


def make_handler(wiring: Wiring) -> Callable[[dict, Any], dict]:
    """The Lambda handler over the given wiring."""
    app = make_app(wiring)

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> dict:
        return app.resolve(event, context)

    return handler


handler = make_handler(Wiring(Settings()))
