"""Entry point of the GPU worker container: `python -m gpu_worker` (or `facetrace-worker`)."""

from __future__ import annotations

import signal
import threading

from aws_lambda_powertools import Logger

from facetrace.adapters import aws
from facetrace.config import Settings
from gpu_worker.packs import load_pack
from gpu_worker.worker import Worker, WorkerConfig

logger = Logger()  # POWERTOOLS_SERVICE_NAME (gpu-worker in the image), shared with the child loggers


def build_worker(settings: Settings) -> Worker:
    """Load the pack and connect the worker to its queues and bucket (no database)."""
    s3 = aws.client("s3", settings.aws_region, settings.aws_endpoint_url)
    sqs = aws.client("sqs", settings.aws_region, settings.aws_endpoint_url)
    engine = load_pack(settings.pack_dir or settings.pack, downloader=lambda b, k, dest: s3.download_file(b, k, dest),
                       model_dir=settings.model_dir, fallback=settings.pack_fallback or None)
    config = WorkerConfig.from_settings(settings)
    return Worker(
        engine, aws.SQSJobSource(sqs, settings.jobs_queue_url), aws.SQSQueue(sqs, settings.faces_queue_url),
        aws.S3Objects(s3, settings.upload_bucket), config,
    )


def main() -> None:
    """Run the worker until SIGTERM or SIGINT; the batch in hand is finished first."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    build_worker(Settings()).run(stop)


if __name__ == "__main__":
    main()
