"""Builds the adapters each entry point needs from Settings; the only place that knows them all."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from facetrace.adapters import aws
from facetrace.adapters.idempotency import IdempotentOnce
from facetrace.adapters.mysql import MySQLStore
from facetrace.adapters.onboarding import AdminFunctionRegistry, CognitoDirectory
from facetrace.config import Settings
from facetrace.gallery.cache import GalleryCache
from facetrace.image_check import Limits
from facetrace.ingest import IngestDeps
from facetrace.footage.clip import FootageLimits
from facetrace.footage.ingest import FootageIngestDeps
from facetrace.footage.results import FootageDeps
from facetrace.footage.tickets import FootageUploads
from facetrace.match import MatchDeps, Thresholds
from facetrace.messages import ModelInfo
from facetrace.notify import NotifyDeps
from facetrace.reembed import ReembedDeps
from facetrace.review import ReviewDeps
from facetrace.sighting_archive import SegmentSearch
from facetrace.upload import Uploads


class Wiring:
    """Lazily created clients and stores for one process (one Lambda container)."""

    def __init__(self, settings: Settings, segment_search: SegmentSearch | None = None) -> None:
        self.settings = settings
        self._clients: dict[str, object] = {}
        self._segment_search = segment_search  # a fan-out to use instead of the state machine (the local stack's)

    def _client(self, service: str):
        # boto3 clients are costly to build; one per service per container.
        if service not in self._clients:
            self._clients[service] = aws.client(service, self.settings.aws_region, self.settings.aws_endpoint_url)
        return self._clients[service]

    @cached_property
    def store(self) -> MySQLStore:
        s = self.settings
        url = s.db_url or aws.db_url_from_secret(self._client("secretsmanager"), s.db_secret_arn, s.db_host, s.db_name)
        return MySQLStore.from_url(url)

    @cached_property
    def objects(self) -> aws.S3Objects:
        return aws.S3Objects(self._client("s3"), self.settings.upload_bucket)

    @cached_property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(s.min_upload_bytes, s.max_upload_bytes, s.min_image_side, s.max_image_side, s.max_image_pixels)

    @cached_property
    def uploads(self) -> Uploads:
        """The upload tickets the API issues (bucket inbox, limits, lifetime)."""
        return Uploads(self.objects, self.limits, self.settings.upload_url_ttl_s)

    def ingest(self) -> IngestDeps:
        """Dependencies of the ingest function."""
        jobs = aws.SQSQueue(self._client("sqs"), self.settings.jobs_queue_url)
        return IngestDeps(self.objects, self.store, jobs, self.settings.upload_bucket, self.limits)

    def match(self) -> MatchDeps:
        """Dependencies of the match function."""
        alerts = aws.SNSPublisher(self._client("sns"), self.settings.alerts_topic_arn)
        return MatchDeps(self.store, alerts, self.objects, self.galleries, self.settings.retention_days,
                         self.segment_search)

    @cached_property
    def segment_search(self) -> SegmentSearch | None:
        """The sighting archive's fan-out (retro-search), if this deployment has one."""
        arn = self.settings.archive_state_machine_arn
        if self._segment_search is None and arn:
            return aws.StepFunctionsSegmentSearch(self._client("stepfunctions"), arn)
        return self._segment_search

    def reembed(self) -> ReembedDeps:
        """Dependencies of a re-embedding campaign (the operator's `facetrace reembed`)."""
        jobs = aws.SQSQueue(self._client("sqs"), self.settings.jobs_queue_url)
        return ReembedDeps(self.store, jobs, self.objects, self.settings.upload_bucket, self.settings.retention_days)

    def review(self) -> ReviewDeps:
        """Dependencies of alert review (the API function)."""
        return ReviewDeps(self.store, self.objects, self.settings.photo_url_ttl_s)

    @cached_property
    def galleries(self) -> GalleryCache:
        """In-memory galleries for the life of this container, snapshotted to the bucket."""
        return GalleryCache(self.store, self.objects)

    @cached_property
    def once(self) -> IdempotentOnce:
        """The notify function's at-most-once guard (powertools idempotency on DynamoDB)."""
        return IdempotentOnce.on_dynamodb(self.settings.idempotency_table, self._client("dynamodb"))

    def notify(self, context: Any = None) -> NotifyDeps:
        """Dependencies of the notify function; the Lambda context bounds in-progress idempotency records."""
        s = self.settings
        if context is not None:
            self.once.register_lambda_context(context)
        return NotifyDeps(
            mailer=aws.SESMailer(self._client("ses")), sms=aws.SNSPublisher(self._client("sns"), s.sms_topic_arn),
            deliveries=aws.SQSQueue(self._client("sqs"), s.deliveries_queue_url),
            once=self.once, sender=s.sender_email, portal_url=s.portal_url,
        )

    # ------------------------------------------------------------------ footage (issue #14)
    @cached_property
    def footage_limits(self) -> FootageLimits:
        """What ingest accepts of a clip."""
        s = self.settings
        return FootageLimits(max_bytes=s.footage_max_bytes, max_duration_s=s.footage_max_duration_s,
                             max_pixels=s.footage_max_pixels, max_fps=s.footage_max_fps)

    def footage_ingest(self) -> FootageIngestDeps:
        """Dependencies of the ingest function for clips (the video library is loaded only here)."""
        from facetrace.adapters.video import PyAVProbe

        s = self.settings
        jobs = aws.SQSQueue(self._client("sqs"), s.jobs_queue_url)
        return FootageIngestDeps(self.objects, self.store, jobs, s.upload_bucket, self.footage_limits, PyAVProbe(),
                                 s.footage_part_s)

    @cached_property
    def footage_uploads(self) -> FootageUploads:
        """The clip tickets the API issues (presigned POST or multipart)."""
        s = self.settings
        return FootageUploads(self.objects, s.footage_max_bytes, s.footage_post_max_bytes, s.footage_upload_part_bytes,
                              max(s.upload_url_ttl_s, 3600))

    @cached_property
    def footage_queue(self) -> aws.SQSQueue:
        """Worker and dead letters -> the footage function."""
        return aws.SQSQueue(self._client("sqs"), self.settings.footage_queue_url)

    def footage(self) -> FootageDeps:
        """Dependencies of the footage function: the store, the bucket and matching's dependencies."""
        s = self.settings

        def thresholds(model: ModelInfo) -> Thresholds:
            return Thresholds.of(model, s.default_match_threshold, s.default_alert_threshold)

        return FootageDeps(self.store, self.objects, self.match(), thresholds, s.upload_bucket, s.footage_join_gap_s)

    def onboarding(self) -> tuple[AdminFunctionRegistry, CognitoDirectory]:
        """The onboard function's registry (the admin function) and directory (the agency user pool)."""
        s = self.settings
        return (AdminFunctionRegistry(self._client("lambda"), s.admin_function_name),
                CognitoDirectory(self._client("cognito-idp"), s.user_pool_id))
