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


def test_distractors_search_the_rest_of_the_gallery_and_test_searchers_never_do():
    import numpy as np

    from evaluation.cache import Record
    from evaluation.runner import distractor_searches

    # GIVEN a gallery: a mated person (who searches), two distractors alike, one distractor who searches in the
    # test protocol, and one whose photo fails the sighting gate
    def rec(vector, sighting_ok=True):
        v = np.array(vector, np.float32)
        return Record(v / np.linalg.norm(v), True, True, sighting_ok, 0.9, 1.0)

    rows = [Row("M/1.jpg", "M", ENROLL), Row("M/2.jpg", "M", PROBE), Row("A/1.jpg", "A", ENROLL),
            Row("B/1.jpg", "B", ENROLL), Row("T/1.jpg", "T", ENROLL), Row("Q/1.jpg", "Q", ENROLL)]
    vectors = {"M/1.jpg": [1, 0, 0], "M/2.jpg": [1, 0, 0], "A/1.jpg": [0, 1, 0.1], "B/1.jpg": [0, 1, -0.1],
               "T/1.jpg": [0, 0, 1], "Q/1.jpg": [0, 0.6, 0.8]}
    records = {f"/root/{p}": rec(v, sighting_ok=p != "Q/1.jpg") for p, v in vectors.items()}
    # WHEN the extra non-mated searches are made
    scores = distractor_searches(rows, records, "/root", exclude={"T"})
    # THEN A and B each find the other (their own record left out); M, T and Q do not search
    assert len(scores) == 2 and np.allclose(scores, (1 - 0.01) / 1.01, atol=1e-4)
