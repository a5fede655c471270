"""One settings model for every FaceTrace process, read from the environment at the edge."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; every field comes from a FACETRACE_* environment variable."""

    model_config = SettingsConfigDict(env_prefix="FACETRACE_", extra="ignore")

    # Storage and messaging (names come from the SAM template's Outputs / Environment).
    upload_bucket: str = "facetrace-uploads"
    jobs_queue_url: str = ""
    faces_queue_url: str = ""
    alerts_topic_arn: str = ""
    sms_topic_arn: str = ""
    deliveries_queue_url: str = ""
    archive_state_machine_arn: str = Field(default="", description="the retro-search fan-out over the sighting "
                                           "archive; empty: retro-search reads every recent face from the database")
    idempotency_table: str = ""
    sender_email: str = "alerts@facetrace.example"
    aws_endpoint_url: str | None = Field(default=None, description="moto server locally; unset in AWS")
    aws_region: str = "us-east-1"

    # MySQL: a URL locally, a Secrets Manager secret in AWS.
    db_url: str | None = None
    db_secret_arn: str | None = None
    db_host: str | None = None
    db_name: str = "facetrace"

    # Uploads: what the presigned POST allows and ingest enforces.
    max_upload_bytes: int = 15 * 1024 * 1024
    min_upload_bytes: int = 100
    max_image_pixels: int = 50_000_000
    max_image_side: int = 12_000
    min_image_side: int = 32
    upload_url_ttl_s: int = 300
    photo_url_ttl_s: int = Field(default=900, description="presigned photo links shown to a reviewer live this long")

    # Browsers: the portal's origin (CORS on the API's answers) and address (the alert e-mail links to it).
    web_origin: str = Field(default="*", description="the WebOrigin parameter: origin allowed to call the API")
    portal_url: str | None = Field(default=None, description="the portal's base URL (PortalUrl); alert e-mails "
                                   "link to <portal_url>/alert.html?id=<alert>")

    # Onboarding (the admin and onboard functions).
    user_pool_id: str | None = Field(default=None, description="the agency user pool (AgencyUserPool)")
    admin_function_name: str | None = Field(default=None, description="the admin function the onboard function "
                                            "asks to register agencies (it alone reaches the database)")

    # Faces and matching.
    max_faces_per_image: int = 20
    max_message_bytes: int = 200_000
    default_match_threshold: float | None = None
    default_alert_threshold: float | None = None
    match_top_k: int = 10

    # Retention and erasure (issue #6).
    retention_days: int = Field(default=90, ge=1, description="sightings are searched and kept this long")
    reference_grace_days: int = Field(default=30, ge=0, description="a closed case's reference photos go after this")

    # Worker.
    worker_batch_size: int = 10
    worker_wait_s: int = 20
    worker_visibility_s: int = 300
    stuck_after_hours: int = Field(default=100, ge=1, description="a photo still received this long after "
                                   "arriving is failed by the sweep (the queues keep messages 96 h)")
    max_receives: int = Field(default=3, ge=1, description="deliveries before a queue dead-letters a message "
                              "(the template's maxReceiveCount); the last one fails a photo for good")
    pack: str = Field(default="buffalo_s", description="'dlib', a named pack (gpu_worker/packs/manifests), a pack "
                      "directory or s3://bucket/prefix; buffalo_s is the best pack measured (README, Face model packs)")
    previous_pack: str | None = Field(default=None, description="during a model change (facetrace/reembed.py): the "
                                      "pack the gallery was built with; sightings are embedded with both until "
                                      "`facetrace reembed finish`, then this is unset")
    pack_dir: str | None = None
    model_dir: str | None = Field(default=None, description="a folder holding pack files (matched by pinned SHA-256)")
    pack_fallback: str | None = Field(default="dlib", description="pack used when the named pack cannot be had "
                                      "(logged with the reasons); empty: fail instead")
    model_bucket: str | None = None

    # Footage (issue #14): video clips from agencies and their cameras.
    footage_queue_url: str = Field(default="", description="worker and dead letters -> footage function")
    footage_max_bytes: int = Field(default=4 * 1024**3, description="largest clip accepted (ingest copies it to /tmp)")
    footage_post_max_bytes: int = Field(default=100 * 1024**2, description="clips larger than this are uploaded "
                                        "in parts (presigned multipart upload)")
    footage_upload_part_bytes: int = Field(default=64 * 1024**2, ge=5 * 1024**2, description="size of each part of "
                                           "a multipart upload (S3: at least 5 MiB, at most 10,000 parts)")
    footage_max_duration_s: float = Field(default=4 * 3600, description="longest clip accepted")
    footage_max_pixels: int = Field(default=3840 * 2160, description="largest frame accepted (a bomb-sized stream "
                                    "is refused from its header)")
    footage_max_fps: float = 120.0
    footage_part_s: float = Field(default=300, gt=0, description="clips are split into parts this long, each a job "
                                  "a different worker may take")
    footage_sample_fps: float = Field(default=2.0, gt=0, description="frames searched per second of video (scene "
                                      "changes are always searched too)")
    footage_scene_change: float = Field(default=0.25, gt=0, description="mean absolute difference of two frames' "
                                        "thumbnails (0-1) above which a frame is a new scene and always searched")
    footage_batch_frames: int = Field(default=16, ge=1, description="sampled frames per face-engine call")
    footage_max_side: int = Field(default=1920, description="frames larger than this are scaled down first")
    footage_join_gap_s: float = Field(default=5.0, ge=0, description="tracks of one person less than this apart "
                                      "(a turned head, someone passing in front) are one appearance")
    footage_progress_s: float = Field(default=10.0, description="the worker reports a part's progress this often")
