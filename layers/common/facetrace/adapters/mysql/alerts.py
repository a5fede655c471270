"""Alerts and their deliveries in MySQL."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.alert import Alert, AlertStatus

_COLUMNS = (
    "id", "case_id", "sighting_id", "sighting_face_id", "reference_face_id", "score", "model_name", "status",
    "created_at", "published_at", "reviewed_at", "reviewed_by_agency", "reviewed_by_user", "review_note",
)
_SELECT = f"SELECT {', '.join('a.' + c for c in _COLUMNS)} FROM alerts a JOIN cases c ON c.id = a.case_id"
# Cases an agency may see: its own, and those shared with it.
_VISIBLE = ("(c.agency_id = %s OR EXISTS (SELECT 1 FROM case_shares s WHERE s.case_id = a.case_id"
            " AND s.agency_id = %s))")


class AlertRepository:
    """AlertStore and DeliveryStore on MySQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_alert(self, alert: Alert) -> Alert:
        # The unique (sighting_id, case_id) key makes a second alert for the same pair a no-op.
        self._db.execute(
            f"INSERT INTO alerts ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
            " ON DUPLICATE KEY UPDATE id = id",
            (alert.id, alert.case_id, alert.sighting_id, alert.sighting_face_id, alert.reference_face_id,
             alert.score, alert.model_name, alert.status.value, to_db(alert.created_at), to_db(alert.published_at),
             to_db(alert.reviewed_at), alert.reviewed_by_agency, alert.reviewed_by_user, alert.review_note),
        )
        rows = self._db.query(
            f"SELECT {', '.join(_COLUMNS)} FROM alerts WHERE sighting_id = %s AND case_id = %s",
            (alert.sighting_id, alert.case_id),
        )
        return _alert(rows[0])

    def get_alert(self, alert_id: str) -> Alert | None:
        rows = self._db.query(f"SELECT {', '.join(_COLUMNS)} FROM alerts WHERE id = %s", (alert_id,))
        return _alert(rows[0]) if rows else None

    def list_alerts(self, case_id: str | None = None) -> list[Alert]:
        """Alerts, newest first, optionally of one case."""
        where, args = ("WHERE case_id = %s", (case_id,)) if case_id else ("", ())
        rows = self._db.query(f"SELECT {', '.join(_COLUMNS)} FROM alerts {where} ORDER BY created_at DESC", args)
        return [_alert(r) for r in rows]

    def find_alerts(self, agency_id: str, status: AlertStatus | None, case_id: str | None,
                    since: datetime | None, limit: int) -> list[Alert]:
        where, args = [_VISIBLE], [agency_id, agency_id]
        for clause, value in (("a.status = %s", status and status.value), ("a.case_id = %s", case_id),
                              ("a.created_at >= %s", to_db(since))):
            if value is not None:
                where.append(clause)
                args.append(value)
        rows = self._db.query(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY a.created_at DESC LIMIT %s",
                              (*args, limit))
        return [_alert(r) for r in rows]

    def open_alert_counts(self, case_ids: Sequence[str]) -> dict[str, int]:
        """How many alerts of each of these cases wait for review (cases without any are left out)."""
        ids = sorted(set(case_ids))
        if not ids:
            return {}
        rows = self._db.query("SELECT case_id, COUNT(*) AS n FROM alerts WHERE status = 'new' AND case_id IN "
                              f"({', '.join(['%s'] * len(ids))}) GROUP BY case_id", ids)
        return {r["case_id"]: int(r["n"]) for r in rows}

    def set_review(self, alert_id: str, status: AlertStatus, agency_id: str, user_sub: str,
                   note: str | None, at: datetime, only_if: AlertStatus | None = None) -> bool:
        guard, args = (" AND status = %s", (only_if.value,)) if only_if is not None else ("", ())
        changed = self._db.execute(
            "UPDATE alerts SET status = %s, reviewed_at = %s, reviewed_by_agency = %s, reviewed_by_user = %s,"
            f" review_note = %s WHERE id = %s{guard}", (status.value, to_db(at), agency_id, user_sub, note, alert_id, *args),
        )
        return changed == 1

    def mark_published(self, alert_id: str, at: datetime) -> None:
        self._db.execute("UPDATE alerts SET published_at = %s WHERE id = %s", (to_db(at), alert_id))

    def deliveries_of(self, alert_id: str) -> list[dict]:
        """Every delivery attempt recorded for an alert."""
        return self._db.query(
            "SELECT channel, recipient, status, provider_id, error FROM deliveries WHERE alert_id = %s ORDER BY id",
            (alert_id,),
        )

    def alert_exists(self, alert_id: str) -> bool:
        return bool(self._db.query("SELECT 1 FROM alerts WHERE id = %s", (alert_id,)))

    def record_delivery(
        self, alert_id: str, channel: str, recipient: str, ok: bool, provider_id: str | None, error: str | None
    ) -> None:
        self._db.execute(
            "INSERT INTO deliveries (alert_id, channel, recipient, status, provider_id, error)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            # A success is final: a late failure report for the same delivery must not overwrite it.
            " ON DUPLICATE KEY UPDATE provider_id = IF(status = 'sent', provider_id, VALUES(provider_id)),"
            " error = IF(status = 'sent', error, VALUES(error)), status = IF(status = 'sent', status, VALUES(status))",
            (alert_id, channel, recipient, "sent" if ok else "failed", provider_id, error),
        )


def _alert(row: dict) -> Alert:
    return Alert(**{**row, **{c: from_db(row[c]) for c in ("created_at", "published_at", "reviewed_at")}})
