"""Who may see a case: the agency that owns it and the agencies it was shared with; only the owner changes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from facetrace.case import Case, CaseStore


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: their agency and their user id (the Cognito `sub`)."""

    agency_id: str
    user_sub: str


class AgencyNotRegistered(PermissionError):
    """A valid sign-in whose agency the store does not know (not yet, or no longer registered); answered as 403."""


class NotVisible(LookupError):
    """The object does not exist for this agency; answered as 404 so that ids reveal nothing."""


class OwnerOnly(PermissionError):
    """The agency may see the case (shared) but only its owner may do this; answered as 403."""


class ShareStore(Protocol):
    def add_share(self, case_id: str, agency_id: str, by_user: str) -> bool:
        """Share the case with the agency unless it already is; True when the share is new."""
        ...

    def is_shared_with(self, case_id: str, agency_id: str) -> bool: ...


def signed_in(agencies: CaseStore, agency_id: str, user_sub: str) -> Viewer:
    """The Viewer of a signed-in user, once its agency is known to be registered (one lookup)."""
    if agencies.get_agency(agency_id) is None:
        raise AgencyNotRegistered("agency not registered")
    return Viewer(agency_id, user_sub)


class AccessStore(CaseStore, ShareStore, Protocol):
    """Cases and who they were shared with: what deciding visibility reads."""


def can_see(case: Case, viewer: Viewer, shares: ShareStore) -> bool:
    """True for the owning agency and for agencies the case was shared with."""
    return case.agency_id == viewer.agency_id or shares.is_shared_with(case.id, viewer.agency_id)


def visible_case(store: AccessStore, viewer: Viewer, case_id: str) -> Case:
    """The case if the viewer's agency owns it or it was shared with it, else NotVisible."""
    case = store.get_case(case_id)
    if case is None or not can_see(case, viewer, store):
        raise NotVisible(f"case {case_id} not found")
    return case


def owned_case(store: AccessStore, viewer: Viewer, case_id: str) -> Case:
    """The case if the viewer's agency owns it; NotVisible if it cannot see it, OwnerOnly if it only shares it."""
    case = visible_case(store, viewer, case_id)
    if case.agency_id != viewer.agency_id:
        raise OwnerOnly(f"only the owning agency may change case {case_id}")
    return case
