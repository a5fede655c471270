"""`facetrace eval` and `facetrace protocol`: argument parsing here, heavy imports only when run."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

PROTOCOL_HELP = """Write an identification protocol CSV (path,person,role) for an LFW-layout folder, as the
paper evaluated: --people persons with >= --min-images photos enrol one and search with up to
--probes others; --strangers persons (never enrolled) search with up to 4 photos each; distractor
persons enrol their first photo until the gallery holds --gallery records. Seeded.

For an honest threshold, draw a calibration protocol with another seed and
--exclude-probes-of TEST.csv: none of its searching people (mated or stranger) then searches in the
test protocol. Label noise (LFW files a few people under two names and a few photos under two
people), handled without looking at faces: names made of the same words reordered (Wang_Nan /
Nan_Wang) and the pairs in --aliases (default: the reviewed list evaluation/lfw_aliases.txt)
become one identity, written in the person column; a photo whose pixels match a photo of another
identity is left out, both copies. --no-aliases keeps LFW's labels as they are. `facetrace eval` lists
non-mated pairs that still score as near-duplicates ("suspected_label_noise") for a human to check;
never drop people because of test results."""

RELABEL_HELP = """Correct the labels of a protocol that is already drawn, after a person's review: the names in
--aliases become one identity, the photos in --misfiled are left out. Nobody is redrawn, so the same
people keep their roles (a stranger whose alias is enrolled becomes a mated searcher). Use it for a
calibration protocol whose label errors set a threshold (evaluation/lfw_calibration_review/); never
for a test protocol after reading its scores."""

EVAL_HELP = """Run the real pipeline (decode, detect, align, quality gates, embed) on every image of a
protocol and print JSON: closed-set rank-1 accuracy; TPIR, FPIR and misidentification rate at
thresholds set for FPIR 0.8%, 0.33% and 0; share of images without a usable face; median ms/image.
Thresholds come from --calibrate-on (a protocol of other people: honest), --threshold (fixed), or,
with neither, from the test protocol itself (optimistic, labelled so). Embeddings are cached per
pack in --cache-dir. A probe without a usable face is a miss (mated) or no alarm (stranger)."""


def add_commands(sub) -> None:
    """Register the eval and protocol subcommands on an argparse subparsers object."""
    p = sub.add_parser("protocol", help="write an identification protocol CSV", description=PROTOCOL_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root", help="LFW-layout folder: <root>/<Person>/<image>")
    p.add_argument("-o", "--output", required=True, help="the protocol CSV to write (path,person,role)")
    p.add_argument("--people", type=int, default=300, help="people who enrol one photo and search with others")
    p.add_argument("--min-images", type=int, default=4, help="only people with at least this many photos search")
    p.add_argument("--probes", type=int, default=3, help="searches (other photos) per enrolled person")
    p.add_argument("--strangers", type=int, default=300, help="wanted (fewer if the gallery needs the people)")
    p.add_argument("--gallery", type=int, default=5000, help="gallery records: the people's enrolments plus "
                   "distractors, one photo each")
    p.add_argument("--seed", type=int, default=0, help="seed of the random draw (same seed, same protocol)")
    p.add_argument("--exclude-probes-of", action="append", default=[], metavar="CSV",
                   help="never draw, as searchers, the people who search in this protocol (repeatable): "
                        "calibrate on other people")
    p.add_argument("--skip-people", metavar="FILE", help="names (one a line) left out entirely")
    p.add_argument("--aliases", metavar="FILE", help="Name_A,Name_B lines: one person under two names")
    p.add_argument("--no-aliases", action="store_true", help="keep LFW's labels (no merges, no duplicate removal)")
    p.set_defaults(run=run_protocol)
    r = sub.add_parser("relabel", help="correct a drawn protocol's labels after review", description=RELABEL_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("protocol", help="the protocol CSV to correct")
    r.add_argument("-o", "--output", required=True, help="the corrected protocol CSV to write")
    r.add_argument("--aliases", action="append", default=[], metavar="FILE",
                   help="Name_A,Name_B lines: one person under two names (repeatable)")
    r.add_argument("--misfiled", action="append", default=[], metavar="FILE",
                   help="photo paths, one a line, that show someone else than their folder says (repeatable)")
    r.set_defaults(run=run_relabel)
    e = sub.add_parser("eval", help="evaluate a face pack on a protocol", description=EVAL_HELP)
    e.add_argument("--root", required=True, help="dataset root the protocol paths are relative to")
    e.add_argument("--protocol", help="CSV path,person,role")
    e.add_argument("--pack", default="dlib", help="'dlib' or a pack directory")
    e.add_argument("--model-dir", help="a folder holding the pack's model files (found by pinned SHA-256)")
    e.add_argument("--providers", help="comma-separated ONNX execution providers (default: CPU)")
    e.add_argument("--threshold", type=float, help="evaluate this fixed alert threshold")
    e.add_argument("--calibrate-on", metavar="CSV", help="fix thresholds on this protocol (other people)")
    e.add_argument("--pairs", help="also run 10-fold verification on an LFW pairs file")
    e.add_argument("--no-mate-removed", action="store_true", help="non-mated searches from strangers only")
    e.add_argument("--calibrate-with-distractors", action="store_true",
                   help="add to the calibration's non-mated searches one per distractor (its enrolled photo against "
                        "the rest of the gallery), leaving out anyone who searches in the test protocol: more "
                        "searches for the low-FPIR thresholds")
    e.add_argument("--reference-gate", action="store_true",
                   help="refuse references that fail the quality gate, as FaceTrace did before issue #12 (default: "
                        "production's rule, which enrols them flagged)")
    e.add_argument("--no-reference-gate", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for old commands
    e.add_argument("--cache-dir", default=os.environ.get("FACETRACE_EVAL_CACHE", ".cache/facetrace-eval"),
                   help="where embeddings are cached per pack (default: $FACETRACE_EVAL_CACHE or .cache/facetrace-eval)")
    e.add_argument("--score-norm", type=int, default=0, metavar="COHORT",
                   help="score with adaptive s-norm against the gallery over this many impostor scores (evaluation "
                        "only: production compares raw cosines); default 0: raw cosines through production's search")
    e.add_argument("--batch", type=int, default=10, help="images decoded and embedded per batch")
    e.add_argument("--plot", metavar="PNG", help="write a DET plot")
    e.set_defaults(run=run_eval)


def run_protocol(args: argparse.Namespace) -> int:
    """Draw and write the protocol; a summary goes to stderr."""
    from evaluation import protocol

    people = protocol.scan(args.root)
    if args.skip_people:
        skip = {line.strip() for line in Path(args.skip_people).read_text().splitlines() if line.strip()}
        people = {n: imgs for n, imgs in people.items() if n not in skip}
    if not args.no_aliases:
        people = _clean_labels(args.root, people, args.aliases)
    exclude = set().union(*(protocol.probe_people(protocol.read(p)) for p in args.exclude_probes_of))
    spec = protocol.Spec(args.people, args.min_images, args.probes, args.strangers, 4, args.gallery, args.seed)
    try:
        rows = protocol.draw(people, spec, exclude)
    except ValueError as exc:
        sys.exit(f"facetrace protocol: {exc}")
    protocol.write(rows, args.output)
    enrolled = {r.person for r in rows if r.role == "enroll"}
    strangers = protocol.probe_people(rows) - enrolled
    sys.stderr.write(f"{args.output}: {len(enrolled)} enrolled, {len(strangers)} strangers, {len(rows)} images\n")
    return 0


def run_relabel(args: argparse.Namespace) -> int:
    """Write the corrected protocol; what changed goes to stderr."""
    from evaluation import aliases, protocol, review

    groups = [g for f in args.aliases for g in aliases.read_alias_file(f)]
    misfiled = set().union(*(review.read_misfiled(f) for f in args.misfiled))
    rows, changed = review.relabel(protocol.read(args.protocol), groups, misfiled)
    protocol.write(rows, args.output)
    sys.stderr.write(f"renamed: {', '.join(changed['renamed']) or 'none'}\n")
    sys.stderr.write(f"left out: {', '.join(changed['left_out']) or 'none'}\n")
    return 0


def _clean_labels(root: str, people: dict, alias_file: str | None) -> dict:
    """Merge aliases into identities and leave out photos filed under two identities; report to stderr."""
    from evaluation import aliases

    groups = aliases.reordered_names(list(people)) + aliases.read_alias_file(alias_file or aliases.DEFAULT_ALIASES)
    merged, applied = aliases.merge(people, groups)
    duplicates = aliases.cross_identity_duplicates(root, merged)
    cleaned = {name: [i for i in images if i not in duplicates] for name, images in merged.items()}
    sys.stderr.write(f"aliases merged: {', '.join('/'.join(g) for g in applied) or 'none'}\n")
    sys.stderr.write(f"photos filed under two identities, left out: {', '.join(sorted(duplicates)) or 'none'}\n")
    return {name: images for name, images in cleaned.items() if images}


def run_eval(args: argparse.Namespace) -> int:
    """Embed (cached), search, report JSON on stdout."""
    if args.threshold is not None and args.calibrate_on:
        sys.exit("facetrace eval: give --threshold or --calibrate-on, not both")
    if not args.protocol and not args.pairs:
        sys.exit("facetrace eval: give --protocol and/or --pairs")
    from evaluation.session import Evaluation

    providers = args.providers.split(",") if args.providers else ["CPUExecutionProvider"]
    ev = Evaluation(args.root, args.pack, args.model_dir, providers, args.cache_dir, args.batch, _progress)
    result = ev.run(
        args.protocol, args.calibrate_on, args.threshold, args.pairs, not args.no_mate_removed, args.plot,
        gate=args.reference_gate, cohort=args.score_norm, distractors_search=args.calibrate_with_distractors,
    )
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


_last = [0.0]


def _progress(done: int, total: int) -> None:
    """At most one progress line a second on stderr."""
    now = time.monotonic()
    if done == total or now - _last[0] >= 1.0:
        _last[0] = now
        sys.stderr.write(f"\rembedding {done}/{total} images" + ("\n" if done == total else ""))
        sys.stderr.flush()
