"""The local stack and the SAM template agree on every queue, topic, bucket and table name."""

from __future__ import annotations

import pytest

from devstack.stack import ACCOUNT, S3_EVENTS_QUEUE, LocalStack
from devstack.template import resolve

STACK = "ft-agree"
REGION = "us-east-1"
NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName", "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName", "AWS::DynamoDB::Table": "TableName",
}


@pytest.fixture(scope="module")
def stack():
    stack = LocalStack(stack_name=STACK, region=REGION).start()
    yield stack
    stack.stop()


def template_names(template: dict) -> dict[str, set[str]]:
    """The physical names CloudFormation would give, per type, resolved from pseudo-parameters only."""
    context = {"AWS::StackName": STACK, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
    names: dict[str, set[str]] = {type_: set() for type_ in NAME_PROPERTY}
    for lid, res in template["Resources"].items():
        if res["Type"] in NAME_PROPERTY:
            # A missing name would make CloudFormation invent one the local stack cannot know.
            raw = res.get("Properties", {}).get(NAME_PROPERTY[res["Type"]])
            assert raw is not None, f"{lid} has no explicit {NAME_PROPERTY[res['Type']]}"
            names[res["Type"]].add(resolve(raw, context))
    return names


def local_names(stack: LocalStack) -> dict[str, set[str]]:
    """What the moto server holds for this stack, per type."""
    mine = lambda name: name.startswith(f"{STACK}-")  # noqa: E731 - other tests may share the moto backend
    queues = stack.client("sqs").list_queues(QueueNamePrefix=STACK).get("QueueUrls", [])
    topics = stack.client("sns").list_topics()["Topics"]
    return {
        "AWS::S3::Bucket": {b["Name"] for b in stack.client("s3").list_buckets()["Buckets"] if mine(b["Name"])},
        "AWS::SQS::Queue": {url.rsplit("/", 1)[1] for url in queues} - {f"{STACK}-{S3_EVENTS_QUEUE}"},
        "AWS::SNS::Topic": {name for t in topics if mine(name := t["TopicArn"].rsplit(":", 1)[1])},
        "AWS::DynamoDB::Table": {t for t in stack.client("dynamodb").list_tables()["TableNames"] if mine(t)},
    }


def test_local_stack_creates_exactly_the_template_names(stack):
    # GIVEN the template's names for one stack name, resolved without the local stack's help
    expected = template_names(stack.template)
    # WHEN the local stack of the same name is up
    created = local_names(stack)
    # THEN it holds every bucket, queue, topic and table under the same name, and nothing else
    assert created == expected
    assert all(expected.values()), expected
    # AND the only local-only resource is the queue standing in for S3 invoking the ingest function
    urls = stack.client("sqs").list_queues(QueueNamePrefix=STACK)["QueueUrls"]
    assert {u.rsplit("/", 1)[1] for u in urls} - expected["AWS::SQS::Queue"] == {f"{STACK}-{S3_EVENTS_QUEUE}"}


def test_functions_see_the_names_the_stack_created(stack):
    # GIVEN a function's environment resolved by the local stack
    env = stack.function_env("IngestFunction")
    expected = template_names(stack.template)
    # WHEN its bucket, queue, topic and table settings are read
    queue_name = env["FACETRACE_JOBS_QUEUE_URL"].rsplit("/", 1)[1]
    topic_name = env["FACETRACE_ALERTS_TOPIC_ARN"].rsplit(":", 1)[1]
    # THEN they name resources the template declares
    assert env["FACETRACE_UPLOAD_BUCKET"] in expected["AWS::S3::Bucket"]
    assert queue_name in expected["AWS::SQS::Queue"]
    assert topic_name in expected["AWS::SNS::Topic"]
    assert env["FACETRACE_IDEMPOTENCY_TABLE"] in expected["AWS::DynamoDB::Table"]
