"""Admin Lambda, inside the VPC: operators' commands that need the database (register and list agencies,
record invitations, purge now), invoked with `aws lambda invoke` or by the onboard function; the daily
EventBridge schedule that erases what the retention rules make due, and the hourly one that copies settled
sighting faces into the sighting archive (`{"command": "archive"}`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Callable, Literal
from uuid import UUID

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from facetrace.config import Settings
from facetrace.footage.retention import purge_footage
from facetrace.onboarding import AgencyRequest, record_invitations, register_agency
from facetrace.retention import purge_due, retention_start
from facetrace.sighting_archive import archive_sightings, drop_segments
from facetrace.telemetry import count_erased
from facetrace.wiring import Wiring

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME, shared with the domain's child loggers

PURGE_BATCH = 500


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgencyAdd(AgencyRequest):
    command: Literal["agency-add"]
    operator: str = Field(min_length=1, max_length=200, description="who registers it (audited)")


class AgencyGet(_Command):
    command: Literal["agency-get"]
    agency_id: UUID


class AgencyList(_Command):
    command: Literal["agency-list"]


class UsersInvited(_Command):
    command: Literal["users-invited"]
    agency_id: UUID
    emails: list[str] = Field(min_length=1, max_length=20)
    operator: str = Field(min_length=1, max_length=200)


class Purge(_Command):
    command: Literal["purge"]


class Archive(_Command):
    command: Literal["archive"]
    settle_s: int = Field(default=600, ge=0, le=86_400, description="archive only face rows at least this old")


Command = TypeAdapter(Annotated[AgencyAdd | AgencyGet | AgencyList | UsersInvited | Purge | Archive,
                                Field(discriminator="command")])


def make_handler(wiring: Wiring) -> Callable[[dict, Any], Any]:
    """The Lambda handler over the given wiring (tests pass their own)."""

    def purge(context: Any) -> dict:
        report = purge_due(wiring.store, wiring.objects, wiring.settings.retention_days, PURGE_BATCH,
                           lambda: context.get_remaining_time_in_millis() / 1000)
        count_erased(report.references, report.sightings)
        clips = purge_footage(wiring.store, wiring.objects, wiring.settings.retention_days, limit=PURGE_BATCH)
        expired = wiring.store.expired_archive_segments(retention_start(wiring.settings.retention_days))
        segments = drop_segments(wiring.store, wiring.objects, expired)
        return {"erased_references": report.references, "erased_sightings": report.sightings,
                "erased_footage": clips, "erased_archive_segments": segments,
                "complete": report.complete and clips < PURGE_BATCH}

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> Any:
        if event.get("source") == "aws.events":  # the daily schedule
            return purge(context)
        command = Command.validate_python(event)
        logger.info("admin command", extra={"command": command.command})
        match command:
            case AgencyAdd():
                request = AgencyRequest(**command.model_dump(exclude={"command", "operator"}))
                return register_agency(wiring.store, request, command.operator).model_dump()
            case AgencyGet():
                found = wiring.store.get_agency(str(command.agency_id))
                return found.model_dump() if found else None
            case AgencyList():
                return [a.model_dump() for a in wiring.store.list_agencies()]
            case UsersInvited():
                return {"recorded": record_invitations(wiring.store, str(command.agency_id), command.emails,
                                                       command.operator)}
            case Purge():
                return purge(context)
            case Archive():
                written = archive_sightings(wiring.store, wiring.objects, settle=timedelta(seconds=command.settle_s))
                return {"segments": len(written), "faces": sum(s.faces for s in written)}

    return handler


handler = make_handler(Wiring(Settings()))
