"""The two paths of tests/test_path_agreement.py that need a process of their own.

* ``vocab_parallel_main()``: 2 gloo ranks (one ``torch.multiprocessing.spawn``) run every eligible
  case through ``outlayer.torch.vocab_parallel_cross_entropy``, each rank holding a slice of the
  classes; the slices' gradients are put back together and judged here.
* ``triton_main()``: every eligible case through the Triton kernel, with ``TRITON_INTERPRET=1`` set
  by the caller before Triton is first imported (Triton reads it then).

Each prints one JSON line {case id: failure message, "" when the case agrees}.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

import adversarial

WORLD = 2


def vocab_cases() -> list[adversarial.Case]:
    """Every case with 2 classes or more (one per rank); class weights go to each rank as its slice."""
    return [case for case in adversarial.cases() if case.shape[1] >= 2]


def nonfinite_refusals(dtypes: tuple[str, ...] = ("float32", "float64")) -> list[adversarial.Case]:
    """The NaN / -NaN / +inf logit refusals (a kernel's own refusal: the rest is the boundary's)."""
    return [case for case in adversarial.refusals() if case.refusal == "finite or -inf" and case.dtype in dtypes]


def triton_cases() -> list[adversarial.Case]:
    """Two cases per (pattern, dtype), every issue reproducer but the float64 one, and the 300k-class
    bfloat16 case: the interpreter runs a Triton program in NumPy (~0.1 s a case), so not all of them."""
    taken: dict[tuple[str, str], int] = {}
    chosen = []
    for case in adversarial.cases():
        if case.dtype == "float64":
            continue  # the kernel takes float32, bfloat16 and float16
        pattern = case.id.rsplit(f"-{case.shape[0]}x{case.shape[1]}", 1)[0]
        key = (pattern, case.dtype)
        if case.id.startswith("issue-") or case.shape[1] >= 300_000 or taken.get(key, 0) < 2:
            taken[key] = taken.get(key, 0) + 1
            chosen.append(case)
    return chosen


def _bounds(rank: int, n_classes: int) -> tuple[int, int]:
    sizes = [len(part) for part in np.array_split(np.arange(n_classes), WORLD)]
    start = sum(sizes[:rank])
    return start, start + sizes[rank]


def _vocab_worker(rank: int, init_file: str, out_dir: str) -> None:
    import datetime

    import torch
    import torch.distributed as dist

    from outlayer import InputError
    from outlayer.torch import vocab_parallel_cross_entropy

    torch.set_num_threads(1)
    # a short timeout: a rank that refuses alone must not leave the other blocked for 30 minutes
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=60))
    results: dict[str, dict] = {}
    try:
        for case in nonfinite_refusals():  # first: NaN in one rank's slice only
            start, stop = _bounds(rank, case.shape[1])
            try:
                local = torch.from_numpy(np.asarray(case.logits)[:, start:stop].copy()).to(getattr(torch, case.dtype)).requires_grad_(True)
                loss = vocab_parallel_cross_entropy(
                    local, torch.from_numpy(case.target), vocab_start=start, ignore_index=-100 if case.ignore_index is None else case.ignore_index
                )
                loss.sum().backward()
                results[case.id] = {"refused": False, "message": f"returned {loss.item()}"}
            except InputError as exc:
                results[case.id] = {"refused": True, "message": str(exc)}
            except Exception as exc:
                results[case.id] = {"refused": False, "message": f"{type(exc).__name__}: {exc}"}
        for case in vocab_cases():
            start, stop = _bounds(rank, case.shape[1])
            try:
                local = adversarial.as_torch(case)[:, start:stop].clone().requires_grad_(True)
                weight = None if case.weight is None else torch.from_numpy(np.asarray(case.weight)[start:stop].copy()).to(local.dtype)
                loss = vocab_parallel_cross_entropy(
                    local, torch.from_numpy(case.target), vocab_start=start, ignore_index=-100 if case.ignore_index is None else case.ignore_index,
                    label_smoothing=case.label_smoothing, reduction=case.reduction, weight=weight,
                )
                loss.sum().backward()
                np.save(Path(out_dir) / f"{case.id}.rank{rank}.npy", local.grad.double().numpy())
                results[case.id] = {"loss": loss.detach().double().numpy().tolist()}
            except Exception as exc:  # a failure of this case: recorded, judged by the parent
                results[case.id] = {"error": f"{type(exc).__name__}: {exc}"}
                dist.barrier()  # keep the ranks in step after a rank-local failure
    finally:
        (Path(out_dir) / f"results.rank{rank}.json").write_text(json.dumps(results))
        dist.destroy_process_group()


def vocab_parallel_main() -> None:
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_vocab_worker, args=(str(Path(folder) / "rendezvous"), folder), nprocs=WORLD, join=True)
        results = [json.loads((Path(folder) / f"results.rank{rank}.json").read_text()) for rank in range(WORLD)]
        failures: dict[str, str] = {}
        for case in nonfinite_refusals():
            outcomes = [r[case.id] for r in results]
            refused = all(o["refused"] and case.refusal in o["message"] for o in outcomes)
            failures[case.id] = "" if refused else "; ".join(f"rank {i}: {o['message'][:200]}" for i, o in enumerate(outcomes))
        for case in vocab_cases():
            try:
                errors = [r[case.id]["error"] for r in results if "error" in r[case.id]]
                assert not errors, f"raised {errors[0]}"
                grad = np.concatenate([np.load(Path(folder) / f"{case.id}.rank{rank}.npy") for rank in range(WORLD)], axis=1)
                adversarial.assert_matches(case, results[0][case.id]["loss"], grad, path="vocab-parallel")
                np.testing.assert_array_equal(results[0][case.id]["loss"], results[1][case.id]["loss"])  # one loss on every rank
                failures[case.id] = ""
            except AssertionError as exc:
                failures[case.id] = str(exc).splitlines()[0][:500]
    print(json.dumps(failures))


def triton_main() -> None:
    import torch

    from outlayer import _dispatch

    assert _dispatch.choose_impl("triton", library="torch", device="cpu", dtype="float32", n_elements=1) == "triton"
    from outlayer import InputError

    failures: dict[str, str] = {}
    for case in nonfinite_refusals(("float32",)):
        try:
            _dispatch.fused_cross_entropy(
                torch.from_numpy(np.asarray(case.logits, dtype=np.float32)), torch.from_numpy(case.target), impl="triton", ignore_index=case.ignore_index
            )
            failures[case.id] = "did not raise"
        except InputError as exc:
            failures[case.id] = "" if case.refusal in str(exc) else f"wrong message: {exc}"
    for case in triton_cases():
        try:
            weight = None if case.weight is None else torch.from_numpy(case.weight).float()
            loss, grad = _dispatch.fused_cross_entropy(
                adversarial.as_torch(case), torch.from_numpy(case.target), impl="triton", weight=weight,
                ignore_index=case.ignore_index, label_smoothing=case.label_smoothing, reduction=case.reduction,
            )
            adversarial.assert_matches(case, loss.double().numpy(), grad.double().numpy(), path="triton")
            failures[case.id] = ""
        except Exception as exc:
            failures[case.id] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
            if not isinstance(exc, AssertionError):
                traceback.print_exc(file=sys.stderr)
    print(json.dumps(failures))
