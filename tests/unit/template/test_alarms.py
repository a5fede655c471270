"""Alarms and the dashboard (infra/sections/alarms.yaml, dashboard.yaml, and the generated alarms)."""

from __future__ import annotations

import json

from devstack.template import resolve
from tests.unit.template.helpers import (
    FUNCTIONS,
    referenced_ids,
    resources,
)


def test_every_dead_letter_queue_and_function_is_alarmed(template):
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    to_ops = [a for a in alarms if {"Ref": "OpsTopic"} in a["Properties"].get("AlarmActions", [])]
    watched = set()
    for alarm in to_ops:
        watched |= referenced_ids(alarm["Properties"].get("Dimensions", []))
        watched |= referenced_ids(alarm["Properties"].get("Metrics", []))
    dead_letter_queues = {
        p["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in resources(template, "AWS::SQS::Queue").values() if "RedrivePolicy" in (p := q["Properties"])
    } | {template["Resources"]["IngestFunction"]["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"][
        "Destination"]["Fn::GetAtt"][0]}
    assert dead_letter_queues - watched == set()
    assert set(FUNCTIONS) - watched == set()
    assert "JobsQueue" in watched  # age of the oldest job


def test_dashboard_shows_backlog_age_dead_letters_and_function_health(template):
    # GIVEN the dashboard body resolved with stand-in names for the functions and the worker
    context = {"AWS::StackName": "ft", "AWS::Region": "us-east-1", **{lid: lid for lid in FUNCTIONS},
               "WorkerCluster": "cluster", "WorkerService.Name": "service"}
    body = json.loads(resolve(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"], context))
    # WHEN its metrics are listed, with CloudWatch's "..." rows expanded
    shown = set()
    for widget in body["widgets"]:
        previous: list = []
        for row in widget["properties"]["metrics"]:
            row = previous[: len(previous) - (len(row) - 1)] + row[1:] if row[0] == "..." else row
            shown.add((row[1], row[-1]))
            previous = row
    # THEN every queue's depth, every DLQ, the jobs' age and every function's errors and duration are there
    queues = {resolve(q["Properties"]["QueueName"], context) for q in resources(template, "AWS::SQS::Queue").values()}
    assert {("ApproximateNumberOfMessagesVisible", q) for q in queues} <= shown
    assert ("ApproximateAgeOfOldestMessage", "ft-jobs") in shown
    assert {(m, fn) for fn in FUNCTIONS for m in ("Errors", "Duration")} <= shown
