"""Queues: redrive, encryption, visibility, partial batch failures (infra/sections/queues.yaml)."""

from __future__ import annotations

from tests.unit.template.helpers import (
    function_props,
    resources,
    sqs_events,
)


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
