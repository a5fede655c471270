"""Re-embedding campaigns, their items and which model processed which photo, in MySQL."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

import pymysql

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.adapters.mysql.photos import PHOTO_COLUMNS, photo_from_row
from facetrace.messages import PhotoKind
from facetrace.photo import Photo
from facetrace.reembed import Campaign, Coverage, ItemFailure, ItemStatus

_CAMPAIGN = ("SELECT id, target_model, started_at, references_queued, sightings_queued, completed_at, erased_faces,"
             " cancelled_at FROM reembed_campaigns")
# The photos a campaign must cover: processed (so pinned and checked) and not erased; references of open cases,
# sightings still within retention. Arguments: sightings_since.
_SCOPE = ("p.status = 'processed' AND p.erased_at IS NULL AND ((p.kind = 'reference' AND c.status = 'open')"
          " OR (p.kind = 'sighting' AND p.created_at >= %s))")
# Arguments: model_name, campaign_id.
_JOINS = (" FROM photos p LEFT JOIN cases c ON c.id = p.case_id"
          " LEFT JOIN photo_models m ON m.photo_id = p.id AND m.model_name = %s"
          " LEFT JOIN reembed_items i ON i.campaign_id = %s AND i.photo_id = p.id")
_PHOTOS = ", ".join(f"p.{c}" for c in PHOTO_COLUMNS)


class ReembedRepository:
    """ReembedStore on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def mark_embedded(self, photo_id: str, model_name: str, faces: int, usable: int) -> None:
        self._db.execute(
            "INSERT INTO photo_models (photo_id, model_name, faces, usable) VALUES (%s, %s, %s, %s)"
            " ON DUPLICATE KEY UPDATE faces = VALUES(faces), usable = VALUES(usable)",
            (photo_id, model_name, faces, usable),
        )

    def add_campaign(self, campaign: Campaign) -> bool:
        try:
            self._db.execute(
                "INSERT INTO reembed_campaigns (id, target_model, started_at, open_slot) VALUES (%s, %s, %s, 1)",
                (campaign.id, campaign.target_model, to_db(campaign.started_at)),
            )
        except pymysql.err.IntegrityError:
            return False  # the unique open slot is taken: another campaign runs
        return True

    def running_campaign(self) -> Campaign | None:
        rows = self._db.query(f"{_CAMPAIGN} WHERE open_slot = 1")
        return _campaign(rows[0]) if rows else None

    def latest_campaign(self) -> Campaign | None:
        rows = self._db.query(f"{_CAMPAIGN} ORDER BY open_slot IS NULL, started_at DESC, id LIMIT 1")
        return _campaign(rows[0]) if rows else None

    def complete_campaign(self, campaign_id: str, at: datetime, erased_faces: int) -> None:
        self._db.execute(
            "UPDATE reembed_campaigns SET completed_at = COALESCE(completed_at, %s),"
            " erased_faces = COALESCE(erased_faces, 0) + %s, open_slot = NULL WHERE id = %s",
            (to_db(at), erased_faces, campaign_id),
        )

    def cancel_campaign(self, campaign_id: str, at: datetime) -> None:
        self._db.execute("UPDATE reembed_campaigns SET cancelled_at = %s, open_slot = NULL WHERE id = %s"
                         " AND open_slot = 1", (to_db(at), campaign_id))

    def photos_to_reembed(self, campaign_id: str, model_name: str, sightings_since: datetime,
                          limit: int) -> list[Photo]:
        rows = self._db.query(
            f"SELECT {_PHOTOS}{_JOINS} WHERE {_SCOPE} AND m.photo_id IS NULL"
            " AND (i.status IS NULL OR i.status = 'failed')"
            # References first: the new gallery is what must be complete before the old one goes.
            " ORDER BY p.kind = 'sighting', p.created_at, p.id LIMIT %s",
            (model_name, campaign_id, to_db(sightings_since), limit),
        )
        return [photo_from_row(r) for r in rows]

    def queue_reembed_items(self, campaign_id: str, photos: Sequence[Photo], at: datetime) -> None:
        if not photos:
            return
        when = to_db(at)
        with self._db.transaction():
            # MySQL applies the assignments in order: status is set last so the others still see the old one.
            self._db.executemany(
                "INSERT INTO reembed_items (campaign_id, photo_id, kind, status, queued_at) VALUES (%s, %s, %s, 'queued', %s)"
                " ON DUPLICATE KEY UPDATE attempts = attempts + IF(status = 'done', 0, 1),"
                " stage = IF(status = 'done', stage, NULL), reason = IF(status = 'done', reason, NULL),"
                " queued_at = IF(status = 'done', queued_at, VALUES(queued_at)),"
                " finished_at = IF(status = 'done', finished_at, NULL), status = IF(status = 'done', status, 'queued')",
                [(campaign_id, p.id, p.kind.value, when) for p in photos],
            )
            references = sum(p.kind is PhotoKind.REFERENCE for p in photos)
            self._db.execute(
                "UPDATE reembed_campaigns SET references_queued = references_queued + %s,"
                " sightings_queued = sightings_queued + %s WHERE id = %s",
                (references, len(photos) - references, campaign_id),
            )

    def finish_reembed_item(self, campaign_id: str, photo_id: str, status: ItemStatus, stage: str | None,
                            reason: str | None, at: datetime) -> bool:
        # done is final; a failure only ends a queued item (the first failure's reason is the one kept).
        allowed = "status <> 'done'" if status is ItemStatus.DONE else "status = 'queued'"
        changed = self._db.execute(
            f"UPDATE reembed_items SET status = %s, stage = %s, reason = %s, finished_at = %s"
            f" WHERE campaign_id = %s AND photo_id = %s AND {allowed}",
            (status.value, stage, reason, to_db(at), campaign_id, photo_id),
        )
        return changed == 1

    def stuck_reembed_items(self, before: datetime, limit: int) -> list[tuple[str, str]]:
        rows = self._db.query(
            "SELECT campaign_id, photo_id FROM reembed_items WHERE status = 'queued' AND queued_at < %s"
            " ORDER BY queued_at LIMIT %s", (to_db(before), limit),
        )
        return [(r["campaign_id"], r["photo_id"]) for r in rows]

    def reembed_coverage(self, campaign_id: str, model_name: str, sightings_since: datetime) -> dict[PhotoKind, Coverage]:
        rows = self._db.query(
            "SELECT p.kind, COUNT(*) AS in_scope,"
            " SUM(m.photo_id IS NOT NULL OR i.status = 'done') AS covered,"
            " SUM(m.photo_id IS NULL AND i.status = 'queued') AS queued,"
            " SUM(m.photo_id IS NULL AND i.status = 'failed') AS failed,"
            " SUM(m.photo_id IS NULL AND i.status IS NULL) AS not_queued"
            f"{_JOINS} WHERE {_SCOPE} GROUP BY p.kind",
            (model_name, campaign_id, to_db(sightings_since)),
        )
        return {PhotoKind(r["kind"]): Coverage(**{k: int(r[k] or 0) for k in
                                                  ("in_scope", "covered", "queued", "failed", "not_queued")})
                for r in rows}

    def reembed_failures(self, campaign_id: str, model_name: str, sightings_since: datetime,
                         limit: int) -> list[ItemFailure]:
        rows = self._db.query(
            f"SELECT p.id, p.kind, p.case_id, i.stage, i.reason, i.attempts{_JOINS}"
            f" WHERE {_SCOPE} AND i.status = 'failed' AND m.photo_id IS NULL"
            " ORDER BY p.kind = 'sighting', i.finished_at, p.id LIMIT %s",
            (model_name, campaign_id, to_db(sightings_since), limit),
        )
        return [ItemFailure(r["id"], PhotoKind(r["kind"]), r["case_id"], r["stage"], r["reason"], r["attempts"])
                for r in rows]

    def cases_without_model(self, model_name: str) -> list[str]:
        usable = ("SELECT 1 FROM photos p JOIN faces f ON f.photo_id = p.id WHERE p.case_id = c.id"
                  " AND p.kind = 'reference' AND f.usable = 1 AND f.model_name {} %s")
        rows = self._db.query(
            f"SELECT c.id FROM cases c WHERE c.status = 'open' AND EXISTS ({usable.format('<>')})"
            f" AND NOT EXISTS ({usable.format('=')}) ORDER BY c.created_at, c.id", (model_name, model_name),
        )
        return [r["id"] for r in rows]

    def face_models(self) -> set[str]:
        return {r["model_name"] for r in self._db.query("SELECT DISTINCT model_name FROM faces")}

    def erase_other_models(self, model_name: str, batch: int) -> int:
        erased, after = 0, 0
        while True:
            # One transaction per batch: the faces go and their cases are announced together. No row lock is
            # taken on the read (it would lock the photos too, under ingest and match); the update re-checks.
            with self._db.transaction():
                rows = self._db.query(
                    "SELECT f.id, p.case_id, p.kind FROM faces f JOIN photos p ON p.id = f.photo_id"
                    " WHERE f.id > %s AND f.model_name <> %s AND f.embedding <> '' ORDER BY f.id LIMIT %s",
                    (after, model_name, batch),
                )
                if not rows:
                    return erased
                ids = [r["id"] for r in rows]
                marks = ", ".join(["%s"] * len(ids))
                self._db.execute(f"UPDATE faces SET embedding = '', usable = 0 WHERE id IN ({marks})"
                                 " AND model_name <> %s", (*ids, model_name))
                # A case event makes every warm match container re-read the case's faces (now without these).
                cases = sorted({r["case_id"] for r in rows if r["kind"] == "reference" and r["case_id"]})
                self._db.executemany("INSERT INTO case_events (case_id, status) SELECT id, status FROM cases"
                                     " WHERE id = %s AND status = 'open'", [(c,) for c in cases])
            erased, after = erased + len(ids), ids[-1]


def _campaign(row: dict) -> Campaign:
    return Campaign(**{**row, **{c: from_db(row[c]) for c in ("started_at", "completed_at", "cancelled_at")}})
