"""Re-embedding after a model change (issue #12): a model change loses nobody.

Galleries never mix models, so when the worker's pack changes the new model's gallery starts empty. A
campaign (`facetrace reembed start --model <new>`) queues a job for every reference photo of an open case
and every sighting still within retention that the new model has not processed: the same jobs queue, the
pinned key and SHA-256, purpose "reembed" and the model to use. The worker embeds each with that model;
match stores the faces like any other (references join the new gallery and are searched against past
sightings, sightings are searched against the new gallery) and marks the campaign's item done. A failure
(the pinned object gone, a decoder crash, a dead-letter queue, the sweep) fails the item with its stage and
reason, never the photo, which keeps what the previous model found.

Meanwhile the worker runs both packs (FACETRACE_PACK=new, FACETRACE_PREVIOUS_PACK=old) and sends one result
per model for every new sighting, so cases not yet re-embedded are still found; an alert is once per
(sighting, case), whichever model finds it first. `facetrace reembed finish` refuses while any photo is still
to do (and, unless told to accept it, while a reference failed or a case would be left without a usable
reference), then erases every embedding of another model and those models' gallery snapshots; the worker
then drops the previous pack.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Protocol, Sequence

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from facetrace.case import CaseStatus, CaseStore
from facetrace.keys import snapshot_key
from facetrace.sighting_archive import ArchiveStore, drop_segments
from facetrace.messages import FacesResult, Job, PhotoKind
from facetrace.past_sightings import retention_start
from facetrace.photo import Photo
from facetrace.ports import Queue

logger = Logger(child=True)

REEMBED = "reembed"  # Job.purpose
# Photos queued per round-trip: one query, one insert and this many messages.
QUEUE_BATCH = 500
# Embeddings erased per transaction, so finishing never holds long locks on the faces table.
ERASE_BATCH = 5000
FAILURES_SHOWN = 20


class ItemStatus(str, Enum):
    QUEUED = "queued"  # a job is on its way
    DONE = "done"  # match stored what the campaign's model found
    FAILED = "failed"  # stage and reason say why; `start` queues it again


class Campaign(BaseModel):
    """One model change: the model every open case and recent sighting must be embedded with."""

    id: str
    target_model: str
    started_at: datetime
    references_queued: int = 0  # jobs sent, retries included
    sightings_queued: int = 0
    completed_at: datetime | None = None
    erased_faces: int | None = None  # embeddings of other models erased by `finish`
    cancelled_at: datetime | None = None  # ended by `cancel`: nothing erased


@dataclass(frozen=True)
class Coverage:
    """Where the photos of one kind that a campaign must cover stand, counted now."""

    in_scope: int = 0  # reference photos of open cases, or sightings within retention, processed and not erased
    covered: int = 0  # processed by the campaign's model (re-embedded, or embedded by both as they arrived)
    queued: int = 0  # a job is on its way
    failed: int = 0  # the campaign's job failed; not covered
    not_queued: int = 0  # never queued: arrived through a worker without the new model, or before `start`

    @property
    def to_do(self) -> int:
        """Photos that still need the new model (queued or never queued)."""
        return self.queued + self.not_queued


@dataclass(frozen=True)
class ItemFailure:
    """A photo whose re-embedding failed, and why."""

    photo_id: str
    kind: PhotoKind
    case_id: str | None
    stage: str | None
    reason: str | None
    attempts: int = 1


@dataclass(frozen=True)
class Progress:
    """A campaign and where it stands: what `facetrace reembed status` prints."""

    campaign: Campaign
    references: Coverage
    sightings: Coverage
    failures: list[ItemFailure] = field(default_factory=list)
    cases_without_reference: list[str] = field(default_factory=list)  # open cases the new model cannot search

    @property
    def complete(self) -> bool:
        """Every photo in scope was processed by the new model or failed for good."""
        return self.references.to_do == 0 and self.sightings.to_do == 0

    def blockers(self, accept_losses: bool = False) -> list[str]:
        """Why finishing now would lose someone (empty: it may finish)."""
        found = []
        for kind, c in (("reference photo(s)", self.references), ("sighting(s)", self.sightings)):
            if c.queued:
                found.append(f"{c.queued} {kind} still being re-embedded (wait, then check `facetrace reembed status`)")
            if c.not_queued:
                found.append(f"{c.not_queued} {kind} never queued for {self.campaign.target_model} "
                             "(run `facetrace reembed start` again)")
        if not accept_losses and self.references.failed:
            found.append(f"{self.references.failed} reference photo(s) failed to re-embed (see the failures; run "
                         "`facetrace reembed start` to retry them, or finish with --accept-losses)")
        if not accept_losses and self.cases_without_reference:
            found.append(f"{len(self.cases_without_reference)} open case(s) would have no usable reference face for "
                         f"{self.campaign.target_model}: {', '.join(self.cases_without_reference[:10])} (ask their "
                         "agencies for new photos, or finish with --accept-losses)")
        return found


class CampaignConflict(Exception):
    """Another campaign, to another model, is running."""


class NoCampaign(LookupError):
    """No campaign was ever started."""


class CampaignIncomplete(Exception):
    """`finish` would lose someone; `blockers` says what is missing."""

    def __init__(self, progress: Progress, blockers: list[str]) -> None:
        super().__init__("the new gallery is incomplete: " + "; ".join(blockers))
        self.progress, self.blockers = progress, blockers


class EmbeddedStore(Protocol):
    """What match records about re-embedding (and about every model that processes a photo)."""

    def mark_embedded(self, photo_id: str, model_name: str, faces: int, usable: int) -> None:
        """Record that the model processed the photo, finding `faces` faces (`usable` of them usable); idempotent."""
        ...

    def finish_reembed_item(self, campaign_id: str, photo_id: str, status: ItemStatus, stage: str | None,
                            reason: str | None, at: datetime) -> bool:
        """Move a queued item to done or failed (a failed one may still become done; done is final); True if it moved."""
        ...


class ReembedStore(EmbeddedStore, ArchiveStore, Protocol):
    """Campaigns and their items."""

    def add_campaign(self, campaign: Campaign) -> bool:
        """Record a running campaign; False when another one is running."""
        ...

    def running_campaign(self) -> Campaign | None: ...

    def latest_campaign(self) -> Campaign | None:
        """The running campaign, else the last one finished or cancelled, else None."""
        ...

    def cancel_campaign(self, campaign_id: str, at: datetime) -> None:
        """End a running campaign without finishing it (its items stay, for the record)."""
        ...

    def photos_to_reembed(self, campaign_id: str, model_name: str, sightings_since: datetime,
                          limit: int) -> list[Photo]:
        """Processed, unerased reference photos of open cases (first), then sightings that arrived at or after
        `sightings_since`, that the model has not processed and the campaign has not queued (or whose item failed)."""
        ...

    def queue_reembed_items(self, campaign_id: str, photos: Sequence[Photo], at: datetime) -> None:
        """Record the photos as queued (again, for failed ones) and add them to the campaign's totals."""
        ...

    def stuck_reembed_items(self, before: datetime, limit: int) -> list[tuple[str, str]]:
        """(campaign id, photo id) of items still queued since before `before`, oldest first."""
        ...

    def reembed_coverage(self, campaign_id: str, model_name: str, sightings_since: datetime) -> dict[PhotoKind, Coverage]:
        """Coverage of reference photos and sightings in scope (see Coverage)."""
        ...

    def reembed_failures(self, campaign_id: str, model_name: str, sightings_since: datetime,
                         limit: int) -> list[ItemFailure]:
        """Failed items of photos still in scope and not covered, references first."""
        ...

    def cases_without_model(self, model_name: str) -> list[str]:
        """Open cases with a usable reference face of another model and none of this one."""
        ...

    def face_models(self) -> set[str]:
        """Every model that has a face on record."""
        ...

    def erase_other_models(self, model_name: str, batch: int) -> int:
        """Erase every embedding of another model, `batch` faces per transaction; open cases whose reference faces
        went are recorded as changed (case events) so warm galleries drop them. The number erased."""
        ...

    def complete_campaign(self, campaign_id: str, at: datetime, erased_faces: int) -> None:
        """Mark the campaign finished (a second call adds to the count erased)."""
        ...


class ObjectRemover(Protocol):
    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class ReembedDeps:
    """What running a campaign needs: the store, the jobs queue, the bucket (snapshots) and the retention."""

    store: ReembedStore
    jobs: Queue
    objects: ObjectRemover
    bucket: str
    retention_days: int


@dataclass(frozen=True)
class StartReport:
    """What one `start` queued."""

    campaign: Campaign
    created: bool
    references: int
    sightings: int


@dataclass(frozen=True)
class FinishReport:
    """What `finish` erased."""

    campaign: Campaign
    erased_faces: int
    snapshots_deleted: list[str]


def start_campaign(deps: ReembedDeps, model_name: str, now: datetime | None = None,
                   batch: int = QUEUE_BATCH) -> StartReport:
    """Start (or resume) the campaign to `model_name` and queue every photo it must still cover."""
    now = now or datetime.now(timezone.utc)
    campaign, created = _running(deps.store, model_name, now)
    since = retention_start(deps.retention_days, now)
    counts = {PhotoKind.REFERENCE: 0, PhotoKind.SIGHTING: 0}
    while photos := deps.store.photos_to_reembed(campaign.id, model_name, since, batch):
        # Recorded before sent: a result can never arrive for an item the store does not know yet.
        deps.store.queue_reembed_items(campaign.id, photos, now)
        for photo in photos:
            _send(deps, campaign, photo, now)
            counts[photo.kind] += 1
        logger.info("reembed batch queued", extra={
            "campaign_id": campaign.id, "model": model_name, "photos": len(photos),
            "references": sum(p.kind is PhotoKind.REFERENCE for p in photos),
            "sightings": sum(p.kind is PhotoKind.SIGHTING for p in photos),
            "queued_references": counts[PhotoKind.REFERENCE], "queued_sightings": counts[PhotoKind.SIGHTING]})
    campaign = deps.store.running_campaign() or campaign
    logger.info("reembed started" if created else "reembed resumed", extra={
        "campaign_id": campaign.id, "model": model_name, "references": counts[PhotoKind.REFERENCE],
        "sightings": counts[PhotoKind.SIGHTING]})
    return StartReport(campaign, created, counts[PhotoKind.REFERENCE], counts[PhotoKind.SIGHTING])


def _running(store: ReembedStore, model_name: str, now: datetime) -> tuple[Campaign, bool]:
    running = store.running_campaign()
    if running is None:
        campaign = Campaign(id=str(uuid.uuid4()), target_model=model_name, started_at=now)
        if store.add_campaign(campaign):
            return campaign, True
        running = store.running_campaign()  # another operator started one a moment earlier
    if running is None or running.target_model != model_name:
        target = running.target_model if running else "?"
        raise CampaignConflict(f"a campaign to {target} is running; finish it before starting one to {model_name}")
    return running, False


def _send(deps: ReembedDeps, campaign: Campaign, photo: Photo, now: datetime) -> None:
    job = Job(photo_id=photo.id, kind=photo.kind, case_id=photo.case_id, bucket=deps.bucket, key=photo.s3_key,
              sha256=photo.sha256, purpose=REEMBED, campaign_id=campaign.id, model=campaign.target_model)
    try:
        deps.jobs.send(job.model_dump_json(), dedup_id=f"{REEMBED}:{campaign.id}:{photo.id}")
    except Exception as exc:
        # Not sent: the item must not wait for a result that will never come. `start` again retries it.
        deps.store.finish_reembed_item(campaign.id, photo.id, ItemStatus.FAILED, "queue",
                                       f"could not queue the job: {type(exc).__name__}: {exc}"[:1000], now)
        raise


def campaign_progress(store: ReembedStore, retention_days: int, now: datetime | None = None,
                      failures: int = FAILURES_SHOWN) -> Progress:
    """The running campaign (else the last one) and where it stands."""
    campaign = store.latest_campaign()
    if campaign is None:
        raise NoCampaign("no re-embedding campaign was ever started (facetrace reembed start --model <name>)")
    since = retention_start(retention_days, now)
    coverage = store.reembed_coverage(campaign.id, campaign.target_model, since)
    return Progress(
        campaign=campaign,
        references=coverage.get(PhotoKind.REFERENCE, Coverage()),
        sightings=coverage.get(PhotoKind.SIGHTING, Coverage()),
        failures=store.reembed_failures(campaign.id, campaign.target_model, since, failures),
        cases_without_reference=store.cases_without_model(campaign.target_model),
    )


def finish_campaign(deps: ReembedDeps, accept_losses: bool = False, now: datetime | None = None,
                    batch: int = ERASE_BATCH) -> FinishReport:
    """Erase every embedding of another model once the new gallery loses nobody; else CampaignIncomplete."""
    now = now or datetime.now(timezone.utc)
    progress = campaign_progress(deps.store, deps.retention_days, now)
    campaign = progress.campaign
    if campaign.cancelled_at is not None:
        raise NoCampaign(f"the campaign to {campaign.target_model} was cancelled; start one to the worker's model")
    # A finished campaign may be finished again: a worker that still ran the previous pack afterwards left
    # embeddings of it, and those go too.
    if campaign.completed_at is None and (blockers := progress.blockers(accept_losses)):
        logger.warning("reembed finish refused", extra={"campaign_id": campaign.id, "blockers": blockers})
        raise CampaignIncomplete(progress, blockers)
    erased = deps.store.erase_other_models(campaign.target_model, batch)
    # Snapshots go after the embeddings: a container starting meanwhile reads the database, where they are gone.
    snapshots = sorted(m for m in deps.store.face_models() if m != campaign.target_model)
    for model in snapshots:
        deps.objects.delete(snapshot_key(model))
    # The other models' archived sightings too: nothing searches them any more.
    old = deps.store.expired_archive_segments(datetime.min.replace(tzinfo=timezone.utc), keep_model=campaign.target_model)
    drop_segments(deps.store, deps.objects, old)
    deps.store.complete_campaign(campaign.id, now, erased)
    logger.info("reembed finished", extra={"campaign_id": campaign.id, "model": campaign.target_model,
                                           "erased_faces": erased, "snapshots_deleted": snapshots,
                                           "archive_segments_deleted": len(old),
                                           "accepted_losses": progress.blockers() if accept_losses else []})
    return FinishReport(deps.store.latest_campaign() or campaign, erased, snapshots)


def cancel_campaign(store: ReembedStore, now: datetime | None = None) -> Campaign:
    """End the running campaign and erase nothing (a wrong model named, or the change rolled back)."""
    running = store.running_campaign()
    if running is None:
        raise NoCampaign("no re-embedding campaign is running")
    store.cancel_campaign(running.id, now or datetime.now(timezone.utc))
    logger.warning("reembed cancelled", extra={"campaign_id": running.id, "model": running.target_model})
    return store.latest_campaign() or running


def refusal(photo: Photo, result: FacesResult, cases: CaseStore) -> tuple[str, str] | None:
    """(stage, reason) when an ok re-embedding result must not be stored; None when it may."""
    job = result.job
    if job.model and result.model.name != job.model:
        return "match", f"embedded by {result.model.name}, not by {job.model} as the campaign asked"
    if photo.erased_at is not None:
        return "match", "the photo was erased after it was queued (retention)"
    if photo.kind is PhotoKind.SEARCH:
        return "match", "search photos are not re-embedded"
    if photo.kind is PhotoKind.REFERENCE:
        case = cases.get_case(photo.case_id) if photo.case_id else None
        if case is None or case.status is not CaseStatus.OPEN:
            return "match", "the case was closed after the photo was queued"
    return None


def item_done(store: EmbeddedStore, job: Job) -> None:
    """The campaign's model stored this photo's faces."""
    if job.campaign_id:
        store.finish_reembed_item(job.campaign_id, job.photo_id, ItemStatus.DONE, None, None, datetime.now(timezone.utc))
        logger.info("reembed item done", extra={"campaign_id": job.campaign_id, "photo_id": job.photo_id,
                                                "kind": job.kind.value, "model": job.model})


def item_failed(store: EmbeddedStore, job: Job, stage: str, reason: str) -> bool:
    """The photo could not be re-embedded: its item fails with the stage and reason (the photo is untouched)."""
    if not job.campaign_id:
        return False
    changed = store.finish_reembed_item(job.campaign_id, job.photo_id, ItemStatus.FAILED, stage[:32], reason[:1000],
                                        datetime.now(timezone.utc))
    logger.warning("reembed item failed", extra={"campaign_id": job.campaign_id, "photo_id": job.photo_id,
                                                 "kind": job.kind.value, "stage": stage, "reason": reason[:300],
                                                 "changed": changed})
    return changed


def sweep_stuck_items(store: ReembedStore, before: datetime, limit: int = 1000) -> list[str]:
    """Fail every item still queued since before `before` (no queue holds its job any more); the photo ids."""
    failed = []
    for campaign_id, photo_id in store.stuck_reembed_items(before, limit):
        reason = "no result since it was queued; every queue would have delivered or dead-lettered it by now"
        if store.finish_reembed_item(campaign_id, photo_id, ItemStatus.FAILED, "pipeline", reason,
                                     datetime.now(timezone.utc)):
            failed.append(photo_id)
    if failed:
        logger.warning("stuck reembed items failed", extra={"photos": len(failed), "before": before.isoformat()})
    return failed
