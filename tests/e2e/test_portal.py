"""The web portal in a real browser (headless Chromium) against the whole local stack: an agency opens a case,
adds its photos, reviews the alert a citizen's upload raised (and changes its mind on purpose), looks at a near
miss, searches by photo, chooses its alert recipients and reads the audit trail; on a phone-sized screen too.
Cognito's hosted sign-in (code + PKCE) is driven against a stand-in identity provider."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from facetrace.case import Agency
from facetrace.gallery import Candidate
from devstack.system import LocalSystem
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("FACETRACE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "artifacts" / "screenshots"
# Without the background-networking flags Chromium keeps trying to reach Google on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def system(mysql_server, test_data):
    # test_data first: without the shared photos the test skips before anything starts.
    system = LocalSystem(pack="dlib", server=mysql_server, stack_name="facetrace-portal").start()
    stop = system.run_in_background()
    yield system
    stop.set()
    system.stop()


@pytest.fixture(scope="module")
def browser():
    # Make installs Chromium (`make browser`); a missing browser is a failure, not a skip, so CI cannot pass blind.
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser`"
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="facetrace-chromium-")
    with sync_playwright() as pw:
        # A persistent context is how Playwright takes a fresh --user-data-dir.
        context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                        headless=True, viewport={"width": 1100, "height": 900})
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert errors == [], f"the page's scripts failed: {errors}"


@pytest.fixture(scope="module")
def agency(system) -> Agency:
    agency = Agency(name="Portal Police", email="cases@portal.test")
    system.store.add_agency(agency)
    return agency


def _wait(done, timeout_s: float = 120) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.2)
    return done()


def _sign_in(page, portal: str, agency_id: str, where: str = "agency.html") -> None:
    page.goto(f"{portal}/{where}")
    page.get_by_label("Agency id").fill(agency_id)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#nav").wait_for(state="visible")


def _no_sideways_scroll(page) -> None:
    wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], f"the page is {wide[0]} px wide in a {wide[1]} px window"


def test_an_agency_works_a_case_from_opening_to_review_in_the_browser(system, browser, page, people, agency):
    SHOTS.mkdir(parents=True, exist_ok=True)
    portal = f"{system.gateway.url}/portal"
    # GIVEN an analyst of a registered agency, signed in on the cases page
    _sign_in(page, portal, agency.id, "cases.html")
    # WHEN they open a case through the form
    page.get_by_label("Name of the missing person").fill("Portal Person")
    page.get_by_label("Age (optional)").fill("34")
    page.get_by_label("Last seen where (optional)").fill("Test Town")
    page.get_by_role("button", name="Open the case").click()
    page.wait_for_url("**/case.html?id=*")
    case_id = parse_qs(urlsplit(page.url).query)["id"][0]
    page.locator("#case-title", has_text="Portal Person").wait_for()
    # AND add two reference photos: each uploads with progress, then shows its quality verdict
    for n, photo in enumerate(people["person01"][:2], start=1):
        page.get_by_label("Add a reference photo").set_input_files(str(photo))
        page.get_by_role("button", name="Upload the photo").click()
        page.locator("#photos li.verdict-enrolled img").nth(n - 1).wait_for(timeout=120_000)
        assert page.locator("#upload-status").inner_text() == "The photo is enrolled."
        assert page.locator("#upload-progress").get_attribute("value") == "100"
    assert page.locator("#photos li.verdict-enrolled img").count() == 2
    page.screenshot(path=str(SHOTS / "case-with-photos.png"), full_page=True)

    # WHEN a citizen reads the privacy notice, adds their location and uploads an unseen photo of the person
    browser.grant_permissions(["geolocation"])
    browser.set_geolocation({"latitude": 51.500729, "longitude": -0.124626, "accuracy": 20})
    citizen = browser.new_page()
    citizen.goto(f"{portal}/citizen.html")
    notice = citizen.locator("#privacy").inner_text()
    assert "at most 90 days" in notice and "checked by a person" in notice and "receipt number" in notice
    citizen.get_by_label("Photo (take one or choose a file)").set_input_files(str(people["person01"][4]))
    citizen.get_by_label("Where was it taken? (optional)").fill("Market Square")
    citizen.get_by_role("button", name="Add my current location").click()
    citizen.locator("#location-status", has_text="Location added: 51.50073, -0.12463").wait_for()
    citizen.get_by_role("button", name="Send photo").click()
    # THEN the receipt reaches "processed" and says how many faces were found, and the location was sent
    citizen.locator("#receipt-status", has_text="processed").wait_for(timeout=120_000)
    assert "1 face(s) found" in citizen.locator("#receipt-reason").inner_text()
    receipt_id = citizen.locator("#receipt-id").inner_text()
    sighting = system.store.get_photo(receipt_id)
    assert (sighting.lat, sighting.lon, sighting.place) == (51.50073, -0.12463, "Market Square")
    citizen.screenshot(path=str(SHOTS / "citizen-after-upload.png"), full_page=True)
    # AND a receipt checked later says what happened; one never issued says "not received"
    citizen.get_by_label("Receipt number").fill(receipt_id)
    citizen.get_by_role("button", name="Check").click()
    citizen.locator("#check-result", has_text="Checked: 1 face(s) found and searched.").wait_for()
    citizen.get_by_label("Receipt number").fill(str(uuid.uuid4()))
    citizen.get_by_role("button", name="Check").click()
    citizen.locator("#check-result", has_text="Not received").wait_for()
    citizen.close()

    # WHEN the analyst opens the alert queue, it names the person
    page.get_by_role("link", name="Alerts", exact=True).click()
    row = page.locator("#alerts tbody tr")
    assert _wait(lambda: _refreshed_count(page, row) == 1, timeout_s=60), "the alert never reached the queue"
    assert "Portal Person" in row.first.inner_text()
    page.screenshot(path=str(SHOTS / "alert-queue.png"), full_page=True)
    # AND the local outbox shows the alert's e-mail to the agency and its text message
    outbox = browser.new_page()
    outbox.goto(f"{system.gateway.url}/outbox")
    assert _wait(lambda: _outbox_has(outbox, "Portal Person"), timeout_s=30), "the alert e-mail is not in the outbox"
    assert "cases@portal.test" in outbox.locator("main").inner_text()
    assert outbox.locator("table tbody tr").count() >= 1
    outbox.screenshot(path=str(SHOTS / "outbox.png"), full_page=True)
    outbox.close()
    alert_id = row.first.get_attribute("data-alert-id")
    # AND opens it: both photos side by side, the face boxed on the sighting, the place given by the citizen
    row.first.get_by_role("link", name="Review").click()
    page.locator("#facebox").wait_for(state="visible", timeout=30_000)
    page.wait_for_function("document.getElementById('reference-img').naturalWidth > 0", timeout=30_000)
    assert "Market Square" in page.locator("#alert-facts").inner_text()
    page.locator("#review").screenshot(path=str(SHOTS / "alert-review.png"))
    # AND confirms it: the page says so, and both decision buttons go inactive
    page.get_by_label("Note (why you decided)").fill("same face, seen by the market")
    page.get_by_role("button", name="Confirm: same person").click()
    page.locator("#review-status", has_text="Alert confirmed.").wait_for(timeout=30_000)
    assert "confirmed" in page.locator("#alert-facts").inner_text()
    assert page.get_by_role("button", name="Confirm: same person").is_disabled()
    assert page.get_by_role("button", name="Reject: not the person").is_disabled()
    assert "Confirmed by dev" in page.locator("#decided").inner_text()
    page.locator("#review").screenshot(path=str(SHOTS / "alert-decided.png"))
    # AND changing the decision takes saying so, and why
    page.get_by_label("I am changing this decision").check()
    page.get_by_label("Note (why you decided)").fill("the photo is from 2019")
    page.get_by_role("button", name="Reject: not the person").click()
    page.locator("#review-status", has_text="Alert rejected.").wait_for(timeout=30_000)
    assert system.store.get_alert(alert_id).status.value == "rejected"
    # AND the decision history shows both, in place and after a reload
    for _ in range(2):
        history = page.locator("#history li").all_inner_texts()
        assert len(history) == 2 and history[0].startswith("Confirmed by dev") and "same face" in history[0]
        assert history[1].startswith("Changed by dev") and "confirmed -> rejected: the photo is from 2019" in history[1]
        page.reload()
        page.locator("#history li").nth(1).wait_for(timeout=30_000)

    # WHEN a sighting of someone else is stored as a match just below the alert threshold (0.9576 < 0.958)
    stranger = _processed_sighting(system, people["person02"][0])
    [face_id] = [r["id"] for r in system.store.db.query("SELECT id FROM faces WHERE photo_id = %s", (stranger,))]
    ref_face = system.store.get_alert(alert_id).reference_face_id
    system.store.add_matches([(face_id, Candidate(case_id, ref_face, 0.9576))])
    # THEN the case page lists it as a near miss, and viewing it shows both photos
    page.goto(f"{portal}/case.html?id={case_id}")
    near = page.locator("#near-misses tbody tr")
    near.first.wait_for()
    assert "0.9576" in near.first.inner_text()
    near.first.get_by_role("button", name="View").click()
    page.wait_for_function("document.getElementById('near-sighting-img').naturalWidth > 0", timeout=30_000)
    page.locator("#near-facebox").wait_for(state="visible")
    # AND the audit trail shows every step, in order
    page.get_by_role("button", name="Show the audit trail").click()
    page.locator("#audit-trail tbody tr").first.wait_for()
    actions = page.locator("#audit-trail td[data-label=Action]").all_inner_texts()
    for expected in ("case.created", "case.photo_added", "case.photos_viewed", "alert.viewed", "alert.confirmed",
                     "alert.decision_changed", "case.viewed", "near_miss.viewed"):
        assert expected in actions, (expected, actions)
    assert actions.index("case.created") == 0 and actions.count("case.photo_added") == 2
    page.screenshot(path=str(SHOTS / "case-near-miss-and-audit.png"), full_page=True)

    # AND the case list shows the case as the agency's own
    page.get_by_role("link", name="Cases", exact=True).click()
    page.locator(f"#cases tr[data-case-id='{case_id}']").wait_for()
    listed = page.locator(f"#cases tr[data-case-id='{case_id}']")
    assert "yours" in listed.inner_text()
    assert listed.locator("td[data-label='Open alerts']").inner_text() == "0"  # its one alert was decided
    page.screenshot(path=str(SHOTS / "cases.png"), full_page=True)


def _processed_sighting(system: LocalSystem, photo: Path) -> str:
    from devstack.users import Citizen

    receipt = Citizen(system.gateway.url).report_sighting(photo, place="Bus station")
    assert _wait(lambda: (p := system.store.get_photo(receipt)) is not None and p.status.value == "processed")
    return receipt


def _outbox_has(page, text: str) -> bool:
    # The e-mail goes out in the background; reload the way a developer would.
    page.reload()
    return text in page.locator("main").inner_text()


def _refreshed_count(page, rows) -> int:
    # The alert is raised in the background; refresh the queue the way an officer would.
    page.get_by_role("button", name="Refresh").click()
    page.wait_for_timeout(300)
    return rows.count()


def test_on_a_phone_the_queue_fits_and_review_opens_with_a_real_click(system, browser, agency):
    # GIVEN the agency's alert queue (the first test's alert, rejected) on a 390 px wide screen
    portal = f"{system.gateway.url}/portal"
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    _sign_in(page, portal, agency.id)
    page.get_by_label("Show").select_option("")
    rows = page.locator("#alerts tbody tr")
    rows.first.wait_for(timeout=30_000)
    # THEN nothing is wider than the screen: each alert is a card
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "phone-alert-queue.png"), full_page=True)
    # AND a real click on Review (no force, no scripted click) opens the review, which fits too
    rows.first.get_by_role("link", name="Review").click(timeout=5_000)
    page.locator("#review").wait_for(state="visible")
    page.wait_for_function("document.getElementById('sighting-img').naturalWidth > 0", timeout=30_000)
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "phone-alert-review.png"), full_page=True)
    # AND so do the cases and a case page
    page.get_by_role("link", name="Cases", exact=True).click()
    page.get_by_label("Show").select_option("")
    page.locator("#cases tbody tr").first.wait_for()
    _no_sideways_scroll(page)
    page.locator("#cases tbody tr a").first.click()
    page.locator("#case").wait_for(state="visible")
    page.locator("#near-misses tbody tr").first.wait_for()
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "phone-case.png"), full_page=True)
    # AND so do search by photo and the alert recipients
    for where, ready in (("search.html", "#search-form"), ("subscriptions.html", "#add-form")):
        page.goto(f"{portal}/{where}")
        page.locator(ready).wait_for(state="visible")
        _no_sideways_scroll(page)
    # AND the citizen's page, with its location buttons, notice and receipt check, fits a phone as well
    page.goto(f"{portal}/citizen.html")
    page.locator("#privacy").wait_for()
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "phone-citizen.png"), full_page=True)
    page.close()


def test_an_unregistered_agency_is_told_so_instead_of_an_empty_queue(system, page):
    # GIVEN a sign-in whose agency nobody registered
    page.goto(f"{system.gateway.url}/portal/agency.html")
    page.get_by_label("Agency id").fill(str(uuid.uuid4()))
    page.get_by_role("button", name="Sign in").click()
    # THEN the page says it is not registered and whom to ask; no queue, and no "No alerts"
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "not registered" in banner.inner_text() and "operator" in banner.inner_text()
    assert page.locator("#workspace").is_hidden() and "No " not in page.locator("main").inner_text()
    page.screenshot(path=str(SHOTS / "agency-not-registered.png"), full_page=True)
    page.locator("#banner").get_by_role("button", name="Sign out").click()
    page.get_by_label("Agency id").wait_for()


def test_a_case_that_cannot_be_read_leaves_nothing_of_another_on_screen(system, page, agency):
    portal = f"{system.gateway.url}/portal"
    _sign_in(page, portal, agency.id, "cases.html")
    page.locator("#cases tbody tr a").first.click()
    page.locator("#case").wait_for(state="visible")
    # WHEN the analyst then follows a link to a case that is not theirs (or does not exist)
    page.goto(f"{portal}/case.html?id={uuid.uuid4()}")
    # THEN the error is shown, and no details of the earlier case
    page.locator("#load-status.error").wait_for()
    assert "not found" in page.locator("#load-status").inner_text()
    assert page.locator("#case").is_hidden() and page.locator("#case-facts dt").count() == 0


def test_search_by_photo_and_alert_recipients(system, page, people, agency):
    portal = f"{system.gateway.url}/portal"
    _sign_in(page, portal, agency.id, "search.html")
    # WHEN the analyst searches with another photo of the person
    page.get_by_label("Photo to search with").set_input_files(str(people["person01"][5]))
    page.get_by_role("button", name="Search the cases").click()
    # THEN the case is among the candidates
    page.locator("#candidates tbody tr").first.wait_for(timeout=120_000)
    assert "Portal Person" in page.locator("#candidates").inner_text()
    page.screenshot(path=str(SHOTS / "search-by-photo.png"), full_page=True)
    # WHEN they add an SMS recipient for the case in a region, then remove it
    page.get_by_role("link", name="Alert recipients").click()
    page.locator("#sub-case option", has_text="Portal Person").wait_for(state="attached")
    page.get_by_label("Channel").select_option("sms")
    page.get_by_label("Address (an e-mail address").fill("+41791234567")
    page.get_by_label("For which case").select_option(label="Portal Person")
    page.get_by_label("Only sightings in").fill("Geneva")
    page.get_by_role("button", name="Add the recipient").click()
    added = page.locator("#subscriptions tbody tr")
    added.first.wait_for()
    assert "Portal Person" in added.first.inner_text() and "Geneva" in added.first.inner_text()
    page.screenshot(path=str(SHOTS / "alert-recipients.png"), full_page=True)
    added.first.get_by_role("button", name="Remove").click()
    page.locator("#subs-status", has_text="removed").wait_for()
    assert system.store.subscriptions_of(agency.id) == []


# --------------------------------------------------------------------------- Cognito hosted sign-in (PKCE)
def _jwt(claims: dict) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'none'})}.{part(claims)}.signature"


def test_cognito_sign_in_is_an_authorization_code_with_pkce(browser):
    # GIVEN the portal published with Cognito sign-in (as scripts/publish_portal.sh writes config.js), and a
    # stand-in for Cognito's hosted sign-in and token endpoint, and for the API
    portal, idp, api = "https://portal.test", "https://auth.test", "https://api.test/prod"
    config = {"apiUrl": api, "auth": "cognito", "userPoolClientId": "client123", "signInUrl": idp}
    token = _jwt({"sub": "u-1", "custom:agency_id": "a-1", "exp": int(time.time()) + 3600})
    seen: dict = {}
    page = browser.new_page()

    def serve_portal(route):
        name = urlsplit(route.request.url).path.lstrip("/") or "index.html"
        if name == "config.js":
            return route.fulfill(body=f"window.FACETRACE_CONFIG = {json.dumps(config)};", content_type="application/javascript")
        file = REPO / "portal" / name
        kinds = {".html": "text/html", ".js": "application/javascript", ".css": "text/css"}
        return route.fulfill(body=file.read_bytes(), content_type=kinds[file.suffix])

    def authorize(route):
        seen["authorize"] = parse_qs(urlsplit(route.request.url).query)
        q = {k: v[0] for k, v in seen["authorize"].items()}
        return route.fulfill(status=302, headers={"Location": f"{q['redirect_uri']}?code=code-1&state={q['state']}"})

    def token_endpoint(route):
        seen["token"] = parse_qs(route.request.post_data)
        return route.fulfill(json={"id_token": token, "access_token": "x", "token_type": "Bearer"},
                             headers={"Access-Control-Allow-Origin": portal})

    def api_route(route):
        seen.setdefault("auth", []).append(route.request.headers.get("authorization"))
        path = urlsplit(route.request.url).path
        body = ({"agency": {"id": "a-1", "name": "Cloud Police", "email": "c@p.test"}, "user_sub": "u-1"}
                if path.endswith("/me") else [])
        return route.fulfill(json=body, headers={"Access-Control-Allow-Origin": "*",
                                                 "Access-Control-Allow-Headers": "Authorization,Content-Type"})

    page.route(f"{portal}/**", serve_portal)
    page.route(f"{idp}/oauth2/authorize?**", authorize)
    page.route(f"{idp}/oauth2/token", token_endpoint)
    page.route(f"{api}/**", api_route)
    # WHEN an officer opens the alert queue and signs in
    page.goto(f"{portal}/agency.html")
    page.get_by_role("button", name="Sign in with your agency account").click()
    page.wait_for_url(f"{portal}/agency.html")
    page.locator("#who", has_text="Cloud Police").wait_for()
    # THEN the sign-in asked for a code with an S256 challenge, to come back to signin.html
    asked = {k: v[0] for k, v in seen["authorize"].items()}
    assert (asked["response_type"], asked["client_id"], asked["code_challenge_method"]) == ("code", "client123", "S256")
    assert asked["redirect_uri"] == f"{portal}/signin.html" and asked["scope"] == "openid email"
    # AND the code was traded with the verifier whose hash is that challenge
    traded = {k: v[0] for k, v in seen["token"].items()}
    digest = base64.urlsafe_b64encode(hashlib.sha256(traded["code_verifier"].encode()).digest()).decode().rstrip("=")
    assert digest == asked["code_challenge"] and traded["code"] == "code-1"
    assert traded["grant_type"] == "authorization_code" and traded["redirect_uri"] == f"{portal}/signin.html"
    # AND the API is called with the ID token as it is
    assert seen["auth"] and set(seen["auth"]) == {token}
    page.close()
