#!/usr/bin/env bash
# Footage throughput on a lent GPU machine (issue #14): scripts/bench_footage.py with buffalo_s on CUDA, then on
# the same machine's CPU cores, at 720p and 1080p. Prepared by scripts/gpu_bench_footage_prepare.sh (it says how
# to carry the folders); about 5 minutes.
#   bash scripts/gpu_bench_footage.sh "$OUT"     (tables to stdout and to $OUT/gpu_bench_footage.md, JSON beside)
set -uo pipefail
OUT=${1:-/tmp/gpu-out}
mkdir -p "$OUT" /tmp/site
export PYTHONUNBUFFERED=1 POWERTOOLS_LOG_LEVEL=WARNING
exec > >(tee -a "$OUT/gpu_bench_footage.md") 2>&1

if [ ! -d /tmp/site/onnxruntime ]; then
  cat .ort1/part.* .ort2/part.* .ort3/part.* .gpu/part.* | python3 -c \
    'import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode="r|xz").extractall("/tmp/site", filter="tar")' \
    || { echo "onnxruntime-gpu parts missing or broken"; exit 1; }
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl .gpuav/whl/*.whl \
    || exit 1
fi
site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
LD_LIBRARY_PATH=$(find "$site/nvidia" -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
export LD_LIBRARY_PATH PYTHONPATH=/tmp/site:layers/common:.
mkdir -p /tmp/models && cp .gpu/models/* .gpuav/models/* /tmp/models/

echo "## Footage on $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader), $(nproc) CPU cores"
python3 -c 'import onnxruntime as o, av; print("onnxruntime", o.__version__, o.get_available_providers(), "| av", av.__version__)'
cuda=CUDAExecutionProvider,CPUExecutionProvider
run() { timeout 240 python3 scripts/bench_footage.py --lfw .gpu/lfw --model-dir /tmp/models "$@" || echo "FAILED: $*"; }
echo; echo "### buffalo_s on CUDA"
run --seconds 120 --size 1280x720 --batch 32 --providers $cuda --json "$OUT/footage_cuda_720p.json"
run --seconds 60 --size 1920x1080 --batch 32 --providers $cuda --json "$OUT/footage_cuda_1080p.json"
echo; echo "### buffalo_s on this machine's CPU cores"
run --seconds 60 --size 1280x720 --providers CPUExecutionProvider --json "$OUT/footage_cpu_720p.json"
