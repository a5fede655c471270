"""AWS-shaped events for invoking the real handlers, and a Lambda context."""

from __future__ import annotations

import hashlib
import time
import uuid
from urllib.parse import quote_plus

from devstack.runtime import LambdaContext

REGION = "us-east-1"
ACCOUNT = "123456789012"


def context(function: str = "test-function") -> LambdaContext:
    return LambdaContext(function, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}")


def s3_record(bucket: str, key: str, body: bytes, event_name: str = "ObjectCreated:Post") -> dict:
    """One S3 notification record as S3 sends it to Lambda for an upload of `body` (the key URL-encoded, and the
    ETag the MD5 of the bytes, as S3 does for a single-part upload)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2024-06-01T12:00:00.000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpc"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "ingest-uploads",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3I5XTEXAMAI3E"}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key, safe="/"), "size": len(body), "eTag": hashlib.md5(body).hexdigest(),
                       "sequencer": "0A1B2C3D4E5F678901"},
        },
    }


def s3_event(*records: dict) -> dict:
    return {"Records": list(records)}


def sqs_record(body: str, queue_arn: str, message_id: str | None = None, receipt_handle: str | None = None,
               receive_count: int = 1) -> dict:
    """One SQS record as the Lambda event source mapping delivers it."""
    now = str(int(time.time() * 1000))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt_handle or f"handle-{uuid.uuid4()}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": now,
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": now},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sqs_record_from(message: dict, queue_arn: str) -> dict:
    """The record for a message received from (moto) SQS."""
    attributes = message.get("Attributes", {})
    return sqs_record(message["Body"], queue_arn, message["MessageId"], message["ReceiptHandle"],
                      int(attributes.get("ApproximateReceiveCount", "1")))


def sqs_event(*records: dict) -> dict:
    return {"Records": list(records)}
