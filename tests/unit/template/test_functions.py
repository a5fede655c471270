"""Functions: timeouts, memory, log groups, database connection caps (infra/sections/functions.yaml)."""

from __future__ import annotations

from tests.unit.template.helpers import (
    FUNCTIONS,
    resources,
)


def test_every_function_has_timeout_memory_and_a_retained_log_group(template):
    log_groups = resources(template, "AWS::Logs::LogGroup")
    for lid in FUNCTIONS:
        own = template["Resources"][lid]["Properties"]
        # THEN timeout and memory are chosen per function, not inherited by accident
        assert isinstance(own.get("Timeout"), int) and isinstance(own.get("MemorySize"), int), lid
        # AND its logs go to a log group of this stack that has a retention
        group = own["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_groups[group]["Properties"].get("RetentionInDays"), lid
    for lid, group in log_groups.items():
        assert group["Properties"].get("RetentionInDays"), lid


def test_db_functions_cannot_exhaust_connections(template):
    # GIVEN the functions allowed to read the database secret
    for lid in FUNCTIONS:
        props = template["Resources"][lid]["Properties"]
        if not any("AWSSecretsManagerGetSecretValuePolicy" in p for p in props.get("Policies", []) if isinstance(p, dict)):
            continue
        sqs = [e["Properties"] for e in props.get("Events", {}).values() if e["Type"] == "SQS"]
        # THEN SQS-fed ones cap their concurrency on every event source, the others reserve it
        if sqs:
            assert all(e.get("ScalingConfig", {}).get("MaximumConcurrency") for e in sqs), lid
        elif lid != "MigrateFunction":  # one invocation per deploy
            assert "ReservedConcurrentExecutions" in props, lid
