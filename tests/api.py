"""The API function over in-memory fakes, called through the local gateway with the template's routes."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

from facetrace.config import Settings
from facetrace.image_check import Limits
from devstack.gateway import DEV_SCHEME, LocalGateway, routes_from_template
from devstack.template import load_template
from facetrace.review import ReviewDeps
from facetrace.upload import Uploads
from functions.api.app import make_handler
from tests import fakes
from tests.conftest import REPO
from tests.events import context


def template_routes():
    """The API function's routes as the template declares them."""
    return list(_template_routes())


@functools.cache
def _template_routes():
    # Parsing the template takes a quarter of a second; tests build hundreds of gateways.
    template = load_template(REPO / "infra" / "template.yaml")
    return tuple(routes_from_template(template["Resources"]["ApiFunction"]))


@dataclass
class FakeWiring:
    """What the API handler uses from Wiring, over fakes."""

    store: fakes.MemoryStore = field(default_factory=fakes.MemoryStore)
    objects: fakes.FakeObjects = field(default_factory=fakes.FakeObjects)
    settings: Settings = field(default_factory=lambda: Settings(photo_url_ttl_s=600, reference_grace_days=30))

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(s.min_upload_bytes, s.max_upload_bytes, s.min_image_side, s.max_image_side, s.max_image_pixels)

    @property
    def uploads(self) -> Uploads:
        return Uploads(self.objects, self.limits, self.settings.upload_url_ttl_s)

    def review(self) -> ReviewDeps:
        return ReviewDeps(self.store, self.objects, self.settings.photo_url_ttl_s)


class Api:
    """Calls the API as an agency user (Dev token) or as a citizen (no token); returns (status, json)."""

    def __init__(self, wiring) -> None:
        handler = make_handler(wiring)
        self.gateway = LocalGateway(template_routes(), lambda event: handler(event, context("api")))

    def call(self, method: str, path: str, agency_id: str | None = None, body: dict | None = None,
             user: str = "dev") -> tuple[int, object]:
        headers = {"Content-Type": "application/json"}
        if agency_id:
            headers["Authorization"] = f"{DEV_SCHEME}{agency_id}"
        status, _, data = self.gateway.handle(method, path, headers, json.dumps(body).encode() if body is not None else b"")
        return status, json.loads(data) if data else None

    def close(self) -> None:
        self.gateway._server.server_close()  # never started: only the socket to release
