"""A drawn protocol's labels corrected after review: aliases joined, misfiled photos left out, nobody redrawn."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from evaluation import aliases, review
from evaluation.cli import add_commands
from evaluation.protocol import ENROLL, PROBE, Row, write


def test_groups_sharing_a_name_become_one_identity_named_by_its_first_name():
    # GIVEN two alias groups that share a name, and one on its own
    groups = [("Prince_Felipe", "Felipe_De_Borbon"), ("Prince_Felipe", "Felipe_VI"), ("Talisa_Soto", "Talisa_Bratt")]
    # WHEN identities are formed
    identity = review.identities(groups)
    # THEN the joined group takes its alphabetically first name, the other group its own
    assert {identity[n] for n in ("Prince_Felipe", "Felipe_De_Borbon", "Felipe_VI")} == {"Felipe_De_Borbon"}
    assert identity["Talisa_Soto"] == identity["Talisa_Bratt"] == "Talisa_Bratt"


def test_relabel_joins_aliases_drops_misfiled_photos_and_keeps_everyone_else():
    # GIVEN a drawn protocol: a stranger whose alias is enrolled, a misfiled distractor, an ordinary mated person
    rows = [
        Row("Ann/Ann_1.jpg", "Ann", ENROLL), Row("Ann/Ann_2.jpg", "Ann", PROBE),
        Row("Prince_Felipe/P_1.jpg", "Prince_Felipe", PROBE),
        Row("Felipe_De_Borbon/F_1.jpg", "Felipe_De_Borbon", ENROLL),
        Row("Shavon_Earp/S_1.jpg", "Shavon_Earp", ENROLL),
    ]
    # WHEN it is relabelled
    kept, changed = review.relabel(rows, [("Felipe_De_Borbon", "Prince_Felipe")], {"Shavon_Earp/S_1.jpg"})
    # THEN the stranger now searches for his own enrolled identity, the misfiled photo is gone, roles are unchanged
    assert Row("Prince_Felipe/P_1.jpg", "Felipe_De_Borbon", PROBE) in kept
    assert [r.path for r in kept] == [r.path for r in rows if r.path != "Shavon_Earp/S_1.jpg"]
    assert [r.role for r in kept] == [ENROLL, PROBE, PROBE, ENROLL]
    assert changed == {"renamed": ["Prince_Felipe->Felipe_De_Borbon"], "left_out": ["Shavon_Earp/S_1.jpg"]}


def test_relabel_command_writes_the_corrected_protocol(tmp_path):
    # GIVEN a protocol CSV, an alias file with comments and a misfiled list
    source, out = tmp_path / "calib.csv", tmp_path / "reviewed.csv"
    write([Row("A/A_1.jpg", "A_Name", ENROLL), Row("B/B_1.jpg", "B_Alias", PROBE), Row("C/C_1.jpg", "C", ENROLL)], source)
    (tmp_path / "aliases.txt").write_text("# reviewed\nA_Name,B_Alias  # one person\n")
    (tmp_path / "misfiled.txt").write_text("C/C_1.jpg  # shows someone else\n")
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["relabel", str(source), "-o", str(out), "--aliases", str(tmp_path / "aliases.txt"),
                              "--misfiled", str(tmp_path / "misfiled.txt")])
    # WHEN the command runs
    assert args.run(args) == 0
    # THEN the alias searches for the enrolled identity and the misfiled photo is gone
    assert [(r["path"], r["person"], r["role"]) for r in csv.DictReader(out.open())] == [
        ("A/A_1.jpg", "A_Name", "enroll"), ("B/B_1.jpg", "A_Name", "probe")]


def test_shipped_review_files_name_real_aliases_and_photos():
    # GIVEN the calibration review shipped with the evaluation
    folder = Path(review.__file__).with_name("lfw_calibration_review")
    groups = aliases.read_alias_file(f"{folder}/aliases.txt")
    misfiled = review.read_misfiled(f"{folder}/misfiled.txt")
    # THEN it is parseable, names pairs only, and lists LFW-style photo paths
    assert groups and all(len(g) == 2 for g in groups)
    assert misfiled and all(p.count("/") == 1 and p.endswith(".jpg") for p in misfiled)
