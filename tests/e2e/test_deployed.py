"""End to end against a real deployment: the stack named by AWS_SAM_STACK_NAME, found through its Outputs.

Runs only when AWS_SAM_STACK_NAME is set (with AWS credentials for that account); skipped everywhere else.
  AWS_SAM_STACK_NAME=facetrace-dev pytest tests/e2e/test_deployed.py
FACETRACE_E2E_AGENCY_TOKEN (a Cognito ID token of a user whose custom:agency_id names an existing agency)
adds the agency path: open a case, enrol a reference photo, and see the sighting's alert raised and e-mailed.
The first job may wait for a GPU instance to start from zero: FACETRACE_E2E_TIMEOUT_S (default 1500).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from devstack.demo import demo_photos
from devstack.users import AgencyUser, Citizen

STACK = os.environ.get("AWS_SAM_STACK_NAME", "")
TOKEN = os.environ.get("FACETRACE_E2E_AGENCY_TOKEN", "")
TIMEOUT_S = float(os.environ.get("FACETRACE_E2E_TIMEOUT_S", "1500"))
POLL_S = 10

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not STACK, reason="AWS_SAM_STACK_NAME is not set: this test needs a deployed stack "
                                         "and AWS credentials (see README, Deploying to AWS)"),
]


@pytest.fixture(autouse=True)
def _aws_env():
    """Override tests/conftest.py's fake credentials: this module talks to the real account on purpose."""


@dataclass
class CognitoAgencyUser(AgencyUser):
    """An agency user signed in through Cognito: the API's authorizer reads the ID token."""

    token: str = ""

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": self.token}


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[list[Path], Path]:
    references, sighting, _ = demo_photos(tmp_path_factory.mktemp("photos"))
    return references, sighting


def wait_until_settled(citizen: Citizen, receipt_id: str) -> dict:
    """Poll a receipt until the photo is no longer pending/received, or fail after TIMEOUT_S."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        receipt = citizen.receipt(receipt_id)
        if receipt["status"] not in ("pending", "received"):
            return receipt
        time.sleep(POLL_S)
    pytest.fail(f"photo {receipt_id} not processed within {TIMEOUT_S:.0f} s (is the worker image pushed?)")


def log_events(group: str, pattern: str) -> list[dict]:
    """Structured log lines of one function matching a CloudWatch Logs JSON filter pattern."""
    events = boto3.client("logs").filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
    return [json.loads(e["message"]) for e in events]


def test_a_citizen_sighting_is_processed(outputs, photos):
    # GIVEN the deployed API and a photo with a face
    citizen = Citizen(outputs["ApiUrl"])
    # WHEN a citizen asks for a ticket, uploads through the presigned POST and polls the receipt
    receipt_id = citizen.report_sighting(photos[1], place="e2e test")
    receipt = wait_until_settled(citizen, receipt_id)
    # THEN the photo went through ingest, the GPU worker and matching
    assert receipt["status"] == "processed", receipt


@pytest.mark.skipif(not TOKEN, reason="FACETRACE_E2E_AGENCY_TOKEN is not set: the agency/alert path needs a signed-in agency user")
def test_a_sighting_of_an_enrolled_person_raises_and_delivers_an_alert(outputs, photos):
    # GIVEN an open case with a processed reference photo
    officer = CognitoAgencyUser(outputs["ApiUrl"], agency_id="", token=TOKEN)
    citizen = Citizen(outputs["ApiUrl"])
    case = officer.open_case(person_name="E2E Test Person", last_seen_place="e2e test")
    reference = officer.add_reference_photo(case["id"], photos[0][0])
    assert wait_until_settled(citizen, reference)["status"] == "processed"
    # WHEN a citizen uploads a sighting of that person and it is processed
    assert wait_until_settled(citizen, citizen.report_sighting(photos[1]))["status"] == "processed"
    # THEN the match function raised an alert for the case and the notify function e-mailed it
    deadline, raised, delivered = time.monotonic() + 300, [], []
    while time.monotonic() < deadline and not delivered:
        raised = log_events(f"/aws/lambda/{STACK}-match", f'{{ $.case_id = "{case["id"]}" }}')
        for alert_id in {e["alert_id"] for e in raised if e.get("message") == "alert raised"}:
            delivered += log_events(f"/aws/lambda/{STACK}-notify",
                                    f'{{ $.alert_id = "{alert_id}" && $.channel = "email" }}')
        time.sleep(0 if delivered else POLL_S)
    assert raised, "no alert raised for the case"
    assert delivered, "the alert was not e-mailed"
