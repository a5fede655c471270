"""A model change loses nobody: the re-embedding campaign on fakes (facetrace/reembed.py, match, dead letters)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from facetrace.case import CaseStatus
from facetrace.deadletter import record_dead_letter
from facetrace.gallery.cache import GalleryCache
from facetrace.keys import snapshot_key
from facetrace.match import MatchDeps, Thresholds, find_candidates, process_faces
from facetrace.messages import AlertMessage, FacesResult, Job, ModelInfo, PhotoKind
from facetrace.photo import PhotoStatus
from facetrace.reembed import (REEMBED, CampaignConflict, CampaignIncomplete, ItemStatus, NoCampaign, ReembedDeps,
                               campaign_progress, cancel_campaign, finish_campaign, start_campaign,
                               sweep_stuck_items)
from tests import fakes
from tests.fakes import face, unit, with_cosine

OLD = ModelInfo(name="old-model", version="1", dim=8, match_threshold=0.5, alert_threshold=0.8)
NEW = ModelInfo(name="new-model", version="2", dim=4, match_threshold=0.4, alert_threshold=0.7)
# The same person as each model sees her: two models' embeddings have nothing in common, not even their size.
PERSON = {OLD.name: unit(1, 2, 3), NEW.name: unit(3, 1, dim=4)}
STRANGER = {OLD.name: unit(0, 0, 0, 0, 1), NEW.name: unit(0, 0, 1, dim=4)}
NOW = datetime.now(timezone.utc)


class World:
    """An agency with one open case enrolled by the old model, a past sighting of her, and every dependency."""

    def __init__(self) -> None:
        self.store = fakes.MemoryStore()
        self.objects = fakes.FakeObjects()
        self.publisher = fakes.FakePublisher()
        self.jobs = fakes.FakeQueue()
        self.deps = MatchDeps(self.store, self.publisher, self.objects, GalleryCache(self.store, self.objects))
        self.reembed = ReembedDeps(self.store, self.jobs, self.objects, "uploads", retention_days=90)
        self.case = fakes.stored_case(self.store)
        self.reference = self.photo(PhotoKind.REFERENCE, self.case.id)
        self.result(self.reference, OLD, PERSON)
        self.past = self.photo(PhotoKind.SIGHTING)
        self.result(self.past, OLD, PERSON, cosine=0.9)

    def photo(self, kind: PhotoKind, case_id: str | None = None, **extra):
        p = fakes.photo(kind, case_id, sha256="5e" * 32, **extra)
        self.store.add_photo(p)
        self.objects.add(p.s3_key, b"pinned bytes")
        return p

    def result(self, photo, model: ModelInfo, who=None, cosine: float = 1.0, job: Job | None = None):
        """Match one result of `model` for the photo: one face, `cosine` from `who` (None: no face)."""
        faces = [] if who is None else [face(0, with_cosine(who[model.name], cosine) if cosine < 1 else who[model.name])]
        result = FacesResult(job=job or fakes.job_for(photo), status="ok", model=model, image_width=640,
                             image_height=480, faces=faces)
        return process_faces(result, self.deps, Thresholds.of(model))

    def queued_jobs(self) -> list[Job]:
        return [Job.model_validate_json(b) for b in self.jobs.bodies]

    def run_jobs(self, model: ModelInfo = NEW, who=PERSON, cosine: float = 0.95) -> None:
        """The worker embeds every queued job with `model` and match stores it (references see the person)."""
        for job in self.queued_jobs():
            photo = self.store.get_photo(job.photo_id)
            self.result(photo, model, who, 1.0 if photo.kind is PhotoKind.REFERENCE else cosine, job=job)
        self.jobs.sent.clear()

    def alerts_for(self, photo_id: str):
        return [a for a in self.store.alerts.values() if a.sighting_id == photo_id]


@pytest.fixture
def world() -> World:
    return World()


def test_start_queues_open_cases_references_first_then_sightings_within_retention(world):
    # GIVEN a closed case's reference, a sighting older than retention, a rejected upload and one still on its way
    closed = fakes.stored_case(world.store)
    closed_ref = world.photo(PhotoKind.REFERENCE, closed.id)
    world.result(closed_ref, OLD, PERSON)
    world.store.set_case_status(closed.id, CaseStatus.CLOSED)
    old = world.photo(PhotoKind.SIGHTING)
    world.result(old, OLD, STRANGER)
    world.store.photo_created[old.id] = NOW - timedelta(days=91)
    world.photo(PhotoKind.SIGHTING, status=PhotoStatus.REJECTED)
    world.photo(PhotoKind.SIGHTING)
    # WHEN the operator starts the campaign to the new model
    report = start_campaign(world.reembed, NEW.name)
    # THEN the open case's reference, then the recent sighting, are queued with the pinned key and SHA-256
    jobs = world.queued_jobs()
    assert [(j.photo_id, j.kind) for j in jobs] == [(world.reference.id, PhotoKind.REFERENCE),
                                                   (world.past.id, PhotoKind.SIGHTING)]
    assert {(j.purpose, j.campaign_id, j.model, j.bucket) for j in jobs} == {(REEMBED, report.campaign.id, NEW.name,
                                                                              "uploads")}
    assert (jobs[0].key, jobs[0].sha256, jobs[0].case_id) == (world.reference.s3_key, "5e" * 32, world.case.id)
    assert (report.created, report.references, report.sightings) == (True, 1, 1)
    # AND starting again queues nothing more, and a campaign to a third model is refused while this one runs
    again = start_campaign(world.reembed, NEW.name)
    assert (again.created, again.references, again.sightings, len(world.jobs.sent)) == (False, 0, 0, 2)
    with pytest.raises(CampaignConflict, match="new-model"):
        start_campaign(world.reembed, "third-model")


def test_reembedded_reference_joins_the_new_gallery_and_the_photo_keeps_its_status(world):
    # GIVEN the campaign queued the reference and the past sighting
    start_campaign(world.reembed, NEW.name)
    # WHEN the worker embeds them with the new model and match stores the results
    world.run_jobs()
    # THEN the case is in the new model's gallery (and still in the old one until finish)
    assert world.store.gallery(NEW.name, NEW.dim).case_ids == (world.case.id,)
    assert world.store.gallery(OLD.name, OLD.dim).case_ids == (world.case.id,)
    # AND both photos are still processed, the items done, and the campaign ready to finish
    assert {world.store.get_photo(p.id).status for p in (world.reference, world.past)} == {PhotoStatus.PROCESSED}
    progress = campaign_progress(world.store, 90)
    assert (progress.references.covered, progress.sightings.covered, progress.complete) == (1, 1, True)
    assert progress.blockers() == [] and progress.failures == []
    # AND the past sighting that had alerted under the old model did not alert (or e-mail) again
    assert len(world.alerts_for(world.past.id)) == 1 and len(world.publisher.published) == 1


def test_a_sighting_is_found_by_the_old_gallery_before_its_case_is_reembedded(world):
    # GIVEN the worker switched to the new model but the case is not re-embedded yet
    start_campaign(world.reembed, NEW.name)
    # WHEN a new sighting of the person arrives, embedded by both packs (one result per model)
    sighting = world.photo(PhotoKind.SIGHTING)
    old = world.result(sighting, OLD, PERSON, cosine=0.9)
    new = world.result(sighting, NEW, PERSON, cosine=0.9)
    # THEN the old model's result found the case: one alert; the new gallery was empty
    assert (len(old.alerts), new.matches) == (1, 0)
    assert [a.case_id for a in world.alerts_for(sighting.id)] == [world.case.id]


def test_a_sighting_found_by_both_models_alerts_and_publishes_once(world):
    # GIVEN the case is in both galleries (re-embedded, not finished)
    start_campaign(world.reembed, NEW.name)
    world.run_jobs()
    published = len(world.publisher.published)
    # WHEN a new sighting arrives with one result per model, both in one batch, both above their alert thresholds
    sighting = world.photo(PhotoKind.SIGHTING, place="Quai 4")
    results = [FacesResult(job=fakes.job_for(sighting), status="ok", model=m, image_width=640, image_height=480,
                           faces=[face(0, with_cosine(PERSON[m.name], 0.9))]) for m in (NEW, OLD)]
    found = find_candidates(results, world.deps, Thresholds.of)
    outcomes = [process_faces(r, world.deps, Thresholds.of(r.model), found) for r in results]
    # THEN both models matched the case, but there is one alert, published once (by the first result)
    assert [o.matches for o in outcomes] == [1, 1]
    [alert] = world.alerts_for(sighting.id)
    assert [len(o.alerts) for o in outcomes] == [1, 0] and alert.model_name == NEW.name
    assert len(world.publisher.published) == published + 1
    assert AlertMessage.model_validate_json(world.publisher.published[-1][0]).sighting_id == sighting.id
    # AND each model's faces are kept apart: every match pairs faces of one model
    assert {m.name for p, m, _ in world.store.faces.values() if p == sighting.id} == {OLD.name, NEW.name}
    assert {(world.store.faces[probe][1].name, world.store.faces[ref][1].name)
            for probe, ref in world.store.matches} == {(OLD.name, OLD.name), (NEW.name, NEW.name)}


def test_reembedded_past_sighting_is_found_by_a_reembedded_reference_the_old_model_missed(world):
    # GIVEN a past sighting the old model scored below its alert threshold (0.7 < 0.8), so no alert
    missed = world.photo(PhotoKind.SIGHTING)
    assert world.result(missed, OLD, PERSON, cosine=0.7).alerts == []
    start_campaign(world.reembed, NEW.name)
    # WHEN the sighting is re-embedded before the reference (the new model scores it 0.9), then the reference
    jobs = sorted(world.queued_jobs(), key=lambda j: j.kind is PhotoKind.REFERENCE)
    for job in jobs:
        photo = world.store.get_photo(job.photo_id)
        world.result(photo, NEW, PERSON, 1.0 if job.kind is PhotoKind.REFERENCE else 0.9, job=job)
    # THEN the reference's retro-search in the new model alerted on it, once
    [alert] = world.alerts_for(missed.id)
    assert (alert.case_id, alert.model_name) == (world.case.id, NEW.name)
    assert len(world.alerts_for(world.past.id)) == 1  # alerted by the old model; not again


def test_reembedding_that_fails_fails_its_item_not_the_photo_and_finish_says_so(world):
    # GIVEN the campaign queued the reference, whose pinned object is gone when the worker reads it
    start_campaign(world.reembed, NEW.name)
    [ref_job, past_job] = world.queued_jobs()
    failed = FacesResult(job=ref_job, status="failed", stage="fetch",
                         error="the photo was removed from storage before it could be processed")
    outcome = process_faces(failed, world.deps)
    world.result(world.past, NEW, PERSON, cosine=0.9, job=past_job)
    # THEN the reference photo is still processed (the old model's faces stand) and its item failed at fetch
    assert (outcome.reembed, outcome.failed_stage) == ("failed", None)
    assert world.store.get_photo(world.reference.id).status is PhotoStatus.PROCESSED
    progress = campaign_progress(world.store, 90)
    [failure] = progress.failures
    assert (failure.photo_id, failure.stage, failure.reason) == (world.reference.id, "fetch", failed.error)
    assert progress.references.failed == 1 and progress.cases_without_reference == [world.case.id]
    # AND finish refuses, naming the failure and the case that would be lost, and erases nothing
    with pytest.raises(CampaignIncomplete) as refused:
        finish_campaign(world.reembed)
    assert any("1 reference photo(s) failed" in b for b in refused.value.blockers)
    assert any(world.case.id in b for b in refused.value.blockers)
    assert len(world.store.gallery(OLD.name, OLD.dim)) == 1
    # AND `start` again retries it (a second attempt)
    assert start_campaign(world.reembed, NEW.name).references == 1
    assert world.store.reembed_items[(progress.campaign.id, world.reference.id)]["attempts"] == 2


def test_finish_refuses_while_photos_are_queued_or_never_queued(world):
    # GIVEN a campaign whose jobs are still queued
    start_campaign(world.reembed, NEW.name)
    with pytest.raises(CampaignIncomplete) as refused:
        finish_campaign(world.reembed)
    assert refused.value.blockers[:2] == [
        "1 reference photo(s) still being re-embedded (wait, then check `facetrace reembed status`)",
        "1 sighting(s) still being re-embedded (wait, then check `facetrace reembed status`)"]
    world.run_jobs()
    # WHEN a reference is enrolled by a worker that still ran only the old pack (a rolling deploy)
    late = world.photo(PhotoKind.REFERENCE, world.case.id)
    world.result(late, OLD, PERSON)
    # THEN finish refuses until `start` queued it and it was re-embedded
    with pytest.raises(CampaignIncomplete, match="1 reference photo.s. never queued for new-model"):
        finish_campaign(world.reembed)
    assert start_campaign(world.reembed, NEW.name).references == 1
    world.run_jobs()
    assert finish_campaign(world.reembed).erased_faces == 3  # the two references and the past sighting


def test_finish_erases_every_old_embedding_and_snapshot_and_the_new_gallery_alone_alerts(world):
    # GIVEN the campaign is complete and a snapshot of the old gallery was written
    start_campaign(world.reembed, NEW.name)
    world.run_jobs()
    world.objects.add(snapshot_key(OLD.name), b"old gallery")
    world.deps.galleries.current(OLD.name, OLD.dim)  # a warm container holds the old gallery
    # WHEN the operator finishes
    report = finish_campaign(world.reembed)
    # THEN every old embedding is erased (the rows stay), the old snapshot is gone, the campaign is over
    assert report.erased_faces == 2 and report.snapshots_deleted == [OLD.name]
    assert not world.objects.exists(snapshot_key(OLD.name))
    assert all(not s.face.embedding_b64 for _, m, s in world.store.faces.values() if m.name == OLD.name)
    assert report.campaign.completed_at is not None and world.store.running_campaign() is None
    # AND the warm container's old gallery is empty at its next search
    assert len(world.deps.galleries.current(OLD.name, OLD.dim)) == 0
    # AND a new sighting embedded by the new model alone alerts
    sighting = world.photo(PhotoKind.SIGHTING)
    assert len(world.result(sighting, NEW, PERSON, cosine=0.9).alerts) == 1
    # AND finishing again erases what the old model embedded since, and nothing else
    straggler = world.photo(PhotoKind.SIGHTING)
    world.result(straggler, OLD, STRANGER)
    assert finish_campaign(world.reembed).erased_faces == 1


def test_finish_with_accepted_losses_lists_them_and_erases(world):
    # GIVEN the reference failed for good (its object is gone) and nothing else is missing
    start_campaign(world.reembed, NEW.name)
    [ref_job, past_job] = world.queued_jobs()
    process_faces(FacesResult(job=ref_job, status="failed", stage="fetch", error="gone"), world.deps)
    world.result(world.past, NEW, PERSON, cosine=0.9, job=past_job)
    assert campaign_progress(world.store, 90).cases_without_reference == [world.case.id]
    # WHEN the operator accepts the loss (the agency is asked for another photo)
    report = finish_campaign(world.reembed, accept_losses=True)
    # THEN the old embeddings go and the campaign is over
    assert report.erased_faces == 2 and report.campaign.completed_at is not None


@pytest.mark.parametrize("why", ["wrong model", "erased", "case closed"])
def test_a_result_that_must_not_be_stored_fails_the_item(world, why):
    # GIVEN a queued re-embedding of the past sighting or the reference
    start_campaign(world.reembed, NEW.name)
    [ref_job, past_job] = world.queued_jobs()
    job, photo, model = past_job, world.past, NEW
    if why == "wrong model":
        model = OLD  # a worker still on the old pack answered
    elif why == "erased":
        world.store.erase_photo(world.past.id, NOW)
    else:
        job, photo = ref_job, world.reference
        world.store.set_case_status(world.case.id, CaseStatus.CLOSED)
    # WHEN its result arrives
    outcome = world.result(world.store.get_photo(photo.id), model, PERSON, job=job)
    # THEN nothing of the new model is stored for it and its item failed at match
    assert outcome.reembed == "failed"
    assert not [1 for p, m, _ in world.store.faces.values() if p == photo.id and m.name == NEW.name]
    item = world.store.reembed_items[(job.campaign_id, photo.id)]
    assert (item["status"], item["stage"]) == (ItemStatus.FAILED, "match")


@pytest.mark.parametrize("queue", ["facetrace-local-jobs-dlq", "facetrace-local-faces-dlq"])
def test_a_dead_reembedding_message_fails_its_item_and_leaves_the_photo(world, queue):
    # GIVEN a re-embedding job (or its result) that a queue gave up on
    start_campaign(world.reembed, NEW.name)
    [ref_job, _] = world.queued_jobs()
    body = ref_job.model_dump_json() if "jobs" in queue else FacesResult(
        job=ref_job, status="ok", model=NEW, faces=[face(0, PERSON[NEW.name] * np.nan)]).model_dump_json()
    # WHEN the dead-letter function reads it
    outcome = record_dead_letter(body, queue, world.store)
    # THEN the campaign's item failed at that stage, and the photo, processed long ago, is untouched
    assert outcome.reembed == [world.reference.id] and outcome.failed == []
    item = world.store.reembed_items[(ref_job.campaign_id, world.reference.id)]
    assert item["status"] is ItemStatus.FAILED and "3 failed attempts" in item["reason"]
    assert world.store.get_photo(world.reference.id).status is PhotoStatus.PROCESSED


def test_the_sweep_fails_items_no_queue_holds_any_more(world):
    # GIVEN an item queued long ago whose job vanished
    start_campaign(world.reembed, NEW.name, now=NOW - timedelta(hours=200))
    # WHEN the hourly sweep runs
    failed = sweep_stuck_items(world.store, NOW - timedelta(hours=100))
    # THEN both items are failed at "pipeline"; the finish check reports the reference
    assert sorted(failed) == sorted([world.reference.id, world.past.id])
    assert campaign_progress(world.store, 90).failures[0].stage == "pipeline"


def test_a_campaign_to_the_wrong_model_is_cancelled_and_erases_nothing(world):
    # GIVEN a campaign started with a misspelt model name: no worker runs it, so all its items fail
    start_campaign(world.reembed, "new_model")
    for job in world.queued_jobs():
        process_faces(FacesResult(job=job, status="failed", stage="faces", error="no such model"), world.deps)
    # WHEN the operator cancels it
    cancelled = cancel_campaign(world.store)
    # THEN nothing was erased, finish has nothing to finish, and the right campaign can start
    assert cancelled.cancelled_at is not None and cancelled.erased_faces is None
    with pytest.raises(NoCampaign, match="cancelled"):
        finish_campaign(world.reembed)
    assert len(world.store.gallery(OLD.name, OLD.dim)) == 1
    assert start_campaign(world.reembed, NEW.name).references == 1
    # AND with no campaign running, cancel says so
    cancel_campaign(world.store)
    with pytest.raises(NoCampaign, match="no re-embedding campaign is running"):
        cancel_campaign(world.store)
