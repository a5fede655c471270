"""Build configuration: samconfig, requirements, and the template generated from its sections."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.unit.template.helpers import FUNCTIONS, REPO, resources


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


def test_template_is_generated_from_its_sections():
    # GIVEN the sections under infra/sections and the generator WHEN the template is built again
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "build_template.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    # THEN the committed infra/template.yaml is exactly what they give (nobody edited the output by hand)
    assert done.returncode == 0, done.stderr


def test_generated_blocks_cover_every_dead_letter_queue_and_function(template):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_template", REPO / "scripts" / "build_template.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    # GIVEN the generator's tables WHEN held against the template THEN every function and every queue that is a
    # redrive target (except the parking queue, alarmed on its own) is in them
    functions = {lid.removesuffix("Function") for lid in resources(template, "AWS::Serverless::Function")}
    assert set(build.FUNCTIONS) == functions
    targets = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
               for q in resources(template, "AWS::SQS::Queue").values() if "RedrivePolicy" in q["Properties"]}
    targets |= {"IngestDeadLetterQueue"}  # the ingest function's on-failure destination
    assert {f"{p}DeadLetterQueue" for p, *_ in build.DEAD_LETTER_QUEUES} == targets - {"DeadLetterParkingQueue"}
