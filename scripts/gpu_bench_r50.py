"""Time an ArcFace-R50-sized embedder on a GPU: the worker's embed stage at its upper bound.

Prepared for a lent GPU machine (no network there, PyTorch installed, onnxruntime without CUDA):

    python3 scripts/gpu_bench_r50.py

It builds IResNet-50 (scripts/export_r50.py, random weights: timing only) and times batches of 1,
10, 64 and 256 aligned 112x112 crops in fp32 and fp16 with CUDA events after warm-up. In the
worker image (onnxruntime-gpu), time the exported ONNX file through the real pipeline instead:
`python scripts/export_r50.py r50.onnx && python scripts/bench_engine.py --onnx-model r50.onnx
--providers CUDAExecutionProvider,CPUExecutionProvider`. Record the table in docs/benchmarks.md
with the device named.
"""

from __future__ import annotations

import statistics
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import torch

# scripts/ is not a package: load the architecture from its file rather than touching sys.path.
_spec = spec_from_file_location("export_r50", Path(__file__).with_name("export_r50.py"))
export_r50 = module_from_spec(_spec)
_spec.loader.exec_module(export_r50)


def time_torch(model: torch.nn.Module, batch: int, dtype: torch.dtype, reps: int = 20) -> float:
    """Median milliseconds per batch on the GPU."""
    x = torch.randn(batch, 3, 112, 112, device="cuda", dtype=dtype)
    with torch.inference_mode():
        for _ in range(5):
            model(x)
        times = []
        for _ in range(reps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            model(x)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
    return statistics.median(times)


def main() -> None:
    """Print crops/s per batch size and precision."""
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run this on a GPU machine (CPU figures: scripts/bench_engine.py --onnx-model)")
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    model = export_r50.IResNet50().eval().cuda()
    print("| precision | batch | ms/batch | crops/s |\n|---|---:|---:|---:|")
    for dtype, name in ((torch.float32, "fp32"), (torch.float16, "fp16")):
        m = model.to(dtype)
        for batch in (1, 10, 64, 256):
            ms = time_torch(m, batch, dtype)
            print(f"| {name} | {batch} | {ms:.2f} | {1000 * batch / ms:,.0f} |")


if __name__ == "__main__":
    main()
