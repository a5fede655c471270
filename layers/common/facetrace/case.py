"""Cases: a missing person, opened and owned by an agency.

CaseDetails holds every rule a case's details obey, once: the API takes it as the body of POST /cases,
NewCase and Case build on it, and casework's CaseChanges is the same model with every field optional.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Protocol

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo,
                      create_model)

# Validation context for rows read back from the store: rules about what may be entered (no control characters,
# not in the future) held when the row was written, and a stored case must stay readable if a rule tightens.
STORED = {"stored": True}
# A client's clock a little ahead of ours is not a claim about the future.
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_SEEN = datetime(1900, 1, 1, tzinfo=timezone.utc)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _entered(info: ValidationInfo) -> bool:
    return not (info.context or {}).get("stored")


def _one_line(value: str, info: ValidationInfo) -> str:
    if _entered(info) and _CONTROL.search(value):
        raise ValueError("must not contain control characters (line breaks, tabs, NUL)")
    return value


def _seen_in_the_past(value: datetime, info: ValidationInfo) -> datetime:
    if value < EARLIEST_SEEN:
        raise ValueError("must not be before 1900-01-01")
    if _entered(info) and value > datetime.now(timezone.utc) + CLOCK_SKEW:
        raise ValueError("must not be in the future")
    return value


def _line(max_length: int, min_length: int | None = None):
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(_one_line)]


PersonName = _line(200, min_length=1)
# strict: an age is a JSON integer, not "34", 34.5 or true.
Age = Annotated[int, Field(strict=True, ge=0, le=130)]
Sex = _line(16)
Place = _line(300)
SeenAt = Annotated[AwareDatetime, AfterValidator(_seen_in_the_past)]
Notes = Annotated[str, Field(max_length=4000)]


class Agency(BaseModel):
    """An organisation that owns cases and receives their alerts."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, max_length=32)


class CaseStatus(str, Enum):
    OPEN = "open"
    CLOSED = "closed"


class CaseDetails(BaseModel):
    """What describes a missing person, with every rule it obeys; the body of POST /cases."""

    # A misspelt field is an error, not a detail silently lost.
    model_config = ConfigDict(extra="forbid")

    person_name: PersonName
    age: Age | None = None
    sex: Sex | None = Field(default=None, description="as the agency records it, e.g. F, M, X")
    last_seen_place: Place | None = None
    last_seen_at: SeenAt | None = Field(default=None, description="with a UTC offset; not in the future")
    notes: Notes | None = None


class NewCase(CaseDetails):
    """What an agency supplies to open a case: the details and its own id."""

    agency_id: str


class Case(NewCase):
    """A case as stored."""

    id: str
    status: CaseStatus = CaseStatus.OPEN
    created_at: datetime


def optional_fields(model: type[BaseModel], name: str, doc: str) -> type[BaseModel]:
    """A model with the fields and rules of `model`, each of which may be left out (and is then None and unset)."""
    # The annotations keep their constraints; only the default changes. A default is not validated, so a
    # required field may be left out but not sent as null.
    fields = {field: (info.rebuild_annotation(), Field(default=None, description=info.description))
              for field, info in model.model_fields.items()}
    return create_model(name, __config__=model.model_config, __doc__=doc, **fields)


class CaseStore(Protocol):
    def add_agency(self, agency: Agency) -> None: ...
    def get_agency(self, agency_id: str) -> Agency | None: ...
    def add_case(self, case: Case) -> None: ...
    def get_case(self, case_id: str) -> Case | None: ...
    def set_case_status(self, case_id: str, status: CaseStatus) -> None: ...


def open_case(store: CaseStore, new: NewCase) -> Case:
    """Open a case for a missing person; the agency must be registered (access.signed_in checks it)."""
    case = Case(**new.model_dump(), id=str(uuid.uuid4()), created_at=datetime.now(timezone.utc))
    store.add_case(case)
    return case


def close_case(store: CaseStore, case_id: str) -> None:
    """Mark a case closed (its faces leave the gallery at once); agencies use casework.close_case, which also erases."""
    if store.get_case(case_id) is None:
        raise LookupError(f"unknown case {case_id}")
    store.set_case_status(case_id, CaseStatus.CLOSED)
