"""Build infra/template.yaml from infra/sections/*.yaml and the blocks that are the same for every queue or function.

    python scripts/build_template.py          # write infra/template.yaml
    python scripts/build_template.py --check  # exit 1 if infra/template.yaml is not what the sections give

The sections are plain template text, one concern each, with one shorthand: ${UploadBucketName} inside a !Sub
stands for the upload bucket's name, which functions cannot !Ref (the bucket's notification depends on the
ingest function, so a Ref back would be a circular dependency). The dead-letter queues and their alarms, and the
functions' error alarms, are generated from the tables below. `sam build`, `sam deploy`, cfn-lint and the local
stack all read the generated infra/template.yaml; tests/unit/template/test_build.py checks it is up to date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ROOT / "infra" / "sections"
TEMPLATE = ROOT / "infra" / "template.yaml"
ORDER = ("network", "storage", "portal", "queues", "topics", "database", "functions", "api", "worker", "alarms",
         "dashboard")
BUCKET_TOKEN = "${UploadBucketName}"
BUCKET_NAME = "${AWS::StackName}-uploads-${AWS::AccountId}-${AWS::Region}"

# (logical id prefix, queue name, what lands there, alarm description, alarm label); consumed by DeadLetterFunction.
DEAD_LETTER_QUEUES = (
    ("Ingest", "ingest-dlq", "failed asynchronous (S3-triggered) ingest invocations, after Lambda's own 2 retries",
     "Upload notifications the ingest function failed on", "Dead-lettered uploads"),
    ("Jobs", "jobs-dlq", "detection jobs the GPU worker failed on 3 times", "Detection jobs were dead-lettered",
     "Dead-lettered jobs"),
    ("Faces", "faces-dlq", "face results the match function failed on 3 times", "Face results were dead-lettered",
     "Dead-lettered face results"),
    ("Footage", "footage-dlq", "clip parts' results the footage function failed on 3 times",
     "Footage results were dead-lettered (their clips failed)", "Dead-lettered footage results"),
    ("Alerts", "alerts-dlq", "alert notifications notify failed on 3 times, and those SNS could not deliver",
     "Alert notifications were dead-lettered (families/agencies not notified)", "Dead-lettered alert notifications"),
    ("Deliveries", "deliveries-dlq", "delivery reports the deliveries function failed on 3 times",
     "Delivery reports could not be stored (the audit of notifications is incomplete)",
     "Dead-lettered delivery reports"),
)
FUNCTIONS = ("Ingest", "Api", "Match", "ArchiveSearch", "Footage", "Notify", "Deliveries", "DeadLetter", "Migrate", "Admin",
             "Onboard")

DEAD_LETTER_QUEUE = """\
  # {Prefix}DeadLetterQueue: {what}.
  {Prefix}DeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${{AWS::StackName}}-{name}"
      VisibilityTimeout: 180 # 6 x DeadLetterFunction timeout
      MessageRetentionPeriod: 1209600
      SqsManagedSseEnabled: true
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetterParkingQueue.Arn
        maxReceiveCount: 8
"""

QUEUE_METRIC = """\
        - Id: {id}
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: AWS/SQS
              MetricName: {metric}
              Dimensions:
                - Name: QueueName
                  Value: !GetAtt {Prefix}DeadLetterQueue.QueueName
            Period: 60
            Stat: {stat}
"""

ALARM_TAIL = """\
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: [!Ref OpsTopic]
"""

DEAD_LETTER_ALARM = """\
  {Prefix}DeadLetterAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: {description}
      Metrics:
{visible}{received}        - Id: dead
          Expression: visible + received
          Label: {label}
          ReturnData: true
""" + ALARM_TAIL

ERRORS_ALARM = """\
  {Prefix}ErrorsAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: {Prefix}Function errors
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
        - Name: FunctionName
          Value: !Ref {Prefix}Function
      Statistic: Sum
      Period: 300
""" + ALARM_TAIL


def dead_letter_queues() -> str:
    """Every dead-letter queue: read by DeadLetterFunction, parked after 8 receives."""
    return "\n".join(DEAD_LETTER_QUEUE.format(Prefix=p, name=n, what=w) for p, n, w, _, _ in DEAD_LETTER_QUEUES)


def generated_alarms() -> str:
    """One alarm per dead-letter queue (visible + received: the queues are drained) and per function's errors."""
    dead = [DEAD_LETTER_ALARM.format(
        Prefix=p, description=d, label=label,
        visible=QUEUE_METRIC.format(id="visible", metric="ApproximateNumberOfMessagesVisible", stat="Maximum", Prefix=p),
        received=QUEUE_METRIC.format(id="received", metric="NumberOfMessagesReceived", stat="Sum", Prefix=p))
        for p, _, _, d, label in DEAD_LETTER_QUEUES]
    errors = [ERRORS_ALARM.format(Prefix=f) for f in FUNCTIONS]
    intro = ("  # Generated: every dead-letter queue (drained by DeadLetterFunction, so \"visible > 0\" alone could\n"
             "  # miss a message: the alarms also count receives) and every function's errors.\n")
    return intro + "\n".join(dead + errors)


def _section(name: str) -> str:
    text = (SECTIONS / f"{name}.yaml").read_text()
    if name == "queues":
        marker = "  # @dead-letter-queues\n"
        text = text.replace(marker, dead_letter_queues() + "\n")
    if name == "alarms":
        text = text.rstrip("\n") + "\n\n" + generated_alarms()
    return text.replace(BUCKET_TOKEN, BUCKET_NAME).rstrip("\n") + "\n"


def _map(parts: dict[str, str]) -> str:
    rows = [f"#   {name:<10} infra/sections/{name}.yaml ({text.count(chr(10))} lines)" for name, text in parts.items()]
    return ("# GENERATED by scripts/build_template.py from infra/sections/*.yaml: edit those, then run it.\n"
            "# Map of this file (Resources, in order):\n" + "\n".join(rows) + "\n")


def build() -> str:
    """The whole template text."""
    parts = {name: _section(name) for name in ORDER}
    header = (SECTIONS / "header.yaml").read_text().replace(BUCKET_TOKEN, BUCKET_NAME).rstrip("\n")
    outputs = (SECTIONS / "outputs.yaml").read_text().replace(BUCKET_TOKEN, BUCKET_NAME).rstrip("\n")
    return _map(parts) + header + "\n\nResources:\n" + "\n".join(parts.values()) + "\n" + outputs + "\n"


def main() -> int:
    """Write the template, or with --check say whether the committed one is current."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if infra/template.yaml is out of date")
    args = parser.parse_args()
    text = build()
    if args.check:
        if TEMPLATE.read_text() != text:
            sys.stderr.write("infra/template.yaml is out of date: run python scripts/build_template.py\n")
            return 1
        return 0
    TEMPLATE.write_text(text)
    sys.stdout.write(f"wrote {TEMPLATE.relative_to(ROOT)} ({text.count(chr(10))} lines)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
