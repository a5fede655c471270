"""LFW label noise: aliases merged into one identity, photos filed under two identities left out."""

from __future__ import annotations

import argparse
import csv

import cv2
import numpy as np

from evaluation import aliases
from evaluation.cli import add_commands


def test_reordered_names_are_one_person_and_others_are_not():
    # GIVEN names with the same words reordered, hyphenated, and merely similar names
    names = ["Wang_Nan", "Nan_Wang", "Choi_Sung-hong", "Sung_Hong_Choi", "Tim_Jones", "Tom_Jones", "George_W_Bush"]
    # WHEN aliases are looked for by name
    groups = aliases.reordered_names(names)
    # THEN only the reorderings are grouped (similar spellings need the reviewed list)
    assert sorted(groups) == [("Choi_Sung-hong", "Sung_Hong_Choi"), ("Nan_Wang", "Wang_Nan")]


def test_merge_gives_one_identity_with_every_photo(tmp_path):
    # GIVEN an alias file with a comment, and people under two names
    listed = tmp_path / "aliases.txt"
    listed.write_text("# reviewed\nJoseph_Blatter,Sepp_Blatter  # nickname\nAbsent_Person,Other_Absent\n")
    people = {"Sepp_Blatter": ["Sepp_Blatter/1.jpg"], "Joseph_Blatter": ["Joseph_Blatter/1.jpg"], "Ann": ["Ann/1.jpg"]}
    # WHEN they are merged
    merged, applied = aliases.merge(people, aliases.read_alias_file(listed))
    # THEN the alphabetically first name carries both photos; absent names change nothing
    assert merged == {"Joseph_Blatter": ["Joseph_Blatter/1.jpg", "Sepp_Blatter/1.jpg"], "Ann": ["Ann/1.jpg"]}
    assert applied == [("Joseph_Blatter", "Sepp_Blatter")]


def _photo(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = cv2.resize(np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8), (64, 64))
    cv2.imwrite(str(path), image)


def test_a_photo_under_two_identities_is_left_out_both_copies(tmp_path):
    # GIVEN the same photo filed under two people, and a person with two distinct photos
    _photo(tmp_path / "A" / "A_1.jpg", 1)
    _photo(tmp_path / "B" / "B_1.jpg", 1)
    _photo(tmp_path / "B" / "B_2.jpg", 2)
    _photo(tmp_path / "C" / "C_1.jpg", 3)
    people = {"A": ["A/A_1.jpg"], "B": ["B/B_1.jpg", "B/B_2.jpg"], "C": ["C/C_1.jpg"]}
    # WHEN duplicates across identities are looked for
    found = aliases.cross_identity_duplicates(tmp_path, people)
    # THEN both copies are found and nothing else
    assert found == {"A/A_1.jpg", "B/B_1.jpg"}


def test_protocol_command_writes_merged_identities(tmp_path):
    # GIVEN an LFW-layout folder where one person is filed as Wang_Nan and Nan_Wang
    for name, count in {"Wang_Nan": 2, "Nan_Wang": 3, **{f"P{i}": 1 for i in range(8)}}.items():
        for k in range(count):
            _photo(tmp_path / "lfw" / name / f"{name}_{k}.jpg", hash((name, k)) % 1000 + 10)
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    out = tmp_path / "p.csv"
    args = parser.parse_args(["protocol", str(tmp_path / "lfw"), "-o", str(out), "--people", "1", "--min-images", "4",
                              "--gallery", "6", "--strangers", "2"])
    # WHEN the protocol is drawn
    assert args.run(args) == 0
    rows = list(csv.DictReader(out.open()))
    # THEN the five photos are one mated identity: enrolled once, searching with three
    nan = [r for r in rows if r["person"] == "Nan_Wang"]
    assert sorted(r["role"] for r in nan) == ["enroll", "probe", "probe", "probe"]
    assert not any(r["person"] == "Wang_Nan" for r in rows)
