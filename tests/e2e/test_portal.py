"""The web portal in a real browser (headless Chromium) against the whole local stack."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from facetrace.case import Agency
from devstack.system import LocalSystem
from devstack.users import AgencyUser
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("FACETRACE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "artifacts" / "screenshots"
# Without the background-networking flags Chromium keeps trying to reach Google on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def people(test_data) -> dict[str, list[Path]]:
    folder = test_data / "fixtures" / "people"
    with open(folder / "labels.csv") as handle:
        rows = list(csv.DictReader(handle))
    return {p: [folder / r["file"] for r in rows if r["person"] == p] for p in {r["person"] for r in rows}}


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


def _enrol(system: LocalSystem, officer: AgencyUser, photos: list[Path]) -> str:
    case = officer.open_case(person_name="Portal Person", last_seen_place="Test Town")
    ids = [officer.add_reference_photo(case["id"], p) for p in photos]

    def processed() -> bool:
        return all((p := system.store.get_photo(i)) is not None and p.status.value == "processed" for i in ids)
    assert _wait(processed), "reference photos were not processed in time"
    return case["id"]


def _wait(done, timeout_s: float = 120) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.2)
    return done()


def test_citizen_upload_then_agency_confirms_in_the_browser(system, browser, people):
    SHOTS.mkdir(parents=True, exist_ok=True)
    portal = f"{system.gateway.url}/portal"
    # GIVEN an agency with a case enrolled from two reference photos of person01
    agency = Agency(name="Portal Police", email="cases@portal.test")
    system.store.add_agency(agency)
    officer = AgencyUser(system.gateway.url, agency.id)
    case_id = _enrol(system, officer, people["person01"][:2])
    page = browser.new_page()

    # WHEN a citizen uploads an unseen photo of person01 through the citizen page
    page.goto(f"{portal}/citizen.html")
    page.get_by_label("Photo (take one or choose a file)").set_input_files(str(people["person01"][4]))
    page.get_by_label("Where was it taken? (optional)").fill("Market Square")
    page.get_by_role("button", name="Send photo").click()
    # THEN the page shows the receipt, and the receipt reaches "processed"
    page.locator("#receipt-id").wait_for(state="visible", timeout=30_000)
    receipt_id = page.locator("#receipt-id").inner_text()
    assert len(receipt_id) == 36 and page.locator("#progress").get_attribute("value") == "100"
    page.locator("#receipt-status", has_text="processed").wait_for(timeout=120_000)
    page.screenshot(path=str(SHOTS / "citizen-after-upload.png"), full_page=True)

    # WHEN the agency signs in with its id, its queue shows the new alert
    page.goto(f"{portal}/agency.html")
    page.get_by_label("Agency id").fill(agency.id)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("#alerts tbody tr")
    assert _wait(lambda: _refreshed_count(page, row) == 1, timeout_s=60), "the alert never reached the queue"
    page.screenshot(path=str(SHOTS / "alert-queue.png"), full_page=True)
    alert_id = row.first.get_attribute("data-alert-id")

    # AND opens it: both photos load side by side and the face box is drawn on the sighting
    row.first.get_by_role("button", name=f"Review alert {alert_id}").click()
    page.locator("#facebox").wait_for(state="visible", timeout=30_000)
    page.wait_for_function("document.getElementById('reference-img').naturalWidth > 0", timeout=30_000)
    assert "Market Square" in page.locator("#alert-facts").inner_text()
    page.locator("#review").screenshot(path=str(SHOTS / "alert-review.png"))

    # AND confirms it with a note
    page.get_by_label("Note (why you decided)").fill("same face, seen by the market")
    page.get_by_role("button", name="Confirm: same person").click()
    page.locator("#review-status", has_text="Alert confirmed.").wait_for(timeout=30_000)

    # THEN the case audit shows the viewing and the decision with its note
    trail = officer.case_audit(case_id)
    assert [(e["action"], e["alert_id"]) for e in trail] == [("alert.viewed", alert_id), ("alert.confirmed", alert_id)]
    assert trail[1]["reason"] == "same face, seen by the market"
    page.close()


def _refreshed_count(page, rows) -> int:
    # The alert is raised in the background; refresh the queue the way an officer would.
    page.get_by_role("button", name="Refresh").click()
    page.wait_for_timeout(300)
    return rows.count()
