"""The local gateway's static portal: files under /portal/, a generated config.js, nothing outside portal/."""

from __future__ import annotations

import json

from devstack import portal

API = "http://127.0.0.1:1234"


def test_portal_pages_are_served_with_their_types():
    # GIVEN the repository's portal/ WHEN the root and a script are asked for THEN both come back typed
    status, headers, body = portal.serve("/portal/", API)
    assert status == 200 and headers["Content-Type"] == "text/html" and b"citizen.html" in body
    status, headers, _ = portal.serve("/portal/citizen.js", API)
    assert status == 200 and "javascript" in headers["Content-Type"]


def test_config_js_names_the_api_and_dev_sign_in():
    # GIVEN a gateway at API WHEN config.js is asked for THEN it carries that base URL and the Dev sign-in
    status, _, body = portal.serve("/portal/config.js", API)
    config = json.loads(body.decode().split("=", 1)[1].rstrip().rstrip(";"))
    assert status == 200 and config == {"apiUrl": API, "auth": "dev"}


def test_nothing_outside_the_portal_is_served():
    # GIVEN paths that climb out of portal/ or miss it WHEN asked for THEN 404, and API paths are not claimed
    assert portal.serve("/portal/../README.md", API)[0] == 404
    assert portal.serve("/portal/%2e%2e/README.md", API)[0] == 404
    assert portal.serve("/portal/missing.html", API)[0] == 404
    assert portal.serve("/portalx", API) is None and portal.serve("/cases/1", API) is None
