"""A small local Lambda runtime: drains the queues the template wires to functions into their handlers."""

from __future__ import annotations

import importlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from aws_lambda_powertools import Logger

from devstack.stack import S3_EVENTS_QUEUE, LocalStack
from facetrace.wiring import Wiring
from devstack.fanout import LocalMap

logger = Logger(child=True)


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that powertools reads."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass(frozen=True)
class Source:
    """A queue whose messages are delivered to a function, as a Lambda event source mapping would."""

    queue_url: str
    queue_arn: str
    function: str
    batch_size: int
    kind: str  # "sqs" (records batch) or "s3" (each message body is an S3 event)
    attempts: int = 3  # s3: Lambda's asynchronous invocation tries an event 1 + MaximumRetryAttempts times
    on_failure: str | None = None  # s3: the queue Lambda sends an event's failure record to after its last try


class LocalRuntime:
    """Invokes the real handlers (functions/*/app.py) with AWS-shaped events built from moto's queues."""

    def __init__(self, stack: LocalStack, db_url: str, portal_url: str | None = None) -> None:
        self.stack = stack
        self.db_url = db_url
        self.portal_url = portal_url  # the local portal (the gateway's /portal), where alert e-mails link to
        self.handlers: dict[str, Callable[[dict, Any], dict]] = {}
        self.sources: list[Source] = []
        for lid, res in stack.resources("AWS::Serverless::Function").items():
            code = res["Properties"].get("CodeUri", "")
            if code.strip("/").startswith("functions/"):
                self.handlers[lid] = self._load(lid, code.strip("/").split("/")[1])
                self.sources += self._sources(lid, res["Properties"].get("Events", {}))

    def clone(self) -> "LocalRuntime":
        """Another set of handler instances on the same queues: one more 'container' per function."""
        return LocalRuntime(self.stack, self.db_url, self.portal_url)

    def settings(self, function: str):
        """The Settings a function runs with locally: its template environment, moto, and the local MySQL."""
        # The template points at CloudFront (PortalUrl), which has no local counterpart: the gateway serves it.
        local = {"portal_url": self.portal_url} if self.portal_url else {}
        return self.stack.settings_for(self.stack.function_env(function), db_url=self.db_url, **local)

    def _load(self, lid: str, folder: str) -> Callable[[dict, Any], dict]:
        module = importlib.import_module(f"functions.{folder}.app")
        return module.make_handler(Wiring(self.settings(lid), segment_search=self._fanout(lid)))

    def _fanout(self, lid: str) -> LocalMap | None:
        """The local stand-in for the state machine a function's environment names (moto runs no Lambda code)."""
        env = self.stack.template["Resources"][lid]["Properties"].get("Environment", {}).get("Variables", {})
        machine = env.get("FACETRACE_ARCHIVE_STATE_MACHINE_ARN")
        if not isinstance(machine, dict) or "Ref" not in machine:
            return None
        return LocalMap.from_template(self.stack.template, machine["Ref"], self.invoke)

    def _sources(self, lid: str, events: dict) -> list[Source]:
        sources = []
        for event in events.values():
            props = event.get("Properties", {})
            if event["Type"] == "SQS":
                queue = props["Queue"]["Fn::GetAtt"][0]
                sources.append(Source(self.stack.physical[queue], self.stack.attributes[queue]["Arn"], lid,
                                      int(props.get("BatchSize", 10)), "sqs"))
        if lid in self.stack.s3_triggers():
            url = self.stack.physical[S3_EVENTS_QUEUE]
            attempts, on_failure = self._async_config(lid)
            sources.append(Source(url, f"arn:aws:sqs:{self.stack.region}:local:{S3_EVENTS_QUEUE}", lid, 10, "s3",
                                  attempts, on_failure))
        return list({s.queue_url + s.function: s for s in sources}.values())

    def _async_config(self, lid: str) -> tuple[int, str | None]:
        config = self.stack.template["Resources"][lid]["Properties"].get("EventInvokeConfig", {})
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        queue = destination["Fn::GetAtt"][0] if isinstance(destination, dict) and "Fn::GetAtt" in destination else None
        return 1 + int(config.get("MaximumRetryAttempts", 2)), self.stack.physical.get(queue) if queue else None

    def invoke(self, function: str, event: dict) -> dict:
        """Invoke one function's handler with an event, as Lambda would."""
        arn = f"arn:aws:lambda:{self.stack.region}:123456789012:function:{function}"
        return self.handlers[function](event, LambdaContext(function, arn))

    def pump(self, wait_s: int = 0) -> int:
        """Deliver one batch from every source; return how many messages were handled."""
        return sum(self._pump(source, wait_s) for source in self.sources)

    def consumers(self) -> list[str]:
        """Functions fed by a queue (one local thread each: a handler's connections are not shared)."""
        return sorted({s.function for s in self.sources})

    def pump_function(self, function: str, wait_s: int = 0) -> int:
        """Deliver one batch from each source of one function (long-polling up to wait_s, as Lambda's poller does)."""
        return sum(self._pump(s, wait_s) for s in self.sources if s.function == function)

    def _pump(self, source: Source, wait_s: int) -> int:
        sqs = self.stack.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=source.queue_url, MaxNumberOfMessages=source.batch_size, WaitTimeSeconds=wait_s,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        failed = self._deliver_s3(source, messages) if source.kind == "s3" else self._deliver_sqs(source, messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        for m in done:
            sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=m["ReceiptHandle"])
        for m in messages:
            if m["MessageId"] in failed:
                # Locally a failed message is retried at once instead of after the visibility timeout.
                sqs.change_message_visibility(QueueUrl=source.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        return len(messages)

    def _deliver_sqs(self, source: Source, messages: list[dict]) -> set[str]:
        event = {"Records": [_sqs_record(m, source, self.stack.region) for m in messages]}
        try:
            response = self.invoke(source.function, event) or {}
        except Exception:
            # Lambda retries the whole batch when the function raises (powertools does when every record failed).
            logger.exception("invocation failed", extra={"function": source.function, "records": len(messages)})
            return {m["MessageId"] for m in messages}
        return {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}

    def _deliver_s3(self, source: Source, messages: list[dict]) -> set[str]:
        failed = set()
        for m in messages:
            event = json.loads(m["Body"])
            if "Records" not in event:
                continue  # S3's test event on configuration
            event = {"Records": [_as_s3_sends(r) for r in event["Records"]]}
            try:
                self.invoke(source.function, event)
            except Exception as exc:
                logger.exception("ingest invocation failed", extra={"message_id": m["MessageId"]})
                tries = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                if tries < source.attempts or source.on_failure is None:
                    failed.add(m["MessageId"])
                else:  # Lambda gives up on the event and sends its on-failure record
                    self._send_failure(source, event, exc, tries)
        return failed

    def _send_failure(self, source: Source, event: dict, exc: Exception, tries: int) -> None:
        record = {
            "version": "1.0", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {"requestId": str(uuid.uuid4()), "condition": "RetriesExhausted",
                               "approximateInvokeCount": tries,
                               "functionArn": f"arn:aws:lambda:{self.stack.region}:123456789012:function:{source.function}"},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": str(exc)[:1000], "errorType": type(exc).__name__},
        }
        self.stack.client("sqs").send_message(QueueUrl=source.on_failure, MessageBody=json.dumps(record))


def _as_s3_sends(record: dict) -> dict:
    # moto leaves out fields that S3 always sends to Lambda; fill them as S3 would.
    principal = {"principalId": "AWS:LOCAL"}
    record = {"userIdentity": principal, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
              "responseElements": {"x-amz-request-id": "local", "x-amz-id-2": "local"}, **record}
    record["s3"]["bucket"].setdefault("ownerIdentity", principal)
    return record


def _sqs_record(message: dict, source: Source, region: str) -> dict:
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "SenderId": attributes.get("SenderId", "local"),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }
