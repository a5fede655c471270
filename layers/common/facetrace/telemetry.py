"""Operational metrics that several functions emit the same way (CloudWatch embedded metric format)."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

NAMESPACE = "FaceTrace"


def count_failed_photos(stages: Iterable[str]) -> None:
    """Emit PhotosFailed once per stage, with a Stage dimension; the FailedPhotos alarm sums every stage."""
    if is_metrics_disabled():
        return
    for stage, count in Counter(stages).items():
        # One line per stage: a metric set carries one set of dimensions.
        with single_metric(name="PhotosFailed", unit=MetricUnit.Count, value=count, namespace=NAMESPACE,
                           default_dimensions={"Stage": stage}):
            pass


def count_erased(references: int, sightings: int) -> None:
    """Emit PhotosErased by Kind (reference, sighting): what a purge deleted."""
    if is_metrics_disabled():
        return
    for kind, count in (("reference", references), ("sighting", sightings)):
        with single_metric(name="PhotosErased", unit=MetricUnit.Count, value=count, namespace=NAMESPACE,
                           default_dimensions={"Kind": kind}):
            pass
