"""The local stack: a moto server holding the buckets, queues, topics and subscriptions of the SAM template."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from moto.server import ThreadedMotoServer

from facetrace.config import Settings
from devstack.template import UnresolvedReference, load_template, resolve

logger = Logger(child=True)

ACCOUNT = "123456789012"
TEMPLATE = Path(__file__).resolve().parents[1] / "infra" / "template.yaml"
S3_EVENTS_QUEUE = "s3-events"  # key of the local queue that stands in for S3 invoking the ingest function


@dataclass
class LocalStack:
    """moto server + the template's resources, named exactly as the template names them."""

    template_path: Path = TEMPLATE
    stack_name: str = "facetrace-local"
    region: str = "us-east-1"
    parameters: dict[str, str] = field(default_factory=dict)
    endpoint: str = ""
    physical: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.template = load_template(self.template_path)
        self.parameters.setdefault("SenderEmail", "alerts@facetrace.local")
        self._server: ThreadedMotoServer | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> "LocalStack":
        """Start moto on a free loopback port and create every bucket, queue, topic and subscription."""
        for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                            "AWS_DEFAULT_REGION": self.region}.items():
            os.environ.setdefault(name, value)
        # moto serves through werkzeug, which would print every AWS call of the stack as a request line.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._create_resources()
        return self

    def stop(self) -> None:
        """Stop the moto server; everything in it is gone."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str) -> Any:
        """A boto3 client on the local stack."""
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint)

    # --- what the template says ------------------------------------------------------------
    def resources(self, type_: str) -> dict[str, dict]:
        """The template's resources of one CloudFormation type, by logical id."""
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_}

    def context(self) -> dict[str, Any]:
        """What Ref / GetAtt / Sub resolve against locally."""
        params = {k: str(v.get("Default", "")) for k, v in self.template.get("Parameters", {}).items()}
        params.update(self.parameters)
        return {
            "AWS::StackName": self.stack_name, "AWS::Region": self.region, "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
            **params, **self.physical,
            **{f"{lid}.{att}": val for lid, atts in self.attributes.items() for att, val in atts.items()},
        }

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions in a template value against the local stack."""
        return resolve(value, self.context(), self.template.get("Conditions", {}), self.template.get("Mappings", {}))

    def function_env(self, logical_id: str) -> dict[str, str]:
        """The environment a function gets: Globals merged with its own, resolved locally."""
        glob = self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        own = self.template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        env = {}
        for name, raw in {**glob, **own}.items():
            try:
                value = self.resolve(raw)
            except KeyError:
                continue  # cloud-only resources (RDS Proxy, secrets) have no local counterpart
            if value is not None:
                env[name] = str(value)
        return env

    def settings_for(self, env: dict[str, str], **overrides: Any) -> Settings:
        """Settings built from a resolved environment, pointed at moto."""
        values = {k.removeprefix("FACETRACE_").lower(): v for k, v in env.items() if k.startswith("FACETRACE_")}
        values.update(aws_endpoint_url=self.endpoint, aws_region=self.region, db_secret_arn=None, db_host=None)
        values.update(overrides)
        return Settings(**values)

    # --- creation --------------------------------------------------------------------------
    def _create_resources(self) -> None:
        for lid, res in self.resources("AWS::S3::Bucket").items():
            self._create_bucket(lid, res["Properties"])
        self._create_queues(self.resources("AWS::SQS::Queue"))
        for lid, res in self.resources("AWS::SNS::Topic").items():
            self._create_topic(lid, res.get("Properties", {}))
        for res in self.resources("AWS::SNS::Subscription").values():
            self._subscribe(res["Properties"])
        for lid, res in self.resources("AWS::DynamoDB::Table").items():
            self._create_table(lid, res["Properties"])
        self._wire_s3_events()
        self._verify_sender()

    def _create_bucket(self, lid: str, props: dict) -> None:
        name = self.resolve(props["BucketName"])
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        if "CorsConfiguration" in props:
            rules = [_cors_rule(r) for r in self.resolve(props["CorsConfiguration"]["CorsRules"])]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        self.physical[lid] = name
        self.attributes[lid] = {"Arn": f"arn:aws:s3:::{name}"}

    def _create_queues(self, pending: dict[str, dict]) -> None:
        # A queue's redrive policy names its dead-letter queue, which must exist first.
        while pending:
            created = [lid for lid, res in pending.items() if self._try_queue(lid, res.get("Properties", {}))]
            if not created:
                raise ValueError(f"queues with unresolvable references: {sorted(pending)}")
            for lid in created:
                del pending[lid]

    def _try_queue(self, lid: str, props: dict) -> bool:
        try:
            self._create_queue(lid, props)
        except UnresolvedReference:
            return False
        return True

    def _create_queue(self, lid: str, props: dict) -> None:
        name = self.resolve(props.get("QueueName", lid))
        attrs = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "FifoQueue", "ContentBasedDeduplication"):
            if key in props:
                attrs[key] = str(self.resolve(props[key])).lower() if key in ("FifoQueue", "ContentBasedDeduplication") else str(self.resolve(props[key]))
        if "RedrivePolicy" in props:
            attrs["RedrivePolicy"] = json.dumps(self.resolve(props["RedrivePolicy"]))
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.physical[lid] = url
        self.attributes[lid] = {"Arn": arn, "QueueName": name, "QueueUrl": url}

    def _create_topic(self, lid: str, props: dict) -> None:
        name = self.resolve(props.get("TopicName", lid))
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        self.physical[lid] = arn
        self.attributes[lid] = {"TopicArn": arn, "TopicName": name}

    def _create_table(self, lid: str, props: dict) -> None:
        name = self.resolve(props["TableName"])
        self.client("dynamodb").create_table(
            TableName=name, KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
        )
        self.physical[lid] = name
        self.attributes[lid] = {"Arn": f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{name}"}

    def _subscribe(self, props: dict) -> None:
        attrs = {"RawMessageDelivery": str(self.resolve(props.get("RawMessageDelivery", False))).lower()}
        for key in ("FilterPolicy", "RedrivePolicy"):
            if key in props:
                attrs[key] = json.dumps(self.resolve(props[key]))
        self.client("sns").subscribe(
            TopicArn=self.resolve(props["TopicArn"]), Protocol=self.resolve(props["Protocol"]),
            Endpoint=self.resolve(props["Endpoint"]), Attributes=attrs,
        )

    def s3_triggers(self) -> dict[str, list[tuple[str, list[str], str]]]:
        """Function logical id -> [(bucket logical id, events, key prefix)] from the template's S3 events."""
        triggers: dict[str, list] = {}
        for lid, res in self.resources("AWS::Serverless::Function").items():
            for event in res["Properties"].get("Events", {}).values():
                if event["Type"] != "S3":
                    continue
                props = event["Properties"]
                rules = props.get("Filter", {}).get("S3Key", {}).get("Rules", [])
                prefix = next((r["Value"] for r in rules if r["Name"].lower() == "prefix"), "")
                events = props["Events"] if isinstance(props["Events"], list) else [props["Events"]]
                triggers.setdefault(lid, []).append((props["Bucket"]["Ref"], events, prefix))
        return triggers

    def _wire_s3_events(self) -> None:
        # moto cannot invoke a Lambda; S3 notifies a local queue that the local runtime drains into the function.
        sqs = self.client("sqs")
        name = f"{self.stack_name}-{S3_EVENTS_QUEUE}"
        url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.physical[S3_EVENTS_QUEUE] = url
        by_bucket: dict[str, list] = {}
        for fn, triggers in self.s3_triggers().items():
            for bucket, events, prefix in triggers:
                by_bucket.setdefault(bucket, []).append({
                    "Id": f"{fn}-{prefix or 'all'}".replace("/", ""), "QueueArn": arn, "Events": events,
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                })
        for bucket, configs in by_bucket.items():
            self.client("s3").put_bucket_notification_configuration(
                Bucket=self.physical[bucket], NotificationConfiguration={"QueueConfigurations": configs}
            )

    def _verify_sender(self) -> None:
        sender = self.context().get("SenderEmail")
        if sender:
            self.client("ses").verify_email_identity(EmailAddress=sender)


def _cors_rule(rule: dict) -> dict:
    # CloudFormation and the S3 API spell three CORS fields differently.
    renames = {"MaxAge": "MaxAgeSeconds", "Id": "ID", "ExposedHeaders": "ExposeHeaders"}
    return {renames.get(k, k): v for k, v in rule.items()}


def container_env(stack: LocalStack) -> dict[str, str]:
    """The GPU worker's environment from the template's ECS task definition, resolved locally."""
    env: dict[str, str] = {}
    for task in stack.resources("AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            for pair in container.get("Environment", []):
                try:
                    value = stack.resolve(pair["Value"])
                except KeyError:
                    continue
                if value is not None:
                    env[pair["Name"]] = str(value)
    return env
