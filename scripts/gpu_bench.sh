#!/usr/bin/env bash
# The face engine on a lent GPU machine (the `device` tool): one prepared run, about 5 minutes.
#
# That machine has PyTorch and CUDA 13 but no network and a CPU-only onnxruntime, so the caller
# brings, in ignored folders of the checkout (scripts/gpu_bench_prepare.sh makes them and says how):
#   .gpu/whl/*.whl      pydantic, pydantic-core, annotated-types, typing-inspection, typing-extensions,
#                       aws-lambda-powertools, jmespath (pip download --python-version 3.12 ...)
#   .gpu/models/        scrfd_500m_bnkps.onnx, mobilefacenet_bgr.onnx (../shared/models)
#   .gpu/lfw/           a few hundred LFW images in <Person>/<file>.jpg layout
#   .ort*/part.N, .gpu/part.N   onnxruntime-gpu (CUDA 13 build) as a split tar.xz of its unpacked wheel
#                       (split because one call carries at most 64 MiB)
# Then: bash scripts/gpu_bench.sh "$OUT"   (tables go to stdout and to $OUT/gpu_bench.md)
set -uo pipefail
OUT=${1:-/tmp/gpu-out}
mkdir -p "$OUT" /tmp/site
export PYTHONUNBUFFERED=1 POWERTOOLS_LOG_LEVEL=WARNING
log="$OUT/gpu_bench.md"
exec > >(tee -a "$log") 2>&1

if [ ! -d /tmp/site/onnxruntime ]; then
  cat .ort1/part.* .ort2/part.* .ort3/part.* .gpu/part.* | python3 -c \
    'import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode="r|xz").extractall("/tmp/site", filter="tar")' \
    || { echo "onnxruntime-gpu parts missing or broken"; exit 1; }
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl || exit 1
fi
# onnxruntime-gpu finds CUDA, cuBLAS and cuDNN in the nvidia-* wheels that PyTorch brought.
site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
LD_LIBRARY_PATH=$(find "$site/nvidia" -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
export LD_LIBRARY_PATH PYTHONPATH=/tmp/site:layers/common:.

echo "## Face engine on $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader), $(nproc) CPU cores"
python3 -c 'import onnxruntime as o, torch; print("onnxruntime", o.__version__, o.get_available_providers(), "| torch", torch.__version__)'

models=.gpu/models
python3 scripts/export_r50.py "$models/r50.onnx" || echo "export fp32 FAILED"
python3 scripts/export_r50.py --fp16 "$models/r50_fp16.onnx" || echo "export fp16 FAILED"
# A buffalo_l-shaped pack for timing: the real SCRFD-500M detector + an R50-sized 512-d embedder (random weights).
mkdir -p /tmp/packs/scrfd500m-r50
sed -e 's/"scrfd500m-mbf"/"scrfd500m-r50-random"/' -e 's/mobilefacenet_bgr.onnx/r50.onnx/' \
  gpu_worker/packs/manifests/scrfd500m-mbf/manifest.json > /tmp/packs/scrfd500m-r50/manifest.json

cuda=CUDAExecutionProvider,CPUExecutionProvider
parts=${GPU_BENCH_PARTS:-engine,cpu,search,embedder,torch}   # a rerun can skip what it already has
bench() { timeout 150 python3 scripts/bench_engine.py --data .gpu/lfw --model-dir "$models" "$@" || echo "FAILED: $*"; }
if [[ $parts == *engine* ]]; then
  echo; echo "### Whole engine on CUDA (decode, detect, align, embed, serialise)"
  bench --images 1000 --batch 10 --pack gpu_worker/packs/manifests/scrfd500m-mbf --pack /tmp/packs/scrfd500m-r50 \
    --providers $cuda
  bench --images 1000 --batch 64 --pack /tmp/packs/scrfd500m-r50 --providers $cuda
fi
if [[ $parts == *cpu* ]]; then
  echo; echo "### Whole engine on the same machine's CPU cores"
  bench --images 300 --batch 10 --pack gpu_worker/packs/manifests/scrfd500m-mbf --pack /tmp/packs/scrfd500m-r50 \
    --providers CPUExecutionProvider
fi
if [[ $parts == *search* ]]; then
  echo; echo "### SCRFD-500M alone on CUDA, batch of 10, two canvas sizes alternating: cuDNN algorithm search"
  timeout 120 python3 - "$models/scrfd_500m_bnkps.onnx" <<'PY' || echo "search comparison FAILED"
import sys, time, numpy as np, onnxruntime as ort
for mode in ("HEURISTIC", "EXHAUSTIVE"):
    s = ort.InferenceSession(sys.argv[1], providers=[("CUDAExecutionProvider", {"cudnn_conv_algo_search": mode})])
    blobs = [np.random.rand(10, 3, n, n).astype(np.float32) for n in (640, 320)]
    for b in blobs: s.run(None, {s.get_inputs()[0].name: b})
    t = time.perf_counter()
    for _ in range(3):
        for b in blobs: s.run(None, {s.get_inputs()[0].name: b})
    print(f"| {mode} | {1000 * (time.perf_counter() - t) / 6:.1f} ms per run |", flush=True)
PY
fi
if [[ $parts == *embedder* ]]; then
  echo; echo "### R50-sized embedder alone (onnxruntime), aligned 112x112 crops"
  bench --images 1 --pack gpu_worker/packs/manifests/scrfd500m-mbf --onnx-model "$models/r50.onnx" \
    --onnx-model "$models/r50_fp16.onnx" --embed-batches 1,10,64,256 --providers $cuda
fi
if [[ $parts == *torch* ]]; then
  echo; echo "### Same architecture in PyTorch (upper bound without onnxruntime)"
  timeout 120 python3 scripts/gpu_bench_r50.py || echo "torch bench FAILED"
fi
