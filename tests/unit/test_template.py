"""The SAM template (infra/template.yaml): its contract with the code and its security/ops rules,
plus the short-tag loader and the intrinsic-function resolver the local stack is built on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.template import UnresolvedReference, load_template, resolve

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO / "infra" / "template.yaml"

FUNCTIONS = {
    "IngestFunction": "ingest", "MatchFunction": "match", "NotifyFunction": "notify",
    "ApiFunction": "api", "DeadLetterFunction": "deadletter", "MigrateFunction": "migrate",
    "DeliveriesFunction": "deliveries",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


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


# ------------------------------------------------------------------------- loader / resolver
def test_load_template_turns_short_tags_into_long_form(tmp_path):
    # GIVEN a template using every common short tag, and a date-looking version string
    path = tmp_path / "t.yaml"
    path.write_text(
        "AWSTemplateFormatVersion: 2010-09-09\n"
        "Conditions:\n  IsProd: !Equals [!Ref Stage, prod]\n  NotProd: !Not [!Condition IsProd]\n"
        "Resources:\n  R:\n    Properties:\n"
        "      A: !Ref Bucket\n      B: !GetAtt Queue.Arn\n      C: !GetAtt Proxy.Endpoint.Address\n"
        "      D: !Sub '${AWS::StackName}-x'\n      E: !Sub ['${N}-y', {N: !Ref Stage}]\n"
        "      F: !If [IsProd, 1, !Ref AWS::NoValue]\n      G: !Join ['-', [a, !Select [0, !GetAZs '']]]\n"
        "      H: !GetAtt [Queue, QueueName]\n      I: !FindInMap [M, !Ref Stage, K]\n"
        "      J: !Base64 {'Fn::Sub': 'x'}\n"
    )
    # WHEN it is loaded
    loaded = load_template(path)
    # THEN each tag is the long form CloudFormation sees, and the version stays a string
    props = loaded["Resources"]["R"]["Properties"]
    assert loaded["AWSTemplateFormatVersion"] == "2010-09-09"
    assert loaded["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert loaded["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert props["A"] == {"Ref": "Bucket"}
    assert props["B"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert props["C"] == {"Fn::GetAtt": ["Proxy", "Endpoint.Address"]}
    assert props["D"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert props["E"] == {"Fn::Sub": ["${N}-y", {"N": {"Ref": "Stage"}}]}
    assert props["F"] == {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}
    assert props["G"] == {"Fn::Join": ["-", ["a", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}]]}
    assert props["H"] == {"Fn::GetAtt": ["Queue", "QueueName"]}
    assert props["I"] == {"Fn::FindInMap": ["M", {"Ref": "Stage"}, "K"]}
    assert props["J"] == {"Fn::Base64": {"Fn::Sub": "x"}}


CONTEXT = {
    "AWS::StackName": "ft", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws",
    "Stage": "dev", "Bucket": "ft-bucket", "Queue": "https://q/ft-jobs", "Queue.Arn": "arn:aws:sqs:eu-west-1:1:ft-jobs",
    "Export:shared-vpc": "vpc-1",
}
CONDITIONS = {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}, "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]}}


def test_resolve_references_and_strings():
    # GIVEN long-form values referring to pseudo-parameters, parameters, resources and attributes
    value = {
        "ref": {"Ref": "Bucket"},
        "att": {"Fn::GetAtt": ["Queue", "Arn"]},
        "sub": {"Fn::Sub": "${AWS::StackName}-${Stage}-${Queue.Arn}-${!Literal}"},
        "sub_vars": {"Fn::Sub": ["${Name}.${AWS::Region}", {"Name": {"Ref": "Bucket"}}]},
        "join": {"Fn::Join": ["/", [{"Ref": "Stage"}, "x", 3]]},
        "select": {"Fn::Select": ["1", {"Fn::Split": [",", "a,b,c"]}]},
        "azs": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "cidr": {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
        "b64": {"Fn::Base64": "hi"},
        "import": {"Fn::ImportValue": "shared-vpc"},
        "json": {"Fn::ToJsonString": {"a": {"Ref": "Stage"}}},
    }
    # WHEN resolved against the caller's context
    out = resolve(value, CONTEXT)
    # THEN every intrinsic is evaluated like CloudFormation would
    assert out == {
        "ref": "ft-bucket",
        "att": "arn:aws:sqs:eu-west-1:1:ft-jobs",
        "sub": "ft-dev-arn:aws:sqs:eu-west-1:1:ft-jobs-${Literal}",
        "sub_vars": "ft-bucket.eu-west-1",
        "join": "dev/x/3",
        "select": "b",
        "azs": "eu-west-1a",
        "cidr": ["10.0.0.0/24", "10.0.1.0/24"],
        "b64": "aGk=",
        "import": "vpc-1",
        "json": '{"a":"dev"}',
    }


def test_resolve_conditions_and_no_value():
    # GIVEN conditional values, some of which resolve to AWS::NoValue
    value = {
        "level": {"Fn::If": ["IsProd", "INFO", "DEBUG"]},
        "dropped": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
        "items": ["a", {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, "b"]}, "c"],
        "both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Or": [{"Fn::Equals": ["x", "y"]}, {"Condition": "IsDev"}]}]},
        "size": {"Fn::FindInMap": ["StageConfig", {"Ref": "Stage"}, "Size"]},
    }
    # WHEN resolved with the template's conditions and mappings
    out = resolve(value, CONTEXT, CONDITIONS, {"StageConfig": {"dev": {"Size": 1}, "prod": {"Size": 4}}})
    # THEN conditions are evaluated from the parameters and NoValue removes the key / item
    assert out == {"level": "DEBUG", "items": ["a", "c"], "both": True, "size": 1}
    # AND ready-made booleans are accepted as conditions too
    assert resolve({"Fn::If": ["IsProd", "p", "d"]}, CONTEXT, {"IsProd": True}) == "p"


@pytest.mark.parametrize(
    "value",
    [{"Ref": "DatabaseProxy"}, {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}, {"Fn::Sub": "${Missing}"},
     {"Fn::If": ["Unknown", 1, 2]}, {"Fn::FindInMap": ["M", "a", "b"]}],
)
def test_resolve_unknown_names_raise_key_error(value):
    # GIVEN a value naming something the context does not know (a cloud-only resource)
    # WHEN it is resolved  THEN a KeyError says which, so the caller can skip it
    with pytest.raises(KeyError):
        resolve(value, CONTEXT)
    with pytest.raises(UnresolvedReference):
        resolve(value, CONTEXT)


def test_local_stack_can_resolve_the_real_function_environment(template):
    # GIVEN the real template and what a local stack knows (no RDS Proxy / secret locally)
    params = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    params["SenderEmail"] = "alerts@example.org"
    context = {
        "AWS::StackName": "facetrace-local", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
        **params, "JobsQueue": "http://moto/jobs", "FacesQueue": "http://moto/faces",
        "AlertsTopic": "arn:aws:sns:us-east-1:123456789012:facetrace-local-alerts",
        "SmsTopic": "arn:aws:sns:us-east-1:123456789012:facetrace-local-sms",
        "DeliveriesQueue": "http://moto/deliveries", "IdempotencyTable": "facetrace-local-idempotency",
    }
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    resolved, skipped = {}, set()
    # WHEN each variable is resolved
    for name, raw in variables.items():
        try:
            resolved[name] = resolve(raw, context, template["Conditions"], template["Mappings"])
        except KeyError:
            skipped.add(name)
    # THEN everything but the cloud-only database values resolves, bucket name included
    assert skipped == {"FACETRACE_DB_SECRET_ARN", "FACETRACE_DB_HOST"}
    assert resolved["FACETRACE_UPLOAD_BUCKET"] == "facetrace-local-uploads-123456789012-us-east-1"
    assert resolved["FACETRACE_JOBS_QUEUE_URL"] == "http://moto/jobs"
    assert resolved["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    # AND the queue names resolve from the stack name
    assert resolve(template["Resources"]["JobsDeadLetterQueue"]["Properties"]["QueueName"], context) == "facetrace-local-jobs-dlq"


# ------------------------------------------------------------------------------- contract
def test_template_declares_the_contract_resources(template):
    # GIVEN the logical ids the local stack and the code rely on
    expected = {
        "UploadBucket": "AWS::S3::Bucket", "UploadBucketPolicy": "AWS::S3::BucketPolicy",
        "JobsQueue": "AWS::SQS::Queue", "JobsDeadLetterQueue": "AWS::SQS::Queue",
        "FacesQueue": "AWS::SQS::Queue", "FacesDeadLetterQueue": "AWS::SQS::Queue",
        "AlertsQueue": "AWS::SQS::Queue", "AlertsDeadLetterQueue": "AWS::SQS::Queue",
        "AlertsQueuePolicy": "AWS::SQS::QueuePolicy", "AlertsTopic": "AWS::SNS::Topic",
        "AlertsTopicSubscription": "AWS::SNS::Subscription", "SmsTopic": "AWS::SNS::Topic", "OpsTopic": "AWS::SNS::Topic",
        "CommonLayer": "AWS::Serverless::LayerVersion", "FaceTraceApi": "AWS::Serverless::Api",
        "AgencyUserPool": "AWS::Cognito::UserPool", "DatabaseMigration": "Custom::DatabaseMigration",
        "Database": "AWS::RDS::DBInstance", "DatabaseProxy": "AWS::RDS::DBProxy",
        "Dashboard": "AWS::CloudWatch::Dashboard", "WorkerRepository": "AWS::ECR::Repository",
        "WorkerCluster": "AWS::ECS::Cluster", "WorkerService": "AWS::ECS::Service", "WorkerTaskRole": "AWS::IAM::Role",
        **{lid: "AWS::Serverless::Function" for lid in FUNCTIONS},
    }
    # WHEN the template is read  THEN each exists with its type
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert {lid: template["Resources"].get(lid, {}).get("Type") for lid in expected} == expected
    for param in ("Stage", "SenderEmail", "RetentionDays", "AlertEmailDomain", "DbInstanceClass", "MultiAZ",
                  "WorkerInstanceType", "WorkerImageUri", "PackName", "VpcCidr"):
        assert param in template["Parameters"]
    assert template["Parameters"]["WorkerInstanceType"]["Default"] == "g5.xlarge"
    assert template["Parameters"]["PackName"]["Default"] == "buffalo_l"
    assert template["Parameters"]["RetentionDays"]["Default"] == 90


def test_names_follow_the_stack_name(template):
    # GIVEN the physical names the local stack recreates
    names = {
        "JobsQueue": "-jobs", "JobsDeadLetterQueue": "-jobs-dlq", "FacesQueue": "-faces",
        "FacesDeadLetterQueue": "-faces-dlq", "AlertsQueue": "-alerts", "AlertsDeadLetterQueue": "-alerts-dlq",
        "DeliveriesQueue": "-deliveries", "DeliveriesDeadLetterQueue": "-deliveries-dlq",
    }
    res = template["Resources"]
    # WHEN read  THEN they are the stack name plus a fixed suffix
    for lid, suffix in names.items():
        assert res[lid]["Properties"]["QueueName"] == {"Fn::Sub": "${AWS::StackName}" + suffix}
    assert res["AlertsTopic"]["Properties"]["TopicName"] == {"Fn::Sub": "${AWS::StackName}-alerts"}
    assert res["SmsTopic"]["Properties"]["TopicName"] == {"Fn::Sub": "${AWS::StackName}-sms"}
    assert res["UploadBucket"]["Properties"]["BucketName"] == {
        "Fn::Sub": "${AWS::StackName}-uploads-${AWS::AccountId}-${AWS::Region}"}


def test_functions_share_runtime_layer_and_settings_environment(template):
    # GIVEN the Globals and the six functions
    glob = template["Globals"]["Function"]
    variables = glob["Environment"]["Variables"]
    # WHEN read  THEN the runtime is pinned, every function uses the common layer and app.handler
    assert glob["Runtime"] == "python3.11"
    assert glob["Layers"] == [{"Ref": "CommonLayer"}]
    layer = template["Resources"]["CommonLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/common"
    assert layer["Metadata"]["BuildMethod"] == "python3.11"
    for lid, directory in FUNCTIONS.items():
        props = function_props(template, lid)
        assert props["CodeUri"] == f"functions/{directory}/"
        assert props["Handler"] == "app.handler"
        assert props["Runtime"] == "python3.11"
    # AND the FACETRACE_* names match the settings model's fields
    from facetrace.config import Settings

    for name in variables:
        if name.startswith("FACETRACE_"):
            assert name.removeprefix("FACETRACE_").lower() in Settings.model_fields, name
    assert {"FACETRACE_UPLOAD_BUCKET", "FACETRACE_JOBS_QUEUE_URL", "FACETRACE_FACES_QUEUE_URL",
            "FACETRACE_ALERTS_TOPIC_ARN", "FACETRACE_SMS_TOPIC_ARN", "FACETRACE_SENDER_EMAIL",
            "FACETRACE_DB_SECRET_ARN", "FACETRACE_DB_HOST", "FACETRACE_DB_NAME",
            "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"} <= set(variables)
    assert variables["FACETRACE_DB_HOST"] == {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "FaceTrace"


def test_event_wiring(template):
    res = template["Resources"]
    # GIVEN the ingest function  WHEN its events are read  THEN it gets every upload, and only uploads (the inbox)
    s3 = [e["Properties"] for e in res["IngestFunction"]["Properties"]["Events"].values() if e["Type"] == "S3"]
    assert all(e["Bucket"] == {"Ref": "UploadBucket"} and e["Events"] == "s3:ObjectCreated:*" for e in s3)
    assert sorted(e["Filter"]["S3Key"]["Rules"][0]["Value"] for e in s3) == ["uploads/"]
    # AND the SQS consumers are the ones the pipeline describes: every dead-letter queue is read
    assert sorted((fn, q) for fn, q, _ in sqs_events(template)) == [
        ("DeadLetterFunction", "AlertsDeadLetterQueue"), ("DeadLetterFunction", "DeliveriesDeadLetterQueue"),
        ("DeadLetterFunction", "FacesDeadLetterQueue"), ("DeadLetterFunction", "IngestDeadLetterQueue"),
        ("DeadLetterFunction", "JobsDeadLetterQueue"), ("DeliveriesFunction", "DeliveriesQueue"),
        ("MatchFunction", "FacesQueue"), ("NotifyFunction", "AlertsQueue")]
    # AND the alerts topic reaches the alerts queue raw, with a queue policy letting it
    sub = res["AlertsTopicSubscription"]["Properties"]
    assert sub["Protocol"] == "sqs" and sub["RawMessageDelivery"] is True
    assert sub["Endpoint"] == {"Fn::GetAtt": ["AlertsQueue", "Arn"]}
    statement = res["AlertsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Ref": "AlertsTopic"}
    # AND alerts SNS cannot deliver go to the alerts DLQ, which lets the topic (only) send to it
    assert sub["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["AlertsDeadLetterQueue", "Arn"]}}
    dlq_policy = res["AlertsDeadLetterQueuePolicy"]["Properties"]
    assert dlq_policy["Queues"] == [{"Ref": "AlertsDeadLetterQueue"}]
    statement = dlq_policy["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["AlertsDeadLetterQueue", "Arn"]}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Ref": "AlertsTopic"}
    # AND failed asynchronous (S3) ingest invocations go to the ingest DLQ as an on-failure destination
    on_failure = res["IngestFunction"]["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]}}
    assert "DeadLetterQueue" not in res["IngestFunction"]["Properties"]  # not both: one copy per failure
    # AND the migration custom resource runs the migrate function
    assert res["DatabaseMigration"]["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}


def test_api_routes_public_and_agency(template):
    # GIVEN the API function's events
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    routes = {(e["Properties"]["Method"].upper(), e["Properties"]["Path"]): e["Properties"] for e in events}
    # WHEN read  THEN the citizen routes are public and the agency routes use the Cognito default
    assert set(routes) == {("POST", "/sightings/upload"), ("GET", "/receipts/{photo_id}"), ("POST", "/cases"),
                           ("GET", "/cases/{case_id}"), ("PATCH", "/cases/{case_id}"),
                           ("POST", "/cases/{case_id}/photos"), ("GET", "/cases/{case_id}/photos"),
                           ("POST", "/cases/{case_id}/close"), ("POST", "/cases/{case_id}/shares"),
                           ("GET", "/cases/{case_id}/audit"), ("GET", "/alerts"), ("GET", "/alerts/{alert_id}"),
                           ("POST", "/alerts/{alert_id}/review"), ("GET", "/subscriptions"),
                           ("POST", "/subscriptions"), ("DELETE", "/subscriptions/{subscription_id}"), ("POST", "/searches"),
                           ("GET", "/searches/{search_id}")}
    public = {route for route, props in routes.items() if props.get("Auth", {}).get("Authorizer") == "NONE"}
    assert public == {("POST", "/sightings/upload"), ("GET", "/receipts/{photo_id}")}
    api = template["Resources"]["FaceTraceApi"]["Properties"]
    assert api["Auth"]["Authorizers"][api["Auth"]["DefaultAuthorizer"]]["UserPoolArn"] == {
        "Fn::GetAtt": ["AgencyUserPool", "Arn"]}
    # AND the public upload route has its own (tighter) throttle
    throttled = {(m["ResourcePath"], m["HttpMethod"]) for m in api["MethodSettings"] if "ThrottlingRateLimit" in m}
    assert ("/~1sightings~1upload", "POST") in throttled


# --------------------------------------------------------------------------- security / ops
def test_every_consumed_queue_redrives_after_three_receives(template):
    # GIVEN every queue something consumes (Lambda event sources + the GPU worker's jobs queue)
    consumed = {queue for _, queue, _ in sqs_events(template)} | {"JobsQueue"}
    queues = resources(template, "AWS::SQS::Queue")
    for queue in consumed:
        # WHEN its redrive policy is read  THEN it dead-letters to a queue of this stack after 3 receives, or,
        # for a dead-letter queue (whose messages arrive with 3 receives already counted), after 5 more
        redrive = queues[queue]["Properties"]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == (8 if queue.endswith("DeadLetterQueue") else 3), queue
        target = redrive["deadLetterTargetArn"]["Fn::GetAtt"]
        assert target[1] == "Arn" and target[0] in queues and target[0] != queue


def test_every_queue_and_topic_is_encrypted(template):
    for lid, queue in resources(template, "AWS::SQS::Queue").items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, lid
    for lid in ("AlertsTopic", "SmsTopic", "OpsTopic"):
        assert template["Resources"][lid]["Properties"].get("KmsMasterKeyId"), lid


def test_visibility_timeout_is_at_least_six_function_timeouts(template):
    queues = resources(template, "AWS::SQS::Queue")
    # GIVEN each (function, queue) event source
    for function, queue, _ in sqs_events(template):
        timeout = function_props(template, function)["Timeout"]
        # WHEN the queue's visibility timeout is compared  THEN it covers 6 function timeouts
        assert queues[queue]["Properties"]["VisibilityTimeout"] >= 6 * timeout, (queue, function)


def test_sqs_consumers_report_batch_item_failures(template):
    for function, queue, props in sqs_events(template):
        assert props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], (function, queue)


def test_buckets_block_public_access_enforce_tls_and_encrypt(template):
    policies = resources(template, "AWS::S3::BucketPolicy").values()
    for lid, bucket in resources(template, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        # THEN all four public-access switches are on
        block = props["PublicAccessBlockConfiguration"]
        assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                               "RestrictPublicBuckets")), lid
        # AND objects are encrypted by default
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert rule["SSEAlgorithm"] in ("aws:kms", "aws:kms:dsse", "AES256"), lid
        # AND a bucket policy denies any request not made over TLS
        mine = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": lid}]
        assert mine, f"{lid} has no bucket policy"
        denies_plain_http = [
            s for p in mine for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert denies_plain_http, lid


def test_portal_is_a_private_bucket_read_only_by_its_cloudfront_distribution(template):
    # GIVEN the portal's bucket, its policy and the distribution in front of it
    res = template["Resources"]
    bucket = res["PortalBucket"]["Properties"]
    distribution = res["PortalDistribution"]["Properties"]["DistributionConfig"]
    # THEN the bucket is named after the stack (the local stack recreates it) and is no website
    assert bucket["BucketName"] == {"Fn::Sub": "${AWS::StackName}-portal-${AWS::AccountId}-${AWS::Region}"}
    assert "WebsiteConfiguration" not in bucket
    # AND the only Allow is s3:GetObject for CloudFront, on behalf of this one distribution
    statements = res["PortalBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    allow = allows[0]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == {"Fn::Sub": "${PortalBucket.Arn}/*"}
    source = allow["Condition"]["StringEquals"]["aws:SourceArn"]
    assert referenced_ids(source) >= {"PortalDistribution"}
    # AND CloudFront reads it through Origin Access Control, serves index.html at / and only over HTTPS
    (origin,) = distribution["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["PortalBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["PortalOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    oac = res["PortalOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    assert distribution["DefaultRootObject"] == "index.html"
    behaviour = distribution["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] in ("https-only", "redirect-to-https")
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD"}
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "PortalSecurityHeadersPolicy"}
    headers = res["PortalSecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert {"StrictTransportSecurity", "ContentTypeOptions", "FrameOptions", "ContentSecurityPolicy"} <= set(headers)
    # AND the outputs give the operator (and scripts/publish_portal.sh) what they need
    outputs = template["Outputs"]
    assert outputs["PortalBucketName"]["Value"] == {"Ref": "PortalBucket"}
    assert outputs["PortalDistributionId"]["Value"] == {"Ref": "PortalDistribution"}
    assert outputs["PortalUrl"]["Value"] == {"Fn::Sub": "https://${PortalDistribution.DomainName}"}
    assert "portal" in template["Parameters"]["WebOrigin"]["Description"]


FAKE_AWS = """#!/usr/bin/env bash
# Stands in for the AWS CLI: answers describe-stacks from $FAKE_OUTPUTS and logs every call.
echo "$*" >> "$FAKE_LOG"
if [[ "$1 $2" == "cloudformation describe-stacks" ]]; then
  key=$(printf '%s' "$*" | sed -n "s/.*OutputKey=='\\([A-Za-z]*\\)'.*/\\1/p")
  python3 -c 'import json, os, sys; print(json.load(open(os.environ["FAKE_OUTPUTS"])).get(sys.argv[1], "None"))' "$key"
elif [[ "$1 $2" == "s3 sync" ]]; then
  cp -R "$3" "$FAKE_SYNCED"
elif [[ "$1 $2" == "cloudfront create-invalidation" ]]; then
  echo I123
fi
"""


def test_publish_portal_writes_config_syncs_and_invalidates(tmp_path):
    # GIVEN a fake AWS CLI on PATH answering a deployed stack's outputs
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    outputs = {"ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
               "AgencyUserPoolClientId": "4f1client9id", "PortalBucketName": "ft-prod-portal-1-eu-west-1",
               "PortalDistributionId": "E2DIST", "PortalUrl": "https://d1.cloudfront.net"}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "log"),
           "FAKE_OUTPUTS": str(tmp_path / "outputs.json"), "FAKE_SYNCED": str(tmp_path / "synced")}
    env.pop("AWS_CLI", None)
    # WHEN the operator publishes the portal of stack ft-prod
    run = subprocess.run([str(REPO / "scripts" / "publish_portal.sh"), "ft-prod"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    calls = (tmp_path / "log").read_text().splitlines()
    # THEN it read the stack's outputs, synced portal/ plus a cloud config.js with --delete, and invalidated
    assert all("--stack-name ft-prod" in c for c in calls if c.startswith("cloudformation"))
    (sync,) = [c for c in calls if c.startswith("s3 sync")]
    assert sync.split()[3] == "s3://ft-prod-portal-1-eu-west-1/" and "--delete" in sync
    (invalidation,) = [c for c in calls if c.startswith("cloudfront create-invalidation")]
    assert "--distribution-id E2DIST" in invalidation and "--paths /*" in invalidation
    synced = tmp_path / "synced"
    assert {p.name for p in (REPO / "portal").iterdir()} <= {p.name for p in synced.iterdir()}
    config = (synced / "config.js").read_text()
    prefix = "window.FACETRACE_CONFIG = "
    assert config.startswith(prefix)
    values = json.loads(config[len(prefix):].strip().rstrip(";"))
    assert values["apiUrl"] == outputs["ApiUrl"] and values["auth"] == "cognito"
    assert values["userPoolClientId"] == outputs["AgencyUserPoolClientId"]
    # AND portal/ itself is left as it was (locally the gateway generates config.js)
    assert not (REPO / "portal" / "config.js").exists()
    assert "https://d1.cloudfront.net" in run.stdout


def test_publish_portal_refuses_a_stack_without_the_portal_outputs(tmp_path):
    # GIVEN a stack deployed before the portal existed (no PortalBucketName output)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    (tmp_path / "outputs.json").write_text(json.dumps({
        "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/dev", "AgencyUserPoolClientId": "abc"}))
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "log"),
           "FAKE_OUTPUTS": str(tmp_path / "outputs.json"), "FAKE_SYNCED": str(tmp_path / "synced")}
    env.pop("AWS_CLI", None)
    # WHEN publishing  THEN it stops before touching S3 or CloudFront, naming the missing output
    run = subprocess.run([str(REPO / "scripts" / "publish_portal.sh"), "old"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "PortalBucketName" in run.stderr
    assert not any(c.startswith(("s3 ", "cloudfront ")) for c in (tmp_path / "log").read_text().splitlines())


def test_upload_bucket_expires_sightings_and_results(template):
    props = template["Resources"]["UploadBucket"]["Properties"]
    rules = {r.get("Prefix"): r for r in props["LifecycleConfiguration"]["Rules"]}
    for prefix in ("sightings/", "results/"):
        assert rules[prefix]["ExpirationInDays"] == {"Ref": "RetentionDays"}
    # AND a search photo never outlives a day (match deletes it once searched; this is the backstop)
    assert rules["searches/"]["ExpirationInDays"] == 1
    assert props["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"] == ["POST"]


def test_iam_wildcards_need_a_justification(template):
    # GIVEN every Allow statement of the template  WHEN checked  THEN no wildcard is unexplained
    assert unjustified_wildcards(template) == []
    # AND the check does catch one: GIVEN a role granting Action "*" on Resource "*"
    rogue = {"Resources": {"Rogue": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {
        "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"},
                      {"Sid": "Svc", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"}]}}]}}}}
    assert unjustified_wildcards(rogue) == ["Rogue:All", "Rogue:Svc"]
    # WHEN the owner justifies one by Sid  THEN only the other is reported
    rogue["Resources"]["Rogue"]["Metadata"] = {"FaceTrace": {"IamWildcardJustifications": {"All": "break-glass"}}}
    assert unjustified_wildcards(rogue) == ["Rogue:Svc"]


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


def test_worker_task_role_is_limited_to_its_queues_and_bucket(template):
    role = template["Resources"]["WorkerTaskRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    # THEN it never names the database secret, the database or KMS
    assert not referenced_ids(statements) & {"Database", "DatabaseProxy"}
    assert role.get("ManagedPolicyArns") is None
    # AND its actions are exactly the worker's needs, each on its own resource
    granted = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        for action in actions:
            granted.setdefault(action, []).append(s["Resource"])
    assert set(granted) == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                            "sqs:SendMessage", "s3:GetObject", "s3:PutObject"}
    assert granted["sqs:ReceiveMessage"] == [{"Fn::GetAtt": ["JobsQueue", "Arn"]}]
    assert granted["sqs:SendMessage"] == [{"Fn::GetAtt": ["FacesQueue", "Arn"]}]
    assert granted["s3:PutObject"] == [{"Fn::Sub": "${UploadBucket.Arn}/results/*"}]


def test_worker_runs_on_one_gpu_and_scales_from_zero(template):
    res = template["Resources"]
    container = res["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert {"Type": "GPU", "Value": "1"} in container["ResourceRequirements"]
    env = {e["Name"] for e in container["Environment"]}
    assert {"FACETRACE_JOBS_QUEUE_URL", "FACETRACE_FACES_QUEUE_URL", "FACETRACE_UPLOAD_BUCKET", "FACETRACE_PACK"} <= env
    assert res["WorkerScalableTarget"]["Properties"]["MinCapacity"] == 0
    assert res["WorkerAutoScalingGroup"]["Properties"]["MinSize"] == "0"
    assert template["Parameters"]["WorkerAmiId"]["Default"] == \
        "/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id"


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


def test_database_is_private_encrypted_and_backed_up(template):
    db = template["Resources"]["Database"]
    props = db["Properties"]
    assert props["Engine"] == "mysql" and str(props["EngineVersion"]).startswith("8.")
    assert props["StorageEncrypted"] is True and props["PubliclyAccessible"] is False
    assert props["DeletionProtection"] == {"Fn::If": ["IsProd", True, False]}
    assert db["DeletionPolicy"] == "Snapshot"
    assert props["BackupRetentionPeriod"]
    assert template["Resources"]["DatabaseProxy"]["Properties"]["RequireTLS"] is True


MANAGED_SECRET = {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}


def test_database_credentials_are_managed_and_rotated_by_rds(template):
    res = template["Resources"]
    db = res["Database"]["Properties"]
    # GIVEN the database  WHEN its credentials are read  THEN RDS owns (and rotates) the password
    assert db["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in db and "resolve:" not in str(db["MasterUsername"])
    # AND no hand-made, never-rotated secret is left in the stack
    assert resources(template, "AWS::SecretsManager::Secret") == {}
    # AND the proxy, its role, every function and the settings all use the RDS-managed secret
    assert [a["SecretArn"] for a in res["DatabaseProxy"]["Properties"]["Auth"]] == [MANAGED_SECRET]
    proxy_reads = res["DatabaseProxyRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert [s["Resource"] for s in proxy_reads] == [MANAGED_SECRET]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["FACETRACE_DB_SECRET_ARN"] == MANAGED_SECRET
    readers = {lid: p["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]
               for lid in FUNCTIONS for p in res[lid]["Properties"].get("Policies", [])
               if isinstance(p, dict) and "AWSSecretsManagerGetSecretValuePolicy" in p}
    assert set(readers) == set(FUNCTIONS) - {"NotifyFunction"}
    assert all(arn == MANAGED_SECRET for arn in readers.values())


def test_managed_secret_gives_a_proxy_url():
    from facetrace.adapters.aws import db_url_from_secret

    # GIVEN an RDS-managed secret: username and password only, no host or port
    class Secrets:
        def get_secret_value(self, SecretId):
            return {"SecretString": '{"username": "facetrace_admin", "password": "p@ss/w:rd"}'}

    # WHEN a URL is built with the proxy endpoint as host
    url = db_url_from_secret(Secrets(), "arn:secret", "proxy.example", "facetrace")
    # THEN it targets the proxy on 3306 over TLS, with the password escaped
    assert url == "mysql://facetrace_admin:p%40ss%2Fw%3Ard@proxy.example:3306/facetrace?ssl=true"


def test_unreachable_secrets_manager_is_an_unavailable_store():
    from botocore.exceptions import EndpointConnectionError

    from facetrace.adapters.aws import db_url_from_secret
    from facetrace.errors import StoreUnavailable

    # GIVEN Secrets Manager cannot be reached (its VPC endpoint is down, say)
    class Secrets:
        def get_secret_value(self, SecretId):
            raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")

    # WHEN the database URL is built THEN the store is unavailable (answered 503), not a crash (500)
    with pytest.raises(StoreUnavailable, match="credentials unavailable"):
        db_url_from_secret(Secrets(), "arn:secret", "proxy.example", "facetrace")


def test_agency_claim_is_declared_and_immutable(template):
    # GIVEN the user pool  WHEN its schema is read  THEN custom:agency_id exists and users cannot change it
    schema = {a["Name"]: a for a in template["Resources"]["AgencyUserPool"]["Properties"]["Schema"]}
    assert schema["agency_id"]["AttributeDataType"] == "String"
    assert schema["agency_id"]["Mutable"] is False


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


# --------------------------------------------------------------------------- build config
def test_samconfig_environments():
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    for env, stack in (("default", "facetrace-dev"), ("dev", "facetrace-dev"), ("prod", "facetrace-prod")):
        assert config[env]["global"]["parameters"]["stack_name"] == stack
        assert config[env]["build"]["parameters"]["template_file"] == "infra/template.yaml"
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["resolve_s3"] is True and "CAPABILITY_IAM" in deploy["capabilities"]
        assert f"Stage={'prod' if env == 'prod' else 'dev'}" in deploy["parameter_overrides"]
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


def test_layer_and_function_requirements():
    layer = (REPO / "layers" / "common" / "requirements.txt").read_text().lower()
    packages = {line.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip()
                for line in layer.splitlines() if line.strip() and not line.startswith("#")}
    assert packages == {"aws-lambda-powertools", "pydantic", "pydantic-settings", "pymysql", "numpy", "pillow",
                        "pillow-heif", "yoyo-migrations"}
    for directory in FUNCTIONS.values():
        assert (REPO / "functions" / directory / "requirements.txt").is_file()
