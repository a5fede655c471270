"""The audit trail in MySQL: append and read only (no method updates or deletes an entry, by design)."""

from __future__ import annotations

import json

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.audit import AuditEntry


class AuditRepository:
    """AuditLog on MySQL's append-only audit_log table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append_audit(self, entry: AuditEntry) -> None:
        self._db.execute(
            "INSERT INTO audit_log (agency_id, user_sub, action, case_id, alert_id, object_ids, reason, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (entry.agency_id, entry.user_sub, entry.action.value, entry.case_id, entry.alert_id,
             json.dumps(entry.object_ids), entry.reason, to_db(entry.at)),
        )

    def audit_of_case(self, case_id: str) -> list[AuditEntry]:
        rows = self._db.query(
            "SELECT agency_id, user_sub, action, case_id, alert_id, object_ids, reason, created_at FROM audit_log"
            " WHERE case_id = %s ORDER BY id", (case_id,),
        )
        return [_entry(r) for r in rows]

    def audit_of_object(self, object_id: str) -> list[AuditEntry]:
        """Entries naming the object (a search, a photo) among their object ids, oldest first."""
        rows = self._db.query(
            "SELECT agency_id, user_sub, action, case_id, alert_id, object_ids, reason, created_at FROM audit_log"
            " WHERE JSON_CONTAINS(object_ids, JSON_QUOTE(%s)) ORDER BY id", (object_id,),
        )
        return [_entry(r) for r in rows]


def _entry(r: dict) -> AuditEntry:
    return AuditEntry(**{**r, "object_ids": json.loads(r["object_ids"]), "at": from_db(r.pop("created_at"))})
