"""Helpers of the template tests: the parsed template, and readers of its functions, queues and IAM."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO / "infra" / "template.yaml"

FUNCTIONS = {
    "IngestFunction": "ingest", "MatchFunction": "match", "NotifyFunction": "notify",
    "ApiFunction": "api", "DeadLetterFunction": "deadletter", "MigrateFunction": "migrate",
    "DeliveriesFunction": "deliveries", "AdminFunction": "admin", "OnboardFunction": "onboard",
    "FootageFunction": "footage", "ArchiveSearchFunction": "archive_search",
}


# ---------------------------------------------------------------------------------- helpers
def resources(template: dict, type_: str) -> dict[str, dict]:
    return {lid: res for lid, res in template["Resources"].items() if res["Type"] == type_}


def function_props(template: dict, logical_id: str) -> dict[str, Any]:
    """A function's properties with Globals.Function merged in (function wins, maps merge)."""
    merged = dict(template.get("Globals", {}).get("Function", {}))
    for key, value in template["Resources"][logical_id]["Properties"].items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def inline_statements(props: dict) -> list[dict]:
    """The IAM statements written inline in a function's or state machine's Policies (not SAM policy templates)."""
    return [s for p in props.get("Policies", []) if isinstance(p, dict) and "Statement" in p for s in p["Statement"]]


def referenced_ids(value: Any) -> set[str]:
    """Logical ids / parameters a value refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".")[0])
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                found |= {name.split(".")[0] for name in _sub_names(text)}
                if isinstance(arg, list) and len(arg) > 1:
                    found |= referenced_ids(arg[1])
            else:
                found |= referenced_ids(arg)
    return found


def _sub_names(text: str) -> list[str]:
    return re.findall(r"\$\{([^}!][^}]*)\}", text)


def sqs_events(template: dict) -> Iterator[tuple[str, str, dict]]:
    """(function id, queue logical id, event properties) for every SQS event source."""
    for lid, fn in resources(template, "AWS::Serverless::Function").items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::GetAtt"][0]
                yield lid, queue, event["Properties"]


def allow_statements(template: dict) -> Iterator[tuple[str, dict]]:
    """(owning logical id, statement) for every Allow statement in the template's IAM documents."""

    def statements(document: Any) -> list:
        if not isinstance(document, dict):
            return []
        found = document.get("Statement", [])
        return found if isinstance(found, list) else [found]

    for lid, res in template["Resources"].items():
        props = res.get("Properties", {})
        docs: list[Any] = []
        for policy in props.get("Policies", []) if isinstance(props.get("Policies"), list) else []:
            docs.append(policy.get("PolicyDocument", policy) if isinstance(policy, dict) else None)
        for key in ("PolicyDocument", "KeyPolicy"):
            docs.append(props.get(key))
        for doc in docs:
            for statement in statements(doc):
                if isinstance(statement, dict) and "Fn::If" in statement:  # conditional statement
                    candidates = [s for s in statement["Fn::If"][1:] if isinstance(s, dict) and "Effect" in s]
                else:
                    candidates = [statement]
                for candidate in candidates:
                    if candidate.get("Effect") == "Allow":
                        yield lid, candidate


def unjustified_wildcards(template: dict) -> list[str]:
    """Allow statements with Action "*"/"svc:*" or Resource "*" that the owner's Metadata does not justify."""
    problems = []
    for lid, statement in allow_statements(template):
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources_ = statement.get("Resource", [])
        resources_ = resources_ if isinstance(resources_, list) else [resources_]
        wild = any(a == "*" or (isinstance(a, str) and a.endswith(":*")) for a in actions) or "*" in resources_
        if not wild:
            continue
        reasons = template["Resources"][lid].get("Metadata", {}).get("FaceTrace", {}).get("IamWildcardJustifications", {})
        if not str(reasons.get(statement.get("Sid", ""), "")).strip():
            problems.append(f"{lid}:{statement.get('Sid', '<no Sid>')}")
    return problems
