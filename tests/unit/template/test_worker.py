"""The GPU worker's capacity and scaling (infra/sections/worker.yaml)."""

from __future__ import annotations


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
