"""Export an ArcFace-R50-sized embedder (IResNet-50, 112x112 -> 512-d) with random weights to ONNX.

Only for timing: the weights are random, so its embeddings mean nothing. It has the architecture,
size and input/output contract of insightface's w600k_r50.onnx, which cannot be downloaded here.

    pip install torch==2.13.0   # not a project dependency
    python scripts/export_r50.py r50.onnx            # add --fp16 on a GPU for a half-precision model
    python scripts/bench_engine.py --onnx-model r50.onnx --providers CUDAExecutionProvider,CPUExecutionProvider
"""

from __future__ import annotations

import argparse

import torch
from torch import nn


class Block(nn.Module):
    """IResNet basic block: BN, 3x3 conv, BN, PReLU, 3x3 conv (stride), BN, plus the shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
        )
        self.short = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.short is None else self.short(x))


class IResNet50(nn.Module):
    """The ArcFace R50 backbone: stages of 3, 4, 14 and 3 blocks, then BN, FC to 512, BN."""

    def __init__(self, dim: int = 512) -> None:
        super().__init__()
        layers, widths, cin = [], (64, 128, 256, 512), 64
        for blocks, width in zip((3, 4, 14, 3), widths):
            layers += [Block(cin, width, 2)] + [Block(width, width, 1) for _ in range(blocks - 1)]
            cin = width
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(512), nn.Flatten(), nn.Linear(512 * 7 * 7, dim), nn.BatchNorm1d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def main() -> None:
    """Write the ONNX file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--fp16", action="store_true", help="half-precision weights and input (export on CUDA)")
    args = parser.parse_args()
    model = IResNet50().eval()
    sample = torch.randn(2, 3, 112, 112)
    if args.fp16:  # CPU kernels lack some half ops; the GPU exports what it will run
        model, sample = model.cuda().half(), sample.cuda().half()
    torch.onnx.export(model, sample, args.out, input_names=["input.1"], output_names=["embedding"],
                      dynamic_axes={"input.1": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    params = sum(p.numel() for p in model.parameters())
    precision = "fp16" if args.fp16 else "fp32"
    print(f"wrote {args.out}: IResNet-50 {precision}, {params / 1e6:.1f} M parameters, input [N,3,112,112], output [N,512]")


if __name__ == "__main__":
    main()
