"""What every end-to-end test shares: the labelled people of the shared fixtures."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def people(test_data) -> dict[str, list[Path]]:
    """Each labelled person of ../shared/data/fixtures/people and their photos, in the labels' order."""
    folder = test_data / "fixtures" / "people"
    photos: dict[str, list[Path]] = {}
    with open(folder / "labels.csv") as handle:
        for row in csv.DictReader(handle):
            photos.setdefault(row["person"], []).append(folder / row["file"])
    return photos
