"""A deploy keeps its settings: SAM CLI replaces samconfig.toml's parameter_overrides when a command passes
--parameter-overrides (aws-sam-cli issue 2380), so a documented `sam deploy --config-env prod --parameter-overrides
"A=1"` would silently deploy prod with the template's defaults for everything else. The documentation's deploy
commands must either pass every parameter samconfig sets for the environment, or go through scripts/deploy.py,
which merges them; and the script must merge."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib

import pytest

from tests.unit.template.helpers import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FAKE_SAM = """#!/usr/bin/env bash
printf '%s\\n' "$@" > "$SAM_ARGS"
"""


def _samconfig_keys(env: str) -> set[str]:
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    text = config[env]["deploy"]["parameters"].get("parameter_overrides", "")
    return {item.split("=", 1)[0] for item in shlex.split(text)}


def deploy_commands(markdown: str) -> list[str]:
    """Every deploy command in the document's shell blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"```(?:bash|sh|shell)?\n(.*?)```", markdown, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("#"):
                continue  # a comment, not a command
            if re.search(r"\bsam(\.sh)?\s+deploy\b|scripts/deploy\.py", line):
                commands.append(line)
    return commands


def problems(command: str) -> list[str]:
    """Why a deploy command would lose samconfig's parameters or set one the template lacks, if it would."""
    words = shlex.split(command, posix=True)
    found = []
    if "scripts/deploy.py" in command:
        from scripts_deploy import template_parameters  # noqa: PLC0415 - the script under test

        env = next(w for w in words[words.index(next(w for w in words if w.endswith("deploy.py"))) + 1:]
                   if not w.startswith("-"))
        given = {w.split("=", 1)[0] for w in words if re.match(r"^[A-Za-z0-9]+=", w)}
        if env not in tomllib.loads((REPO / "samconfig.toml").read_text()):
            found.append(f"samconfig.toml has no environment {env}")
        if given - template_parameters():
            found.append(f"the template has no parameter {sorted(given - template_parameters())}")
        return found
    if "--parameter-overrides" not in words:
        return found
    env = words[words.index("--config-env") + 1] if "--config-env" in words else "default"
    value = words[words.index("--parameter-overrides") + 1]
    given = set(re.findall(r"(?:^|\s)([A-Za-z0-9]+)=", value))
    lost = _samconfig_keys(env) - given
    if lost:
        found.append(f"passes --parameter-overrides with --config-env {env}: SAM then ignores samconfig's "
                     f"parameter_overrides (aws-sam-cli issue 2380), so {', '.join(sorted(lost))} fall back to the "
                     "template's defaults; use scripts/deploy.py, which merges them")
    return found


@pytest.fixture(autouse=True, scope="module")
def _script_module():
    # The script is not a package module; make it importable as scripts_deploy for the checks.
    import importlib.util

    spec = importlib.util.spec_from_file_location("scripts_deploy", REPO / "scripts" / "deploy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["scripts_deploy"] = module
    yield module
    del sys.modules["scripts_deploy"]


def test_the_check_catches_the_bug_it_is_for():
    # GIVEN the commands README's deploy steps had  WHEN checked  THEN each is refused, naming what prod would lose
    old = ['scripts/sam.sh deploy --config-env prod --parameter-overrides "Stage=prod SenderEmail=alerts@x.org"',
           'scripts/sam.sh deploy --config-env prod --parameter-overrides "Stage=prod SenderEmail=a@x.org '
           'WorkerImageUri=$REPO:$(git rev-parse --short HEAD) WebOrigin=$PORTAL"']
    for command in old:
        [problem] = problems(command)
        assert "DbInstanceClass" in problem and "MultiAZ" in problem and "scripts/deploy.py" in problem
    # AND commands that keep the settings pass
    assert problems("scripts/sam.sh deploy --config-env prod") == []
    every = " ".join(f"{k}=x" for k in _samconfig_keys("prod"))
    assert problems(f'sam deploy --config-env prod --parameter-overrides "{every} WorkerImageUri=y"') == []
    assert problems('scripts/deploy.py prod WorkerImageUri="$REPO:$TAG" WebOrigin="$PORTAL"') == []
    assert problems("scripts/deploy.py prod WorkerImage=x") != []  # a parameter the template lacks


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_documented_deploy_commands_keep_the_environment_settings(document):
    # GIVEN every deploy command the document tells an operator to run
    commands = deploy_commands(document.read_text())
    # WHEN each is checked against samconfig.toml and the template  THEN none loses a setting or names a typo
    assert {c: problems(c) for c in commands if problems(c)} == {}


def test_readme_deploys_prod_with_its_settings():
    # GIVEN README's deploy steps  THEN they deploy prod at least once (so the check above has something to check)
    assert any("prod" in c for c in deploy_commands((REPO / "README.md").read_text()))


def _fake_sam(tmp_path):
    sam = tmp_path / "sam.sh"
    sam.write_text(FAKE_SAM)
    sam.chmod(0o755)
    return {**os.environ, "SAM": str(sam), "SAM_ARGS": str(tmp_path / "args")}


def test_the_deploy_script_keeps_every_samconfig_parameter_and_adds_the_given_ones(tmp_path):
    # GIVEN a stand-in for the SAM CLI that records its arguments
    env = _fake_sam(tmp_path)
    # WHEN an operator deploys prod with a new worker image and the portal's origin
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "deploy.py"), "prod",
                          "WorkerImageUri=1.dkr.ecr.us-east-1.amazonaws.com/ft:abc1234", "WebOrigin=https://d1.cf.net",
                          "RetentionDays=60", "--", "--no-confirm-changeset"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    args = (tmp_path / "args").read_text().splitlines()
    # THEN sam deploys prod with every parameter samconfig sets for it, the given ones added or replacing
    assert args[:3] == ["deploy", "--config-env", "prod"] and args[-1] == "--no-confirm-changeset"
    passed = dict(item.split("=", 1) for item in shlex.split(args[args.index("--parameter-overrides") + 1]))
    assert _samconfig_keys("prod") <= set(passed)
    assert passed["WorkerImageUri"] == "1.dkr.ecr.us-east-1.amazonaws.com/ft:abc1234"
    assert passed["WebOrigin"] == "https://d1.cf.net" and passed["RetentionDays"] == "60"
    assert passed["DbInstanceClass"] == "db.r7g.large" and passed["MultiAZ"] == "true"


def test_the_deploy_script_refuses_a_parameter_the_template_lacks(tmp_path):
    env = _fake_sam(tmp_path)
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "deploy.py"), "prod", "WorkerImage=x"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "WorkerImage" in run.stderr and not (tmp_path / "args").exists()


def test_samconfig_names_only_parameters_the_template_declares(_script_module):
    declared = _script_module.template_parameters()
    assert {"Stage", "SenderEmail", "WorkerImageUri", "WebOrigin", "SignInDomainPrefix"} <= declared
    for env in ("default", "dev", "prod"):
        assert _samconfig_keys(env) <= declared, env
