"""Alert subscriptions of agencies in MySQL."""

from __future__ import annotations

from facetrace.adapters.mysql._time import from_db, to_db
from facetrace.adapters.mysql.connection import Database
from facetrace.subscription import Subscription

_COLUMNS = ("id", "agency_id", "case_id", "region", "channel", "address", "created_at")


class SubscriptionRepository:
    """SubscriptionStore on MySQL; every read and delete is scoped to one agency."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_subscription(self, subscription: Subscription, by_user: str) -> None:
        s = subscription
        self._db.execute(
            f"INSERT INTO subscriptions ({', '.join(_COLUMNS)}, created_by_user) VALUES ({', '.join(['%s'] * 8)})",
            (s.id, s.agency_id, s.case_id, s.region, s.channel, s.address, to_db(s.created_at), by_user),
        )

    def subscriptions_of(self, agency_id: str) -> list[Subscription]:
        rows = self._db.query(
            f"SELECT {', '.join(_COLUMNS)} FROM subscriptions WHERE agency_id = %s ORDER BY created_at, id", (agency_id,))
        return [Subscription(**{**r, "created_at": from_db(r["created_at"])}) for r in rows]

    def delete_subscription(self, subscription_id: str, agency_id: str) -> bool:
        deleted = self._db.execute("DELETE FROM subscriptions WHERE id = %s AND agency_id = %s",
                                   (subscription_id, agency_id))
        return deleted == 1
