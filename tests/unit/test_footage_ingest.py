"""An uploaded clip at ingest: probed by the real library, pinned, split into part jobs; or refused with the
reason, as photos are. The clips are encoded by the tests (PyAV); store and bucket are fakes."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from facetrace.adapters.video import PyAVProbe
from facetrace.footage.clip import Clip, FootageLimits
from facetrace.footage.ingest import NO_TICKET, FootageIngestDeps, ingest_footage, is_footage
from facetrace.ingest import SECOND_WRITE, Upload
from facetrace.keys import footage_key, upload_key
from facetrace.messages import Job, PhotoKind
from facetrace.photo import PhotoStatus
from tests import fakes
from tests.clips import truncated
from tests.footage_fakes import FootageMemoryStore, FootageObjects
from tests.unit.test_footage_video import scenes

STARTED = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
LIMITS = FootageLimits(max_bytes=50_000_000, max_duration_s=3600, max_pixels=1920 * 1080, max_fps=60)


class Inbox:
    """An agency with a clip ticket, and ingest's dependencies (parts of 4 s)."""

    def __init__(self) -> None:
        self.store, self.objects, self.jobs = FootageMemoryStore(), FootageObjects(), fakes.FakeQueue()
        owner = fakes.agency()
        self.store.add_agency(owner)
        self.owner = owner.id
        self.deps = FootageIngestDeps(self.objects, self.store, self.jobs, "uploads", LIMITS, PyAVProbe(), part_s=4.0)

    def ticket(self) -> Clip:
        clip_id = str(uuid.uuid4())
        clip = Clip(id=clip_id, agency_id=self.owner, s3_key=footage_key(self.owner, clip_id), started_at=STARTED,
                    place="Quai 4", content_type="video/x-matroska", created_at=STARTED)
        self.store.add_clip(clip)
        return clip

    def upload(self, clip_id: str, path, owner: str | None = None) -> Upload:
        key = upload_key(footage_key(owner or self.owner, clip_id))
        return Upload(key, self.objects.add_file(key, path))


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    return scenes(tmp_path_factory.mktemp("clips") / "clip.mkv", 10.0)


def test_a_clip_is_pinned_recorded_and_split_into_part_jobs(inbox, clip_file):
    clip = inbox.ticket()
    upload = inbox.upload(clip.id, clip_file)
    assert is_footage(upload.key)
    # WHEN ingest handles the upload
    photo = ingest_footage(upload, inbox.deps)
    # THEN the clip is received, pinned under its key (the upload gone), its facts and 3 parts recorded
    assert (photo.status, photo.kind, photo.s3_key, photo.taken_at, photo.place) == (
        PhotoStatus.RECEIVED, PhotoKind.FOOTAGE, clip.s3_key, STARTED, "Quai 4")
    assert inbox.objects.objects[clip.s3_key][2]["sha256"] == photo.sha256 and upload.key not in inbox.objects.objects
    stored = inbox.store.get_clip(clip.id)
    assert (stored.codec, stored.width, stored.height, stored.parts) == ("h264", 320, 240, 3)
    # AND one job per part, each naming its seconds and the checked bytes
    jobs = [Job.model_validate_json(b) for b in inbox.jobs.bodies]
    assert [(j.part.index, j.part.count, j.part.start_s, j.part.end_s) for j in jobs] == [
        (0, 3, 0.0, 4.0), (1, 3, 4.0, 8.0), (2, 3, 8.0, 10.0)]
    assert {(j.kind, j.key, j.sha256) for j in jobs} == {(PhotoKind.FOOTAGE, clip.s3_key, photo.sha256)}
    assert [d for _, d in inbox.jobs.sent] == [f"{clip.id}:0", f"{clip.id}:1", f"{clip.id}:2"]
    # AND a retried event queues nothing twice
    ingest_footage(upload, inbox.deps)
    assert len(inbox.jobs.sent) == 3


@pytest.mark.parametrize("make, reason", [
    (lambda tmp, src: (tmp.write_bytes(b"a note, not a video at all " * 100), tmp)[1], "not a readable video"),
    (lambda tmp, src: truncated(src, tmp), "ends early"),
])
def test_a_non_video_or_truncated_clip_is_rejected_with_the_reason_and_not_kept(inbox, clip_file, tmp_path, make,
                                                                                reason):
    clip = inbox.ticket()
    upload = inbox.upload(clip.id, make(tmp_path / "upload.mkv", clip_file))
    photo = ingest_footage(upload, inbox.deps)
    assert photo.status is PhotoStatus.REJECTED and reason in photo.reason
    assert inbox.jobs.sent == [] and not inbox.objects.objects  # neither the upload nor a pinned copy is kept


def test_an_upload_nobody_issued_a_ticket_for_is_rejected(inbox, clip_file):
    photo = ingest_footage(inbox.upload(str(uuid.uuid4()), clip_file), inbox.deps)
    assert photo.status is PhotoStatus.REJECTED and photo.reason == NO_TICKET


def test_a_clip_under_another_owners_prefix_is_rejected(inbox, clip_file):
    clip = inbox.ticket()
    photo = ingest_footage(inbox.upload(clip.id, clip_file, owner=str(uuid.uuid4())), inbox.deps)
    assert photo.status is PhotoStatus.REJECTED and photo.reason == NO_TICKET


def test_the_same_clip_twice_is_a_duplicate_and_a_second_write_is_refused(inbox, clip_file, tmp_path):
    first, second = inbox.ticket(), inbox.ticket()
    ingest_footage(inbox.upload(first.id, clip_file), inbox.deps)
    # WHEN the same bytes come under another ticket THEN they are a duplicate of the first, with no jobs
    duplicate = ingest_footage(inbox.upload(second.id, clip_file), inbox.deps)
    assert (duplicate.status, duplicate.duplicate_of) == (PhotoStatus.DUPLICATE, first.id)
    assert len(inbox.jobs.sent) == 3
    # AND other bytes written with the first ticket again are refused and deleted
    other = scenes(tmp_path / "other.mkv", 3.0)
    again = inbox.upload(first.id, other)
    assert ingest_footage(again, inbox.deps).status is PhotoStatus.RECEIVED
    assert inbox.store.refused[-1][3] == SECOND_WRITE and again.key not in inbox.objects.objects
