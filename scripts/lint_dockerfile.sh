#!/usr/bin/env bash
# Lint the GPU worker image's Dockerfile with hadolint (pinned in scripts/sam.sh and installed into
# its virtualenv, $SAM_VENV). Warnings fail as well as errors. Suppress a rule only on the
# instruction, with `# hadolint ignore=DLxxxx` on the line above it and a comment saying why.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKERFILE="${1:-gpu_worker/Dockerfile}"
cd "$ROOT"

# scripts/sam.sh creates the virtualenv, or adds what it lacks, on first use.
scripts/sam.sh --version >/dev/null
SAM_VENV="${SAM_VENV:-$ROOT/.venv-sam}"

echo "== hadolint $DOCKERFILE"
"$SAM_VENV/bin/hadolint" --version
"$SAM_VENV/bin/hadolint" --no-color --failure-threshold warning "$DOCKERFILE"
echo "lint: OK"
