"""Protocol generation on a tiny fake LFW-layout tree."""

from __future__ import annotations

from collections import Counter

import pytest

from evaluation import protocol
from evaluation.protocol import Spec

SPEC = Spec(people=4, min_images=4, probes=3, strangers=5, gallery=20, seed=7)


@pytest.fixture
def lfw(tmp_path):
    """8 people with 5 photos, 6 with 2, 20 with 1 (empty files: the protocol never opens images)."""
    counts = {f"Many_{i}": 5 for i in range(8)} | {f"Two_{i}": 2 for i in range(6)} | {f"One_{i}": 1 for i in range(20)}
    for name, n in counts.items():
        (tmp_path / name).mkdir()
        for k in range(1, n + 1):
            (tmp_path / name / f"{name}_{k:04d}.jpg").touch()
    (tmp_path / "pairs.txt").touch()  # stray files at the root are not people
    return tmp_path


def _roles(rows):
    enrolled = {r.person for r in rows if r.role == "enroll"}
    return enrolled, protocol.probe_people(rows) & enrolled, protocol.probe_people(rows) - enrolled


def test_counts_and_roles(lfw):
    # GIVEN the fake tree WHEN a protocol is drawn
    rows = protocol.draw(protocol.scan(lfw), SPEC)
    enrolled, mated, strangers = _roles(rows)
    # THEN the gallery has 20 records, one per person, 4 mated people searching with 3 photos each
    assert sum(r.role == "enroll" for r in rows) == 20 == len(enrolled)
    assert len(mated) == 4
    assert all(n == 3 for p, n in Counter(r.person for r in rows if r.role == "probe").items() if p in mated)
    # AND mated people have >= 4 photos, the enrolled photo is never also a probe
    assert all(p.startswith("Many_") for p in mated)
    assert len({r.path for r in rows}) == len(rows)
    # AND 5 strangers, none of them enrolled (not even as distractor)
    assert len(strangers) == 5 and not strangers & enrolled


def test_strangers_shrink_to_keep_the_gallery_full(lfw):
    # GIVEN 34 people, a gallery of 30 and 10 strangers wanted
    spec = Spec(people=4, strangers=10, gallery=30, seed=1)
    # WHEN drawn
    _, _, strangers = _roles(protocol.draw(protocol.scan(lfw), spec))
    # THEN only the 4 people the gallery can spare are strangers
    assert len(strangers) == 4


def test_same_seed_same_protocol_other_seed_other_people(lfw):
    # GIVEN the same tree WHEN drawn twice with seed 7 and once with seed 8
    people = protocol.scan(lfw)
    a, b = protocol.draw(people, SPEC), protocol.draw(people, SPEC)
    c = protocol.draw(people, Spec(**{**SPEC.__dict__, "seed": 8}))
    # THEN the same seed reproduces the protocol and another seed changes it
    assert a == b
    assert a != c


def test_exclusion_keeps_calibration_searches_off_the_test_people(lfw):
    # GIVEN a test protocol
    people = protocol.scan(lfw)
    test = protocol.draw(people, SPEC)
    # WHEN a calibration protocol is drawn excluding the test's searching people
    calibration = protocol.draw(people, Spec(people=3, min_images=2, strangers=3, gallery=20, seed=9),
                                protocol.probe_people(test))
    # THEN nobody searches in both
    assert not protocol.probe_people(test) & protocol.probe_people(calibration)


def test_too_few_people_is_an_error(lfw):
    # GIVEN only 8 people with >= 4 photos WHEN 9 are wanted THEN the draw refuses
    with pytest.raises(ValueError, match="only 8 people"):
        protocol.draw(protocol.scan(lfw), Spec(people=9, gallery=20))


def test_csv_round_trip_and_bad_role(lfw, tmp_path):
    # GIVEN a drawn protocol written as CSV
    rows = protocol.draw(protocol.scan(lfw), SPEC)
    protocol.write(rows, tmp_path / "p.csv")
    # WHEN read back THEN it is unchanged
    assert protocol.read(tmp_path / "p.csv") == rows
    # AND an unknown role is refused
    (tmp_path / "bad.csv").write_text("path,person,role\na.jpg,A,gallery\n")
    with pytest.raises(ValueError, match="unknown role"):
        protocol.read(tmp_path / "bad.csv")
