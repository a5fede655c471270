"""The local API gateway: template routes, public routes open, agency routes behind the dev token."""

from __future__ import annotations

import json
import uuid

import pytest

from devstack.gateway import LocalGateway, Route, routes_from_template

ROUTES = [
    Route("POST", "/sightings/upload", public=True),
    Route("GET", "/receipts/{receipt_id}", public=True),
    Route("POST", "/cases", public=False),
    Route("GET", "/cases/{case_id}", public=False),
]


class FakeApi:
    """The API function: remembers each event and answers 200 with a JSON body (or crashes when told to)."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.crash = False

    def __call__(self, event: dict) -> dict:
        self.events.append(event)
        if self.crash:
            raise RuntimeError("boom")
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"ok": True})}


@pytest.fixture(scope="module")
def _served():
    api = FakeApi()
    gw = LocalGateway(ROUTES, api).start()  # listens on loopback only; the tests call handle() directly
    yield gw, api
    gw.stop()


@pytest.fixture
def gateway(_served):
    return _served[0]


@pytest.fixture
def api(_served):
    api = _served[1]
    api.events.clear()
    api.crash = False
    return api


def test_public_route_works_without_credentials(gateway, api):
    # GIVEN no Authorization header
    # WHEN a citizen asks for a receipt
    receipt_id = str(uuid.uuid4())
    status, headers, body = gateway.handle("GET", f"/receipts/{receipt_id}?x=1", {}, b"")
    # THEN the API function is invoked with the path parameter and no authorizer, and its answer returned
    assert (status, json.loads(body)) == (200, {"ok": True})
    [event] = api.events
    assert event["pathParameters"] == {"receipt_id": receipt_id}
    assert event["resource"] == "/receipts/{receipt_id}"
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["requestContext"]["authorizer"] is None


def test_agency_route_without_the_dev_token_is_unauthorised(gateway, api):
    # GIVEN no token, then a token in another scheme
    for headers in ({}, {"Authorization": "Bearer abc"}, {"Authorization": "Dev "}):
        # WHEN an agency route is called
        status, _, body = gateway.handle("POST", "/cases", headers, b"{}")
        # THEN it is refused before reaching the function
        assert status == 401
        assert json.loads(body) == {"message": "Unauthorized"}
    assert api.events == []


def test_agency_route_with_the_dev_token_carries_the_agency_claim(gateway, api):
    # GIVEN the development token of an agency
    agency_id = str(uuid.uuid4())
    # WHEN it opens a case
    status, _, _ = gateway.handle("POST", "/cases", {"authorization": f"Dev {agency_id}"}, b'{"person_name": "J"}')
    # THEN the function sees the claim as Cognito would pass it, and the body
    assert status == 200
    [event] = api.events
    assert event["requestContext"]["authorizer"]["claims"]["custom:agency_id"] == agency_id
    assert event["body"] == '{"person_name": "J"}'


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("DELETE", "/cases"), ("GET", "/cases/a/b")])
def test_unknown_route_is_404(gateway, api, method, path):
    # GIVEN / WHEN a path or method the template does not route
    status, _, _ = gateway.handle(method, path, {"Authorization": "Dev agency"}, b"")
    # THEN it is answered 404 without invoking the function
    assert status == 404
    assert api.events == []


def test_crashing_function_is_a_502(gateway, api):
    # GIVEN an API function that raises
    api.crash = True
    # WHEN a public route is called THEN the gateway answers 502 like API Gateway
    assert gateway.handle("POST", "/sightings/upload", {}, b"{}")[0] == 502


def test_routes_come_from_the_functions_api_events():
    # GIVEN a function with a public and a protected Api event, and a non-Api event
    function = {"Properties": {"Events": {
        "Upload": {"Type": "Api", "Properties": {"Method": "post", "Path": "/sightings/upload",
                                                 "Auth": {"Authorizer": "NONE"}}},
        "Case": {"Type": "Api", "Properties": {"Method": "get", "Path": "/cases/{case_id}"}},
        "Queue": {"Type": "SQS", "Properties": {}},
    }}}
    # WHEN the routes are read THEN the Authorizer NONE one is public and the other protected
    assert routes_from_template(function) == [Route("POST", "/sightings/upload", True),
                                              Route("GET", "/cases/{case_id}", False)]


def test_the_api_function_serves_one_request_at_a_time_as_a_lambda_container_does():
    # GIVEN an API function that notices when it is entered while already busy
    import threading
    import time

    import requests

    busy, overlaps = threading.Lock(), []

    def api(event: dict) -> dict:
        if not busy.acquire(blocking=False):
            overlaps.append(event["path"])
            return {"statusCode": 500, "body": "{}"}
        try:
            time.sleep(0.02)
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
        finally:
            busy.release()

    gw = LocalGateway(ROUTES, api).start()
    try:
        # WHEN a browser sends many requests at once
        results: list[int] = []
        threads = [threading.Thread(target=lambda i=i: results.append(
            requests.get(f"{gw.url}/receipts/{uuid.uuid4()}", timeout=10).status_code)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        gw.stop()
    # THEN every one was answered, none while another was in the function
    assert results == [200] * 12 and overlaps == []
