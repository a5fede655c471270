"""The template's contract with the code: resources, names, environment, events, routes."""

from __future__ import annotations

from tests.unit.template.helpers import (
    FUNCTIONS,
    function_props,
    sqs_events,
)


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
    assert template["Parameters"]["PackName"]["Default"] == "buffalo_s"
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
        ("DeadLetterFunction", "FacesDeadLetterQueue"), ("DeadLetterFunction", "FootageDeadLetterQueue"),
        ("DeadLetterFunction", "IngestDeadLetterQueue"),
        ("DeadLetterFunction", "JobsDeadLetterQueue"), ("DeliveriesFunction", "DeliveriesQueue"),
        ("FootageFunction", "FootageQueue"), ("MatchFunction", "FacesQueue"), ("NotifyFunction", "AlertsQueue")]
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


# Footage (issue #14): the agency's routes, and the cameras' (public at the gateway: the function checks the key).
CAMERA_ROUTES = {("POST", "/cameras/{camera_id}/footage"), ("POST", "/cameras/{camera_id}/footage/{clip_id}/complete"),
                 ("POST", "/cameras/{camera_id}/frames")}
FOOTAGE_ROUTES = {("POST", "/footage/upload"), ("POST", "/footage/{clip_id}/complete"), ("GET", "/footage"),
                  ("GET", "/footage/{clip_id}"),
                  ("GET", "/alerts/{alert_id}/footage"), ("POST", "/cameras"), ("GET", "/cameras"),
                  ("DELETE", "/cameras/{camera_id}")} | CAMERA_ROUTES

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
                           ("GET", "/searches/{search_id}"), ("GET", "/me"), ("GET", "/cases"),
                           ("GET", "/cases/{case_id}/near-misses"),
                           ("GET", "/cases/{case_id}/near-misses/{sighting_face_id}")} | FOOTAGE_ROUTES
    public = {route for route, props in routes.items() if props.get("Auth", {}).get("Authorizer") == "NONE"}
    assert public == {("POST", "/sightings/upload"), ("GET", "/receipts/{photo_id}")} | CAMERA_ROUTES
    api = template["Resources"]["FaceTraceApi"]["Properties"]
    assert api["Auth"]["Authorizers"][api["Auth"]["DefaultAuthorizer"]]["UserPoolArn"] == {
        "Fn::GetAtt": ["AgencyUserPool", "Arn"]}
    # AND the public upload route has its own (tighter) throttle
    throttled = {(m["ResourcePath"], m["HttpMethod"]) for m in api["MethodSettings"] if "ThrottlingRateLimit" in m}
    assert ("/~1sightings~1upload", "POST") in throttled
