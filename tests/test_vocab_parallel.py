"""Vocabulary-parallel CE over torch.distributed (gloo) equals the single-process computation.

The multi-process test starts 4 processes with torch.multiprocessing.spawn and a ``file://``
rendezvous (no TCP port), checks the 4-way split on the whole group, then the 2-way split on two
2-process subgroups ({0, 1} and {2, 3}, which also exercises ``group=``) at once: one spawn, since
starting a process that imports torch dominates the test's time. Every check runs inside the
workers, and a failed assert there fails the test with the worker's traceback.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
dist = torch.distributed
F = torch.nn.functional

if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with the gloo backend is not available in this torch build", allow_module_level=True)

from outlayer.torch import vocab_parallel_cross_entropy, vocab_parallel_linear_cross_entropy  # noqa: E402

N, D, V = 19, 5, 23  # V not divisible by 2 or 4: the shards have different widths
TOL = dict(rtol=2e-6, atol=2e-7)  # float32 rounding: the sums are grouped differently per shard


def shard_bounds(world_size: int, rank: int, n_classes: int = V) -> tuple[int, int]:
    sizes = [len(part) for part in np.array_split(np.arange(n_classes), world_size)]
    start = sum(sizes[:rank])
    return start, start + sizes[rank]


def problem(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(N, D, generator=gen)
    weight = torch.randn(V, D, generator=gen) / D**0.5
    bias = torch.randn(V, generator=gen)
    target = torch.randint(0, V, (N,), generator=gen)
    target[::6] = -100
    return hidden, weight, bias, target


def check_logits_path(rank: int, world_size: int, group=None) -> None:
    hidden, weight, bias, target = problem()
    logits = 3 * (hidden @ weight.T + bias)
    start, stop = shard_bounds(world_size, rank)
    for reduction, smoothing in itertools.product(("mean", "sum", "none"), (0.0, 0.1)):
        full = logits.clone().requires_grad_(True)
        expected = F.cross_entropy(full, target, reduction=reduction, label_smoothing=smoothing)
        upstream = torch.linspace(0.5, 1.5, expected.numel()).reshape(expected.shape)
        (expected * upstream).sum().backward()

        local = logits[:, start:stop].clone().requires_grad_(True)
        got = vocab_parallel_cross_entropy(local, target, vocab_start=start, group=group, reduction=reduction, label_smoothing=smoothing)
        (got * upstream).sum().backward()
        case = f"rank {rank}/{world_size} {reduction} eps={smoothing}"
        torch.testing.assert_close(got, expected.detach(), **TOL, msg=lambda m: f"loss, {case}: {m}")
        torch.testing.assert_close(local.grad, full.grad[:, start:stop], **TOL, msg=lambda m: f"grad, {case}: {m}")


def check_masked_logits_match_core(rank: int, world_size: int) -> None:
    """-inf logits (impossible classes) with smoothing: the core's semantics, not PyTorch's inf."""
    from outlayer.losses import cross_entropy_with_grad

    hidden, weight, bias, target = problem(1)
    logits = hidden @ weight.T + bias
    banned = torch.zeros_like(logits, dtype=torch.bool)
    banned[:, 1::4] = True
    banned[torch.arange(N), target.clamp(min=0)] = False
    logits = logits.masked_fill(banned, float("-inf"))
    expected_loss, expected_grad = cross_entropy_with_grad(logits.numpy(), target.numpy(), ignore_index=-100, label_smoothing=0.2)
    start, stop = shard_bounds(world_size, rank)
    local = logits[:, start:stop].clone().requires_grad_(True)
    got = vocab_parallel_cross_entropy(local, target, vocab_start=start, label_smoothing=0.2)
    got.backward()
    torch.testing.assert_close(got, torch.tensor(float(expected_loss)), **TOL)
    torch.testing.assert_close(local.grad, torch.from_numpy(np.asarray(expected_grad))[:, start:stop], **TOL)


def check_linear_path(rank: int, world_size: int, group=None) -> None:
    hidden, weight, bias, target = problem(2)
    start, stop = shard_bounds(world_size, rank)
    for reduction in ("mean", "none"):
        h, w, b = (t.clone().requires_grad_(True) for t in (hidden, weight, bias))
        expected = F.cross_entropy(h @ w.T + b, target, reduction=reduction, label_smoothing=0.1)
        expected.sum().backward()

        h_ = hidden.clone().requires_grad_(True)
        w_local = weight[start:stop].clone().requires_grad_(True)
        b_local = bias[start:stop].clone().requires_grad_(True)
        got = vocab_parallel_linear_cross_entropy(
            h_, w_local, target, vocab_start=start, local_bias=b_local, group=group, reduction=reduction, label_smoothing=0.1
        )
        got.sum().backward()
        torch.testing.assert_close(got, expected.detach(), **TOL)
        torch.testing.assert_close(h_.grad, h.grad, **TOL)
        torch.testing.assert_close(w_local.grad, w.grad[start:stop], **TOL)
        torch.testing.assert_close(b_local.grad, b.grad[start:stop], **TOL)


def check_bad_target_raises_on_every_rank(rank: int, world_size: int) -> None:
    _, _, _, target = problem()
    target[3] = V  # held by no rank
    start, stop = shard_bounds(world_size, rank)
    try:
        vocab_parallel_cross_entropy(torch.zeros(N, stop - start), target, vocab_start=start)
    except ValueError as exc:
        assert f"target[3] = {V} is held by 0 ranks" in str(exc), str(exc)
    else:
        raise AssertionError("expected a ValueError for a target no rank holds")


def worker(rank: int, world_size: int, init_file: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        check_logits_path(rank, world_size)
        check_masked_logits_match_core(rank, world_size)
        check_linear_path(rank, world_size)
        check_bad_target_raises_on_every_rank(rank, world_size)
        pairs = [dist.new_group([0, 1]), dist.new_group([2, 3])]  # every rank creates every group
        mine = pairs[rank // 2]
        check_logits_path(dist.get_rank(mine), 2, group=mine)
        check_linear_path(dist.get_rank(mine), 2, group=mine)
    finally:
        dist.destroy_process_group()


def test_sharded_over_4_and_2_processes_loss_and_gradients_equal_single_process(tmp_path):
    torch.multiprocessing.spawn(worker, args=(4, str(tmp_path / "rendezvous")), nprocs=4, join=True)


@pytest.fixture
def one_process_group(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_one_process_group_equals_f_cross_entropy(one_process_group):
    check_logits_path(0, 1)
    check_linear_path(0, 1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N), torch.zeros(N, dtype=torch.int64), vocab_start=0), r"local_logits must be a 2-D"),
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), torch.zeros(N + 1, dtype=torch.int64), vocab_start=0), r"target shape \(20,\)"),
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), torch.zeros(N), vocab_start=0), r"target must be an int64 or int32 tensor, got torch.float32"),
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), torch.zeros(N, dtype=torch.int64), vocab_start=-1), r"vocab_start must be a non-negative integer, got -1"),
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), torch.zeros(N, dtype=torch.int64), vocab_start=0, reduction="max"), r"got 'max'"),
        (
            lambda: vocab_parallel_linear_cross_entropy(torch.zeros(N, D), torch.zeros(V, D + 1), torch.zeros(N, dtype=torch.int64), vocab_start=0),
            r"hidden shape \(19, 5\) and weight shape \(23, 6\)",
        ),
    ],
)
def test_bad_input_raises_one_clear_error(one_process_group, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_without_process_group_says_how_to_start_one():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="torch.distributed is not initialised"):
        vocab_parallel_cross_entropy(torch.zeros(N, 4), torch.zeros(N, dtype=torch.int64), vocab_start=0)
