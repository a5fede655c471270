"""Onboarding in AWS without database access from a laptop: the onboard function registers an agency through
the admin function and invites its users into Cognito; the admin function also runs the daily purge."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from facetrace.adapters.onboarding import AdminFunctionRegistry, CognitoDirectory
from facetrace.case import CaseStatus
from facetrace.messages import PhotoKind
from facetrace.photo import PhotoStatus
from functions.admin import app as admin_app
from functions.admin.app import make_handler as admin_handler
from functions.onboard.app import make_handler as onboard_handler
from tests import fakes
from tests.api import FakeWiring
from tests.footage_fakes import FootageMemoryStore
from tests.events import context

REGION = "us-east-1"


class InProcessLambda:
    """The Lambda API's invoke, answered by the admin handler in this process (as Lambda would, errors included)."""

    def __init__(self, handler) -> None:
        self.handler, self.calls = handler, []

    def invoke(self, FunctionName, InvocationType, Payload):  # noqa: N803 - boto3's argument names
        event = json.loads(Payload)
        self.calls.append((FunctionName, InvocationType, event))
        try:
            body, error = self.handler(event, context("admin")), None
        except Exception as exc:  # Lambda reports an unhandled error as FunctionError with the message
            body, error = {"errorMessage": str(exc), "errorType": type(exc).__name__}, "Unhandled"
        answer = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}
        return {**answer, "FunctionError": error} if error else answer


class Cloud:
    """The admin function over in-memory fakes, a moto user pool like the template's, and the onboard function."""

    def __init__(self) -> None:
        self.admin_wiring = FakeWiring(store=FootageMemoryStore())  # the daily purge erases footage too
        self.store = self.admin_wiring.store
        self.admin = admin_handler(self.admin_wiring)
        self.cognito = boto3.client("cognito-idp", region_name=REGION)
        self.pool = self.cognito.create_user_pool(
            PoolName="agencies", UsernameAttributes=["email"],
            Schema=[{"Name": "agency_id", "AttributeDataType": "String", "Mutable": False}])["UserPool"]["Id"]
        self.lambda_ = InProcessLambda(self.admin)
        wiring = type("OnboardWiring", (), {"onboarding": lambda _: (
            AdminFunctionRegistry(self.lambda_, "ft-admin"), CognitoDirectory(self.cognito, self.pool))})()
        self.onboard = onboard_handler(wiring)

    def agency_of(self, email: str) -> str:
        user = self.cognito.admin_get_user(UserPoolId=self.pool, Username=email)
        return {a["Name"]: a["Value"] for a in user["UserAttributes"]}["custom:agency_id"]


@pytest.fixture
def cloud():
    with mock_aws():
        yield Cloud()


def test_one_call_registers_an_agency_and_invites_its_first_users(cloud):
    # GIVEN an operator with nothing but the right to invoke the onboard function
    # WHEN they onboard an agency with two officers
    report = cloud.onboard({"agency": {"name": "County Police", "email": "mp@county.example"},
                            "users": ["Officer.One@county.example", "two@county.example"], "operator": "ops-jane"},
                           context("onboard"))
    # THEN the agency is registered in the database (through the admin function, synchronously)
    agency_id = report["agency"]["id"]
    assert cloud.store.get_agency(agency_id).name == "County Police"
    assert cloud.lambda_.calls[0][:2] == ("ft-admin", "RequestResponse")
    # AND both users exist in the user pool with the agency's id as their custom:agency_id
    assert [(u["email"], u["status"]) for u in report["users"]] == [
        ("officer.one@county.example", "invited"), ("two@county.example", "invited")]
    assert cloud.agency_of("two@county.example") == agency_id
    # AND the registration and the invitations are in the audit trail, by the operator
    entries = [(e.action.value, e.object_ids, e.user_sub) for e in cloud.store.audit]
    assert entries == [("agency.registered", [agency_id], "ops-jane"),
                       ("agency.user_invited", ["officer.one@county.example"], "ops-jane"),
                       ("agency.user_invited", ["two@county.example"], "ops-jane")]


def test_more_users_for_a_registered_agency_and_an_existing_user_is_reported_not_moved(cloud):
    # GIVEN an onboarded agency with one officer
    first = cloud.onboard({"agency": {"name": "A", "email": "a@a.example"}, "users": ["x@a.example"],
                           "operator": "ops"}, context("onboard"))
    agency_id = first["agency"]["id"]
    # WHEN a second agency is onboarded naming the same officer, and the first one adds another officer
    other = cloud.onboard({"agency": {"name": "B", "email": "b@b.example"}, "users": ["x@a.example"],
                           "operator": "ops"}, context("onboard"))
    more = cloud.onboard({"agency_id": agency_id, "users": ["y@a.example"], "operator": "ops"}, context("onboard"))
    # THEN the existing user stays with their agency (the attribute is immutable) and is reported as such
    assert other["users"] == [{"email": "x@a.example", "status": "exists", "agency_id": agency_id}]
    assert cloud.agency_of("x@a.example") == agency_id
    # AND the new officer joins the registered agency
    assert more["users"][0]["status"] == "invited" and cloud.agency_of("y@a.example") == agency_id


def test_users_of_an_unregistered_agency_are_refused_before_cognito_is_touched(cloud):
    # GIVEN an agency id nobody registered  WHEN an operator invites a user to it  THEN it fails, naming why
    with pytest.raises(LookupError, match="not registered"):
        cloud.onboard({"agency_id": "8d7f6c5e-0000-4000-8000-000000000000", "users": ["u@x.example"],
                       "operator": "ops"}, context("onboard"))
    assert cloud.cognito.list_users(UserPoolId=cloud.pool)["Users"] == []


@pytest.mark.parametrize("event", [
    {"users": ["u@x.example"], "operator": "ops"},  # no agency at all
    {"agency": {"name": "A", "email": "a@a.example"}, "agency_id": "8d7f6c5e-0000-4000-8000-000000000000",
     "operator": "ops"},  # both
    {"agency": {"name": "A", "email": "not-an-address"}, "operator": "ops"},
    {"agency": {"name": "A", "email": "a@a.example"}, "users": ["nobody"], "operator": "ops"},
    {"agency": {"name": "A", "email": "a@a.example"}},  # who asks is required
])
def test_a_malformed_onboarding_request_is_refused_and_registers_nothing(cloud, event):
    with pytest.raises(ValidationError):
        cloud.onboard(event, context("onboard"))
    assert cloud.store.agencies == {} and cloud.lambda_.calls == []


def test_admin_commands_register_find_and_list_agencies(cloud):
    # GIVEN the admin function  WHEN an operator registers an agency, then reads it and the list
    added = cloud.admin({"command": "agency-add", "name": "Harbour Police", "email": "duty@harbour.example",
                         "operator": "ops"}, context("admin"))
    found = cloud.admin({"command": "agency-get", "agency_id": added["id"]}, context("admin"))
    listed = cloud.admin({"command": "agency-list"}, context("admin"))
    # THEN each answer is plain JSON an `aws lambda invoke` prints
    assert found == added and [a["id"] for a in listed] == [added["id"]]
    assert cloud.admin({"command": "agency-get", "agency_id": "8d7f6c5e-0000-4000-8000-000000000000"},
                       context("admin")) is None
    json.dumps([added, found, listed])
    # AND an unknown command is refused
    with pytest.raises(ValidationError):
        cloud.admin({"command": "drop-database"}, context("admin"))


def _erasable(store, objects, days_old: int):
    photo = fakes.photo(PhotoKind.SIGHTING, status=PhotoStatus.PROCESSED, place="Quay 3")
    store.add_photo(photo)
    store.photo_created[photo.id] = datetime.now(timezone.utc) - timedelta(days=days_old)
    objects.add(photo.s3_key, b"jpeg")
    return photo


def test_the_daily_schedule_erases_what_is_due_and_reports_it(cloud, monkeypatch):
    # GIVEN 5 sightings past retention, 1 recent one, and a closed case whose reference photo is past its grace
    wiring, store = cloud.admin_wiring, cloud.store
    old = [_erasable(store, wiring.objects, 120) for _ in range(5)]
    recent = _erasable(store, wiring.objects, 3)
    case = fakes.stored_case(store, CaseStatus.CLOSED)
    ref = fakes.photo(PhotoKind.REFERENCE, case.id, status=PhotoStatus.PROCESSED)
    store.add_photo(ref)
    wiring.objects.add(ref.s3_key, b"jpeg")
    store.delete_after[case.id] = datetime.now(timezone.utc) - timedelta(days=1)
    monkeypatch.setattr(admin_app, "PURGE_BATCH", 2)  # several batches in one run
    # WHEN EventBridge's daily event arrives
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    report = cloud.admin(scheduled, context("admin"))
    # THEN every due photo is erased (object, contact, place) in batches, the recent one is kept, and it says so
    assert report == {"erased_references": 1, "erased_sightings": 5, "erased_footage": 0, "erased_archive_segments": 0,
        "complete": True}
    assert all(store.get_photo(p.id).erased_at and store.get_photo(p.id).place is None for p in old)
    assert set(wiring.objects.objects) == {recent.s3_key}
    # AND an operator's "purge now" finds nothing more to do
    assert cloud.admin({"command": "purge"}, context("admin")) == {
        "erased_references": 0, "erased_sightings": 0, "erased_footage": 0, "erased_archive_segments": 0,
        "complete": True}


def test_a_purge_out_of_time_stops_between_batches_and_says_it_is_incomplete(cloud, monkeypatch):
    # GIVEN more due sightings than one batch, and an invocation with little time left
    for _ in range(5):
        _erasable(cloud.store, cloud.admin_wiring.objects, 200)
    monkeypatch.setattr(admin_app, "PURGE_BATCH", 2)
    short = context("admin")
    short.get_remaining_time_in_millis = lambda: 30_000
    # WHEN it runs  THEN one batch is erased and the report says the next run goes on
    report = cloud.admin({"command": "purge"}, short)
    assert report == {"erased_references": 0, "erased_sightings": 2, "erased_footage": 0,
                      "erased_archive_segments": 0, "complete": False}


def test_the_hourly_archive_copies_sighting_faces_and_the_purge_drops_them_once_expired(cloud):
    # GIVEN a sighting face that arrived 120 days ago, archived, then one from today, archived an hour later
    store, objects = cloud.store, cloud.admin_wiring.objects
    archived = []
    for days_old in (120, 0):
        photo = _erasable(store, objects, days_old)
        store.add_faces(photo.id, fakes.MODEL, [fakes.face(0, fakes.unit(1))], [True])
        archived.append(cloud.admin({"command": "archive", "settle_s": 0}, context("admin")))
    old_key, new_key = sorted(k for k in objects.objects if k.startswith("archive/"))
    # WHEN the daily purge runs
    report = cloud.admin({"command": "purge"}, context("admin"))
    # THEN each run wrote one segment; the one whose faces all expired is gone, the other stays
    assert archived == [{"segments": 1, "faces": 1}] * 2
    assert report["erased_archive_segments"] == 1 and old_key not in objects.objects and new_key in objects.objects
    # AND a face row too young to be settled is left for the next run
    young = _erasable(store, objects, 0)
    store.add_faces(young.id, fakes.MODEL, [fakes.face(0, fakes.unit(2))], [True])
    assert cloud.admin({"command": "archive"}, context("admin")) == {"segments": 0, "faces": 0}
