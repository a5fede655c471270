"""Case shares between agencies in MySQL."""

from __future__ import annotations

from facetrace.adapters.mysql.connection import Database


class ShareRepository:
    """ShareStore on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_share(self, case_id: str, agency_id: str, by_user: str) -> bool:
        inserted = self._db.execute(
            "INSERT IGNORE INTO case_shares (case_id, agency_id, shared_by_user) VALUES (%s, %s, %s)",
            (case_id, agency_id, by_user),
        )
        return inserted == 1

    def is_shared_with(self, case_id: str, agency_id: str) -> bool:
        rows = self._db.query("SELECT 1 FROM case_shares WHERE case_id = %s AND agency_id = %s", (case_id, agency_id))
        return bool(rows)
