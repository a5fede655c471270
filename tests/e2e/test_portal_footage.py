"""The footage pages (issue #14) in a real browser (headless Chromium) against the whole local stack: an analyst
uploads a clip made from LFW faces (in parts: presigned PUTs, their ETags, then complete), follows it to
"processed", opens the alert its appearance raised and watches the video from a few seconds before with the face
boxed over it (audited in the case's trail); the page falls back to the best frame when the browser cannot play
the clip; a camera is registered (its key shown once) and revoked; every footage page fits a 390 px screen.
The upload's slicing, retries and the one-POST path are driven against stand-ins for the API and the bucket."""

from __future__ import annotations

import hashlib
import json
import os
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from devstack.system import LocalSystem
from devstack.users import AgencyUser
from facetrace.case import Agency
from facetrace.photo import PhotoStatus
from tests.clips import Walker, encode_clip, lfw
from tests.conftest import REPO
from tests.e2e.test_portal import PHONE, SHOTS, _no_sideways_scroll, _sign_in, _wait, browser, page  # noqa: F401

pytestmark = pytest.mark.e2e
PART_S = "8"  # the 10 s clip is two parts
POST_MAX = "50000"  # the clip (about 135 kB) is larger: it goes up as a presigned multipart upload
# The overlay canvas's painted pixels: the face box is the only thing ever drawn on it.
PAINTED = """() => { const c = document.getElementById('clip-overlay');
  if (!c.width || !c.height) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""


@pytest.fixture(scope="module")
def system(mysql_server, test_data, test_models):
    # Read by every function's and the worker's Settings; test_data first: without LFW the test skips.
    os.environ.update(FACETRACE_FOOTAGE_PART_S=PART_S, FACETRACE_FOOTAGE_POST_MAX_BYTES=POST_MAX)
    try:
        system = LocalSystem(pack="buffalo_s", model_dir=str(test_models), server=mysql_server,
                             stack_name="facetrace-portal-clips").start()
        stop = system.run_in_background()
        yield system
        stop.set()
        system.stop()
    finally:
        for name in ("FACETRACE_FOOTAGE_PART_S", "FACETRACE_FOOTAGE_POST_MAX_BYTES"):
            del os.environ[name]


@pytest.fixture(scope="module")
def agency(system) -> Agency:
    agency = Agency(name="Footage Police", email="footage@portal.test")
    system.store.add_agency(agency)
    return agency


@pytest.fixture(scope="module")
def case_id(system, agency, test_data) -> str:
    """Colin Powell's case, his reference photo enrolled."""
    officer = AgencyUser(system.gateway.url, agency.id)
    case = officer.open_case(person_name="Colin Powell", last_seen_place="Geneva")
    photo = officer.add_reference_photo(case["id"], lfw(test_data, "Colin_Powell", 1))
    assert _wait(lambda: getattr(system.store.get_photo(photo), "status", None) not in (None, PhotoStatus.RECEIVED))
    assert system.store.get_photo(photo).face_count == 1
    return case["id"]


@pytest.fixture(scope="module")
def journey() -> dict:
    """What the first test found (the clip, the alert) for the phone test after it."""
    return {}


def test_an_analyst_uploads_a_clip_follows_it_and_watches_the_alerts_appearance(system, browser, page, agency,
                                                                                 case_id, test_data, tmp_path, journey):
    SHOTS.mkdir(parents=True, exist_ok=True)
    portal = f"{system.gateway.url}/portal"
    # GIVEN a 10 s clip in which Powell (another photo than the reference) walks through from 6 to 9.5 s
    clip = encode_clip(tmp_path / "platform.mp4", [Walker(lfw(test_data, "Colin_Powell", 2), 6.0, 9.5)], 10.0, fps=8)
    assert clip.stat().st_size > int(POST_MAX)
    puts, statuses = [], []
    page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)

    def reading(route):  # each GET /footage/{id} the clip page makes, and the status it read
        response = route.fetch()
        statuses.append(response.json().get("status"))
        route.fulfill(response=response)

    page.route(re.compile(r".*/footage/[0-9a-f-]{36}$"), reading)
    # WHEN the analyst uploads it through the upload page, reached from the navigation
    _sign_in(page, portal, agency.id, "cases.html")
    page.get_by_role("link", name="Upload a clip").click()
    page.get_by_label("Video file (MP4, MOV, MKV, AVI or MJPEG)").set_input_files(str(clip))
    page.get_by_label("When the recording started").fill("2025-03-01T08:00:00")
    page.get_by_label("Where it was recorded (optional)").fill("Gare Cornavin, platform 4")
    page.get_by_role("button", name="Upload the clip").click()
    # THEN it goes up in parts (a presigned PUT each), the byte progress bar fills, and the clip's page opens
    page.wait_for_url("**/footage.html?id=*", timeout=60_000)
    clip_id = parse_qs(urlsplit(page.url).query)["id"][0]
    assert len(puts) == 1 and "partNumber=1" in puts[0] and "uploadId=" in puts[0]
    stored = system.store.get_clip(clip_id)
    started = page.evaluate("new Date('2025-03-01T08:00:00').toISOString()")  # the browser's local time
    assert (stored.place, stored.content_type) == ("Gare Cornavin, platform 4", "video/mp4")
    assert stored.started_at.isoformat()[:19] == started[:19]
    # AND the page follows the clip every 5 s until it is processed: two parts done, every frame searched, faces found
    page.locator("#clip[data-status]").wait_for()
    page.screenshot(path=str(SHOTS / "footage-clip-following.png"), full_page=True)
    page.locator("#clip[data-status=processed]").wait_for(timeout=120_000)
    assert statuses[-1] == "processed" and len(statuses) >= 2 and set(statuses[:-1]) <= {"pending", "received"}
    assert page.locator("#clip-progress").evaluate("p => p.value") == 1
    progress = page.locator("#progress-text").inner_text()
    assert "Parts: 2 of 2 done" in progress and "Frames: 80 of 80" in progress, progress
    assert "Searched" in page.locator("#clip-state").inner_text()
    # AND Powell's appearance is listed with its time in the clip and on the clock, and the alert it raised
    appearance = page.locator("#appearances tbody tr").filter(has=page.get_by_role("link", name="Review alert 1"))
    assert appearance.count() == 1
    text = appearance.inner_text()
    assert "0:0" in text and "2025" in text, text  # 0:06.0 to 0:09.5, and the date and times on the clock
    page.screenshot(path=str(SHOTS / "footage-clip-processed.png"), full_page=True)
    # AND once processed the page stops asking
    asked = len(statuses)
    page.wait_for_timeout(6_000)
    assert len(statuses) == asked

    # WHEN the analyst opens the alert
    with page.expect_response(lambda r: r.url.endswith("/footage") and "/alerts/" in r.url) as answer:
        appearance.get_by_role("link", name="Review alert 1").click()
    stretch = answer.value.json()
    alert_id = stretch["alert_id"]
    # THEN the video is loaded and sought to a few seconds before the appearance, where no face is boxed yet
    page.locator("#player[data-ready=true]").wait_for(timeout=30_000)
    video = page.locator("#clip-video")
    assert video.evaluate("v => v.readyState") >= 2 and video.evaluate("v => v.videoWidth") == 480
    assert video.evaluate("v => v.currentTime") == pytest.approx(stretch["play_from_s"], abs=0.15)
    assert stretch["play_from_s"] == pytest.approx(max(0.0, stretch["start_s"] - 5), abs=0.01)
    assert stretch["start_s"] == pytest.approx(6.0, abs=1.0) and stretch["end_s"] == pytest.approx(9.5, abs=1.0)
    assert page.locator("#clip-overlay").get_attribute("data-box") == "" and page.evaluate(PAINTED) == 0
    assert "into the clip" in page.locator("#footage-range").inner_text()
    # AND going to the appearance draws the face's box over the video, inside the clip, on the path's face
    page.get_by_role("button", name="Go to the appearance").click()
    page.wait_for_function("document.getElementById('clip-overlay').dataset.box !== ''", timeout=10_000)
    box = [float(v) for v in page.locator("#clip-overlay").get_attribute("data-box").split(",")]
    first = stretch["path"][0]
    assert all(abs(a - b) < 40 for a, b in zip(box, first[1:])), (box, first)
    assert box[0] < box[2] and box[1] < box[3] and box[2] > 0 and box[0] < stretch["width"]
    assert page.evaluate(PAINTED) > 100
    page.wait_for_function("(v => !v.seeking && v.readyState >= 3)(document.getElementById('clip-video'))")
    page.locator("#review").screenshot(path=str(SHOTS / "alert-footage.png"))
    # AND the viewing is in the case's audit trail, naming the alert
    page.goto(f"{portal}/case.html?id={case_id}")
    # (the case page's own loads first: the local gateway runs one API handler, not safe for requests at once)
    for status, says in (("#photos-status", "reference photo"), ("#alerts-status", "alert"), ("#near-status", "near miss")):
        page.locator(status, has_text=says).wait_for()
    page.get_by_role("button", name="Show the audit trail").click()
    page.locator("#audit-trail tbody tr").first.wait_for()
    viewed = page.locator("#audit-trail tbody tr").filter(has_text="footage.viewed")
    assert viewed.count() >= 1 and alert_id in viewed.first.inner_text()

    # WHEN the browser cannot play the clip (here: the bucket answers bytes that are no video)
    page.route(lambda url: "X-Amz-Signature" in url and "/footage/" in url,
               lambda route: route.fulfill(body=b"not a video", content_type="video/x-msvideo"))
    page.goto(f"{portal}/alert.html?id={alert_id}")
    # THEN the appearance's best frame, its time range and a download link are shown instead
    page.locator("#footage-fallback").wait_for(state="visible", timeout=30_000)
    page.wait_for_function("document.getElementById('clip-still').naturalWidth > 0", timeout=30_000)
    assert page.locator("#player").is_hidden() and "cannot play" in page.locator("#fallback-why").inner_text()
    page.locator("#still-facebox").wait_for(state="visible")
    assert "into the clip" in page.locator("#footage-range").inner_text()
    assert "orange box" not in page.locator("#footage-range").inner_text()
    assert "X-Amz-Signature" in page.get_by_role("link", name="Download the clip").get_attribute("href")
    page.locator("#footage").screenshot(path=str(SHOTS / "alert-footage-fallback.png"))
    page.unroute_all()

    # AND the clip list shows the clip, processed, with its appearance
    page.get_by_role("link", name="Clips", exact=True).click()
    listed = page.locator(f"#clips tr[data-clip-id='{clip_id}']")
    listed.wait_for()
    assert "processed" in listed.inner_text() and "Gare Cornavin" in listed.inner_text()
    assert listed.locator("td[data-label=Appearances]").inner_text() == "1"
    page.screenshot(path=str(SHOTS / "footage-list.png"), full_page=True)
    journey.update(clip_id=clip_id, alert_id=alert_id)


def test_a_camera_is_registered_with_its_key_shown_once_and_revoked(system, browser, page, agency):
    portal = f"{system.gateway.url}/portal"
    browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=system.gateway.url)
    _sign_in(page, portal, agency.id, "cameras.html")
    # WHEN the analyst registers a camera
    page.get_by_label("Camera name").fill("Gate 3")
    page.get_by_label("Where it looks").fill("Main station, gate 3")
    page.get_by_role("button", name="Register the camera").click()
    # THEN its key is shown, with the upload prefix and the settings for the camera's upload script, and copies
    page.locator("#new-key").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "key-title"  # a keyboard or screen reader user lands on it
    key = page.get_by_label("Key (send it as the X-Camera-Key header)").input_value()
    camera_id = page.locator("#cameras tbody tr").first.get_attribute("data-camera-id")
    camera = system.store.get_camera(camera_id)
    assert len(key) >= 40 and camera.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert f"uploads/footage/{camera_id}/" in page.locator("#key-facts").inner_text()
    script = page.locator("#camera-script").inner_text()
    assert f"FACETRACE_CAMERA_KEY={key}" in script and f"FACETRACE_CAMERA_ID={camera_id}" in script
    assert "X-Camera-Key" in script and system.gateway.url in script
    page.get_by_role("button", name="Copy the key").click()
    page.locator("#copy-status", has_text="copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == key
    page.screenshot(path=str(SHOTS / "camera-key.png"), full_page=True)
    # AND once the page is left (here: reloaded) the key is gone for good; the camera is listed, active
    page.reload()
    row = page.locator(f"#cameras tr[data-camera-id='{camera_id}']")
    row.wait_for()
    assert page.locator("#new-key").is_hidden() and key not in page.content()
    assert "active" in row.inner_text() and "Main station, gate 3" in row.inner_text()
    # WHEN they revoke it (the button asks once more)
    row.get_by_role("button", name="Revoke").click()
    row.get_by_role("button", name="Yes, revoke").click()
    # THEN it is marked revoked, and its key gets nothing any more
    page.locator("#list-status", has_text="revoked").wait_for()
    row = page.locator(f"#cameras tr[data-camera-id='{camera_id}']")
    assert "revoked" in row.inner_text() and row.get_by_role("button").count() == 0
    assert system.store.get_camera(camera_id).revoked_at is not None
    page.screenshot(path=str(SHOTS / "cameras.png"), full_page=True)


def test_on_a_phone_every_footage_page_fits(system, browser, agency, journey):
    assert journey, "the upload test did not finish"
    portal = f"{system.gateway.url}/portal"
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    _sign_in(page, portal, agency.id, "footage-upload.html")
    # GIVEN each footage page on a 390 px wide screen  THEN nothing is wider than the screen
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "phone-footage-upload.png"), full_page=True)
    page.goto(f"{portal}/footage-list.html")
    page.locator(f"#clips tr[data-clip-id='{journey['clip_id']}']").wait_for()
    _no_sideways_scroll(page)
    page.goto(f"{portal}/footage.html?id={journey['clip_id']}")
    page.locator("#clip[data-status=processed]").wait_for()
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "phone-footage-clip.png"), full_page=True)
    page.goto(f"{portal}/alert.html?id={journey['alert_id']}")
    page.locator("#player[data-ready=true]").wait_for(timeout=30_000)
    # AND the box still lands inside the (smaller) video
    page.get_by_role("button", name="Go to the appearance").click()
    page.wait_for_function("document.getElementById('clip-overlay').dataset.box !== ''", timeout=10_000)
    assert page.evaluate(PAINTED) > 50
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "phone-alert-footage.png"), full_page=True)
    page.goto(f"{portal}/cameras.html")
    page.locator("#cameras tbody tr").first.wait_for()
    page.get_by_label("Camera name").fill("Platform 7, north end")
    page.get_by_label("Where it looks").fill("Gare Cornavin, platform 7")
    page.get_by_role("button", name="Register the camera").click()
    page.locator("#new-key").wait_for(state="visible")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "phone-camera-key.png"), full_page=True)
    page.close()


# --------------------------------------------------------------------------- the upload against stand-ins
def _stand_ins(page, ticket: dict, seen: dict) -> tuple[str, str]:
    """Serve the portal at a stand-in origin with an API and a bucket that record what the page sends."""
    portal, api, bucket = "https://portal.test", "https://api.test", "https://bucket.test"
    config = {"apiUrl": api, "auth": "dev"}
    cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Authorization,Content-Type",
            "Access-Control-Expose-Headers": "ETag"}

    def serve_portal(route):
        name = urlsplit(route.request.url).path.lstrip("/") or "index.html"
        if name == "config.js":
            return route.fulfill(body=f"window.FACETRACE_CONFIG = {json.dumps(config)};",
                                 content_type="application/javascript")
        file = REPO / "portal" / name
        kinds = {".html": "text/html", ".js": "application/javascript", ".css": "text/css"}
        return route.fulfill(body=file.read_bytes(), content_type=kinds[file.suffix])

    def api_route(route):
        path, method = urlsplit(route.request.url).path, route.request.method
        if method == "OPTIONS":
            return route.fulfill(status=204, headers={**cors, "Access-Control-Allow-Methods": "GET,POST"})
        seen.setdefault("api", []).append((method, path, route.request.post_data))
        if path == "/me":
            body = {"agency": {"id": "a-1", "name": "Stand-in Police", "email": "s@p.test"}, "user_sub": "u-1"}
        elif path == "/footage/upload":
            body = {**ticket, "clip_id": "c-1"}
        elif path == "/footage/c-1":
            body = {"clip_id": "c-1", "status": "received", "started_at": "2025-03-01T08:00:00Z", "content_type":
                    "video/mp4", "parts_total": 0, "parts_done": 0, "parts_failed": 0, "frames_total": 0,
                    "frames_done": 0, "faces_found": 0, "progress": 0, "parts": [], "appearances": []}
        else:
            body = {"clip_id": "c-1", "status": "uploaded"}
        return route.fulfill(json=body, headers=cors)

    def bucket_route(route):
        request = route.request
        if request.method == "OPTIONS":
            return route.fulfill(status=200, headers={**cors, "Access-Control-Allow-Methods": "PUT,POST"})
        number = int(parse_qs(urlsplit(request.url).query).get("partNumber", ["0"])[0])
        seen.setdefault("bucket", []).append((request.method, number, request.post_data_buffer))
        if number == 2 and sum(1 for m, n, _ in seen["bucket"] if n == 2) == 1:
            return route.fulfill(status=503, headers=cors)  # a passing failure: the part is sent again
        return route.fulfill(status=200 if number else 204, headers={**cors, "ETag": f'"etag-{number}"'})

    page.route(f"{portal}/**", serve_portal)
    page.route(f"{api}/**", api_route)
    page.route(f"{bucket}/**", bucket_route)
    return portal, bucket


def test_the_upload_page_slices_a_clip_into_parts_and_completes_it_with_their_etags(browser, tmp_path):
    # GIVEN a file of 2,500 bytes and a multipart ticket of 1,000-byte parts (the stand-in bucket fails part 2 once)
    data = bytes(range(256)) * 9 + bytes(196)
    clip = tmp_path / "door.mkv"
    clip.write_bytes(data)
    seen: dict = {}
    page = browser.new_page()
    ticket = {"method": "multipart", "upload_id": "up-1", "part_bytes": 1000, "max_bytes": 10**9, "expires_in": 600,
              "part_urls": [f"https://bucket.test/footage/c-1?uploadId=up-1&partNumber={n}" for n in (1, 2, 3)]}
    portal, _ = _stand_ins(page, ticket, seen)
    page.goto(f"{portal}/footage-upload.html")
    page.get_by_label("Agency id").fill("a-1")
    page.get_by_role("button", name="Sign in").click()
    # WHEN the file is uploaded
    page.get_by_label("Video file (MP4, MOV, MKV, AVI or MJPEG)").set_input_files(str(clip))
    page.get_by_label("When the recording started").fill("2025-03-01T08:00:00")
    page.get_by_role("button", name="Upload the clip").click()
    page.wait_for_url(f"{portal}/footage.html?id=c-1")
    # THEN the ticket was asked with the file's size and type (from its name), each slice PUT to its own URL
    asked = json.loads(next(body for m, p, body in seen["api"] if p == "/footage/upload"))
    assert (asked["size_bytes"], asked["content_type"], asked["started_at"][:4]) == (2500, "video/x-matroska", "2025")
    sent = {n: body for m, n, body in seen["bucket"] if m == "PUT"}
    assert sorted(sent) == [1, 2, 3] and sent[1] + sent[2] + sent[3] == data and len(sent[3]) == 500
    assert sum(1 for m, n, _ in seen["bucket"] if n == 2) == 2  # retried once
    # AND the upload was completed with every part's ETag, in order
    completed = json.loads(next(body for m, p, body in seen["api"] if p == "/footage/c-1/complete"))
    assert completed == {"upload_id": "up-1", "parts": [{"part_number": n, "etag": f'"etag-{n}"'} for n in (1, 2, 3)]}
    page.locator("#clip[data-status=received]").wait_for()
    page.close()


def test_the_upload_page_posts_a_small_clip_in_one_form(browser, tmp_path):
    # GIVEN a POST ticket
    clip = tmp_path / "door.avi"
    clip.write_bytes(b"RIFF" + bytes(3000))
    seen: dict = {}
    page = browser.new_page()
    ticket = {"method": "post", "url": "https://bucket.test/", "fields": {"key": "uploads/footage/a-1/c-1",
              "policy": "p"}, "max_bytes": 10**9, "expires_in": 600}
    portal, _ = _stand_ins(page, ticket, seen)
    page.goto(f"{portal}/footage-upload.html")
    page.get_by_label("Agency id").fill("a-1")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Video file (MP4, MOV, MKV, AVI or MJPEG)").set_input_files(str(clip))
    page.get_by_label("When the recording started").fill("2025-03-01T08:00:00")
    page.get_by_label("Where it was recorded (optional)").fill("Back door")
    page.get_by_role("button", name="Upload the clip").click()
    page.wait_for_url(f"{portal}/footage.html?id=c-1")
    # THEN one form went to the bucket, its fields first and the file last (the browser does not show the
    # interception a file's bytes); nothing was completed
    [(method, _, body)] = seen["bucket"]
    assert method == "POST" and body.index(b'name="key"') < body.index(b'name="policy"') < body.index(
        b'name="file"; filename="door.avi"')
    asked = json.loads(next(body for m, p, body in seen["api"] if p == "/footage/upload"))
    assert (asked["content_type"], asked["place"], asked["size_bytes"]) == ("video/x-msvideo", "Back door", 3004)
    assert not any(p.endswith("/complete") for _, p, _ in seen["api"])
    page.close()
