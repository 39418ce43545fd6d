"""Linear + cross-entropy forward+backward on a CUDA GPU: outlayer vs the field.

    pip install triton liger-kernel cut-cross-entropy     # the last two are optional
    PYTHONPATH=src python benchmarks/gpu/bench_linear_ce_gpu.py              # 8192 x 2304 x 256000 bf16
    PYTHONPATH=src python benchmarks/gpu/bench_linear_ce_gpu.py --shape 4096,1024,32000 --json lce.json

Implementations (loss, d hidden, d weight; mean reduction; no bias):
  torch-eager     F.cross_entropy(h @ W.T, y).backward()
  torch-compile   the same under torch.compile
  torch-chunked   F.linear_cross_entropy(h, W, y, options=LinearCrossEntropyOptions()) (torch >= 2.13)
  liger           liger_kernel.transformers.LigerFusedLinearCrossEntropyLoss()(W, h, y)
  cce             cut_cross_entropy.linear_cross_entropy(h, W, y)
  outlayer        outlayer.torch.linear_cross_entropy(h, W, y) (chunked; Triton CE per block)

Recorded: median ms, TFLOP/s counting the three matmuls (6 N d V), GB/s counting the minimal
traffic (read h and W, write their gradients), and the peak memory allocated above the inputs
(the goal: outlayer within 10% of cce's memory, and faster). Correctness is checked first against
torch-eager in float32 on a small shape.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
import torch.nn.functional as F
from bench_ce_gpu import peak_extra_bytes, time_cuda  # same folder


def implementations(chunk_size):
    impls = {}

    def eager(h, w, y):
        h, w = h.detach().requires_grad_(True), w.detach().requires_grad_(True)
        F.cross_entropy(h @ w.T, y).backward()
        return h.grad, w.grad

    impls["torch-eager"] = eager
    compiled = torch.compile(lambda h, w, y: F.cross_entropy(h @ w.T, y))

    def torch_compile(h, w, y):
        h, w = h.detach().requires_grad_(True), w.detach().requires_grad_(True)
        compiled(h, w, y).backward()
        return h.grad, w.grad

    impls["torch-compile"] = torch_compile
    if hasattr(F, "linear_cross_entropy") and hasattr(torch.nn, "LinearCrossEntropyOptions"):
        options = torch.nn.LinearCrossEntropyOptions()

        def torch_chunked(h, w, y):
            h, w = h.detach().requires_grad_(True), w.detach().requires_grad_(True)
            F.linear_cross_entropy(h, w, y, options=options).backward()
            return h.grad, w.grad

        impls["torch-chunked"] = torch_chunked
    try:
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

        liger_loss = LigerFusedLinearCrossEntropyLoss()

        def liger(h, w, y):
            h, w = h.detach().requires_grad_(True), w.detach().requires_grad_(True)
            liger_loss(w, h, y).backward()
            return h.grad, w.grad

        impls["liger"] = liger
    except ImportError as exc:
        print(f"liger: skipped ({exc})", file=sys.stderr)
    try:
        from cut_cross_entropy import linear_cross_entropy as cce_loss

        def cce(h, w, y):
            h, w = h.detach().requires_grad_(True), w.detach().requires_grad_(True)
            cce_loss(h, w, y).backward()
            return h.grad, w.grad

        impls["cce"] = cce
    except ImportError as exc:
        print(f"cce: skipped ({exc})", file=sys.stderr)
    from outlayer.torch import linear_cross_entropy

    def outlayer(h, w, y):
        h, w = h.detach().requires_grad_(True), w.detach().requires_grad_(True)
        linear_cross_entropy(h, w, y, chunk_size=chunk_size).backward()
        return h.grad, w.grad

    impls["outlayer"] = outlayer
    return impls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="linear+CE fwd+bwd on a GPU")
    parser.add_argument("--shape", default="8192,2304,256000", help="N,d,V")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--chunk-size", type=int, default=None, help="outlayer's rows per block")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device: nothing measured", file=sys.stderr)
        return 1
    n, d, v = (int(s) for s in args.shape.split(","))
    dtype = getattr(torch, args.dtype)
    impls = implementations(args.chunk_size)

    gen = torch.Generator(device="cuda").manual_seed(0)
    hs = torch.randn(300, 64, device="cuda", generator=gen)
    ws = torch.randn(5000, 64, device="cuda", generator=gen) / 8
    ys = torch.randint(0, 5000, (300,), device="cuda", generator=gen)
    ref_h, ref_w = impls["torch-eager"](hs, ws, ys)
    ok = {}
    for name, fn in impls.items():
        gh, gw = fn(hs, ws, ys)
        err = max((gh.float() - ref_h).abs().max().item(), (gw.float() - ref_w).abs().max().item())
        ok[name] = err < 1e-4  # TF32 matmuls may be on
        print(f"check {name}: max |grad - eager| = {err:.2e} {'ok' if ok[name] else 'MISMATCH'}", file=sys.stderr)

    h = torch.randn(n, d, device="cuda", generator=gen).to(dtype)
    w = (torch.randn(v, d, device="cuda", generator=gen) / d**0.5).to(dtype)
    y = torch.randint(0, v, (n,), device="cuda", generator=gen)
    elem = h.element_size()
    rows = []
    eager_ms = None
    for name, fn in impls.items():
        if not ok[name]:
            continue
        try:
            ms = time_cuda(lambda: fn(h, w, y), repeats=args.repeats)
            peak = peak_extra_bytes(lambda: fn(h, w, y))
        except torch.cuda.OutOfMemoryError:
            print(f"{name}: out of memory at {n}x{d}x{v}", file=sys.stderr)
            torch.cuda.empty_cache()
            continue
        eager_ms = ms if name == "torch-eager" else eager_ms
        seconds = ms / 1e3
        rows.append(dict(suite="gpu-linear-ce", impl=name, N=n, d=d, V=v, dtype=args.dtype, median_ms=ms,
                         tflops=6 * n * d * v / seconds / 1e12, gbps=2 * (n * d + v * d) * elem / seconds / 1e9,
                         peak_extra_gb=peak / 1e9, ratio_vs_torch=None if eager_ms is None else eager_ms / ms,  # > 1: faster than eager
                         device=torch.cuda.get_device_name()))
    print("| impl | ms | TFLOP/s | GB/s | peak extra GB | speed-up vs eager |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ratio = "" if r["ratio_vs_torch"] is None else f"{r['ratio_vs_torch']:.2f}"
        print(f"| {r['impl']} | {r['median_ms']:.1f} | {r['tflops']:.0f} | {r['gbps']:.0f} | {r['peak_extra_gb']:.2f} | {ratio} |")
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
