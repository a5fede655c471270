"""Small in-memory fakes of FaceTrace's ports and stores, and builders of the messages they carry."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from typing import Sequence

import numpy as np

from facetrace.sighting_archive import ArchivedFaces, Segment
from facetrace.alert import Alert, AlertStatus
from facetrace.audit import AuditEntry
from facetrace.casework import ReferencePhoto, verdict
from facetrace.case import Agency, Case, CaseStatus
from facetrace.face import FaceLocation, SightingFaces, StoredFace
from facetrace.gallery import Candidate, Gallery
from facetrace.gallery.live import GalleryUpdate, Watermark
from facetrace.messages import Face, FacesResult, Job, ModelInfo, PhotoKind, Quality
from facetrace.near_miss import NearMiss
from facetrace.photo import FINAL, DuplicateContent, Photo, PhotoStatus
from facetrace.reembed import Campaign, Coverage, ItemFailure, ItemStatus
from facetrace.keys import reference_key, sighting_key
from facetrace.ports import ObjectInfo, ObjectMissing, ReceivedMessage, UploadForm
from facetrace.subscription import Subscription

# --- ports ---------------------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    """The ETag S3 gives a single-part upload: the MD5 of its bytes."""
    return hashlib.md5(body).hexdigest()


class FakeObjects:
    """ObjectStore in a dict; presigned URLs are recognisable fake strings."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str | None, dict[str, str]]] = {}
        self.gets: list[str] = []

    def add(self, key: str, body: bytes, content_type: str | None = "image/jpeg", metadata: dict | None = None) -> None:
        self.objects[key] = (body, content_type, dict(metadata or {}))

    def head(self, key: str) -> ObjectInfo:
        body, content_type, metadata = self.objects[key]
        return ObjectInfo(len(body), content_type, metadata)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def get(self, key: str) -> bytes:
        self.gets.append(key)
        if key not in self.objects:
            raise ObjectMissing(f"no object {key}")
        return self.objects[key][0]

    def get_if_exists(self, key: str) -> bytes | None:
        return self.get(key) if key in self.objects else None

    def read(self, key: str, etag: str | None = None) -> tuple[bytes, ObjectInfo] | None:
        if key not in self.objects or (etag and etag.strip('"') != etag_of(self.objects[key][0])):
            return None
        return self.get(key), self.head(key)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type, {})

    def put_once(self, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> bool:
        if key in self.objects:
            return False
        self.objects[key] = (body, content_type, dict(metadata))
        return True

    def presign_post(self, key, content_type, min_bytes, max_bytes, metadata, expires_in) -> UploadForm:
        return UploadForm("https://uploads.test/", {"key": key, "Content-Type": content_type, **metadata}, key, expires_in)

    def presign_get(self, key: str, expires_in: int) -> str:
        return f"https://objects.test/{key}?expires={expires_in}"

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


class FakeQueue:
    """Queue that remembers what was sent; fails the next `fail` sends."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[tuple[str, str | None]] = []
        self.fail = fail

    def send(self, body: str, dedup_id: str | None = None) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("queue unavailable")
        self.sent.append((body, dedup_id))

    @property
    def bodies(self) -> list[str]:
        return [b for b, _ in self.sent]


class FakePublisher:
    """Publisher that remembers what was published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str | None, dict[str, str] | None]] = []
        self.texts: list[tuple[str, str]] = []  # (phone number, message) sent directly

    def publish(self, message: str, subject: str | None = None, attributes: dict[str, str] | None = None) -> str:
        self.published.append((message, subject, attributes))
        return f"msg-{len(self.published)}"

    def send_sms(self, phone_number: str, message: str) -> str:
        self.texts.append((phone_number, message))
        return f"sms-{len(self.texts)}"


class FakeMailer:
    """Mailer that fails its first `fail` sends, then remembers each e-mail."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[tuple[str, list[str], str, str]] = []
        self.fail = fail

    def send(self, sender: str, to: list[str], subject: str, text: str) -> str:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("SES throttled")
        self.sent.append((sender, to, subject, text))
        return f"mail-{len(self.sent)}"


class FakeMessageSource:
    """MessageSource over a list of bodies; records deletes and extensions."""

    def __init__(self, bodies: Sequence[str] = (), receive_count: int = 1) -> None:
        self.pending = [ReceivedMessage(f"m{i}", f"r{i}", body, receive_count) for i, body in enumerate(bodies)]
        self.deleted: list[str] = []
        self.extended: list[list[str]] = []
        self.released: dict[str, int] = {}  # receipt -> the visibility it was given back with

    def receive(self, max_jobs: int, wait_s: int) -> list[ReceivedMessage]:
        batch, self.pending = self.pending[:max_jobs], self.pending[max_jobs:]
        return batch

    def delete(self, receipts: list[str]) -> None:
        self.deleted.extend(receipts)

    def extend(self, receipts: list[str], seconds: int) -> None:
        self.released.update({r: seconds for r in receipts})
        self.extended.append(list(receipts))


class FakeOnce:
    """The notify `Once` guard in a dict: an action that raised may run again."""

    def __init__(self) -> None:
        self.done: dict[str, str] = {}

    def run(self, key: str, action) -> str:
        if key not in self.done:
            self.done[key] = action()
        return self.done[key]


# --- stores --------------------------------------------------------------------------------


class MemoryStore:
    """CaseStore, PhotoStore, FaceStore, AlertStore and DeliveryStore in memory, with the same idempotency rules."""

    def __init__(self) -> None:
        self.agencies: dict[str, Agency] = {}
        self.cases: dict[str, Case] = {}
        self.photos: dict[str, Photo] = {}
        self.faces: dict[int, tuple[str, ModelInfo, StoredFace]] = {}
        self.matches: dict[tuple[int, int], float] = {}
        self.matched_at: dict[tuple[int, int], datetime] = {}  # matches.created_at (unset: tests that fill matches)
        self.alerts: dict[str, Alert] = {}
        self.deliveries: dict[tuple[str, str, str], dict] = {}
        self.case_events: list[str] = []
        self.photo_created: dict[str, datetime] = {}  # photos.created_at; tests may back-date it
        self.refused: list[tuple[str, str | None, int | None, str]] = []
        self.searches: dict[str, object] = {}
        self.search_results: dict[str, list] = {}
        self.shares: set[tuple[str, str]] = set()
        self.audit: list[AuditEntry] = []
        self.delete_after: dict[str, datetime] = {}
        self.subscriptions: list[Subscription] = []
        self.photo_models: dict[tuple[str, str], tuple[int, int]] = {}  # (photo, model) -> (faces, usable)
        self.campaigns: dict[str, Campaign] = {}
        self.reembed_items: dict[tuple[str, str], dict] = {}  # (campaign, photo) -> the row
        self.face_created: dict[int, datetime] = {}  # faces.created_at; tests may back-date it
        self.segments: dict[str, Segment] = {}  # archive_segments

    # CaseStore
    def add_agency(self, agency: Agency) -> None:
        self.agencies[agency.id] = agency

    def get_agency(self, agency_id: str) -> Agency | None:
        return self.agencies.get(agency_id)

    def add_case(self, case: Case) -> None:
        self.cases[case.id] = case

    def get_case(self, case_id: str) -> Case | None:
        return self.cases.get(case_id)

    def list_agencies(self) -> list[Agency]:
        return sorted(self.agencies.values(), key=lambda a: (a.name, a.id))

    def visible_cases(self, agency_id, status, before, limit) -> list[Case]:
        found = [c for c in self.cases.values()
                 if (c.agency_id == agency_id or (c.id, agency_id) in self.shares)
                 and (status is None or c.status is status) and (before is None or (c.created_at, c.id) < before)]
        return sorted(found, key=lambda c: (c.created_at, c.id), reverse=True)[:limit]

    def person_names(self, case_ids) -> dict[str, str]:
        return {i: self.cases[i].person_name for i in case_ids if i in self.cases}

    def set_case_status(self, case_id: str, status: CaseStatus) -> None:
        self.cases[case_id] = self.cases[case_id].model_copy(update={"status": status})
        self.case_events.append(case_id)

    def update_case(self, case: Case) -> None:
        self.cases[case.id] = case

    def erase_references(self, case_id: str, at: datetime, delete_after: datetime) -> int:
        self.delete_after.setdefault(case_id, delete_after)
        return sum(self._erase_faces(p.id) for p in self.photos.values()
                   if p.case_id == case_id and p.kind is PhotoKind.REFERENCE)

    def _erase_faces(self, photo_id: str) -> int:
        erased = 0
        for face_id, (p, model, stored) in list(self.faces.items()):
            if p == photo_id and stored.face.embedding_b64:
                # Empty, as in MySQL: the embedding is gone and the face can never be searched again.
                gone = stored.face.model_copy(update={"embedding_b64": ""})
                self.faces[face_id] = (p, model, StoredFace(face_id, gone, False))
                erased += 1
        return erased

    def reference_photos(self, case_id: str) -> list[ReferencePhoto]:
        out = []
        for p in self.photos.values():
            if p.case_id == case_id and p.kind is PhotoKind.REFERENCE:
                usable = sum(1 for q, _, s in self.faces.values() if q == p.id and s.usable)
                out.append(ReferencePhoto(id=p.id, status=p.status, reason=p.reason, face_count=p.face_count,
                                          usable_faces=usable, verdict=verdict(p.status, usable),
                                          erased=p.erased_at is not None))
        return out

    # ShareStore
    def add_share(self, case_id: str, agency_id: str, by_user: str) -> bool:
        new = (case_id, agency_id) not in self.shares
        self.shares.add((case_id, agency_id))
        return new

    def is_shared_with(self, case_id: str, agency_id: str) -> bool:
        return (case_id, agency_id) in self.shares

    # SubscriptionStore
    def add_subscription(self, subscription: Subscription, by_user: str) -> None:
        self.subscriptions.append(subscription)

    def subscriptions_of(self, agency_id: str) -> list[Subscription]:
        return [s for s in self.subscriptions if s.agency_id == agency_id]

    def delete_subscription(self, subscription_id: str, agency_id: str) -> bool:
        kept = [s for s in self.subscriptions if not (s.id == subscription_id and s.agency_id == agency_id)]
        deleted, self.subscriptions = len(kept) < len(self.subscriptions), kept
        return deleted

    # AuditLog (append-only, like the table)
    def append_audit(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    def audit_of_case(self, case_id: str) -> list[AuditEntry]:
        return [e for e in self.audit if e.case_id == case_id]

    # RetentionStore
    def due_reference_photos(self, now: datetime, limit: int) -> list[Photo]:
        return [p for p in self.photos.values() if p.kind is PhotoKind.REFERENCE and p.erased_at is None
                and p.case_id in self.delete_after and self.delete_after[p.case_id] <= now][:limit]

    def expired_sightings(self, before: datetime, limit: int) -> list[Photo]:
        confirmed = {a.sighting_id for a in self.alerts.values() if a.status is AlertStatus.CONFIRMED}
        return [p for p in self.photos.values() if p.kind is PhotoKind.SIGHTING and p.erased_at is None
                and self.photo_created[p.id] < before and p.id not in confirmed][:limit]

    def erase_photo(self, photo_id: str, at: datetime) -> None:
        self._erase_faces(photo_id)
        self.photos[photo_id] = self.photos[photo_id].model_copy(update={
            "erased_at": at, "contact": None, "place": None, "lat": None, "lon": None, "dedup_key": None})

    # PhotoStore
    def add_photo(self, photo: Photo) -> bool:
        if photo.id in self.photos:
            return False
        if photo.dedup_key and (original := self.photo_by_content(photo.dedup_key)):
            raise DuplicateContent(original.id)
        self.photos[photo.id] = photo
        self.photo_created[photo.id] = datetime.now(timezone.utc)
        return True

    def get_photo(self, photo_id: str) -> Photo | None:
        return self.photos.get(photo_id)

    def mark_job_sent(self, photo_id: str, at: datetime) -> None:
        self.photos[photo_id] = self.photos[photo_id].model_copy(update={"job_sent_at": at})

    def set_photo_status(self, photo_id, status, reason=None, face_count=None) -> None:
        photo = self.photos[photo_id]
        update = {"status": status, "reason": reason}
        if face_count is not None:
            update["face_count"] = face_count
        self.photos[photo_id] = photo.model_copy(update=update)

    def fail_photo(self, photo_id: str, stage: str, reason: str) -> bool:
        photo = self.photos.get(photo_id)
        if photo is None or photo.status in FINAL:
            return False
        self.photos[photo_id] = photo.model_copy(update={"status": PhotoStatus.FAILED, "failed_stage": stage,
                                                         "reason": reason})
        return True

    def stuck_photos(self, before: datetime, limit: int) -> list[Photo]:
        stuck = [p for p in self.photos.values() if p.status is PhotoStatus.RECEIVED and self.photo_created[p.id] < before]
        return sorted(stuck, key=lambda p: self.photo_created[p.id])[:limit]

    def alert_exists(self, alert_id: str) -> bool:
        return alert_id in self.alerts

    def photo_by_content(self, dedup_key: str) -> Photo | None:
        return next((p for p in self.photos.values() if p.dedup_key == dedup_key), None)

    def release_content(self, photo_id: str) -> None:
        self.photos[photo_id] = self.photos[photo_id].model_copy(update={"dedup_key": None})

    def add_refused_upload(self, photo_id: str, sha256: str | None, size: int | None, reason: str) -> None:
        self.refused.append((photo_id, sha256, size, reason))

    # FaceStore
    def add_faces(self, photo_id: str, model: ModelInfo, faces: Sequence[Face], usable: Sequence[bool]) -> list[StoredFace]:
        stored = []
        for face, ok in zip(faces, usable):
            found = next((s for p, m, s in self.faces.values()
                          if p == photo_id and m.name == model.name and s.face.index == face.index), None)
            if found is None:
                found = StoredFace(len(self.faces) + 1, face, ok)
                self.faces[found.id] = (photo_id, model, found)
                self.face_created[found.id] = datetime.now(timezone.utc)
            stored.append(found)
        return stored

    def gallery(self, model_name: str, dim: int) -> Gallery:
        rows = []
        for photo_id, model, face in self.faces.values():
            photo = self.photos[photo_id]
            case = self.cases.get(photo.case_id or "")
            if (model.name == model_name and model.dim == dim and face.usable and photo.kind is PhotoKind.REFERENCE
                    and case is not None and case.status is CaseStatus.OPEN):
                rows.append((face.face.embedding(), face.id, photo.case_id))
        if not rows:
            return Gallery.empty(dim)
        return Gallery(np.stack([r[0] for r in rows]), np.array([r[1] for r in rows]), tuple(r[2] for r in rows))

    def gallery_watermark(self, model_name: str) -> Watermark:
        return Watermark(len(self.faces), len(self.case_events))

    def gallery_update(self, model_name: str, dim: int, since: Watermark, until: Watermark) -> GalleryUpdate:
        # The fake re-sends the whole gallery and every changed case; the live gallery must cope.
        changed = frozenset(self.case_events[since.event_seq:until.event_seq])
        return GalleryUpdate(self.gallery(model_name, dim), changed, until)

    def photo_of_face(self, face_id: int) -> str:
        return self.faces[face_id][0]

    def face_location(self, face_id: int) -> FaceLocation | None:
        if face_id not in self.faces:
            return None
        photo_id, _, stored = self.faces[face_id]
        return FaceLocation(photo_id, stored.face.index, tuple(stored.face.box))

    def sighting_faces_since(self, model_name: str, dim: int, since: datetime, after_face_id: int = 0) -> SightingFaces:
        return self._sightings(model_name, dim, since, lambda i: i > after_face_id)

    def sighting_faces_with_ids(self, model_name: str, dim: int, since: datetime, face_ids) -> SightingFaces:
        wanted = {int(i) for i in face_ids}
        return self._sightings(model_name, dim, since, lambda i: i in wanted)

    def _sightings(self, model_name: str, dim: int, since: datetime, keep) -> SightingFaces:
        rows = [(p, s) for p, m, s in sorted(self.faces.values(), key=lambda f: f[2].id)
                if m.name == model_name and m.dim == dim and s.usable and self.photos[p].kind is PhotoKind.SIGHTING
                and self.photos[p].erased_at is None and self.photo_created[p] >= since and keep(s.id)]
        if not rows:
            return SightingFaces.empty(dim)
        return SightingFaces(np.stack([s.face.embedding() for _, s in rows]), np.array([s.id for _, s in rows]),
                             tuple(p for p, _ in rows), np.array([s.face.index for _, s in rows]),
                             np.array([s.face.box for _, s in rows], dtype=np.float32))

    def candidates_of(self, sighting_face_id: int) -> list[Candidate]:
        found = [Candidate(self.photos[self.faces[ref][0]].case_id, ref, score)
                 for (face, ref), score in self.matches.items() if face == sighting_face_id]
        return sorted(found, key=lambda c: -c.score)

    def add_matches(self, matches) -> None:
        for face_id, c in matches:
            self.matches[(face_id, c.reference_face_id)] = c.score
            self.matched_at.setdefault((face_id, c.reference_face_id), datetime.now(timezone.utc))

    # ArchiveStore
    def sighting_models(self) -> list[tuple[str, int]]:
        return sorted({(m.name, m.dim) for p, m, _ in self.faces.values() if self.photos[p].kind is PhotoKind.SIGHTING})

    def settled_sighting_faces(self, model_name, dim, after_face_id, settled_before, limit) -> ArchivedFaces:
        ids = sorted(i for i, (_, m, _) in self.faces.items() if m.name == model_name and i > after_face_id)
        unsettled = next((i for i in ids if self.face_created[i] >= settled_before), None)
        found = self._sightings(model_name, dim, datetime.min.replace(tzinfo=timezone.utc),
                                lambda i: i > after_face_id and (unsettled is None or i < unsettled))
        n = min(limit, len(found))
        arrived = [int(self.photo_created[p].timestamp()) for p in found.photo_ids[:n]]
        return ArchivedFaces(found.face_ids[:n].astype(np.int64), np.array(arrived, dtype=np.int64),
                             found.vectors[:n].astype(np.float16))

    def archive_watermark(self, model_name: str) -> int:
        return max((s.last_face_id for s in self.segments.values() if s.model_name == model_name), default=0)

    def add_archive_segment(self, segment: Segment) -> None:
        self.segments[segment.key] = segment

    def archive_segments(self, model_name: str, since: datetime) -> list[Segment]:
        return sorted((s for s in self.segments.values() if s.model_name == model_name and s.newest_arrival >= since),
                      key=lambda s: s.first_face_id)

    def expired_archive_segments(self, before: datetime, keep_model: str | None = None) -> list[Segment]:
        return sorted((s for s in self.segments.values()
                       if s.newest_arrival < before or (keep_model is not None and s.model_name != keep_model)),
                      key=lambda s: s.first_face_id)

    def remove_archive_segments(self, keys) -> None:
        for key in keys:
            self.segments.pop(key, None)

    # NearMissStore
    def near_misses(self, case_id: str, limit: int) -> list[NearMiss]:
        best: dict[int, tuple[float, int]] = {}
        for (face_id, ref), score in self.matches.items():
            if self.photos[self.faces[ref][0]].case_id == case_id and (face_id not in best or score > best[face_id][0]):
                best[face_id] = (score, ref)
        alerted = {a.sighting_id for a in self.alerts.values() if a.case_id == case_id}
        found = []
        for face_id, (score, ref) in best.items():
            photo = self.photos[self.faces[face_id][0]]
            if photo.id not in alerted:
                found.append(NearMiss(case_id=case_id, sighting_id=photo.id, sighting_face_id=face_id,
                                      reference_face_id=ref, score=round(score, 4),
                                      matched_at=self.matched_at.get((face_id, ref)), seen_at=photo.taken_at,
                                      place=photo.place, lat=photo.lat, lon=photo.lon, erased=photo.erased_at is not None))
        return sorted(found, key=lambda m: -m.score)[:limit]

    def near_miss(self, case_id: str, sighting_face_id: int) -> NearMiss | None:
        return next((m for m in self.near_misses(case_id, len(self.matches) + 1) if m.sighting_face_id == sighting_face_id),
                    None)

    # AlertStore
    def add_alert(self, alert: Alert) -> Alert:
        existing = next((a for a in self.alerts.values()
                         if a.sighting_id == alert.sighting_id and a.case_id == alert.case_id), None)
        if existing is not None:
            return existing
        self.alerts[alert.id] = alert
        return alert

    def mark_published(self, alert_id: str, at: datetime) -> None:
        self.alerts[alert_id] = self.alerts[alert_id].model_copy(update={"published_at": at})

    def get_alert(self, alert_id: str) -> Alert | None:
        return self.alerts.get(alert_id)

    def find_alerts(self, agency_id, status, case_id, since, limit) -> list[Alert]:
        found = [a for a in self.alerts.values()
                 if (self.cases[a.case_id].agency_id == agency_id or (a.case_id, agency_id) in self.shares)
                 and (status is None or a.status is status) and (case_id is None or a.case_id == case_id)
                 and (since is None or a.created_at >= since)]
        return sorted(found, key=lambda a: a.created_at, reverse=True)[:limit]

    def open_alert_counts(self, case_ids) -> dict[str, int]:
        wanted = set(case_ids)
        counts: dict[str, int] = {}
        for a in self.alerts.values():
            if a.case_id in wanted and a.status is AlertStatus.NEW:
                counts[a.case_id] = counts.get(a.case_id, 0) + 1
        return counts

    def set_review(self, alert_id, status, agency_id, user_sub, note, at, only_if=None) -> bool:
        if alert_id not in self.alerts or (only_if is not None and self.alerts[alert_id].status is not only_if):
            return False
        self.alerts[alert_id] = self.alerts[alert_id].model_copy(update={
            "status": status, "reviewed_by_agency": agency_id, "reviewed_by_user": user_sub, "review_note": note,
            "reviewed_at": at})
        return True

    # DeliveryStore
    def record_delivery(self, alert_id, channel, recipient, ok, provider_id, error) -> None:
        row = self.deliveries.get((alert_id, channel, recipient))
        if row is None or not row["ok"]:
            self.deliveries[(alert_id, channel, recipient)] = {"ok": ok, "provider_id": provider_id, "error": error}


    # ReembedStore
    def mark_embedded(self, photo_id: str, model_name: str, faces: int, usable: int) -> None:
        self.photo_models[(photo_id, model_name)] = (faces, usable)

    def add_campaign(self, campaign: Campaign) -> bool:
        if self.running_campaign() is not None:
            return False
        self.campaigns[campaign.id] = campaign
        return True

    def running_campaign(self) -> Campaign | None:
        return next((c for c in self.campaigns.values() if c.completed_at is None and c.cancelled_at is None), None)

    def latest_campaign(self) -> Campaign | None:
        ended = sorted((c for c in self.campaigns.values() if c.completed_at or c.cancelled_at),
                       key=lambda c: c.started_at)
        return self.running_campaign() or (ended[-1] if ended else None)

    def cancel_campaign(self, campaign_id: str, at: datetime) -> None:
        if self.running_campaign() and self.running_campaign().id == campaign_id:
            self.campaigns[campaign_id] = self.campaigns[campaign_id].model_copy(update={"cancelled_at": at})

    def complete_campaign(self, campaign_id: str, at: datetime, erased_faces: int) -> None:
        c = self.campaigns[campaign_id]
        self.campaigns[campaign_id] = c.model_copy(update={"completed_at": c.completed_at or at,
                                                           "erased_faces": (c.erased_faces or 0) + erased_faces})

    def _in_reembed_scope(self, photo: Photo, since: datetime) -> bool:
        if photo.status is not PhotoStatus.PROCESSED or photo.erased_at is not None:
            return False
        if photo.kind is PhotoKind.REFERENCE:
            case = self.cases.get(photo.case_id or "")
            return case is not None and case.status is CaseStatus.OPEN
        return photo.kind is PhotoKind.SIGHTING and self.photo_created[photo.id] >= since

    def _item_status(self, campaign_id: str, photo_id: str) -> ItemStatus | None:
        item = self.reembed_items.get((campaign_id, photo_id))
        return item["status"] if item else None

    def photos_to_reembed(self, campaign_id, model_name, sightings_since, limit) -> list[Photo]:
        found = [p for p in self.photos.values() if self._in_reembed_scope(p, sightings_since)
                 and (p.id, model_name) not in self.photo_models
                 and self._item_status(campaign_id, p.id) in (None, ItemStatus.FAILED)]
        found.sort(key=lambda p: (p.kind is PhotoKind.SIGHTING, self.photo_created[p.id], p.id))
        return found[:limit]

    def queue_reembed_items(self, campaign_id, photos, at) -> None:
        for photo in photos:
            item = self.reembed_items.get((campaign_id, photo.id))
            if item is None:
                self.reembed_items[(campaign_id, photo.id)] = {"kind": photo.kind, "status": ItemStatus.QUEUED,
                                                               "stage": None, "reason": None, "attempts": 1,
                                                               "queued_at": at, "finished_at": None}
            elif item["status"] is not ItemStatus.DONE:
                item.update(status=ItemStatus.QUEUED, stage=None, reason=None, queued_at=at, finished_at=None,
                            attempts=item["attempts"] + 1)
        c = self.campaigns[campaign_id]
        refs = sum(p.kind is PhotoKind.REFERENCE for p in photos)
        self.campaigns[campaign_id] = c.model_copy(update={"references_queued": c.references_queued + refs,
                                                           "sightings_queued": c.sightings_queued + len(photos) - refs})

    def finish_reembed_item(self, campaign_id, photo_id, status, stage, reason, at) -> bool:
        item = self.reembed_items.get((campaign_id, photo_id))
        allowed = (ItemStatus.QUEUED, ItemStatus.FAILED) if status is ItemStatus.DONE else (ItemStatus.QUEUED,)
        if item is None or item["status"] not in allowed:
            return False
        item.update(status=status, stage=stage, reason=reason, finished_at=at)
        return True

    def stuck_reembed_items(self, before, limit) -> list[tuple[str, str]]:
        stuck = sorted((item["queued_at"], key) for key, item in self.reembed_items.items()
                       if item["status"] is ItemStatus.QUEUED and item["queued_at"] < before)
        return [key for _, key in stuck[:limit]]

    def reembed_coverage(self, campaign_id, model_name, sightings_since) -> dict:
        counts: dict[PhotoKind, dict[str, int]] = {}
        for p in self.photos.values():
            if not self._in_reembed_scope(p, sightings_since):
                continue
            c = counts.setdefault(p.kind, dict.fromkeys(("in_scope", "covered", "queued", "failed", "not_queued"), 0))
            status = self._item_status(campaign_id, p.id)
            c["in_scope"] += 1
            if (p.id, model_name) in self.photo_models or status is ItemStatus.DONE:
                c["covered"] += 1
            else:
                c[{None: "not_queued", ItemStatus.QUEUED: "queued", ItemStatus.FAILED: "failed"}[status]] += 1
        return {kind: Coverage(**c) for kind, c in counts.items()}

    def reembed_failures(self, campaign_id, model_name, sightings_since, limit) -> list[ItemFailure]:
        failed = [(p, self.reembed_items[(campaign_id, p.id)]) for p in self.photos.values()
                  if self._in_reembed_scope(p, sightings_since) and (p.id, model_name) not in self.photo_models
                  and self._item_status(campaign_id, p.id) is ItemStatus.FAILED]
        failed.sort(key=lambda f: (f[0].kind is PhotoKind.SIGHTING, f[1]["finished_at"], f[0].id))
        return [ItemFailure(p.id, p.kind, p.case_id, i["stage"], i["reason"], i["attempts"]) for p, i in failed[:limit]]

    def _usable_reference_models(self, case_id: str) -> set[str]:
        return {m.name for p, m, s in self.faces.values() if s.usable and self.photos[p].case_id == case_id
                and self.photos[p].kind is PhotoKind.REFERENCE}

    def cases_without_model(self, model_name: str) -> list[str]:
        open_cases = sorted((c for c in self.cases.values() if c.status is CaseStatus.OPEN),
                            key=lambda c: (c.created_at, c.id))
        return [c.id for c in open_cases
                if (models := self._usable_reference_models(c.id)) and model_name not in models]

    def face_models(self) -> set[str]:
        return {m.name for _, m, _ in self.faces.values()}

    def erase_other_models(self, model_name: str, batch: int) -> int:
        erased, changed = 0, set()
        for face_id, (photo_id, model, stored) in list(self.faces.items()):
            if model.name != model_name and stored.face.embedding_b64:
                gone = stored.face.model_copy(update={"embedding_b64": ""})
                self.faces[face_id] = (photo_id, model, StoredFace(face_id, gone, False))
                erased += 1
                photo = self.photos[photo_id]
                if photo.kind is PhotoKind.REFERENCE and photo.case_id:
                    changed.add(photo.case_id)
        self.case_events += sorted(c for c in changed if self.cases[c].status is CaseStatus.OPEN)
        return erased

    # SearchStore
    def add_search(self, search) -> None:
        self.searches[search.id] = search

    def get_search(self, search_id: str):
        return self.searches.get(search_id)

    def visible_case_ids(self, agency_id: str) -> set[str]:
        return {c.id for c in self.cases.values() if c.status is CaseStatus.OPEN and (
            c.agency_id == agency_id or self.is_shared_with(c.id, agency_id))}

    def complete_search(self, search_id, candidates, at) -> None:
        self.search_results[search_id] = [c.model_copy(update={"person_name": self.cases[c.case_id].person_name})
                                          for c in candidates]
        self.searches[search_id] = self.searches[search_id].model_copy(update={"completed_at": at})

    def search_candidates(self, search_id: str):
        return list(self.search_results.get(search_id, []))


# --- builders ------------------------------------------------------------------------------

DIM = 8
MODEL = ModelInfo(name="test-model", version="1", dim=DIM, match_threshold=0.5, alert_threshold=0.8)


def unit(*values: float, dim: int = DIM) -> np.ndarray:
    """An L2-normalised float32 vector from its first few components (the rest zero)."""
    vec = np.zeros(dim, dtype=np.float32)
    vec[: len(values)] = values
    return vec / np.linalg.norm(vec)


def with_cosine(base: np.ndarray, cosine: float) -> np.ndarray:
    """A unit vector whose cosine similarity with the unit vector `base` is exactly `cosine`."""
    other = np.zeros_like(base)
    other[np.argmin(np.abs(base))] = 1.0
    other = other - base * float(other @ base)
    other /= np.linalg.norm(other)
    return (cosine * base + np.sqrt(1 - cosine**2) * other).astype(np.float32)


def quality(reference: bool = True, sighting: bool = True, reasons: Sequence[str] = ()) -> Quality:
    return Quality(det_score=0.99, face_px=120.0, blur=300.0, yaw=0.0, usable_as_reference=reference,
                   usable_as_sighting=sighting, reasons=list(reasons))


def face(index: int, embedding: np.ndarray, reference: bool = True, sighting: bool = True,
         reasons: Sequence[str] = ()) -> Face:
    landmarks = np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]], dtype=np.float32) + 10 * index
    box = (10.0 + 100 * index, 20.0, 110.0 + 100 * index, 140.0)
    return Face.build(index, box, landmarks, quality(reference, sighting, reasons), embedding)


def agency(name: str = "Missing Persons Unit", email: str = "mpu@police.example") -> Agency:
    return Agency(name=name, email=email, phone="+15550100")


def case(agency_id: str, person_name: str = "Jane Roe", status: CaseStatus = CaseStatus.OPEN) -> Case:
    return Case(id=str(uuid.uuid4()), agency_id=agency_id, person_name=person_name, age=34,
                last_seen_place="Central Station", status=status, created_at=datetime.now(timezone.utc))


def stored_case(store, status: CaseStatus = CaseStatus.OPEN) -> Case:
    """An agency and one of its cases, both added to the store."""
    owner = agency()
    store.add_agency(owner)
    stored = case(owner.id, status=status)
    store.add_case(stored)
    return stored


def photo(kind: PhotoKind, case_id: str | None = None, status: PhotoStatus = PhotoStatus.RECEIVED, **extra) -> Photo:
    photo_id = extra.pop("id", None) or str(uuid.uuid4())
    key = reference_key(case_id, photo_id) if kind is PhotoKind.REFERENCE else sighting_key(photo_id)
    return Photo(id=photo_id, kind=kind, case_id=case_id, s3_key=key, status=status, **extra)


def job_for(p: Photo, bucket: str = "uploads") -> Job:
    return Job(photo_id=p.id, kind=p.kind, case_id=p.case_id, bucket=bucket, key=p.s3_key)


def faces_result(p: Photo, faces: Sequence[Face], model: ModelInfo = MODEL, **extra) -> FacesResult:
    return FacesResult(job=job_for(p), status="ok", model=model, image_width=640, image_height=480,
                       faces=list(faces), **extra)
