"""Agencies and cases in MySQL."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.case import STORED, Agency, Case, CaseStatus

_CASE_COLUMNS = "id, agency_id, person_name, age, sex, last_seen_place, last_seen_at, notes, status, created_at"


class CaseRepository:
    """CaseStore on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_agency(self, agency: Agency) -> None:
        self._db.execute(
            "INSERT INTO agencies (id, name, email, phone) VALUES (%s, %s, %s, %s)",
            (agency.id, agency.name, agency.email, agency.phone),
        )

    def get_agency(self, agency_id: str) -> Agency | None:
        rows = self._db.query("SELECT id, name, email, phone FROM agencies WHERE id = %s", (agency_id,))
        return Agency(**rows[0]) if rows else None

    def add_case(self, case: Case) -> None:
        self._db.execute(
            f"INSERT INTO cases ({_CASE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (case.id, case.agency_id, case.person_name, case.age, case.sex, case.last_seen_place,
             to_db(case.last_seen_at), case.notes, case.status.value, to_db(case.created_at)),
        )

    def list_agencies(self) -> list[Agency]:
        """Every registered agency, by name."""
        rows = self._db.query("SELECT id, name, email, phone FROM agencies ORDER BY name, id")
        return [Agency(**r) for r in rows]

    def get_case(self, case_id: str) -> Case | None:
        rows = self._db.query(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = %s", (case_id,))
        return _case(rows[0]) if rows else None

    def visible_cases(self, agency_id: str, status: CaseStatus | None, before: tuple[datetime, str] | None,
                      limit: int) -> list[Case]:
        where = ["(c.agency_id = %s OR EXISTS (SELECT 1 FROM case_shares s WHERE s.case_id = c.id AND s.agency_id = %s))"]
        args: list = [agency_id, agency_id]
        if status is not None:
            where.append("c.status = %s")
            args.append(status.value)
        if before is not None:
            where.append("(c.created_at < %s OR (c.created_at = %s AND c.id < %s))")
            args += [to_db(before[0]), to_db(before[0]), before[1]]
        columns = ", ".join(f"c.{c.strip()}" for c in _CASE_COLUMNS.split(","))
        rows = self._db.query(f"SELECT {columns} FROM cases c WHERE {' AND '.join(where)}"
                              " ORDER BY c.created_at DESC, c.id DESC LIMIT %s", (*args, limit))
        return [_case(r) for r in rows]

    def person_names(self, case_ids: Sequence[str]) -> dict[str, str]:
        """The person's name of each of these cases that exists."""
        ids = sorted(set(case_ids))
        if not ids:
            return {}
        rows = self._db.query(f"SELECT id, person_name FROM cases WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)
        return {r["id"]: r["person_name"] for r in rows}

    def set_case_status(self, case_id: str, status: CaseStatus) -> None:
        with self._db.transaction():
            self._db.execute(
                "UPDATE cases SET status = %s, closed_at = IF(%s = 'closed', UTC_TIMESTAMP(6), NULL) WHERE id = %s",
                (status.value, status.value, case_id),
            )
            self._db.execute("INSERT INTO case_events (case_id, status) VALUES (%s, %s)", (case_id, status.value))

    def update_case(self, case: Case) -> None:
        self._db.execute(
            "UPDATE cases SET person_name = %s, age = %s, sex = %s, last_seen_place = %s, last_seen_at = %s,"
            " notes = %s WHERE id = %s",
            (case.person_name, case.age, case.sex, case.last_seen_place, to_db(case.last_seen_at), case.notes, case.id),
        )


def _case(row: dict) -> Case:
    row = {**row, "last_seen_at": from_db(row["last_seen_at"]), "created_at": from_db(row["created_at"])}
    return Case.model_validate(row, context=STORED)
