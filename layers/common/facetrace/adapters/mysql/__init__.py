"""The MySQL store: one object implementing every repository interface over one connection."""

from __future__ import annotations

from facetrace.adapters.mysql.alerts import AlertRepository
from facetrace.adapters.mysql.archive import ArchiveRepository
from facetrace.adapters.mysql.audit import AuditRepository
from facetrace.adapters.mysql.cases import CaseRepository
from facetrace.adapters.mysql.connection import Database, connect_url
from facetrace.adapters.mysql.face_lookup import FaceLookupRepository
from facetrace.adapters.mysql.faces import FaceRepository
from facetrace.adapters.mysql.footage import FootageRepository
from facetrace.adapters.mysql.photos import PhotoRepository
from facetrace.adapters.mysql.reembed import ReembedRepository
from facetrace.adapters.mysql.retention import RetentionRepository
from facetrace.adapters.mysql.searches import SearchRepository
from facetrace.adapters.mysql.shares import ShareRepository
from facetrace.adapters.mysql.subscriptions import SubscriptionRepository


class MySQLStore(CaseRepository, PhotoRepository, FaceRepository, AlertRepository, FaceLookupRepository,
                 ShareRepository, AuditRepository, RetentionRepository, SubscriptionRepository,
                 SearchRepository, ReembedRepository, FootageRepository, ArchiveRepository):
    """Cases, photos, faces, matches, alerts, deliveries, shares, subscriptions, the audit trail, re-embedding
    campaigns, footage and the sighting archive's segment list in one MySQL database."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.db = db

    @classmethod
    def from_url(cls, db_url: str) -> "MySQLStore":
        """A store on the database at db_url (mysql://user:password@host:port/database)."""
        return cls(Database(db_url))


__all__ = ["Database", "MySQLStore", "connect_url"]
