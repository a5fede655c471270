"""Identification protocols: which photo of whom is enrolled, which are searched (CSV path,person,role).

The paper's design on an LFW-layout folder (<root>/<Person>/<image>): N people with enough photos
enrol one and search with the next ones (mated searches); strangers, never enrolled, search with all
their photos (non-mated searches); distractor people enrol one photo each to fill the gallery.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
ENROLL, PROBE = "enroll", "probe"


@dataclass(frozen=True)
class Row:
    """One protocol line: an image (relative to the dataset root), its person and its role."""

    path: str
    person: str
    role: str


@dataclass(frozen=True)
class Spec:
    """How to draw a protocol."""

    people: int = 300  # mated people
    min_images: int = 4  # a mated person needs this many photos...
    probes: int = 3  # ...and searches with up to this many (at least one)
    strangers: int = 300  # wanted; fewer if the folder has too few people left
    stranger_images: int = 4  # photos searched per stranger, at most
    gallery: int = 5000  # records: mated people + distractors
    seed: int = 0


def scan(root: str | Path) -> dict[str, list[str]]:
    """Person -> sorted image paths (relative to root) of an LFW-layout folder."""
    root = Path(root)
    people = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        images = sorted(f"{folder.name}/{f.name}" for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if images:
            people[folder.name] = images
    return people


def draw(people: dict[str, list[str]], spec: Spec, exclude: set[str] = frozenset()) -> list[Row]:
    """Draw mated people, strangers and distractors (seeded); `exclude` people never search here."""
    rng = np.random.default_rng(spec.seed)
    names = sorted(people)
    eligible = [n for n in names if n not in exclude and len(people[n]) >= spec.min_images]
    if len(eligible) < spec.people:
        raise ValueError(f"only {len(eligible)} people have >= {spec.min_images} photos, {spec.people} wanted")
    mated = set(_pick(rng, eligible, spec.people))
    distractors_needed = spec.gallery - spec.people
    rest = [n for n in names if n not in mated]
    room = len(rest) - distractors_needed  # people that can be strangers without starving the gallery
    if room < 0:
        raise ValueError(f"{len(names)} people cannot fill a gallery of {spec.gallery}")
    candidates = [n for n in rest if n not in exclude]
    strangers = set(_pick(rng, candidates, min(spec.strangers, room, len(candidates))))
    distractors = _pick(rng, [n for n in rest if n not in strangers], distractors_needed)
    return _rows(people, rng, spec, mated, strangers, distractors)


def _rows(people, rng, spec: Spec, mated: set, strangers: set, distractors: list) -> list[Row]:
    """Protocol rows, mated people first; a mated person's enrolled photo is drawn at random."""
    rows = []
    for name in sorted(mated):
        photos = list(rng.permutation(people[name])[: spec.probes + 1])
        rows.append(Row(photos[0], name, ENROLL))
        rows.extend(Row(p, name, PROBE) for p in photos[1:])
    for name in sorted(strangers):
        rows.extend(Row(p, name, PROBE) for p in people[name][: spec.stranger_images])
    # distractors enrol their first photo: protocols of other seeds then share gallery images (and the cache)
    rows.extend(Row(people[name][0], name, ENROLL) for name in sorted(distractors))
    return rows


def _pick(rng: np.random.Generator, names: list[str], count: int) -> list[str]:
    """count names drawn without replacement (sorted input keeps the draw reproducible)."""
    return [names[i] for i in sorted(rng.choice(len(names), size=count, replace=False))] if count else []


def probe_people(rows: list[Row]) -> set[str]:
    """People who search in a protocol (mated or strangers): another protocol must not search with them."""
    return {r.person for r in rows if r.role == PROBE}


def write(rows: list[Row], path: str | Path) -> None:
    """Write rows as CSV with a header line."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "person", "role"])
        writer.writerows((r.path, r.person, r.role) for r in rows)


def read(path: str | Path) -> list[Row]:
    """Read a protocol CSV (path,person,role; role enroll|probe)."""
    with open(path, newline="") as f:
        rows = [Row(d["path"], d["person"], d["role"].strip().lower()) for d in csv.DictReader(f)]
    bad = {r.role for r in rows} - {ENROLL, PROBE}
    if bad:
        raise ValueError(f"{path}: unknown role(s) {sorted(bad)} (expected enroll or probe)")
    return rows
