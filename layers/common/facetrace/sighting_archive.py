"""The sighting archive: sighting embeddings in immutable segments, searched exactly, one worker per segment.

Retro-search (a case gains reference faces) must reach every sighting face within retention, and footage
makes that millions of faces: more than one function can load from the database. The database stays the
record. An hourly step copies its settled, usable sighting faces into segments of the bucket
(`archive/<model>/<first id>-<last id>.npz`: face ids, arrival times, float16 vectors), each listed in
`archive_segments`. A retro-search sends the segments that overlap the retention window to parallel workers
(a Step Functions Map state in AWS, threads locally), each an exact search of one segment, searches the faces
not archived yet in the database, and re-reads every hit from the database before it counts: a face erased
since its segment was written never matches. Expired segments go with the daily purge.
"""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol, Sequence

import numpy as np
from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from facetrace.keys import ARCHIVE
from facetrace.ports import ObjectStore

logger = Logger(child=True)

SEGMENT_FACES = 100_000  # 100 MB of float16 at 512-d: one worker reads and searches it in about a second
SETTLE = timedelta(minutes=10)  # a face row this old can no longer be overtaken by an earlier id still committing
MAX_HITS_PER_SEGMENT = 50  # best hits a worker returns: 100 segments stay within a Step Functions payload (256 KB)
BLOCK = 65_536  # rows widened to float32 at a time


@dataclass(frozen=True)
class Segment:
    """One archived run of sighting faces of one model, by face id."""

    key: str
    model_name: str
    first_face_id: int
    last_face_id: int
    oldest_arrival: datetime
    newest_arrival: datetime
    faces: int


@dataclass(frozen=True)
class ArchivedFaces:
    """Sighting faces as a segment holds them: ids, arrival times (epoch seconds) and unit vectors."""

    face_ids: np.ndarray  # int64
    arrived: np.ndarray  # int64, the photo's arrival in seconds since the epoch
    vectors: np.ndarray  # (n, dim), float16 in a segment

    def __len__(self) -> int:
        return len(self.face_ids)


@dataclass(frozen=True)
class Hit:
    """A segment face that resembles a reference: its id, which reference and the cosine."""

    face_id: int
    ref: int
    score: float


class SegmentTask(BaseModel):
    """One worker's task as the fan-out sends it: a segment and what to look for (JSON, a Map state's item)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^archive/[^/]+/[0-9]{12}-[0-9]{12}\.npz$")
    refs_b64: str = Field(max_length=200_000, description="the reference embeddings, little-endian float32, row-major")
    dim: int = Field(ge=1, le=4096)
    since: datetime
    min_score: float = Field(ge=-1.0, le=1.0)

    @staticmethod
    def query(refs: np.ndarray, since: datetime, min_score: float) -> dict:
        """What every segment's task shares, as JSON values: the references, the window and the score."""
        refs = np.asarray(refs, dtype="<f4")
        return {"refs_b64": base64.b64encode(refs.tobytes()).decode(), "dim": int(refs.shape[1]),
                "since": since.isoformat(), "min_score": float(min_score)}

    @classmethod
    def of(cls, key: str, refs: np.ndarray, since: datetime, min_score: float) -> "SegmentTask":
        """The task for one segment."""
        return cls(key=key, **cls.query(refs, since, min_score))

    def refs(self) -> np.ndarray:
        """The reference embeddings as a (k, dim) float32 matrix."""
        flat = np.frombuffer(base64.b64decode(self.refs_b64), dtype="<f4")
        if flat.size == 0 or flat.size % self.dim:
            raise ValueError(f"refs_b64 holds {flat.size} values, not a multiple of dim {self.dim}")
        return flat.reshape(-1, self.dim).astype(np.float32)


def run_task(objects: ObjectStore, task: SegmentTask) -> list[list[float]]:
    """A worker's answer to one task: [face id, reference, score] per hit, best first (the fan-out's JSON)."""
    hits = search_stored_segment(objects, task.key, task.refs(), task.since, task.min_score)
    return [[h.face_id, h.ref, round(h.score, 6)] for h in hits]


def hits_of(answers: Sequence[Sequence[Sequence[float]]]) -> list[Hit]:
    """Every worker's hits, gathered."""
    return [Hit(int(face_id), int(ref), float(score)) for answer in answers for face_id, ref, score in answer]


class SegmentSearch(Protocol):
    """The fan-out: every segment searched by its own worker, the hits gathered."""

    def search(self, keys: Sequence[str], refs: np.ndarray, since: datetime, min_score: float) -> list[Hit]: ...


class ArchiveStore(Protocol):
    """What archiving reads and records."""

    def sighting_models(self) -> list[tuple[str, int]]:
        """(model name, dim) of every model that embedded sighting faces."""
        ...

    def settled_sighting_faces(self, model_name: str, dim: int, after_face_id: int, settled_before: datetime,
                               limit: int) -> ArchivedFaces:
        """Usable, unerased sighting faces after a face id, up to the first face row not settled, in id order."""
        ...

    def archive_watermark(self, model_name: str) -> int:
        """The last face id archived for a model (0 before any)."""
        ...

    def add_archive_segment(self, segment: Segment) -> None: ...

    def archive_segments(self, model_name: str, since: datetime) -> list[Segment]:
        """A model's segments holding a face that arrived at or after `since`."""
        ...

    def expired_archive_segments(self, before: datetime, keep_model: str | None = None) -> list[Segment]:
        """Segments whose every face arrived before `before` (and, given keep_model, every other model's)."""
        ...

    def remove_archive_segments(self, keys: Sequence[str]) -> None: ...


def segment_key(model_name: str, first_face_id: int, last_face_id: int) -> str:
    """Where a segment lives in the bucket."""
    return f"{ARCHIVE}{model_name}/{first_face_id:012d}-{last_face_id:012d}.npz"


def encode(faces: ArchivedFaces) -> bytes:
    """A segment's bytes (uncompressed npz: embeddings do not compress)."""
    out = io.BytesIO()
    np.savez(out, face_ids=faces.face_ids.astype(np.int64), arrived=faces.arrived.astype(np.int64),
             vectors=faces.vectors.astype(np.float16))
    return out.getvalue()


def decode(data: bytes) -> ArchivedFaces:
    """A segment from its bytes."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return ArchivedFaces(z["face_ids"], z["arrived"], z["vectors"])


def search_segment(faces: ArchivedFaces, refs: np.ndarray, since: datetime, min_score: float,
                   limit: int = MAX_HITS_PER_SEGMENT) -> list[Hit]:
    """Exact cosine search of one segment: faces arrived since `since` scoring >= min_score, best first."""
    refs = np.asarray(refs, dtype=np.float32)
    keep = np.flatnonzero(faces.arrived >= int(since.timestamp()))
    found_rows, found_ref, found_score = [], [], []
    for start in range(0, len(keep), BLOCK):
        rows = keep[start:start + BLOCK]
        scores = faces.vectors[rows].astype(np.float32) @ refs.T
        best_ref, best = scores.argmax(axis=1), scores.max(axis=1)
        hit = best >= min_score
        found_rows.append(rows[hit])
        found_ref.append(best_ref[hit])
        found_score.append(best[hit])
    if not found_rows:
        return []
    rows, ref, score = (np.concatenate(a) for a in (found_rows, found_ref, found_score))
    order = np.argsort(-score, kind="stable")[:limit]
    return [Hit(int(faces.face_ids[rows[i]]), int(ref[i]), float(score[i])) for i in order]


def search_stored_segment(objects: ObjectStore, key: str, refs: np.ndarray, since: datetime,
                          min_score: float) -> list[Hit]:
    """One worker's task: read a segment from the bucket and search it (a missing or unreadable one has no hits)."""
    data = objects.get_if_exists(key)
    if data is None:
        logger.warning("archive segment missing", extra={"key": key})
        return []
    try:
        return search_segment(decode(data), refs, since, min_score)
    except (ValueError, KeyError, EOFError, OSError, zipfile.BadZipFile) as exc:
        # One damaged segment must not fail every retro-search: it is logged for an operator, the others count.
        logger.error("archive segment unreadable", extra={"key": key, "error": str(exc)[:300]})
        return []


def archive_sightings(store: ArchiveStore, objects: ObjectStore, now: datetime | None = None,
                      settle: timedelta = SETTLE, segment_faces: int = SEGMENT_FACES,
                      max_segments: int = 50) -> list[Segment]:
    """Copy every model's settled sighting faces not archived yet into new segments; return what was written."""
    settled_before = (now or datetime.now(timezone.utc)) - settle
    written: list[Segment] = []
    for model_name, dim in store.sighting_models():
        after = store.archive_watermark(model_name)
        while len(written) < max_segments:
            faces = store.settled_sighting_faces(model_name, dim, after, settled_before, segment_faces)
            if not len(faces):
                break
            written.append(_write(store, objects, model_name, faces))
            after = int(faces.face_ids[-1])
            if len(faces) < segment_faces:
                break
    logger.info("sightings archived", extra={"segments": len(written), "faces": sum(s.faces for s in written)})
    return written


def _write(store: ArchiveStore, objects: ObjectStore, model_name: str, faces: ArchivedFaces) -> Segment:
    # The object first: a row never names a segment that is not there.
    first, last = int(faces.face_ids[0]), int(faces.face_ids[-1])
    segment = Segment(segment_key(model_name, first, last), model_name, first, last, _at(faces.arrived.min()),
                      _at(faces.arrived.max()), len(faces))
    objects.put(segment.key, encode(faces), "application/octet-stream")
    store.add_archive_segment(segment)
    return segment


class _Deleter(Protocol):
    def delete(self, key: str) -> None: ...


def drop_segments(store: ArchiveStore, objects: _Deleter, segments: Sequence[Segment]) -> int:
    """Delete segments (rows first, so no search reaches a deleted object) and return how many."""
    store.remove_archive_segments([s.key for s in segments])
    for segment in segments:
        objects.delete(segment.key)
    return len(segments)


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(int(epoch), timezone.utc)
