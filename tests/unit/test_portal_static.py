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


def test_config_js_carries_what_the_stack_adds():
    # GIVEN the stack's retention WHEN config.js is asked for THEN the citizen page can state it
    _, _, body = portal.serve("/portal/config.js", API, {"retentionDays": 90})
    assert json.loads(body.decode().split("=", 1)[1].rstrip().rstrip(";"))["retentionDays"] == 90


def test_nothing_outside_the_portal_is_served():
    # GIVEN paths that climb out of portal/ or miss it WHEN asked for THEN 404, and API paths are not claimed
    assert portal.serve("/portal/../README.md", API)[0] == 404
    assert portal.serve("/portal/%2e%2e/README.md", API)[0] == 404
    assert portal.serve("/portal/missing.html", API)[0] == 404
    assert portal.serve("/portalx", API) is None and portal.serve("/cases/1", API) is None


def _pages():
    return sorted(portal.portal_dir().glob("*.html"))


def test_every_page_loads_only_its_own_files_and_nothing_from_a_cdn():
    import re

    # GIVEN every page of the portal  WHEN its scripts, styles, images and links are read
    for page in _pages():
        html = page.read_text()
        for ref in re.findall(r'(?:src|href)="([^"#]+)', html):
            # THEN each is a file of portal/ (config.js is generated: locally by the gateway, in AWS at publish)
            assert "//" not in ref and not ref.startswith("/"), (page.name, ref)
            name = ref.split("?")[0]
            assert name == "config.js" or (portal.portal_dir() / name).is_file(), (page.name, ref)
    # AND no script fetches anything but the API, S3's presigned forms and Cognito named in config.js
    for script in portal.portal_dir().glob("*.js"):
        assert not re.search(r"https?://", script.read_text()), script.name


def test_every_form_field_has_a_label():
    import re

    for page in _pages():
        html = page.read_text()
        labelled = set(re.findall(r'<label[^>]*\sfor="([^"]+)"', html))
        fields = re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', html)
        assert set(fields) <= labelled, (page.name, set(fields) - labelled)


def test_the_pages_the_issue_names_exist_and_agency_pages_share_the_sign_in():
    names = {p.name for p in _pages()}
    footage = ("footage-upload.html", "footage.html", "footage-list.html", "cameras.html")  # issue #14
    assert {"index.html", "citizen.html", "agency.html", "alert.html", "cases.html", "case.html", "search.html",
            "subscriptions.html", "signin.html", *footage} <= names
    agency_pages = ("agency.html", "alert.html", "cases.html", "case.html", "search.html", "subscriptions.html", *footage)
    for name in agency_pages:
        html = (portal.portal_dir() / name).read_text()
        assert 'src="auth.js"' in html and 'id="banner"' in html and 'id="signin-section"' in html, name
        # AND every agency page's navigation reaches the footage pages
        for target in ("footage-list.html", "footage-upload.html", "cameras.html"):
            assert f'<li><a href="{target}"' in html, (name, target)
