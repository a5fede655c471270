"""Cases: a missing person, opened and owned by an agency."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import Enum
from typing import Protocol

from pydantic import BaseModel, Field


class Agency(BaseModel):
    """An organisation that owns cases and receives their alerts."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, max_length=32)


class CaseStatus(str, Enum):
    OPEN = "open"
    CLOSED = "closed"


class NewCase(BaseModel):
    """What an agency supplies to open a case."""

    agency_id: str
    person_name: str = Field(min_length=1, max_length=200)
    age: int | None = Field(default=None, ge=0, le=130)
    sex: str | None = Field(default=None, max_length=16)
    last_seen_place: str | None = Field(default=None, max_length=300)
    last_seen_at: datetime | None = None
    notes: str | None = Field(default=None, max_length=4000)


class Case(NewCase):
    """A case as stored."""

    id: str
    status: CaseStatus = CaseStatus.OPEN
    created_at: datetime


class CaseStore(Protocol):
    def add_agency(self, agency: Agency) -> None: ...
    def get_agency(self, agency_id: str) -> Agency | None: ...
    def add_case(self, case: Case) -> None: ...
    def get_case(self, case_id: str) -> Case | None: ...
    def set_case_status(self, case_id: str, status: CaseStatus) -> None: ...


def open_case(store: CaseStore, new: NewCase) -> Case:
    """Open a case for a missing person; the agency must exist."""
    if store.get_agency(new.agency_id) is None:
        raise LookupError(f"unknown agency {new.agency_id}")
    case = Case(**new.model_dump(), id=str(uuid.uuid4()), created_at=datetime.now(timezone.utc))
    store.add_case(case)
    return case


def close_case(store: CaseStore, case_id: str) -> None:
    """Mark a case closed (its faces leave the gallery at once); agencies use casework.close_case, which also erases."""
    if store.get_case(case_id) is None:
        raise LookupError(f"unknown case {case_id}")
    store.set_case_status(case_id, CaseStatus.CLOSED)
