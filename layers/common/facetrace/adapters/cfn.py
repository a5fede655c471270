"""Answering CloudFormation custom resources (the response is a PUT to a presigned S3 URL)."""

from __future__ import annotations

import json
import urllib.request


def respond(event: dict, status: str, reason: str, physical_id: str, data: dict | None = None) -> None:
    """Tell CloudFormation whether the custom resource succeeded (status SUCCESS or FAILED)."""
    body = json.dumps({
        "Status": status,
        "Reason": reason[:3500],
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data or {},
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - CloudFormation's presigned https URL
        pass
