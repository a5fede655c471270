"""boto3 adapters of onboarding: the Cognito user pool (Directory) and the admin function (Registry)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from facetrace.case import Agency
from facetrace.onboarding import AgencyRequest, UserExists

AGENCY_CLAIM = "custom:agency_id"


class CognitoDirectory:
    """Directory on a Cognito user pool: users sign in by e-mail and carry their agency's id (immutable)."""

    def __init__(self, cognito: Any, user_pool_id: str) -> None:
        self._cognito = cognito
        self._pool = user_pool_id

    def invite(self, email: str, agency_id: str) -> None:
        try:
            # Cognito generates a temporary password and e-mails the invitation; MFA is set up at first sign-in.
            self._cognito.admin_create_user(
                UserPoolId=self._pool, Username=email, DesiredDeliveryMediums=["EMAIL"],
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                                {"Name": AGENCY_CLAIM, "Value": agency_id}])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "UsernameExistsException":
                raise
            raise UserExists(email, self._agency_of(email)) from None

    def _agency_of(self, email: str) -> str | None:
        user = self._cognito.admin_get_user(UserPoolId=self._pool, Username=email)
        return next((a["Value"] for a in user.get("UserAttributes", []) if a["Name"] == AGENCY_CLAIM), None)


class AdminFunctionError(RuntimeError):
    """The admin function failed; its message says why."""


class AdminFunctionRegistry:
    """Registry through the admin function (the only one that reaches the database), invoked synchronously."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def register(self, request: AgencyRequest, operator: str) -> Agency:
        return Agency(**self._call({"command": "agency-add", **request.model_dump(), "operator": operator}))

    def find(self, agency_id: str) -> Agency | None:
        found = self._call({"command": "agency-get", "agency_id": agency_id})
        return Agency(**found) if found else None

    def invited(self, agency_id: str, emails: list[str], operator: str) -> None:
        self._call({"command": "users-invited", "agency_id": agency_id, "emails": emails, "operator": operator})

    def _call(self, payload: dict) -> Any:
        answer = self._lambda.invoke(FunctionName=self._function, InvocationType="RequestResponse",
                                     Payload=json.dumps(payload).encode())
        body = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            message = body.get("errorMessage") if isinstance(body, dict) else body
            raise AdminFunctionError(f"{self._function} failed: {message}")
        return body
