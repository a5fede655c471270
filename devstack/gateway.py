"""A local stand-in for API Gateway: real HTTP in, the API function's handler, real HTTP out."""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from aws_lambda_powertools import Logger

from devstack import portal

logger = Logger(child=True)

DEV_SCHEME = "Dev "  # locally "Authorization: Dev <agency id>" stands in for a Cognito ID token


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource, e.g. /cases/{case_id}
    public: bool

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        m = re.match(pattern, path)
        return m.groupdict() if m else None


def routes_from_template(function: dict) -> list[Route]:
    """The API routes of a function's Api events; Authorizer NONE marks a public route."""
    routes = []
    for event in function["Properties"].get("Events", {}).values():
        if event["Type"] == "Api":
            props = event["Properties"]
            public = props.get("Auth", {}).get("Authorizer") == "NONE"
            routes.append(Route(props["Method"].upper(), props["Path"], public))
    return routes


class LocalGateway:
    """Serves the API function on 127.0.0.1 with the template's routes and a development authorizer,
    and the web portal's static files under /portal/."""

    def __init__(self, routes: list[Route], invoke: Callable[[dict], dict],
                 pages: dict[str, Callable[[], bytes]] | None = None, portal_config: dict | None = None) -> None:
        self.routes, self.invoke = routes, invoke
        # Development pages beside the API (e.g. the local outbox): path -> HTML, made afresh on each GET.
        self.pages, self.portal_config = pages or {}, portal_config or {}
        # One API handler stands for one Lambda container, which serves one request at a time (the resolver
        # keeps the request in hand on itself); HTTP is still served in threads, static files included.
        self._one_at_a_time = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "LocalGateway":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        """Route one request to the API function, or answer 404/401 like API Gateway would."""
        parts = urlsplit(raw_path)
        if method == "GET":
            # The portal shares the API's origin, so its calls need no CORS.
            static = portal.serve(parts.path, self.url, self.portal_config)
            if static is not None:
                return static
            page = self.pages.get(parts.path.rstrip("/"))
            if page is not None:
                return 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, page()
        for route in self.routes:
            params = route.match(method, parts.path)
            if params is None:
                continue
            claims = _claims(headers)
            if not route.public and claims is None:
                return 401, {"Content-Type": "application/json"}, b'{"message":"Unauthorized"}'
            event = _event(method, parts, route, params, headers, body, claims)
            try:
                with self._one_at_a_time:
                    response = self.invoke(event)
            except Exception:
                # API Gateway answers 502 when the integration crashes; the function has logged why.
                logger.exception("API function failed", extra={"path": parts.path})
                return 502, {"Content-Type": "application/json"}, b'{"message":"Internal server error"}'

            payload = response.get("body") or ""
            data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
            # API Gateway merges both header maps of a REST (v1) response; powertools fills multiValueHeaders.
            headers = {k: ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()}
            return response["statusCode"], {**headers, **(response.get("headers") or {})}, data
        return 404, {"Content-Type": "application/json"}, b'{"message":"Missing Authentication Token"}'

    def _handler_class(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, headers, data = gateway.handle(self.command, self.path, dict(self.headers), self.rfile.read(length))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args: Any) -> None:
                pass  # the API function logs each request itself

        return Handler


def _claims(headers: dict[str, str]) -> dict[str, str] | None:
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if auth.startswith(DEV_SCHEME) and auth[len(DEV_SCHEME):].strip():
        return {"custom:agency_id": auth[len(DEV_SCHEME):].strip(), "sub": "dev"}
    return None


def _event(method, parts, route: Route, params, headers, body: bytes, claims) -> dict:
    return {
        "resource": route.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": dict(parse_qsl(parts.query)) or None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path, "httpMethod": method, "path": parts.path, "stage": "local",
            "requestId": "local", "accountId": "123456789012", "apiId": "local",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"claims": claims} if claims else None,
        },
        # API Gateway passes a text body on; bytes that are not UTF-8 arrive replaced, never as a crash.
        "body": body.decode("utf-8", errors="replace") if body else None,
        "isBase64Encoded": False,
    }


