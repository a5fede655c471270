"""Entry point of the GPU worker container: `python -m gpu_worker` (or `facetrace-worker`)."""

from __future__ import annotations

import signal
import threading

from aws_lambda_powertools import Logger

from facetrace.adapters import aws
from facetrace.config import Settings
from gpu_worker.footage import FootageConfig, FootageRunner
from gpu_worker.packs import load_pack
from gpu_worker.worker import Worker, WorkerConfig

logger = Logger()  # POWERTOOLS_SERVICE_NAME (gpu-worker in the image), shared with the child loggers


def build_worker(settings: Settings) -> Worker:
    """Load the pack (and the previous one during a model change) and connect the worker to its queues and bucket."""
    s3 = aws.client("s3", settings.aws_region, settings.aws_endpoint_url)
    sqs = aws.client("sqs", settings.aws_region, settings.aws_endpoint_url)

    def download(bucket: str, key: str, dest: str) -> None:
        s3.download_file(bucket, key, dest)

    engine = load_pack(settings.pack_dir or settings.pack, downloader=download, model_dir=settings.model_dir,
                       fallback=settings.pack_fallback or None)
    # No fallback for the previous pack: the gallery was built with exactly that model, and another one
    # would search nothing, so a worker that cannot load it must not start.
    previous = None
    if settings.previous_pack:
        previous = load_pack(settings.previous_pack, downloader=download, model_dir=settings.model_dir)
    config = WorkerConfig.from_settings(settings)
    objects = aws.S3Objects(s3, settings.upload_bucket)
    footage = None
    if settings.footage_queue_url:  # parts of video clips, with the current pack (issue #14)
        footage = FootageRunner(engine, objects, aws.SQSQueue(sqs, settings.footage_queue_url),
                                FootageConfig.from_settings(settings))
    return Worker(
        engine, aws.SQSJobSource(sqs, settings.jobs_queue_url), aws.SQSQueue(sqs, settings.faces_queue_url),
        objects, config, previous=previous, footage=footage,
    )


def main() -> None:
    """Run the worker until SIGTERM or SIGINT; the batch in hand is finished first."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    build_worker(Settings()).run(stop)


if __name__ == "__main__":
    main()
