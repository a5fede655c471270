"""End-to-end benchmark of the local stack: a stream of sightings, timed from the upload's HTTP 204 to the alert e-mail.

    python scripts/bench_e2e.py --uploads 200 --rate 2 --concurrency 4 --containers 2 [--pack dlib]

Every function and the worker run in threads of their own (as in AWS). Needs the shared LFW photos
(FACETRACE_TEST_DATA): N people are enrolled with one photo each and every upload is another photo
of one of them. Prints p50/p95 seconds from upload to e-mail, sightings per minute, and the median
time spent in each stage (from the database's timestamps).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from facetrace.case import Agency
from devstack.system import LocalSystem
from devstack.users import AgencyUser, Citizen


def people(lfw: Path, uploads: int, seed: int) -> list[tuple[str, Path, list[Path]]]:
    """(name, reference photo, sighting photos) for enough people with 2+ photos."""
    rng = random.Random(seed)
    folders = sorted(p for p in lfw.iterdir() if p.is_dir() and len(list(p.glob("*.jpg"))) >= 2)
    chosen = rng.sample(folders, min(len(folders), max(20, uploads // 3)))
    return [(f.name, sorted(f.glob("*.jpg"))[0], sorted(f.glob("*.jpg"))[1:]) for f in chosen]


def enrol(system: LocalSystem, cast) -> dict[str, str]:
    """Open one case per person; return person name -> case id once every reference is processed."""
    agency = Agency(name="Bench Police", email="bench@police.example")
    system.store.add_agency(agency)
    officer = AgencyUser(system.gateway.url, agency.id)
    cases, photos = {}, []
    for name, reference, _ in cast:
        cases[name] = officer.open_case(person_name=name)["id"]
        photos.append(officer.add_reference_photo(cases[name], reference))
    _wait(lambda: all((p := system.store.get_photo(pid)) and p.status.value != "received" for pid in photos), 600)
    return cases


def _wait(done, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            sys.exit("timed out")
        time.sleep(0.1)


def stream(system: LocalSystem, cast, uploads: int, concurrency: int, rate: float, seed: int) -> dict[str, float]:
    """Upload `uploads` sightings at `rate` a second, at most `concurrency` at once; receipt -> time of the 204."""
    rng = random.Random(seed + 1)
    jobs = [(n / rate, rng.choice([p for p in cast if p[2]])) for n in range(uploads)]
    citizen = Citizen(system.gateway.url)
    start = time.monotonic()

    def upload(job) -> tuple[str, float]:
        due, (name, _, sightings) = job
        time.sleep(max(0.0, start + due - time.monotonic()))
        receipt = citizen.report_sighting(rng.choice(sightings), place="bench")
        return receipt, time.time()

    with ThreadPoolExecutor(concurrency) as pool:
        return dict(pool.map(upload, jobs))


def stage_times(system: LocalSystem, receipt: str, uploaded: float) -> dict[str, float] | None:
    """Seconds per stage for one sighting, from the database's timestamps (None if it raised no alert)."""
    rows = system.store.db.query(
        "SELECT UNIX_TIMESTAMP(p.created_at) AS ingested, UNIX_TIMESTAMP(MIN(f.created_at)) AS faces,"
        " UNIX_TIMESTAMP(MIN(a.created_at)) AS alerted, UNIX_TIMESTAMP(MAX(d.created_at)) AS delivered"
        " FROM photos p JOIN faces f ON f.photo_id = p.id JOIN alerts a ON a.sighting_id = p.id"
        " JOIN deliveries d ON d.alert_id = a.id WHERE p.id = %s GROUP BY p.id", (receipt,))
    if not rows:
        return None
    r = {k: float(v) for k, v in rows[0].items()}
    return {"upload->ingest": r["ingested"] - uploaded, "queue+worker": r["faces"] - r["ingested"],
            "match": r["alerted"] - r["faces"], "notify+record": r["delivered"] - r["alerted"],
            "total": r["delivered"] - uploaded}


def report(results: list[dict[str, float]], uploads: int, wall_s: float) -> None:
    """Print the table."""
    totals = sorted(r["total"] for r in results)
    p95 = totals[int(0.95 * (len(totals) - 1))]
    print(f"\nsightings uploaded: {uploads}; alerted and delivered: {len(results)}; all processed in {wall_s:.1f} s: "
          f"{60 * uploads / wall_s:.1f} sightings/min")
    print(f"upload (HTTP 204) -> delivery recorded: p50 {statistics.median(totals):.2f} s, p95 {p95:.2f} s")
    print("median seconds per stage:")
    for stage in ("upload->ingest", "queue+worker", "match", "notify+record"):
        print(f"  {stage:15s} {statistics.median(r[stage] for r in results):.3f}")


def pack_dir(manifest_dir: Path, model_dir: Path) -> str:
    """A pack directory (manifest + model files) made of a checked-in manifest and models kept elsewhere."""
    folder = Path(tempfile.mkdtemp(prefix="facetrace-pack-"))
    manifest = json.loads((manifest_dir / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest))
    for part in [manifest["detector"], *manifest.get("embedders", [manifest.get("embedder")])]:
        if part and not (folder / part["file"]).exists():
            (folder / part["file"]).symlink_to(model_dir.resolve() / part["file"])
    return str(folder)


def main() -> int:
    """Run the benchmark."""
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--uploads", type=int, default=200)
    args.add_argument("--concurrency", type=int, default=4, help="uploads in flight at once")
    args.add_argument("--rate", type=float, default=2.0, help="uploads started per second")
    args.add_argument("--containers", type=int, default=2, help="local 'containers' per function")
    args.add_argument("--pack", default=os.environ.get("FACETRACE_PACK", "dlib"))
    args.add_argument("--model-dir", help="folder holding the ONNX files a --pack manifest names")
    args.add_argument("--seed", type=int, default=7)
    opts = args.parse_args()
    if opts.model_dir:
        opts.pack = pack_dir(Path(opts.pack), Path(opts.model_dir))
    data = os.environ.get("FACETRACE_TEST_DATA")
    if not data:
        sys.exit("set FACETRACE_TEST_DATA to the shared data folder (LFW photos)")
    system = LocalSystem(pack=opts.pack, stack_name="facetrace-bench").start()
    stop = system.run_in_background(opts.containers)
    try:
        cast = people(Path(data) / "lfw", opts.uploads, opts.seed)
        enrol(system, cast)
        started = time.time()
        uploaded = stream(system, cast, opts.uploads, opts.concurrency, opts.rate, opts.seed)
        _wait(lambda: all(system.store.get_photo(r) and system.store.get_photo(r).status.value != "received"
                          for r in uploaded), 1200)
        wall = time.time() - started
        time.sleep(2)  # the last deliveries travel notify -> deliveries queue -> record
        results = [t for r, at in uploaded.items() if (t := stage_times(system, r, at))]
        report(results, opts.uploads, max(wall, 1e-3))
    finally:
        stop.set()
        time.sleep(0.2)
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
