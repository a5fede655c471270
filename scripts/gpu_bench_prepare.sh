#!/usr/bin/env bash
# Prepare what scripts/gpu_bench.sh needs on a lent GPU machine, which has no network and accepts at
# most 64 MiB per call: onnxruntime-gpu (CUDA 13 build, ~200 MB packed) split over four folders,
# the small wheels the worker needs beside PyTorch's image, the shared models and 1,000 LFW images.
#
#   FACETRACE_TEST_DATA=../shared/data FACETRACE_TEST_MODELS=../shared/models scripts/gpu_bench_prepare.sh
#
# Then, on a warm machine and without pausing (it is given back after 30 s idle), one call per part,
# each copying its part to /tmp/p there:  carry .ort1 -> `mkdir -p /tmp/p && cp .ort1/* /tmp/p/`,
# the same for .ort2 and .ort3, and last, carrying .gpu:
#   mkdir -p .ort1 .ort2 .ort3 && mv /tmp/p/part.0 .ort1/ && mv /tmp/p/part.1 .ort2/ \
#     && mv /tmp/p/part.2 .ort3/ && bash scripts/gpu_bench.sh $OUT
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ORT_VERSION=${ORT_VERSION:-1.31.1}
PY=${PY:-.venv/bin/python}
data=${FACETRACE_TEST_DATA:?set FACETRACE_TEST_DATA (../shared/data)}
models=${FACETRACE_TEST_MODELS:?set FACETRACE_TEST_MODELS (../shared/models)}
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
fetch() { "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${platforms[@]}" "$@"; }

for dir in .gpu .ort1 .ort2 .ort3; do
  grep -qx "/$dir/" .git/info/exclude 2>/dev/null || echo "/$dir/" >> .git/info/exclude
done
rm -rf .gpu .ort1 .ort2 .ort3 && mkdir -p .gpu/whl .gpu/models .gpu/lfw .ort1 .ort2 .ort3
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT

# onnxruntime-gpu without what the benchmark never loads (TensorRT provider, tooling), packed and split
fetch -d "$work" "onnxruntime-gpu==$ORT_VERSION"
mkdir "$work/x" && (cd "$work/x" && unzip -q ../onnxruntime_gpu-*.whl)
rm -rf "$work"/x/onnxruntime/capi/libonnxruntime_providers_tensorrt.so "$work"/x/onnxruntime/{transformers,quantization,tools}
tar -C "$work/x" -cf - . | xz -T0 -6 > "$work/ort.tar.xz"
(cd "$work" && split -b 60M -d -a 1 ort.tar.xz part.)
[ -f "$work/part.4" ] && { echo "onnxruntime-gpu needs more than four parts: add a folder"; exit 1; }
mv "$work/part.0" .ort1/ && mv "$work/part.1" .ort2/ && mv "$work/part.2" .ort3/ && mv "$work/part.3" .gpu/

# the worker's pure-Python needs at the versions this checkout runs (PyTorch's image has numpy, OpenCV)
for name in pydantic pydantic_core annotated-types typing-inspection typing_extensions aws-lambda-powertools jmespath; do
  fetch -d .gpu/whl "$name==$("$PY" -m pip show "$name" | sed -n 's/^Version: //p')"
done
cp "$models/scrfd_500m_bnkps.onnx" "$models/mobilefacenet_bgr.onnx" .gpu/models/
"$PY" - "$data/lfw" <<'PY'
import shutil, sys
from pathlib import Path
files = sorted(Path(sys.argv[1]).glob("*/*.jpg"))
for i in range(1000):
    f = files[i * (len(files) - 1) // 999]
    (Path(".gpu/lfw") / f.parent.name).mkdir(exist_ok=True)
    shutil.copy(f, Path(".gpu/lfw") / f.parent.name)
PY
du -sh .gpu .ort1 .ort2 .ort3
