"""Bad input is the client's error, never the server's: every invalid request is answered 4xx naming the field and
the rule; an unregistered agency gets 403; an unavailable database 503 with Retry-After; anything else 500."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from facetrace.adapters.mysql import Database
from facetrace.config import Settings
from facetrace.errors import StoreUnavailable
from facetrace.messages import PhotoKind
from facetrace.wiring import Wiring
from functions.api.app import MAX_BODY_CHARS, MAX_JSON_DEPTH, RETRY_AFTER_S
from tests import fakes
from tests.api import Api, template_routes
from tests.unit.test_review_api import Scene

CLOSED_PORT_DB = "mysql://root@127.0.0.1:1/facetrace"
NOW = datetime.now(timezone.utc)


@pytest.fixture
def scene():
    s = Scene()
    yield s
    s.api.close()


def send(api: Api, method: str, path: str, body: str | bytes = b"", agency_id: str | None = None,
         content_type: str = "application/json") -> tuple[int, dict, object]:
    """One raw request through the gateway: (status, the function's headers, parsed JSON body)."""
    headers = {"Content-Type": content_type}
    if agency_id:
        headers["Authorization"] = f"Dev {agency_id}"
    raw = body.encode() if isinstance(body, str) else body
    answers = []
    invoke = api.gateway.invoke
    # The REST resolver answers multiValueHeaders, which the local gateway does not pass on: read them here.
    api.gateway.invoke = lambda event: answers.append(invoke(event)) or answers[-1]
    try:
        status, _, data = api.gateway.handle(method, path, headers, raw)
    finally:
        api.gateway.invoke = invoke
    answer_headers = {k: v[-1] for k, v in (answers[-1].get("multiValueHeaders") or {}).items()} if answers else {}
    return status, answer_headers, json.loads(data) if data else None


def _fill(path: str, scene: Scene) -> str:
    return path.format(case=scene.case.id, alert=scene.alert.id)


def _fields(answer: dict) -> set[str]:
    return {e["field"] for e in answer["errors"]}


# --- a body that is no JSON object, on every route that takes a body --------------------------------------------

BODY_ROUTES = [("POST", "/sightings/upload"), ("POST", "/cases"), ("PATCH", "/cases/{case}"),
               ("POST", "/cases/{case}/close"), ("POST", "/cases/{case}/shares"), ("POST", "/cases/{case}/photos"),
               ("POST", "/searches"), ("POST", "/alerts/{alert}/review"), ("POST", "/subscriptions")]

MALFORMED = [
    ("not JSON", "person_name=Jane", 400, "must be JSON"),
    ("truncated JSON", '{"person_name": "Jane"', 400, "must be JSON"),
    ("a JSON array", '["Jane"]', 400, "must be a JSON object"),
    ("a JSON string", '"Jane"', 400, "must be a JSON object"),
    ("JSON null", "null", 400, "must be a JSON object"),
    ("10,000 nested arrays", "[" * 10_000 + "]" * 10_000, 400, "nested"),
    ("10,000 nested objects", '{"a":' * 10_000 + "1" + "}" * 10_000, 400, "nested"),
    (f"{MAX_JSON_DEPTH + 1} nested objects", '{"notes":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1),
     400, "nested"),
    ("NaN", '{"age": NaN}', 400, "NaN is not a JSON number"),
    ("Infinity", '{"lat": Infinity}', 400, "Infinity is not a JSON number"),
    ("an unpaired surrogate", '{"person_name": "\\ud800"}', 400, "unpaired surrogate"),
    ("a 5,000-digit integer", '{"age": ' + "9" * 5000 + "}", 400, "digits"),
    ("a number out of range", '{"lat": 1e999}', 400, "out of range"),
    ("5 MB of notes", json.dumps({"person_name": "Jane", "notes": "x" * 5_000_000}), 413, "at most"),
]


@pytest.mark.parametrize("method,path", BODY_ROUTES, ids=lambda v: str(v))
@pytest.mark.parametrize("name,body,status,rule", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_body_that_is_no_json_object_is_refused_with_the_reason_on_every_route(scene, method, path, name, body,
                                                                                  status, rule):
    # GIVEN agency A's case and alert  WHEN a route that takes a body is sent one that is no usable JSON object
    answer_status, _, answer = send(scene.api, method, _fill(path, scene), body, scene.a.id)
    # THEN it is a client error that names the body and says what is wrong, and nothing changed
    assert answer_status == status
    assert answer["statusCode"] == status and answer["message"]
    (error,) = answer["errors"]
    assert (error["field"], error["in"]) == ("body", "body") and rule in error["rule"]
    assert scene.store.audit == [] and len(scene.store.cases) == 1 and scene.store.subscriptions == []


@pytest.mark.parametrize("method,path", BODY_ROUTES, ids=lambda v: str(v))
def test_a_body_that_is_not_json_by_content_type_is_415(scene, method, path):
    # GIVEN / WHEN a body is sent as text/plain  THEN 415 names the header
    status, _, answer = send(scene.api, method, _fill(path, scene), "{}", scene.a.id, content_type="text/plain")
    assert status == 415 and answer["errors"] == [
        {"field": "Content-Type", "in": "header", "rule": "must be application/json"}]


@pytest.mark.parametrize("content_type,body", [
    ("application/xml", "<case/>"), ("multipart/form-data", "--x\r\n"), ("multipart/form-data; boundary=x", "garbage"),
    ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data\r\n\r\nJane\r\n--x--\r\n"),
    ("application/x-www-form-urlencoded", "person_name=Jane&age=3"), ("application/x-www-form-urlencoded", "%%%"),
])
def test_a_body_of_another_kind_is_a_client_error(scene, content_type, body):
    # GIVEN / WHEN a case is opened with a body that is not JSON, declared as such
    status, _, answer = send(scene.api, "POST", "/cases", body, scene.a.id, content_type=content_type)
    # THEN it is refused as the client's error, with a reason, and nothing is stored
    assert 400 <= status < 500 and answer["errors"] and all(e["rule"] for e in answer["errors"])
    assert len(scene.store.cases) == 1


def test_the_size_limit_leaves_room_for_the_largest_valid_case(scene):
    # GIVEN the largest valid case, every character written as an escaped surrogate pair (12 characters each)
    emoji = "\\ud83d\\ude00"
    body = ('{"person_name": "' + emoji * 200 + '", "last_seen_place": "' + emoji * 300
            + '", "notes": "' + emoji * 4000 + '", "sex": "' + emoji * 16 + '"}')
    assert len(body) < MAX_BODY_CHARS
    # WHEN it is sent  THEN it is accepted
    status, _, case = send(scene.api, "POST", "/cases", body, scene.a.id)
    assert status == 201 and len(case["notes"]) == 4000


# --- a field that breaks a rule: 422 names it --------------------------------------------------------------------

LONG = "x" * 5000
FUTURE = (NOW + timedelta(days=1)).isoformat()

INVALID = [
    # POST /cases
    ("POST", "/cases", "", "body"),
    ("POST", "/cases", {}, "person_name"),
    ("POST", "/cases", {"person_name": ""}, "person_name"),
    ("POST", "/cases", {"person_name": "   "}, "person_name"),
    ("POST", "/cases", {"person_name": "x" * 201}, "person_name"),
    ("POST", "/cases", {"person_name": "Jane\nRoe"}, "person_name"),
    ("POST", "/cases", {"person_name": "Jane\x00"}, "person_name"),
    ("POST", "/cases", {"person_name": None}, "person_name"),
    ("POST", "/cases", {"person_name": 12345}, "person_name"),
    ("POST", "/cases", {"person_name": ["Jane"]}, "person_name"),
    ("POST", "/cases", {"person_name": "Jane", "age": -5}, "age"),
    ("POST", "/cases", {"person_name": "Jane", "age": 131}, "age"),
    ("POST", "/cases", {"person_name": "Jane", "age": 3e9}, "age"),
    ("POST", "/cases", {"person_name": "Jane", "age": 10 ** 20}, "age"),
    ("POST", "/cases", {"person_name": "Jane", "age": 34.5}, "age"),
    ("POST", "/cases", {"person_name": "Jane", "age": "34"}, "age"),
    ("POST", "/cases", {"person_name": "Jane", "age": True}, "age"),
    ("POST", "/cases", {"person_name": "Jane", "sex": "x" * 17}, "sex"),
    ("POST", "/cases", {"person_name": "Jane", "last_seen_place": "x" * 301}, "last_seen_place"),
    ("POST", "/cases", {"person_name": "Jane", "last_seen_at": "yesterday"}, "last_seen_at"),
    ("POST", "/cases", {"person_name": "Jane", "last_seen_at": "2024-13-01T00:00:00Z"}, "last_seen_at"),
    ("POST", "/cases", {"person_name": "Jane", "last_seen_at": "2024-06-01T12:00:00"}, "last_seen_at"),
    ("POST", "/cases", {"person_name": "Jane", "last_seen_at": FUTURE}, "last_seen_at"),
    ("POST", "/cases", {"person_name": "Jane", "last_seen_at": "0001-01-01T00:00:00Z"}, "last_seen_at"),
    ("POST", "/cases", {"person_name": "Jane", "last_seen_at": 3e12}, "last_seen_at"),
    ("POST", "/cases", {"person_name": "Jane", "notes": "x" * 4001}, "notes"),
    ("POST", "/cases", {"person_name": "Jane", "notes": {"a": 1}}, "notes"),
    ("POST", "/cases", {"person_name": "Jane", "nickname": "JR"}, "nickname"),
    ("POST", "/cases", {"person_name": "Jane", "agency_id": str(uuid.uuid4())}, "agency_id"),
    # PATCH /cases/{id}
    ("PATCH", "/cases/{case}", {"person_name": None}, "person_name"),
    ("PATCH", "/cases/{case}", {"person_name": ""}, "person_name"),
    ("PATCH", "/cases/{case}", {"age": 200}, "age"),
    ("PATCH", "/cases/{case}", {"last_seen_at": "yesterday"}, "last_seen_at"),
    ("PATCH", "/cases/{case}", {"last_seen_at": FUTURE}, "last_seen_at"),
    ("PATCH", "/cases/{case}", {"notes": LONG}, "notes"),
    ("PATCH", "/cases/{case}", {"status": "closed"}, "status"),
    ("PATCH", "/cases/not-a-uuid", {"notes": "x"}, "case_id"),
    # POST /cases/{id}/close, /shares, /photos
    ("POST", "/cases/{case}/close", {"reason": "x" * 2001}, "reason"),
    ("POST", "/cases/{case}/close", {"why": "found"}, "why"),
    ("POST", "/cases/{case}/shares", {}, "agency_id"),
    ("POST", "/cases/{case}/shares", {"agency_id": "agency B"}, "agency_id"),
    ("POST", "/cases/{case}/photos", {"content_type": "image/gif"}, "content_type"),
    # POST /searches
    ("POST", "/searches", {"content_type": "text/html"}, "content_type"),
    # POST /alerts/{id}/review
    ("POST", "/alerts/{alert}/review", {}, "decision"),
    ("POST", "/alerts/{alert}/review", {"decision": "maybe"}, "decision"),
    ("POST", "/alerts/{alert}/review", {"decision": "confirmed", "note": LONG}, "note"),
    ("POST", "/alerts/{alert}/review", {"decision": "confirmed", "notes": "typo"}, "notes"),
    # POST /subscriptions
    ("POST", "/subscriptions", {"channel": "fax", "address": "x@police.example"}, "channel"),
    ("POST", "/subscriptions", {"channel": "email", "address": "not-an-address"}, "address"),
    ("POST", "/subscriptions", {"channel": "sms", "address": "0791234567"}, "address"),
    ("POST", "/subscriptions", {"channel": "email", "address": "x@police.example", "region": ""}, "region"),
    ("POST", "/subscriptions", {"channel": "email", "address": "x@police.example", "case_id": "x"}, "case_id"),
    # POST /sightings/upload (public)
    ("POST", "/sightings/upload", {"lat": 91}, "lat"),
    ("POST", "/sightings/upload", {"lon": "east"}, "lon"),
    ("POST", "/sightings/upload", {"taken_at": "yesterday"}, "taken_at"),
    ("POST", "/sightings/upload", {"content_type": "image/gif"}, "content_type"),
    ("POST", "/sightings/upload", {"place": "x" * 301}, "place"),
    # path and query parameters
    ("GET", "/cases/not-a-uuid", None, "case_id"),
    ("GET", "/cases/not-a-uuid/audit", None, "case_id"),
    ("GET", "/receipts/not-a-uuid", None, "receipt_id"),
    ("GET", "/alerts/123", None, "alert_id"),
    ("GET", "/searches/x", None, "search_id"),
    ("DELETE", "/subscriptions/x", None, "subscription_id"),
    ("GET", "/alerts?limit=0", None, "limit"),
    ("GET", "/alerts?limit=abc", None, "limit"),
    ("GET", "/alerts?since=yesterday", None, "since"),
    ("GET", "/alerts?status=maybe", None, "status"),
    ("GET", "/alerts?case_id=x", None, "case_id"),
]


@pytest.mark.parametrize("method,path,body,field", INVALID, ids=lambda v: str(v)[:40])
def test_an_invalid_request_is_422_naming_the_field_and_the_rule(scene, method, path, body, field):
    # GIVEN agency A's case and alert
    raw = json.dumps(body) if isinstance(body, dict) else (body or "")
    # WHEN A sends a request with one part that breaks a rule
    status, _, answer = send(scene.api, method, _fill(path, scene), raw, scene.a.id)
    # THEN 422 names that part and gives the rule, in words
    assert status == 422
    assert answer["statusCode"] == 422 and answer["message"] == "invalid request"
    assert field in _fields(answer)
    assert all(e["rule"] and e["in"] in ("body", "path", "query") for e in answer["errors"])
    # AND nothing was stored or audited
    assert scene.store.audit == [] and len(scene.store.cases) == 1 and scene.store.subscriptions == []
    assert scene.store.cases[scene.case.id] == scene.case


def test_every_broken_rule_is_listed_with_its_words(scene):
    # GIVEN / WHEN a case with four bad fields is opened
    status, _, answer = send(scene.api, "POST", "/cases", json.dumps(
        {"person_name": "", "age": -5, "last_seen_at": "yesterday", "notes": "x" * 4001}), scene.a.id)
    # THEN each is named with what it must be
    rules = {e["field"]: e["rule"] for e in answer["errors"]}
    assert status == 422 and set(rules) == {"person_name", "age", "last_seen_at", "notes"}
    assert rules["person_name"] == "String should have at least 1 character"
    assert rules["age"] == "Input should be greater than or equal to 0"
    assert rules["notes"] == "String should have at most 4000 characters"


def test_a_future_last_seen_time_says_so(scene):
    # GIVEN / WHEN a case is opened as last seen tomorrow  THEN the rule says it must not be in the future
    _, _, answer = send(scene.api, "POST", "/cases", json.dumps({"person_name": "Jane", "last_seen_at": FUTURE}),
                        scene.a.id)
    assert answer["errors"] == [{"field": "last_seen_at", "in": "body", "rule": "must not be in the future"}]


def test_valid_details_are_kept_as_given_and_names_are_trimmed(scene):
    # GIVEN / WHEN a case is opened with every detail, the name padded with spaces
    seen = (NOW - timedelta(hours=3)).replace(microsecond=0)
    status, _, case = send(scene.api, "POST", "/cases", json.dumps({
        "person_name": "  Jane Roe ", "age": 0, "sex": "F", "last_seen_place": "Harbour",
        "last_seen_at": seen.isoformat(), "notes": "red coat\nblue scarf"}), scene.a.id)
    # THEN it is stored with the name trimmed, and notes may span lines
    assert status == 201
    assert (case["person_name"], case["age"], case["notes"]) == ("Jane Roe", 0, "red coat\nblue scarf")
    assert datetime.fromisoformat(case["last_seen_at"]) == seen


def test_a_patch_may_clear_an_optional_detail_but_not_the_name(scene):
    # GIVEN A's case with an age  WHEN A clears the age
    status, _, case = send(scene.api, "PATCH", f"/cases/{scene.case.id}", json.dumps({"age": None}), scene.a.id)
    # THEN it is cleared (and only that changed)
    assert status == 200 and case["age"] is None and case["person_name"] == scene.case.person_name


def test_the_patch_model_has_the_case_rules_and_nothing_required():
    # GIVEN the case model and its changes  WHEN their schemas are compared
    from facetrace.case import CaseDetails
    from facetrace.casework import CaseChanges
    details, changes = CaseDetails.model_json_schema(), CaseChanges.model_json_schema()
    # THEN the changes have the same fields, none required, with the same limits
    assert set(changes["properties"]) == set(details["properties"]) and "required" not in changes
    assert changes["properties"]["person_name"]["maxLength"] == details["properties"]["person_name"]["maxLength"] == 200
    assert changes.get("additionalProperties") is False


# --- an agency that is not registered: 403 everywhere -------------------------------------------------------------

VALID_BODIES = {
    ("POST", "/cases"): {"person_name": "Jane"}, ("PATCH", "/cases/{case_id}"): {"notes": "x"},
    ("POST", "/cases/{case_id}/close"): {}, ("POST", "/cases/{case_id}/shares"): {"agency_id": str(uuid.uuid4())},
    ("POST", "/cases/{case_id}/photos"): {}, ("POST", "/searches"): {},
    ("POST", "/alerts/{alert_id}/review"): {"decision": "confirmed"},
    ("POST", "/subscriptions"): {"channel": "email", "address": "x@police.example"},
    ("POST", "/footage/upload"): {"size_bytes": 1000, "started_at": "2024-01-01T00:00:00Z"},
    ("POST", "/footage/{clip_id}/complete"): {"upload_id": "x", "parts": [{"part_number": 1, "etag": "e"}]},
    ("POST", "/cameras"): {"name": "Gate 3", "place": "Main station"},
}
AGENCY_ROUTES = [r for r in template_routes() if not r.public]


def _ids_in(path: str, scene: Scene) -> str:
    ids = {"alert_id": scene.alert.id, "sighting_face_id": str(scene.alert.sighting_face_id)}
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m[1], scene.case.id), path)


@pytest.mark.parametrize("route", AGENCY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_a_valid_token_of_an_unregistered_agency_gets_403_on_every_agency_route(scene, route):
    # GIVEN a signed-in user whose agency the store does not know
    stranger = str(uuid.uuid4())
    body = VALID_BODIES.get((route.method, route.path))
    # WHEN it calls an agency route with a valid request
    status, _, answer = send(scene.api, route.method, _ids_in(route.path, scene),
                             json.dumps(body) if body is not None else b"", stranger)
    # THEN it is refused as not registered, and nothing was read, changed or stored
    assert status == 403 and answer["message"] == "agency not registered"
    assert len(scene.store.cases) == 1 and scene.store.audit == [] and scene.store.subscriptions == []


def test_the_agency_is_looked_up_once_per_request(scene):
    # GIVEN a store that counts agency look-ups
    looked_up = []
    get_agency = scene.store.get_agency
    scene.store.get_agency = lambda agency_id: looked_up.append(agency_id) or get_agency(agency_id)
    # WHEN A opens a case
    status, _, _ = send(scene.api, "POST", "/cases", json.dumps({"person_name": "Jane"}), scene.a.id)
    # THEN its agency was looked up once
    assert status == 201 and looked_up == [scene.a.id]


# --- anything unexpected: 500 without details ---------------------------------------------------------------------


def test_an_unexpected_error_is_500_without_details_and_logged(scene, caplog):
    # GIVEN a store that fails in a way nobody planned for
    def broken(case_id):
        raise RuntimeError("secret internals at /var/task/x.py")
    scene.store.get_case = broken
    # WHEN A reads its case
    with caplog.at_level(logging.ERROR):
        status, _, answer = send(scene.api, "GET", f"/cases/{scene.case.id}", b"", scene.a.id)
    # THEN the answer is a generic 500, and the log has the error with the route
    assert status == 500 and answer == {"statusCode": 500, "message": "internal error", "errors": []}
    (record,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert (record.levelno, record.error_type, record.route) == (logging.ERROR, "RuntimeError", "/cases/{case_id}")


# --- the database unavailable: 503 with Retry-After, then back -----------------------------------------------------


def test_a_database_that_cannot_be_reached_is_store_unavailable_not_a_driver_error():
    # GIVEN a database URL whose port nothing listens on
    db = Database(CLOSED_PORT_DB)
    # WHEN it is queried  THEN the domain's StoreUnavailable says so, with the driver's error code
    with pytest.raises(StoreUnavailable) as raised:
        db.query("SELECT 1")
    assert raised.value.code == 2003


DOWN_CALLS = [("GET", "/receipts/{photo}"), ("GET", "/cases/{case}"), ("POST", "/cases"), ("GET", "/alerts"),
              ("GET", "/subscriptions"), ("POST", "/alerts/{alert}/review")]
DOWN_BODIES = {"/cases": {"person_name": "Jane"}, "/alerts/{alert}/review": {"decision": "confirmed"}}


def _down_path(path: str, ids: dict) -> str:
    return path.format(**ids)


@pytest.mark.parametrize("method,path", DOWN_CALLS, ids=lambda v: str(v))
def test_an_unreachable_database_is_503_with_retry_after_and_an_error_log(method, path, caplog):
    # GIVEN the API over a database that cannot be reached
    api = Api(Wiring(Settings(db_url=CLOSED_PORT_DB)))
    ids = {"photo": uuid.uuid4(), "case": uuid.uuid4(), "alert": uuid.uuid4()}
    try:
        # WHEN a citizen or an agency calls it
        with caplog.at_level(logging.ERROR):
            status, headers, answer = send(api, method, _down_path(path, ids), json.dumps(DOWN_BODIES.get(path, {})),
                                           None if path.startswith("/receipts") else str(uuid.uuid4()))
    finally:
        api.close()
    # THEN 503 says to retry later, and the error is logged with the driver's code and the route
    assert status == 503 and headers["Retry-After"] == str(RETRY_AFTER_S)
    assert answer["message"] == "service temporarily unavailable; retry later"
    (record,) = [r for r in caplog.records if r.getMessage() == "database unavailable"]
    assert record.levelno == logging.ERROR and record.db_error_code == 2003 and record.method == method


class Relay:
    """A TCP relay in front of MariaDB that can be cut and restored: a database outage without touching the server."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = _free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def up(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def down(self) -> None:
        for s in [self._listener, *self._sockets]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
def test_the_api_answers_503_while_the_database_is_down_and_200_once_it_is_back(store, db_url):
    # GIVEN agency A with a case and a citizen's recorded sighting in MariaDB, and the API reaching it through a relay
    parts = urlsplit(db_url)
    relay = Relay(parts.hostname, parts.port or 3306)
    relay.up()
    agency = fakes.agency()
    store.add_agency(agency)
    case = fakes.case(agency.id)
    store.add_case(case)
    sighting = fakes.photo(PhotoKind.SIGHTING)
    store.add_photo(sighting)
    wiring = Wiring(Settings(db_url=parts._replace(netloc=f"root@127.0.0.1:{relay.port}").geturl()))
    api = Api(wiring)
    calls = [("GET", f"/receipts/{sighting.id}", None), ("GET", f"/cases/{case.id}", agency.id),
             ("GET", "/alerts", agency.id)]
    try:
        assert [send(api, m, p, b"", a)[0] for m, p, a in calls] == [200, 200, 200]
        # WHEN the database goes away, connections and all
        relay.down()
        down = [send(api, m, p, b"", a) for m, p, a in calls]
        # THEN every call is 503 with Retry-After
        assert [(s, h.get("Retry-After")) for s, h, _ in down] == [(503, str(RETRY_AFTER_S))] * 3
        # WHEN it comes back  THEN the same calls succeed again, on fresh connections
        relay.up()
        back = [send(api, m, p, b"", a) for m, p, a in calls]
        assert [s for s, _, _ in back] == [200, 200, 200]
        assert back[1][2]["id"] == case.id and back[0][2]["status"] == sighting.status.value
    finally:
        relay.down()
        api.close()
        wiring.store.db.close()


@pytest.mark.integration
def test_a_stored_case_is_read_even_if_it_no_longer_passes_the_entry_rules(store):
    # GIVEN a case stored before the rules tightened: last seen "in the future", a tab in the name
    agency = fakes.agency()
    store.add_agency(agency)
    case = fakes.case(agency.id).model_copy(update={"person_name": "Jane\tRoe",
                                                     "last_seen_at": NOW + timedelta(days=30)})
    store.add_case(case)
    # WHEN it is read back  THEN it is, unchanged
    assert store.get_case(case.id).person_name == "Jane\tRoe"
