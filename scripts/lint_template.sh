#!/usr/bin/env bash
# Lint infra/template.yaml: `sam validate --lint` (SAM transform + cfn-lint) and a cfn-lint run
# with the Serverless Rules appended (cfn-lint-serverless, installed by scripts/sam.sh). Both
# must be clean: any warning fails. Suppress a rule only on the resource,
# with Metadata: {cfn-lint: {config: {ignore_checks: [Wxxxx]}}} and a comment saying why.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE="${1:-infra/template.yaml}"
cd "$ROOT"

echo "== sam validate --lint $TEMPLATE"
scripts/sam.sh validate --lint --template-file "$TEMPLATE"

SAM_VENV="${SAM_VENV:-$ROOT/.venv-sam}"
echo "== cfn-lint (+ serverless rules) $TEMPLATE"
# cfn-lint exits non-zero on errors (2) and warnings (4); informational (8) is off by default.
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" \
  "$SAM_VENV/bin/cfn-lint" --regions "${AWS_DEFAULT_REGION:-us-east-1}" \
  --append-rules cfn_lint_serverless.rules -- "$TEMPLATE"
echo "lint: OK"
