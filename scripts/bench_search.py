"""Gallery search benchmark: exact numpy search vs FAISS (flat, IVF, HNSW), cold loads, float16 snapshots.

Run with `make bench-search` or `python scripts/bench_search.py --sizes 1e3,1e4,1e5,1e6`. Prints markdown tables.
Timings are per probe: a batch's wall time divided by its probes. Recall@10 is against exact search.
"""

from __future__ import annotations

import argparse
import io
import platform
import resource
import subprocess
import time
import uuid

import numpy as np

from facetrace.gallery import search
from facetrace.gallery.live import LiveGallery, Watermark

MIN_SCORE = 0.3  # a match threshold well above the random-pair noise floor (std 1/sqrt(dim))


def unit_rows(rng, n: int, dim: int) -> np.ndarray:
    """n random unit vectors (float32)."""
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def timed(fn, reps: int) -> list[float]:
    """Wall seconds of each of reps calls."""
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def per_probe_ms(fn, probes: np.ndarray, reps: int) -> tuple[float, float]:
    """Median and p95 milliseconds per probe of fn(probes)."""
    ms = np.array(timed(lambda: fn(probes), reps)) * 1000 / len(probes)
    return float(np.median(ms)), float(np.percentile(ms, 95))


def top10_exact(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Exact top-10 row ids by inner product (the recall reference)."""
    scores = q @ x.T
    part = np.argpartition(-scores, 10, axis=1)[:, :10]
    return np.take_along_axis(part, np.argsort(-np.take_along_axis(scores, part, 1), 1), 1)


def recall10(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the exact top-10 that an index returned."""
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found[:, :10], truth)]))


def case_ids(n: int) -> np.ndarray:
    """About three faces per case, 36-character ids like the database's."""
    return np.array([f"case-{i // 3:031d}" for i in range(n)], dtype=object)


def exact_rows(x, faces, cases, q1, q64, reps) -> list[tuple]:
    """The domain search (best face per case above MIN_SCORE) at batch 1 and 64."""
    run = lambda q: search(x, faces, cases, q, MIN_SCORE, 10)  # noqa: E731
    return [("numpy exact (facetrace.gallery.search)", b, *per_probe_ms(run, q, r))
            for b, q, r in ((1, q1, reps * 4), (64, q64, reps))]


def faiss_flat_rows(x, q1, q64, reps) -> list[tuple]:
    """FAISS IndexFlatIP top-10 at batch 1 and 64."""
    import faiss
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    rows = [("FAISS IndexFlatIP", b, *per_probe_ms(lambda q: index.search(q, 10), q, r))
            for b, q, r in ((1, q1, reps * 4), (64, q64, reps))]
    del index
    return rows


def speed_table(sizes, dim, reps, rng) -> None:
    """Exact numpy vs FAISS flat per gallery size."""
    print(f"\n### Exact search, {dim}-d random unit vectors, threshold {MIN_SCORE}, k=10\n")
    print("| faces | method | batch | median ms/probe | p95 ms/probe | gallery MB | numpy/FAISS |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in sizes:
        x, q64 = unit_rows(rng, n, dim), unit_rows(rng, 64, dim)
        faces, cases = np.arange(n, dtype=np.int64), case_ids(n)
        ours, theirs = exact_rows(x, faces, cases, q64[:1], q64, reps), faiss_flat_rows(x, q64[:1], q64, reps)
        for mine, yard in zip(ours, theirs):
            for name, batch, med, p95 in (mine, yard):
                ratio = f"{mine[2] / yard[2]:.2f}" if name is mine[0] else ""
                print(f"| {n:,} | {name} | {batch} | {med:.3f} | {p95:.3f} | {x.nbytes / 2**20:,.0f} | {ratio} |")
        del x


def ann_table(sizes, dim, reps, rng, hnsw_max, label, make) -> None:
    """FAISS IVF and HNSW: build seconds, ms/probe at batch 64, recall@10 against exact."""
    import faiss
    print(f"\n### Approximate indexes, {label}, batch 64\n")
    print("| faces | index | build s | median ms/probe | recall@10 |")
    print("|---:|---|---:|---:|---:|")
    for n in sizes:
        _ann_rows(faiss, make(n), make(64), reps, hnsw_max)


def real_table(real: np.ndarray, reps: int, rng) -> None:
    """IVF and HNSW on the real embeddings themselves: 64 of them probe the rest (their mates included)."""
    import faiss
    pick = np.zeros(len(real), dtype=bool)
    pick[rng.choice(len(real), 64, replace=False)] = True
    print(f"\n### Approximate indexes on {len(real) - 64:,} real LFW embeddings ({real.shape[1]}-d), batch 64\n")
    print("| faces | index | build s | median ms/probe | recall@10 |")
    print("|---:|---|---:|---:|---:|")
    _ann_rows(faiss, np.ascontiguousarray(real[~pick]), np.ascontiguousarray(real[pick]), reps, len(real))


def _ann_rows(faiss, x: np.ndarray, q: np.ndarray, reps: int, hnsw_max) -> None:
    n, truth = len(x), top10_exact(x, q)
    for name, index, build in _ann_indexes(faiss, x, n, hnsw_max):
        for knob, value in _knobs(name):
            faiss.ParameterSpace().set_index_parameter(index, knob, value)
            med, _ = per_probe_ms(lambda p: index.search(p, 10), q, reps)
            found = index.search(q, 10)[1]
            print(f"| {n:,} | {name} {knob}={value} | {build:.1f} | {med:.3f} | {recall10(found, truth):.3f} |")
        del index


def _ann_indexes(faiss, x, n, hnsw_max):
    dim = x.shape[1]
    nlist = int(np.sqrt(n))  # FAISS's rule of thumb is 4-16x; sqrt keeps k-means training in seconds
    start = time.perf_counter()
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(x[: min(n, 40 * nlist)])
    ivf.add(x)
    yield f"IVF{nlist},Flat", ivf, time.perf_counter() - start
    if n <= hnsw_max:
        start = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.add(x)
        yield "HNSW32", hnsw, time.perf_counter() - start


def _knobs(name):
    if name.startswith("IVF"):
        return [("nprobe", p) for p in (8, 32, 128)]
    return [("efSearch", e) for e in (64, 256)]


def cold_table(sizes, dim, rng) -> None:
    """Snapshot size and LiveGallery.from_bytes seconds: to_bytes's float16 vs the former float32 format."""
    print(f"\n### Cold load from a LiveGallery npz snapshot, {dim}-d\n")
    print("| faces | stored as | snapshot MB | from_bytes s (best of 2) |")
    print("|---:|---|---:|---:|")
    for n in sizes:
        live = LiveGallery(dim, Watermark(n, 0), unit_rows(rng, n, dim), np.arange(n, dtype=np.int64),
                           case_ids(n), np.ones(n, dtype=bool))
        for label, write in (("float16 (to_bytes)", LiveGallery.to_bytes), ("float32 (former format)", _float32)):
            data = write(live)
            seconds = min(timed(lambda: LiveGallery.from_bytes(data, dim), 2))
            print(f"| {n:,} | {label} | {len(data) / 2**20:,.0f} | {seconds:.2f} |")
            del data
        del live


def _float32(live: LiveGallery) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, vectors=live.vectors, face_ids=live.face_ids, case_ids=live.case_ids.astype(str),
             watermark=np.array([live.watermark.face_id, live.watermark.event_seq], dtype=np.int64))
    return buffer.getvalue()


def prefilter_table(sizes, dim, reps, rng) -> None:
    """Quantised pre-filters with exact re-ranking of the short list, batch 64, against exact top-10."""
    import faiss
    print(f"\n### Quantised pre-filter + exact re-rank, {dim}-d random unit vectors, batch 64\n")
    print("| faces | pre-filter | short list | pre-filter ms/probe (median; re-rank not timed) | recall@10 |")
    print("|---:|---|---:|---:|---:|")
    for n in sizes:
        x, q = unit_rows(rng, n, dim), unit_rows(rng, 64, dim)
        truth = top10_exact(x, q)
        for name, shortlist, run in _prefilters(faiss, x, dim):
            med, _ = per_probe_ms(run, q, reps)
            print(f"| {n:,} | {name} | {shortlist} | {med:.3f} | {recall10(_rerank(x, q, run(q)), truth):.3f} |")
        del x


def _prefilters(faiss, x, dim):
    codes = faiss.IndexBinaryFlat(dim)
    codes.add(np.packbits(x > 0, axis=1))
    for shortlist in (100, 1000, 10000):
        yield "binary sign codes (FAISS Hamming)", shortlist, \
            lambda q, L=shortlist: codes.search(np.packbits(q > 0, axis=1), L)[1]
    sq8 = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    sq8.train(x[:100_000])
    sq8.add(x)
    yield "int8 codes (FAISS SQ8)", 100, lambda q: sq8.search(q, 100)[1]
    half = x.astype(np.float16)
    # numpy has no float16 or int8 BLAS kernel: the codes must be widened to float32 block by block.
    yield "float16 codes widened per block (numpy)", 100, lambda q: _widened_top(half, q, 100)


def _widened_top(codes: np.ndarray, q: np.ndarray, top: int) -> np.ndarray:
    scores = np.concatenate([q @ codes[s:s + 65536].astype(np.float32).T for s in range(0, len(codes), 65536)], 1)
    return np.argpartition(-scores, top, axis=1)[:, :top]


def _rerank(x: np.ndarray, q: np.ndarray, shortlist: np.ndarray) -> np.ndarray:
    exact = np.einsum("qd,qld->ql", q, x[shortlist])
    return np.take_along_axis(shortlist, np.argsort(-exact, 1)[:, :10], 1)


def float16_table(rng, dim, n, real) -> None:
    """What storing the gallery as float16 changes: largest score change and top-10 agreement."""
    print("\n### float16 storage: accuracy\n")
    print("| data | faces | max abs score change | top-10 agreement |")
    print("|---|---:|---:|---:|")
    sets = [(f"random {dim}-d", unit_rows(rng, n, dim))] + ([("LFW 128-d (real)", real)] if real is not None else [])
    for label, x in sets:
        q = x[rng.choice(len(x), 64, replace=False)] if label.startswith("LFW") else unit_rows(rng, 64, dim)
        x16 = x.astype(np.float16).astype(np.float32)
        change = float(np.abs(q @ x.T - q @ x16.T).max())
        print(f"| {label} | {len(x):,} | {change:.2e} | {recall10(top10_exact(x16, q), top10_exact(x, q)):.4f} |")


def mysql_table(n: int, dim: int, rng, server: str) -> None:
    """Insert n reference faces into a throw-away database and time MySQLStore.gallery()."""
    from facetrace.adapters.mysql import MySQLStore
    from facetrace.db.migrate import migrate
    from devstack.database import create_database, drop_database
    url = create_database(server, "bench_search")
    try:
        migrate(url)
        store = MySQLStore.from_url(url)
        start = time.perf_counter()
        _fill(store, n, dim, rng)
        filled = time.perf_counter() - start
        seconds = min(timed(lambda: store.gallery("bench", dim), 2))
        print(f"\n### Cold load from MySQL (MariaDB, localhost), {dim}-d\n")
        print("| faces | insert s | MySQLStore.gallery() s | faces/s |")
        print("|---:|---:|---:|---:|")
        print(f"| {n:,} | {filled:.0f} | {seconds:.2f} | {n / seconds:,.0f} |")
    finally:
        drop_database(server, "bench_search")


def _fill(store, n: int, dim: int, rng, chunk: int = 2000) -> None:
    db = store.db
    # Only %s in VALUES: pymysql then sends each chunk as one multi-row INSERT instead of a row at a time.
    db.executemany("INSERT INTO agencies (id, name, email) VALUES (%s, %s, %s)", [("a" * 36, "bench", "b@x.org")])
    cases = [str(uuid.UUID(int=i)) for i in range((n + 2) // 3)]
    for s in range(0, len(cases), chunk):
        db.executemany("INSERT INTO cases (id, agency_id, person_name, created_at) VALUES (%s, %s, %s, %s)",
                       [(c, "a" * 36, "x", "2024-01-01") for c in cases[s:s + chunk]])
        db.executemany("INSERT INTO photos (id, kind, case_id, s3_key, status) VALUES (%s, %s, %s, %s, %s)",
                       [(c, "reference", c, "k", "processed") for c in cases[s:s + chunk]])
    sql = ("INSERT INTO faces (photo_id, face_index, model_name, model_version, dim, embedding, box_x1, box_y1,"
           " box_x2, box_y2, landmarks, det_score, quality, usable) VALUES"
           " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
    for s in range(0, n, chunk):
        emb = unit_rows(rng, min(chunk, n - s), dim).astype("<f4")
        db.executemany(sql, [(cases[(s + i) // 3], (s + i) % 3, "bench", "1", dim, e.tobytes(), 0, 0, 1, 1, "[]",
                              1, "{}", 1) for i, e in enumerate(emb)])


def machine() -> str:
    """CPU model, cores and the BLAS kernel numpy runs."""
    model = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    name = next((line.split(":", 1)[1].strip() for line in model.splitlines() if "Model name" in line), "?")
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i.get('architecture', '')} x{i['num_threads']}"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        blas = "threadpoolctl not installed"
    return f"{name}, {platform.machine()}, BLAS: {blas}"


def gaussian_like(real: np.ndarray, rng):
    """A sampler of unit vectors with the mean and covariance of real embeddings (structure at scale)."""
    mean, cov = real.mean(0), np.cov(real, rowvar=False)
    chol = np.linalg.cholesky(cov + 1e-6 * np.eye(len(mean)))

    def make(n: int) -> np.ndarray:
        x = (mean + rng.standard_normal((n, len(mean))) @ chol.T).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    return make


def main() -> None:
    """Parse arguments, run every table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1e3,1e4,1e5,1e6")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--hnsw-max", type=float, default=1e5, help="largest gallery to build HNSW for")
    parser.add_argument("--mysql", type=float, default=1e5, help="faces for the MySQL load (0 skips)")
    parser.add_argument("--mysql-url", default="mysql://root@127.0.0.1:3306/")
    parser.add_argument("--tables", default="speed,ann,prefilter,float16,cold,mysql")
    parser.add_argument("--real", help="npz with an 'embedding' array of real face embeddings (LFW)")
    args = parser.parse_args()
    sizes, rng = [int(float(s)) for s in args.sizes.split(",")], np.random.default_rng(0)
    real = _real(args.real)
    print(f"Machine: {machine()}; peak RSS is printed at the end.")
    tables, large = args.tables.split(","), [s for s in sizes if s >= 10_000]
    if "speed" in tables:
        speed_table(sizes, args.dim, args.reps, rng)
    if "ann" in tables:
        ann_table(large, args.dim, args.reps, rng, args.hnsw_max, f"{args.dim}-d random unit vectors",
                  lambda n: unit_rows(rng, n, args.dim))
    if "ann" in tables and real is not None:
        ann_table(large, real.shape[1], args.reps, rng, args.hnsw_max,
                  f"{real.shape[1]}-d sampled with the mean and covariance of {len(real):,} LFW embeddings",
                  gaussian_like(real, rng))
    if "ann" in tables and real is not None:
        real_table(real, args.reps, rng)
    if "prefilter" in tables:
        prefilter_table([s for s in sizes if s >= 100_000], args.dim, args.reps, rng)
    if "float16" in tables:
        float16_table(rng, args.dim, max(sizes), real)
    if "cold" in tables:
        cold_table(sizes, args.dim, rng)
    if "mysql" in tables and args.mysql:
        mysql_table(int(args.mysql), args.dim, rng, args.mysql_url)
    print(f"\nPeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB")


def _real(path: str | None) -> np.ndarray | None:
    if not path:
        return None
    with np.load(path, allow_pickle=False) as npz:
        x = npz["embedding"][npz["has_face"]] if "has_face" in npz.files else npz["embedding"]
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


if __name__ == "__main__":
    main()
