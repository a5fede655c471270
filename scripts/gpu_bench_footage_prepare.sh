#!/usr/bin/env bash
# Prepare what scripts/gpu_bench_footage.sh needs on a lent GPU machine (issue #14): everything
# scripts/gpu_bench_prepare.sh makes (onnxruntime-gpu in parts, the small wheels, SCRFD, 1,000 LFW images),
# and in one more folder, .gpuav/ (under 64 MiB, one call's carry): PyAV for python3.12 (FFmpeg bundled),
# Pillow, pydantic-settings and python-dotenv, and w600k_mbf.onnx (buffalo_s's embedder).
#
#   FACETRACE_TEST_DATA=../shared/data FACETRACE_TEST_MODELS=../shared/models scripts/gpu_bench_footage_prepare.sh
#
# Then on a warm machine, one call per folder as gpu_bench_prepare.sh says (.ort1, .ort2, .ort3 copied to
# /tmp/p), then .gpuav the same way (`mkdir -p /tmp/a && cp -r .gpuav/* /tmp/a/`), and last, carrying .gpu:
#   mkdir -p .ort1 .ort2 .ort3 .gpuav && mv /tmp/p/part.0 .ort1/ && mv /tmp/p/part.1 .ort2/ \
#     && mv /tmp/p/part.2 .ort3/ && cp -r /tmp/a/* .gpuav/ && bash scripts/gpu_bench_footage.sh $OUT
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
models=${FACETRACE_TEST_MODELS:?set FACETRACE_TEST_MODELS (../shared/models)}
bash scripts/gpu_bench_prepare.sh
grep -qx "/.gpuav/" .git/info/exclude 2>/dev/null || echo "/.gpuav/" >> .git/info/exclude
rm -rf .gpuav && mkdir -p .gpuav/whl .gpuav/models
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
fetch() { "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${platforms[@]}" "$@"; }
fetch -d .gpuav/whl "av==14.2.0"
for name in pillow pydantic-settings python-dotenv; do
  fetch -d .gpuav/whl "$name==$("$PY" -m pip show "$name" | sed -n 's/^Version: //p')"
done
cp "$models/w600k_mbf.onnx" .gpuav/models/
du -sh .gpuav
