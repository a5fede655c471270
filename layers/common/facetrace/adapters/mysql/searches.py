"""Searches by photo and their candidates in MySQL."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.photo_search import Search, SearchCandidate


class SearchRepository:
    """SearchStore on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_search(self, search: Search) -> None:
        self._db.execute(
            "INSERT INTO searches (id, agency_id, user_sub, created_at, completed_at) VALUES (%s, %s, %s, %s, %s)",
            (search.id, search.agency_id, search.user_sub, to_db(search.created_at), to_db(search.completed_at)),
        )

    def get_search(self, search_id: str) -> Search | None:
        rows = self._db.query(
            "SELECT id, agency_id, user_sub, created_at, completed_at FROM searches WHERE id = %s", (search_id,)
        )
        if not rows:
            return None
        row = rows[0]
        return Search(**{**row, "created_at": from_db(row["created_at"]), "completed_at": from_db(row["completed_at"])})

    def visible_case_ids(self, agency_id: str) -> set[str]:
        rows = self._db.query(
            "SELECT id FROM cases WHERE status = 'open' AND (agency_id = %s"
            " OR id IN (SELECT case_id FROM case_shares WHERE agency_id = %s))", (agency_id, agency_id),
        )
        return {r["id"] for r in rows}

    def complete_search(self, search_id: str, candidates: Sequence[SearchCandidate], at: datetime) -> None:
        # A retried job replaces what an earlier attempt stored.
        with self._db.transaction():
            self._db.execute("DELETE FROM search_candidates WHERE search_id = %s", (search_id,))
            self._db.executemany(
                "INSERT INTO search_candidates (search_id, ordinal, case_id, reference_face_id, face_index, score)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(search_id, n, c.case_id, c.reference_face_id, c.face_index, c.score)
                 for n, c in enumerate(candidates)],
            )
            self._db.execute("UPDATE searches SET completed_at = %s WHERE id = %s", (to_db(at), search_id))

    def search_candidates(self, search_id: str) -> list[SearchCandidate]:
        rows = self._db.query(
            "SELECT s.case_id, c.person_name, s.score, s.reference_face_id, s.face_index FROM search_candidates s"
            " JOIN cases c ON c.id = s.case_id WHERE s.search_id = %s ORDER BY s.ordinal", (search_id,),
        )
        return [SearchCandidate(**{**r, "score": round(float(r["score"]), 4)}) for r in rows]
