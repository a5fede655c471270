"""Deliveries: every attempt to tell an agency about an alert, kept in MySQL."""

from __future__ import annotations

from typing import Protocol

from facetrace.messages import DeliveryRecord


class DeliveryStore(Protocol):
    def record_delivery(
        self, alert_id: str, channel: str, recipient: str, ok: bool, provider_id: str | None, error: str | None
    ) -> None:
        """Store the latest outcome for (alert, channel, recipient); a success is never overwritten by a failure."""
        ...


def record_delivery(record: DeliveryRecord, store: DeliveryStore) -> None:
    """Store one delivery report from notify."""
    store.record_delivery(record.alert_id, record.channel, record.recipient, record.ok, record.provider_id, record.error)
