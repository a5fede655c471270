"""Footage through the API (issue #14), on fakes: tickets for agencies and cameras, camera keys, a clip's
progress for its own agency only, an alert's stretch of video; each viewing audited."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from facetrace.audit import AuditAction
from facetrace.footage.clip import Appearance, PartOutcome, PartStatus, VideoFacts, plan_parts
from facetrace.footage.tickets import FootageUploads
from facetrace.messages import PhotoKind
from facetrace.photo import Photo, PhotoStatus
from tests import fakes
from tests.api import Api, FakeWiring
from tests.footage_fakes import FootageMemoryStore, FootageObjects

STARTED = "2025-03-01T08:00:00Z"


@dataclass
class FootageWiring(FakeWiring):
    store: FootageMemoryStore = field(default_factory=FootageMemoryStore)
    objects: FootageObjects = field(default_factory=FootageObjects)

    @property
    def footage_uploads(self) -> FootageUploads:
        return FootageUploads(self.objects, max_bytes=10**9, post_max_bytes=10**6, part_bytes=5 * 1024**2, ttl_s=3600)


@pytest.fixture
def world():
    wiring = FootageWiring()
    api = Api(wiring)
    owner, other = fakes.agency(), fakes.agency("Harbour Police", "duty@harbour.example")
    for a in (owner, other):
        wiring.store.add_agency(a)
    yield wiring, api, owner.id, other.id
    api.close()


def test_a_small_clip_gets_one_post_and_a_large_one_presigned_parts(world):
    wiring, api, owner, _ = world
    status, small = api.call("POST", "/footage/upload", owner, {"size_bytes": 2_000, "started_at": STARTED,
                                                                 "place": "Quai 4"})
    assert status == 201 and small["method"] == "post" and small["fields"]["key"] == (
        f"uploads/footage/{owner}/{small['clip_id']}")
    status, large = api.call("POST", "/footage/upload", owner, {"size_bytes": 12 * 1024**2, "started_at": STARTED,
                                                                 "content_type": "video/x-matroska"})
    assert status == 201 and large["method"] == "multipart" and len(large["part_urls"]) == 3
    assert wiring.store.get_clip(large["clip_id"]).content_type == "video/x-matroska"
    assert [e.action for e in wiring.store.audit] == [AuditAction.FOOTAGE_UPLOADED] * 2
    # AND a clip larger than any accepted is refused on its size
    status, body = api.call("POST", "/footage/upload", owner, {"size_bytes": 10**10, "started_at": STARTED})
    assert status == 422 and body["errors"][0]["field"] == "size_bytes"


def test_a_camera_gets_tickets_with_its_key_until_revoked_and_never_another_agencys(world):
    wiring, api, owner, other = world
    status, registered = api.call("POST", "/cameras", owner, {"name": "Gate 3", "place": "Main station, gate 3"})
    assert status == 201 and "key_hash" not in registered["camera"]
    camera_id, key = registered["camera"]["id"], registered["key"]
    assert wiring.store.get_camera(camera_id).key_hash != key  # only its hash is kept

    def ask(with_key: str | None):
        headers = {"Content-Type": "application/json", **({"X-Camera-Key": with_key} if with_key else {})}
        status, _, data = api.gateway.handle("POST", f"/cameras/{camera_id}/footage", headers,
                                             b'{"size_bytes": 5000, "started_at": "2025-03-01T08:00:00Z"}')
        return status, data

    status, data = ask(key)
    assert status == 201
    clip = wiring.store.clips[next(iter(c for c in wiring.store.clips if wiring.store.clips[c].camera_id))]
    assert (clip.agency_id, clip.place, clip.s3_key.split("/")[1]) == (owner, "Main station, gate 3", camera_id)
    assert ask("wrong")[0] == 401 and ask(None)[0] == 401
    # AND another agency can neither list nor revoke it; its own agency can
    assert api.call("GET", "/cameras", other)[1] == []
    assert api.call("DELETE", f"/cameras/{camera_id}", other)[0] == 404
    assert api.call("DELETE", f"/cameras/{camera_id}", owner)[0] == 204
    assert ask(key)[0] == 401


def test_a_clip_shows_its_progress_to_its_agency_only_and_each_viewing_is_audited(world):
    wiring, api, owner, other = world
    _, ticket = api.call("POST", "/footage/upload", owner, {"size_bytes": 2_000, "started_at": STARTED})
    clip_id = ticket["clip_id"]
    assert api.call("GET", f"/footage/{clip_id}", owner)[1]["status"] == "pending"
    store = wiring.store
    store.add_photo(Photo(id=clip_id, kind=PhotoKind.FOOTAGE, s3_key=store.get_clip(clip_id).s3_key,
                          status=PhotoStatus.RECEIVED))
    facts = VideoFacts(container="matroska,webm", codec="h264", width=640, height=360, fps=10, duration_s=20,
                       frames=200)
    store.set_clip_facts(clip_id, facts, plan_parts(20, 10))
    store.record_progress(clip_id, 0, 100, 40, 3)
    store.finish_part(clip_id, 1, PartOutcome(status=PartStatus.DONE, frames_total=100, frames_done=100,
                                              faces_found=5))
    status, view = api.call("GET", f"/footage/{clip_id}", owner)
    assert status == 200 and (view["status"], view["parts_done"], view["parts_total"]) == ("received", 1, 2)
    assert (view["frames_done"], view["frames_total"], view["faces_found"], view["progress"]) == (140, 200, 8, 0.7)
    assert api.call("GET", f"/footage/{clip_id}", other)[0] == 404
    viewed = [e for e in store.audit if e.action is AuditAction.FOOTAGE_VIEWED]
    assert len(viewed) == 2 and all(e.object_ids == [clip_id] and e.agency_id == owner for e in viewed)


def test_an_alert_from_footage_plays_from_before_the_appearance_and_a_photos_alert_has_none(world):
    wiring, api, owner, other = world
    store = wiring.store
    case = fakes.case(owner)
    store.add_case(case)
    _, ticket = api.call("POST", "/footage/upload", owner, {"size_bytes": 2_000, "started_at": STARTED})
    clip = store.get_clip(ticket["clip_id"])
    sighting = fakes.photo(PhotoKind.SIGHTING, status=PhotoStatus.PROCESSED)
    store.add_photo(sighting)
    store.add_appearance(Appearance(clip_id=clip.id, number=0, sighting_id=sighting.id, model_name="m", start_s=12.0,
                                    end_s=18.5, best_s=14.0, tracks=[(0, 1)], box=(1, 2, 3, 4),
                                    path=[(12.0, 1, 2, 3, 4), (18.5, 5, 6, 7, 8)]))
    from facetrace.alert import Alert

    alert = store.add_alert(Alert(id=str(uuid.uuid4()), case_id=case.id, sighting_id=sighting.id, sighting_face_id=1,
                                  reference_face_id=2, score=0.6, model_name="m", created_at=datetime.now(timezone.utc)))
    status, played = api.call("GET", f"/alerts/{alert.id}/footage", owner)
    assert status == 200 and (played["play_from_s"], played["start_s"], played["end_s"]) == (7.0, 12.0, 18.5)
    assert played["clip_url"].startswith(f"https://objects.test/{clip.s3_key}") and len(played["path"]) == 2
    assert played["seen_from"].startswith("2025-03-01T08:00:12")
    [entry] = [e for e in store.audit if e.action is AuditAction.FOOTAGE_VIEWED]
    assert (entry.case_id, entry.alert_id, entry.object_ids) == (case.id, alert.id, [clip.id, sighting.id])
    # AND another agency cannot see it; a photo's alert has no footage
    assert api.call("GET", f"/alerts/{alert.id}/footage", other)[0] == 404
    photo = fakes.photo(PhotoKind.SIGHTING)
    store.add_photo(photo)
    plain = store.add_alert(Alert(id=str(uuid.uuid4()), case_id=case.id, sighting_id=photo.id, sighting_face_id=3,
                                  reference_face_id=2, score=0.6, model_name="m", created_at=datetime.now(timezone.utc)))
    assert api.call("GET", f"/alerts/{plain.id}/footage", owner)[0] == 404


def test_the_clip_list_is_the_agencys_own_newest_first_a_page_at_a_time(world):
    wiring, api, owner, other = world
    store = wiring.store
    # GIVEN three clips of the agency (one uploaded and processed with an appearance, one from its camera) and one
    # of another agency
    ids = [api.call("POST", "/footage/upload", owner, {"size_bytes": 2_000, "started_at": STARTED,
                                                       "place": f"Quai {n}"})[1]["clip_id"] for n in range(2)]
    _, registered = api.call("POST", "/cameras", owner, {"name": "Gate 3", "place": "Main station, gate 3"})
    status, _, data = api.gateway.handle(
        "POST", f"/cameras/{registered['camera']['id']}/footage",
        {"Content-Type": "application/json", "X-Camera-Key": registered["key"]},
        b'{"size_bytes": 5000, "started_at": "2025-03-01T09:00:00Z"}')
    assert status == 201
    ids.append(json.loads(data)["clip_id"])
    api.call("POST", "/footage/upload", other, {"size_bytes": 2_000, "started_at": STARTED})
    first = ids[0]
    store.add_photo(Photo(id=first, kind=PhotoKind.FOOTAGE, s3_key=store.get_clip(first).s3_key,
                          status=PhotoStatus.PROCESSED))
    sighting = fakes.photo(PhotoKind.SIGHTING, status=PhotoStatus.PROCESSED)
    store.add_photo(sighting)
    store.add_appearance(Appearance(clip_id=first, number=0, sighting_id=sighting.id, model_name="m", start_s=1.0,
                                    end_s=3.0, best_s=2.0, tracks=[(0, 0)], box=(1, 2, 3, 4)))
    audited = len(store.audit)
    # WHEN the agency lists its clips two at a time
    status, page = api.call("GET", "/footage?limit=2", owner)
    assert status == 200 and page["next_cursor"]
    status, rest = api.call("GET", f"/footage?limit=2&cursor={page['next_cursor']}", owner)
    # THEN it gets its own three, newest first, each with its status, place, source and appearances, then no cursor
    listed = page["clips"] + rest["clips"]
    assert status == 200 and rest["next_cursor"] is None
    assert [c["clip_id"] for c in listed] == ids[::-1]
    camera_clip, second, processed = listed
    assert (camera_clip["camera_id"], camera_clip["place"], camera_clip["status"]) == (
        registered["camera"]["id"], "Main station, gate 3", "pending")
    assert (second["camera_id"], second["place"], second["appearances"]) == (None, "Quai 1", 0)
    assert (processed["status"], processed["appearances"], processed["erased"]) == ("processed", 1, False)
    assert processed["started_at"].startswith("2025-03-01T08:00:00") and processed["uploaded_at"]
    # AND listing shows no video, so it is not audited; the other agency sees only its own clip
    assert len(store.audit) == audited
    assert len(api.call("GET", "/footage", other)[1]["clips"]) == 1


def test_the_clip_list_refuses_a_cursor_it_did_not_give_and_a_limit_out_of_range(world):
    _, api, owner, _ = world
    status, body = api.call("GET", "/footage?cursor=not-a-cursor", owner)
    assert status == 422 and body["errors"][0]["field"] == "cursor"
    assert api.call("GET", "/footage?limit=0", owner)[0] == 422
    assert api.call("GET", "/footage?limit=101", owner)[0] == 422
    assert api.call("GET", "/footage")[0] == 401
