#!/usr/bin/env bash
# Run the GPU benchmarks of issue 7 from the repository root; results in bench-results/gpu/.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
mkdir -p bench-results/gpu
# Correctness first: the compiled Triton kernels against F.cross_entropy and the float64 judge (issue 15).
# Its own process: tests/test_triton_interpret.py imports triton in interpreter mode.
python -m pytest -q -rs tests/test_cuda_kernels.py
python -m pytest -q tests/test_triton_interpret.py          # interpreter tests still pass here
python benchmarks/gpu/bench_ce_gpu.py --json bench-results/gpu/ce.json
python benchmarks/gpu/bench_linear_ce_gpu.py --json bench-results/gpu/linear_ce.json   # imports bench_ce_gpu from its folder
n_gpus=$(python -c "import torch; print(torch.cuda.device_count())")
if [ "$n_gpus" -ge 2 ]; then
  torchrun --standalone --nproc-per-node "$n_gpus" benchmarks/bench_vocab_parallel.py \
    --dtype bfloat16 --json bench-results/gpu/vocab_parallel.json
fi
