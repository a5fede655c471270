"""Onboarding: an operator registers an agency and invites its first users, without reaching the database.

In AWS the database is private (no route from a laptop), and the agency user pool cannot be reached from inside
the VPC (a pool with a sign-in domain accepts no VPC endpoint). So onboarding is two functions: the admin
function, in the VPC, registers agencies (`register_agency`) and records invitations in the audit trail; the
onboard function, outside, asks it to and then creates each user in the pool with the agency's id as
`custom:agency_id` (`onboard`). Locally `facetrace agency-add` registers an agency directly; the development
sign-in needs no users.
"""

from __future__ import annotations

import re
from typing import Protocol
from uuid import UUID

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, model_validator

from facetrace.access import Viewer
from facetrace.audit import AuditAction, AuditLog, record
from facetrace.case import Agency, CaseStore

logger = Logger(child=True)

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_USERS = 20


class AgencyRequest(BaseModel):
    """What registers an agency: its name, the address that receives its alerts, optionally a phone number."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=EMAIL, description="receives the agency's alerts by default")
    phone: str | None = Field(default=None, max_length=32)


class UnknownAgency(LookupError):
    """No registered agency has this id."""


class UserExists(Exception):
    """The user pool already has a user with this e-mail (its agency attribute cannot change)."""

    def __init__(self, email: str, agency_id: str | None) -> None:
        super().__init__(f"user {email} already exists (agency {agency_id or 'none'})")
        self.email, self.agency_id = email, agency_id


class RegistryStore(CaseStore, AuditLog, Protocol):
    """What registering an agency writes."""


def register_agency(store: RegistryStore, request: AgencyRequest, operator: str) -> Agency:
    """Register an agency (audited as agency.registered, by the operator) and return it with its new id."""
    agency = Agency(name=request.name, email=request.email, phone=request.phone)
    record(store, Viewer(agency.id, operator), AuditAction.AGENCY_REGISTERED, object_ids=[agency.id], reason=agency.name)
    store.add_agency(agency)
    logger.info("agency registered", extra={"agency_id": agency.id, "operator": operator})
    return agency


def record_invitations(store: RegistryStore, agency_id: str, emails: list[str], operator: str) -> int:
    """Audit that these users of a registered agency were invited; return how many entries were written."""
    if store.get_agency(agency_id) is None:
        raise UnknownAgency(f"agency {agency_id} is not registered")
    for email in emails:
        record(store, Viewer(agency_id, operator), AuditAction.USER_INVITED, object_ids=[email])
    return len(emails)


class Registry(Protocol):
    """The agencies' register as the onboard function reaches it (through the admin function in AWS)."""

    def register(self, request: AgencyRequest, operator: str) -> Agency: ...
    def find(self, agency_id: str) -> Agency | None: ...
    def invited(self, agency_id: str, emails: list[str], operator: str) -> None: ...


class Directory(Protocol):
    """Where agency staff sign in (the Cognito user pool)."""

    def invite(self, email: str, agency_id: str) -> None:
        """Create the user with custom:agency_id and e-mail an invitation; UserExists if the e-mail is taken."""
        ...


class OnboardRequest(BaseModel):
    """Register a new agency (`agency`) or name a registered one (`agency_id`), and the users to invite."""

    model_config = ConfigDict(extra="forbid")

    agency: AgencyRequest | None = None
    agency_id: UUID | None = None
    users: list[str] = Field(default_factory=list, max_length=MAX_USERS,
                             description="e-mail addresses of the agency's staff to invite")
    operator: str = Field(min_length=1, max_length=200, description="who asks (recorded in the audit trail; "
                          "CloudTrail records the IAM identity that invoked the function)")

    @model_validator(mode="after")
    def _one_agency(self) -> "OnboardRequest":
        if (self.agency is None) == (self.agency_id is None):
            raise ValueError("give either agency (to register one) or agency_id (a registered one)")
        bad = [u for u in self.users if not _is_email(u)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
        return self


class InvitedUser(BaseModel):
    """What happened to one user: invited now, or already in the pool (and for which agency)."""

    email: str
    status: str = Field(description="invited | exists")
    agency_id: str | None = None


class OnboardReport(BaseModel):
    """The agency (new or found) and each user's outcome."""

    agency: Agency
    users: list[InvitedUser]


def onboard(registry: Registry, directory: Directory, request: OnboardRequest) -> OnboardReport:
    """Register (or find) the agency, then invite each user with the agency's id; audit the invitations."""
    if request.agency is not None:
        agency = registry.register(request.agency, request.operator)
    else:
        agency = registry.find(str(request.agency_id))
        if agency is None:
            raise UnknownAgency(f"agency {request.agency_id} is not registered")
    users = []
    for email in dict.fromkeys(u.strip().lower() for u in request.users):
        try:
            directory.invite(email, agency.id)
            users.append(InvitedUser(email=email, status="invited", agency_id=agency.id))
        except UserExists as exists:
            users.append(InvitedUser(email=email, status="exists", agency_id=exists.agency_id))
    invited = [u.email for u in users if u.status == "invited"]
    if invited:
        registry.invited(agency.id, invited, request.operator)
    logger.info("agency onboarded", extra={"agency_id": agency.id, "invited": len(invited),
                                           "existing": len(users) - len(invited)})
    return OnboardReport(agency=agency, users=users)


def _is_email(text: str) -> bool:
    return re.match(EMAIL, text.strip()) is not None and len(text) <= 254
