"""The sighting archive's fan-out (issue #14, item 8): a Step Functions Map state over one search function per
segment, which reads the archive and nothing else, started synchronously by the match function from the VPC."""

from __future__ import annotations

from tests.unit.template.helpers import function_props, inline_statements


def test_the_state_machine_maps_every_segment_to_the_search_function(template):
    machine = template["Resources"]["ArchiveSearchStateMachine"]["Properties"]
    # GIVEN the state machine  THEN it is an Express workflow whose one Map state sends each segment, with the
    # shared query, to ArchiveSearchFunction, bounded and retried, and keeps only the hits
    assert machine["Type"] == "EXPRESS" and machine["Logging"]["IncludeExecutionData"] is False
    [state] = machine["Definition"]["States"].values()
    assert state["Type"] == "Map" and state["ItemsPath"] == "$.segments" and 0 < state["MaxConcurrency"] <= 100
    assert set(state["ItemSelector"]) == {"key.$", "refs_b64.$", "dim.$", "since.$", "min_score.$"}
    [task] = state["ItemProcessor"]["States"].values()
    assert task["Parameters"]["FunctionName"] == "${ArchiveSearchFunctionArn}" and task["Retry"]
    assert task["ResultSelector"] == {"hits.$": "$.Payload.hits"}
    assert machine["DefinitionSubstitutions"]["ArchiveSearchFunctionArn"] == {"Fn::GetAtt": ["ArchiveSearchFunction", "Arn"]}
    invokes = [p["LambdaInvokePolicy"] for p in machine["Policies"] if "LambdaInvokePolicy" in p]
    assert invokes == [{"FunctionName": {"Ref": "ArchiveSearchFunction"}}]


def test_the_search_function_reads_the_archive_only_and_runs_outside_the_vpc(template):
    search = function_props(template, "ArchiveSearchFunction")
    assert "VpcConfig" not in search and search["CodeUri"] == "functions/archive_search/"
    [read] = inline_statements(search)
    assert read["Action"] == "s3:GetObject" and read["Resource"]["Fn::Sub"].endswith("/archive/*")
    assert not any("AWSSecretsManagerGetSecretValuePolicy" in p for p in search["Policies"] if isinstance(p, dict))


def test_the_match_function_starts_it_synchronously_through_a_vpc_endpoint(template):
    match = function_props(template, "MatchFunction")
    assert match["Environment"]["Variables"]["FACETRACE_ARCHIVE_STATE_MACHINE_ARN"] == {"Ref": "ArchiveSearchStateMachine"}
    [start] = [s for s in inline_statements(match) if s.get("Sid") == "SearchSightingArchive"]
    assert start["Action"] == "states:StartSyncExecution" and start["Resource"] == {"Ref": "ArchiveSearchStateMachine"}
    endpoint = template["Resources"]["SyncStatesEndpoint"]["Properties"]
    assert endpoint["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.sync-states"}
    assert endpoint["PrivateDnsEnabled"] is True
