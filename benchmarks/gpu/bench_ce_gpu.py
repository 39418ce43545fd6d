"""Cross-entropy forward+backward on a CUDA GPU: outlayer's Triton kernel vs the field.

    pip install triton liger-kernel cut-cross-entropy     # the last two are optional
    PYTHONPATH=src python benchmarks/gpu/bench_ce_gpu.py                     # 16384 x 131072 bf16
    PYTHONPATH=src python benchmarks/gpu/bench_ce_gpu.py --shape 4096,32000 --json ce.json

Implementations (each: loss and the logits' gradient, mean reduction, integer targets):
  torch-eager        F.cross_entropy(x, y).backward()
  torch-compile      the same under torch.compile
  liger              liger_kernel.transformers.LigerCrossEntropyLoss (skipped if not installed)
  outlayer-autograd  outlayer.torch.cross_entropy (the issue-6 drop-in; uses the Triton kernel on CUDA)
  outlayer-inplace   outlayer.kernels.triton_ce.cross_entropy_cuda(x, y, in_place=True)
Cut Cross-Entropy has no plain CE entry point; it appears in bench_linear_ce_gpu.py.

Recorded per implementation: median ms (CUDA events, after warm-up), GB/s counting the minimal
traffic (read the logits once, write the gradient once: 2 N V bytes-per-element), that traffic's
share of the measured device-to-device copy bandwidth (the goal: >= 85%), and the peak memory
allocated above the inputs. Every implementation is first checked against torch-eager in float32
on a small shape; a mismatch is reported and that implementation is not timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import torch
import torch.nn.functional as F


def time_cuda(fn, *, warmup: int = 3, repeats: int = 20, prepare=None) -> float:
    """Median ms of ``fn()``; ``prepare()`` runs before each call, outside the timed region."""
    for _ in range(warmup):
        if prepare is not None:
            prepare()
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        if prepare is not None:
            prepare()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def peak_extra_bytes(fn) -> int:
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    result = fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base
    del result
    return peak


def copy_gbps(n_bytes: int) -> float:
    """Device-to-device copy bandwidth at this size (read + write), the card's practical ceiling."""
    src = torch.empty(n_bytes // 2, dtype=torch.bfloat16, device="cuda")
    dst = torch.empty_like(src)
    ms = time_cuda(lambda: dst.copy_(src))
    return 2 * n_bytes / (ms / 1e3) / 1e9


def implementations():
    impls = {}

    def eager(x, y):
        x = x.detach().requires_grad_(True)
        F.cross_entropy(x, y).backward()
        return x.grad

    impls["torch-eager"] = eager
    compiled = torch.compile(lambda x, y: F.cross_entropy(x, y))

    def torch_compile(x, y):
        x = x.detach().requires_grad_(True)
        compiled(x, y).backward()
        return x.grad

    impls["torch-compile"] = torch_compile
    try:
        from liger_kernel.transformers import LigerCrossEntropyLoss

        liger_loss = LigerCrossEntropyLoss()

        def liger(x, y):
            x = x.detach().requires_grad_(True)
            liger_loss(x, y).backward()
            return x.grad

        impls["liger"] = liger
    except ImportError as exc:
        print(f"liger: skipped ({exc})", file=sys.stderr)
    try:
        from outlayer.torch import cross_entropy as outlayer_ce

        def outlayer_autograd(x, y):
            x = x.detach().requires_grad_(True)
            outlayer_ce(x, y).backward()
            return x.grad

        impls["outlayer-autograd"] = outlayer_autograd
    except (ImportError, AttributeError) as exc:
        print(f"outlayer-autograd: skipped ({exc})", file=sys.stderr)
    from outlayer.kernels.triton_ce import cross_entropy_cuda

    # In training the logits buffer is dead after the loss, so the gradient may overwrite it. The
    # timed call gets a scratch copy of the logits made outside the timed region (see PREPARE).
    scratch = {}

    def outlayer_inplace(x, y):
        buffer = scratch.get("buffer")
        if buffer is None or buffer.shape != x.shape:
            buffer = x.clone()
        return cross_entropy_cuda(buffer, y, in_place=True)[1]

    impls["outlayer-inplace"] = outlayer_inplace
    PREPARE["outlayer-inplace"] = lambda x: scratch.__setitem__("buffer", x.clone())
    return impls


PREPARE: dict = {}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="CE fwd+bwd on a GPU")
    parser.add_argument("--shape", default="16384,131072", help="N,V")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device: nothing measured", file=sys.stderr)
        return 1
    n, v = (int(s) for s in args.shape.split(","))
    dtype = getattr(torch, args.dtype)
    impls = implementations()

    # correctness first, small float32 problem
    gen = torch.Generator(device="cuda").manual_seed(0)
    xs = torch.randn(257, 3001, device="cuda", generator=gen)
    ys = torch.randint(0, 3001, (257,), device="cuda", generator=gen)
    reference = impls["torch-eager"](xs, ys)
    ok = {}
    for name, fn in impls.items():
        err = (fn(xs, ys).float() - reference).abs().max().item()
        ok[name] = err < 1e-5
        print(f"check {name}: max |grad - eager| = {err:.2e} {'ok' if ok[name] else 'MISMATCH'}", file=sys.stderr)

    x = torch.randn(n, v, device="cuda", generator=gen).to(dtype)
    y = torch.randint(0, v, (n,), device="cuda", generator=gen)
    elem = x.element_size()
    minimal_bytes = 2 * n * v * elem
    ceiling = copy_gbps(n * v * elem)
    rows = []
    eager_ms = None
    for name, fn in impls.items():
        if not ok[name]:
            continue
        try:
            prepare = PREPARE.get(name)
            ms = time_cuda(lambda: fn(x, y), repeats=args.repeats, prepare=None if prepare is None else (lambda: prepare(x)))
            peak = peak_extra_bytes(lambda: fn(x, y))
        except torch.cuda.OutOfMemoryError:
            print(f"{name}: out of memory at {n}x{v}", file=sys.stderr)
            torch.cuda.empty_cache()
            continue
        eager_ms = ms if name == "torch-eager" else eager_ms
        gbps = minimal_bytes / (ms / 1e3) / 1e9
        rows.append(dict(suite="gpu-ce", impl=name, N=n, V=v, dtype=args.dtype, median_ms=ms, gbps=gbps,
                         share_of_copy_bandwidth=gbps / ceiling, peak_extra_gb=peak / 1e9,
                         ratio_vs_torch=None if eager_ms is None else eager_ms / ms,  # > 1: faster than eager
                         device=torch.cuda.get_device_name(), copy_gbps=ceiling))
    print("| impl | ms | GB/s | % of copy BW | peak extra GB | speed-up vs eager |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['impl']} | {r['median_ms']:.2f} | {r['gbps']:.0f} | {100 * r['share_of_copy_bandwidth']:.0f}% | "
              f"{r['peak_extra_gb']:.2f} | {r['ratio_vs_torch']:.2f} |")
    print(f"device: {torch.cuda.get_device_name()}, copy bandwidth {ceiling:.0f} GB/s, torch {torch.__version__}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
