"""Vocabulary-parallel CE over torch.distributed (gloo) equals the single-process computation,
and every rank fails at once, with the same clear error, when any rank's input is wrong.

The correctness test starts 4 processes with torch.multiprocessing.spawn and a ``file://``
rendezvous (no TCP port), checks the 4-way split on the whole group, then the 2-way split on two
2-process subgroups ({0, 1} and {2, 3}, which also exercises ``group=``) at once: one spawn, since
starting a process that imports torch dominates the test's time. The failure test starts 2
processes: one rank passes bad input, or the ranks disagree, and both must raise the same
InputError within seconds; last, one rank skips the call and the other must time out. Every check
runs inside the workers, and a failed assert there fails the test with the worker's traceback.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
dist = torch.distributed
F = torch.nn.functional

if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with the gloo backend is not available in this torch build", allow_module_level=True)

from outlayer._validate import InputError  # noqa: E402
from outlayer.torch import _parallel, vocab_parallel_cross_entropy, vocab_parallel_linear_cross_entropy  # noqa: E402

N, D, V = 19, 5, 23  # V not divisible by 2 or 4: the shards have different widths
TOL = dict(rtol=2e-6, atol=2e-7)  # float32 rounding: the sums are grouped differently per shard
TOL64 = dict(rtol=1e-10, atol=1e-12)
IDS = torch.zeros(N, dtype=torch.int64)


def shard_bounds(world_size: int, rank: int, n_classes: int = V) -> tuple[int, int]:
    sizes = [len(part) for part in np.array_split(np.arange(n_classes), world_size)]
    start = sum(sizes[:rank])
    return start, start + sizes[rank]


def problem(seed: int = 0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(N, D, generator=gen, dtype=torch.float64).to(dtype)
    weight = (torch.randn(V, D, generator=gen, dtype=torch.float64) / D**0.5).to(dtype)
    bias = torch.randn(V, generator=gen, dtype=torch.float64).to(dtype)
    target = torch.randint(0, V, (N,), generator=gen)
    target[::6] = -100
    class_weight = (torch.rand(V, generator=gen, dtype=torch.float64) + 0.2).to(dtype)
    return hidden, weight, bias, target, class_weight


def check_logits_path(rank: int, world_size: int, group=None) -> None:
    hidden, weight, bias, target, class_weight = problem()
    logits = 3 * (hidden @ weight.T + bias)
    start, stop = shard_bounds(world_size, rank)
    for reduction, smoothing, weighted in itertools.product(("mean", "sum", "none"), (0.0, 0.1), (False, True)):
        full = logits.clone().requires_grad_(True)
        expected = F.cross_entropy(full, target, weight=class_weight if weighted else None, reduction=reduction, label_smoothing=smoothing)
        upstream = torch.linspace(0.5, 1.5, expected.numel()).reshape(expected.shape)
        (expected * upstream).sum().backward()

        local = logits[:, start:stop].clone().requires_grad_(True)
        got = vocab_parallel_cross_entropy(
            local, target, vocab_start=start, group=group, weight=class_weight[start:stop] if weighted else None,
            reduction=reduction, label_smoothing=smoothing, timeout=60,
        )
        (got * upstream).sum().backward()
        case = f"rank {rank}/{world_size} {reduction} eps={smoothing} weighted={weighted}"
        torch.testing.assert_close(got, expected.detach(), **TOL, msg=lambda m, case=case: f"loss, {case}: {m}")
        torch.testing.assert_close(local.grad, full.grad[:, start:stop], **TOL, msg=lambda m, case=case: f"grad, {case}: {m}")


def check_adversarial_logits_match_the_core(rank: int, world_size: int) -> None:
    """-inf blocks (the first rank's whole slice included), an all -inf row, smoothing 0.2 and 1.0,
    magnitudes of 1e16 and float32 offsets of 1e6: the core's values (outlayer.losses, float64)."""
    from outlayer.losses import cross_entropy_with_grad

    hidden, weight, bias, target, class_weight = problem(1, torch.float64)
    logits = hidden @ weight.T + bias
    banned = torch.zeros_like(logits, dtype=torch.bool)
    banned[:, 1::4] = True
    banned[:3, : shard_bounds(world_size, 0)[1]] = True  # rows 0-2: rank 0's whole slice masked
    banned[torch.arange(N), target.clamp(min=0)] = False
    logits = logits.masked_fill(banned, float("-inf"))
    logits[5] = float("-inf")  # an all -inf row (its target is ignore_index)
    target[5] = -100
    logits[7] *= 1e16
    cases = [(logits, 0.2, None), (logits, 1.0, None), (logits, 0.1, class_weight), (logits.float() + 1e6, 0.1, None)]
    start, stop = shard_bounds(world_size, rank)
    for values, smoothing, cw in cases:
        reference = values.double() if values.dtype == torch.float32 else values
        expected_loss, expected_grad = cross_entropy_with_grad(
            reference.numpy(), target.numpy(), weight=None if cw is None else cw.numpy(), ignore_index=-100, label_smoothing=smoothing
        )
        local = values[:, start:stop].clone().requires_grad_(True)
        got = vocab_parallel_cross_entropy(local, target, vocab_start=start, weight=None if cw is None else cw[start:stop], label_smoothing=smoothing)
        got.backward()
        tol = TOL64 if values.dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
        case = f"rank {rank}, eps={smoothing}, dtype {values.dtype}, weighted {cw is not None}"
        expected_value = torch.tensor(float(expected_loss), dtype=torch.float64)
        expected_local = torch.from_numpy(np.asarray(expected_grad))[:, start:stop]
        torch.testing.assert_close(got.double(), expected_value, **tol, msg=lambda m, case=case: f"loss, {case}: {m}")
        torch.testing.assert_close(local.grad.double(), expected_local, **tol, msg=lambda m, case=case: f"grad, {case}: {m}")


def check_linear_path(rank: int, world_size: int, group=None) -> None:
    hidden, weight, bias, target, class_weight = problem(2)
    start, stop = shard_bounds(world_size, rank)
    for reduction, chunk_size, weighted in (("mean", None, False), ("mean", 4, True), ("sum", 7, False), ("none", 4, True)):
        cw = class_weight if weighted else None
        h, w, b = (t.clone().requires_grad_(True) for t in (hidden, weight, bias))
        expected = F.cross_entropy(h @ w.T + b, target, weight=cw, reduction=reduction, label_smoothing=0.1)
        upstream = torch.linspace(0.5, 1.5, expected.numel()).reshape(expected.shape)
        (expected * upstream).sum().backward()

        h_ = hidden.clone().requires_grad_(True)
        w_local = weight[start:stop].clone().requires_grad_(True)
        b_local = bias[start:stop].clone().requires_grad_(True)
        got = vocab_parallel_linear_cross_entropy(
            h_, w_local, target, vocab_start=start, local_bias=b_local, group=group, weight=None if cw is None else cw[start:stop],
            reduction=reduction, label_smoothing=0.1, chunk_size=chunk_size,
        )
        (got * upstream).sum().backward()
        case = f"rank {rank}/{world_size} {reduction} chunk {chunk_size}"
        torch.testing.assert_close(got, expected.detach(), **TOL, msg=lambda m, case=case: f"loss, {case}: {m}")
        torch.testing.assert_close(h_.grad, h.grad, **TOL, msg=lambda m, case=case: f"dhidden, {case}: {m}")
        torch.testing.assert_close(w_local.grad, w.grad[start:stop], **TOL, msg=lambda m, case=case: f"dweight, {case}: {m}")
        torch.testing.assert_close(b_local.grad, b.grad[start:stop], **TOL, msg=lambda m, case=case: f"dbias, {case}: {m}")


def check_gradient_penalties_equal_the_single_process_ones(rank: int, world_size: int) -> None:
    """Double backward across ranks: d/dz [L + sum_r |dL/dz_r|^2] and, for the linear form,
    d/d(h, W, b) [L + |dL/dh|^2 + sum_r |dL/dW_r|^2 + sum_r |dL/db_r|^2], against one process."""
    hidden, weight, bias, target, class_weight = problem(3, torch.float64)
    start, stop = shard_bounds(world_size, rank)
    logits = hidden @ weight.T + bias
    for reduction, smoothing in (("mean", 0.1), ("none", 0.0)):
        full = logits.clone().requires_grad_(True)
        loss = F.cross_entropy(full, target, weight=class_weight, reduction=reduction, label_smoothing=smoothing).sum()
        (grad,) = torch.autograd.grad(loss, full, create_graph=True)
        (expected,) = torch.autograd.grad(loss + (grad**2).sum(), full)

        local = logits[:, start:stop].clone().requires_grad_(True)
        loss = vocab_parallel_cross_entropy(
            local, target, vocab_start=start, weight=class_weight[start:stop], reduction=reduction, label_smoothing=smoothing
        ).sum()
        (grad,) = torch.autograd.grad(loss, local, create_graph=True)
        (got,) = torch.autograd.grad(loss + (grad**2).sum(), local)
        torch.testing.assert_close(got, expected[:, start:stop], **TOL64, msg=lambda m, reduction=reduction: f"logits penalty, rank {rank}, {reduction}: {m}")

    leaves = [t.clone().requires_grad_(True) for t in (hidden, weight, bias)]
    loss = F.cross_entropy(leaves[0] @ leaves[1].T + leaves[2], target, label_smoothing=0.1)
    grads = torch.autograd.grad(loss, leaves, create_graph=True)
    expected = torch.autograd.grad(loss + sum((g**2).sum() for g in grads), leaves)

    ours = [hidden.clone().requires_grad_(True), weight[start:stop].clone().requires_grad_(True), bias[start:stop].clone().requires_grad_(True)]
    loss = vocab_parallel_linear_cross_entropy(ours[0], ours[1], target, vocab_start=start, local_bias=ours[2], label_smoothing=0.1, chunk_size=7)
    dhidden, dweight, dbias = torch.autograd.grad(loss, ours, create_graph=True)
    # dhidden is replicated (counted once); the slices' penalties are this rank's parts of the sum
    got = torch.autograd.grad(loss + (dhidden**2).sum() + (dweight**2).sum() + (dbias**2).sum(), ours)
    torch.testing.assert_close(got[0], expected[0], **TOL64, msg=lambda m: f"linear penalty dhidden, rank {rank}: {m}")
    torch.testing.assert_close(got[1], expected[1][start:stop], **TOL64, msg=lambda m: f"linear penalty dweight, rank {rank}: {m}")
    torch.testing.assert_close(got[2], expected[2][start:stop], **TOL64, msg=lambda m: f"linear penalty dbias, rank {rank}: {m}")


def worker(rank: int, world_size: int, init_file: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        check_logits_path(rank, world_size)
        check_adversarial_logits_match_the_core(rank, world_size)
        check_linear_path(rank, world_size)
        check_gradient_penalties_equal_the_single_process_ones(rank, world_size)
        pairs = [dist.new_group([0, 1]), dist.new_group([2, 3])]  # every rank creates every group
        mine = pairs[rank // 2]
        check_logits_path(dist.get_rank(mine), 2, group=mine)
        check_linear_path(dist.get_rank(mine), 2, group=mine)
    finally:
        dist.destroy_process_group()


def test_sharded_over_4_and_2_processes_loss_and_gradients_equal_single_process(tmp_path):
    torch.multiprocessing.spawn(worker, args=(4, str(tmp_path / "rendezvous")), nprocs=4, join=True)


# ------------------------------------------------------------------------------------------------
# Failures: every rank raises the same error, within seconds.
# ------------------------------------------------------------------------------------------------
def _same_error_on_every_rank(call, pattern: str, rank: int) -> float:
    """Run ``call`` on every rank; each must raise an InputError matching ``pattern``, with the
    same message everywhere (compared through the still-healthy group). Returns the seconds taken."""
    begin = time.monotonic()
    try:
        call()
    except InputError as exc:
        message = str(exc)
    else:
        message = "no error"
    elapsed = time.monotonic() - begin
    messages = [None] * dist.get_world_size()
    dist.all_gather_object(messages, message)
    assert len(set(messages)) == 1, messages
    assert pytest.importorskip("re").search(pattern, message), (pattern, message)
    return elapsed


def failure_worker(rank: int, world_size: int, init_file: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    hidden, weight, bias, target, _ = problem(4)
    logits = hidden @ weight.T + bias
    start, stop = shard_bounds(world_size, rank)
    local = logits[:, start:stop].contiguous()
    try:
        def ce(**changes):
            args = dict(local_logits=local, target=target, vocab_start=start, timeout=30) | changes
            return lambda: vocab_parallel_cross_entropy(args.pop("local_logits"), args.pop("target"), **args)

        only_rank_1 = rank == 1
        cases = [
            # ranks that disagree: before, different losses or a SIGABRT in the all-reduce
            (ce(label_smoothing=0.1 if only_rank_1 else 0.0), r"every rank must pass the same label_smoothing, got 0 on rank 0, 0.1 on rank 1"),
            (ce(reduction="sum" if only_rank_1 else "mean"), r"same reduction, got 'mean' on rank 0, 'sum' on rank 1"),
            (ce(ignore_index=3 if only_rank_1 else -100), r"same ignore_index, got -100 on rank 0, 3 on rank 1"),
            (ce(target=target.roll(1) if only_rank_1 else target), r"same target class ids \(their checksums differ\)"),
            (
                ce(local_logits=local[:-1] if only_rank_1 else local, target=target[:-1] if only_rank_1 else target),
                r"same number of rows N, got 19 on rank 0, 18 on rank 1",
            ),
            (ce(local_logits=local.double() if only_rank_1 else local), r"same logits dtype, got float32 on rank 0, float64 on rank 1"),
            (
                ce(vocab_start=start - 1 if only_rank_1 else start),
                r"vocabulary slices must tile \[0, V\) with no gap or overlap, got \[0, 12\) on rank 0, \[11, 22\) on rank 1",
            ),
            # one rank refuses its own input: before, the others waited 30 minutes in all_reduce
            (ce(local_logits=local[:, 0] if only_rank_1 else local), r"rank 1 refused its input: local_logits must be a 2-D floating tensor"),
            (
                ce(local_logits=local.index_fill(1, torch.tensor([2]), float("nan")) if only_rank_1 else local),
                r"rank 1 refused its input: local_logits must be finite or -inf, got nan at index \(0, 2\); global class 14",
            ),
            (ce(target=target.float() if only_rank_1 else target), r"rank 1 refused its input: target must be an integer tensor"),
            (
                ce(weight=-torch.ones(stop - start) if only_rank_1 else None),
                r"rank 1 refused its input: weight must be finite and non-negative, got -1.0 at index 0",
            ),
            (
                ce(label_smoothing=2.0),
                r"rank 0 refused its input: label_smoothing must be a number in \[0, 1\], got 2.0 \(ranks \[0, 1\] refused theirs\)",
            ),
            # the same bad target on every rank: the same refusal everywhere
            (ce(target=target.index_fill(0, torch.tensor([3]), V)), r"target must be class ids in \[0, 23\) or ignore_index=-100, got 23 at index 3"),
        ]
        for call, pattern in cases:
            assert _same_error_on_every_rank(call, pattern, rank) < 10.0, pattern
        w_local = weight[start:stop].contiguous()
        linear_cases = [
            (lambda: vocab_parallel_linear_cross_entropy(hidden + (1e-3 if only_rank_1 else 0.0), w_local, target, vocab_start=start, timeout=30),
             r"same hidden \(the checksums of its bits differ\)"),
            (
                lambda: vocab_parallel_linear_cross_entropy(
                    hidden, w_local, target, vocab_start=start, local_bias=bias[start:stop] if only_rank_1 else None, timeout=30
                ),
                r"same presence of local_bias, got none on rank 0, given on rank 1",
            ),
            (
                lambda: vocab_parallel_linear_cross_entropy(
                    hidden.index_fill(0, torch.tensor([13]), float("nan")), w_local, target, vocab_start=start, chunk_size=5, timeout=30
                ),
                r"logits \(hidden @ local_weight.T \+ local_bias\) must be finite or -inf, got NaN or \+inf in row 13",
            ),
        ]
        for call, pattern in linear_cases:
            assert _same_error_on_every_rank(call, pattern, rank) < 10.0, pattern
        # after all of that the group still works
        torch.testing.assert_close(vocab_parallel_cross_entropy(local, target, vocab_start=start), F.cross_entropy(logits, target), **TOL)
        # last (a timed-out group is unusable): rank 1 never calls, rank 0 gives up after 2 s
        if rank == 0:
            begin = time.monotonic()
            with pytest.raises(TimeoutError, match=r"input check \(an all-gather\) did not complete within timeout=2 s on rank 0"):
                vocab_parallel_cross_entropy(local, target, vocab_start=start, timeout=2)
            assert time.monotonic() - begin < 10.0
        else:
            time.sleep(4)
    finally:
        dist.destroy_process_group()


def test_bad_or_disagreeing_input_on_one_rank_fails_every_rank_at_once_with_the_same_error(tmp_path):
    torch.multiprocessing.spawn(failure_worker, args=(2, str(tmp_path / "rendezvous")), nprocs=2, join=True)


# ------------------------------------------------------------------------------------------------
# One process: the group of one, bad arguments, double backward.
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def one_process_group(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_one_process_group_equals_f_cross_entropy(one_process_group):
    check_logits_path(0, 1)
    check_linear_path(0, 1)


def test_one_process_group_passes_gradcheck_and_gradgradcheck_in_float64(one_process_group):
    hidden, weight, bias, target, class_weight = problem(5, torch.float64)
    hidden, weight, bias = hidden[:6, :3], weight[:7, :3], bias[:7]
    target = torch.tensor([0, 6, -100, 3, 3, 1])
    class_weight = class_weight[:7]
    logits = (hidden @ weight.T + bias).requires_grad_(True)
    for reduction in ("mean", "none"):
        def logits_fn(z, reduction=reduction):
            return vocab_parallel_cross_entropy(z, target, vocab_start=0, weight=class_weight, label_smoothing=0.1, reduction=reduction)

        def linear_fn(h, w, b, reduction=reduction):
            return vocab_parallel_linear_cross_entropy(
                h, w, target, vocab_start=0, local_bias=b, label_smoothing=0.1, reduction=reduction, chunk_size=4
            )

        leaves = [t.clone().requires_grad_(True) for t in (hidden, weight, bias)]
        assert torch.autograd.gradcheck(logits_fn, (logits,)) and torch.autograd.gradgradcheck(logits_fn, (logits,))
        assert torch.autograd.gradcheck(linear_fn, leaves) and torch.autograd.gradgradcheck(linear_fn, leaves)


def test_linear_form_never_holds_more_than_chunk_size_rows_of_logits(one_process_group, monkeypatch):
    """Issue 7's leftover: the linear form works block by block (each rank's (N, V_local) logits never exist)."""
    blocks = []
    original = _parallel._shard_rows

    def spy(z, *args, **kwargs):
        blocks.append(tuple(z.shape))
        return original(z, *args, **kwargs)

    monkeypatch.setattr(_parallel, "_shard_rows", spy)
    hidden, weight, bias, target, _ = problem(6)
    for reduction in ("mean", "none"):
        blocks.clear()
        h = hidden.clone().requires_grad_(True)
        loss = vocab_parallel_linear_cross_entropy(h, weight, target, vocab_start=0, local_bias=bias, reduction=reduction, chunk_size=5)
        loss.sum().backward()
        assert blocks and max(rows for rows, _ in blocks) == 5 and sum(rows for rows, _ in blocks) == N * (2 if reduction == "none" else 1)
        torch.testing.assert_close(loss, F.cross_entropy(hidden @ weight.T + bias, target, reduction=reduction), **TOL)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N), IDS, vocab_start=0), r"local_logits must be a 2-D"),
        (
            lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), torch.zeros(N + 1, dtype=torch.int64), vocab_start=0),
            r"target must be of shape \(19,\), one class id per row, got shape \(20,\)",
        ),
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), IDS.float(), vocab_start=0), r"target must be an integer tensor of class ids, got torch.f"),
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), IDS, vocab_start=-1), r"vocab_start must be a non-negative integer, got -1"),
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), IDS, vocab_start=0, reduction="max"), r"got 'max'"),
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), IDS, vocab_start=0, ignore_index=1.5), r"ignore_index must be an integer, got 1.5"),
        (lambda: vocab_parallel_cross_entropy(torch.zeros(N, 4), IDS, vocab_start=2), r"slices must tile \[0, V\).*got \[2, 6\) on rank 0"),
        (
            lambda: vocab_parallel_linear_cross_entropy(torch.zeros(N, D), torch.zeros(V, D + 1), torch.zeros(N, dtype=torch.int64), vocab_start=0),
            r"hidden shape \(19, 5\) and weight shape \(23, 6\)",
        ),
    ],
)
def test_bad_input_raises_one_clear_error(one_process_group, call, message):
    with pytest.raises(InputError, match=message):
        call()


@pytest.mark.parametrize("timeout", [0, -1.0, True, "10"])
def test_timeout_must_be_a_positive_number_of_seconds(one_process_group, timeout):
    with pytest.raises(InputError, match=r"timeout must be a positive number of seconds or None"):
        vocab_parallel_cross_entropy(torch.zeros(N, 4), torch.zeros(N, dtype=torch.int64), vocab_start=0, timeout=timeout)


def test_without_process_group_says_how_to_start_one():
    assert not dist.is_initialized()
    with pytest.raises(InputError, match="torch.distributed is not initialised"):
        vocab_parallel_cross_entropy(torch.zeros(N, 4), torch.zeros(N, dtype=torch.int64), vocab_start=0)


def test_torch_func_is_refused_clearly_and_torch_compile_runs_it_eagerly(one_process_group):
    logits = torch.randn(N, V, dtype=torch.float64)
    target = torch.randint(0, V, (N,))
    with pytest.raises(RuntimeError, match=r"vocab_parallel_cross_entropy does not run under torch.func transforms"):
        torch.func.grad(lambda z: vocab_parallel_cross_entropy(z, target, vocab_start=0))(logits)
    torch._dynamo.reset()
    compiled = torch.compile(lambda z: vocab_parallel_cross_entropy(z, target, vocab_start=0) * 2.0, backend="aot_eager")
    leaf = logits.clone().requires_grad_(True)
    compiled(leaf).backward()
    reference = logits.clone().requires_grad_(True)
    (F.cross_entropy(reference, target) * 2.0).backward()
    torch.testing.assert_close(leaf.grad, reference.grad, **TOL64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_under_cpu_autocast_the_loss_dtype_is_torchs(one_process_group, dtype):
    hidden, weight, bias, target, _ = problem(7, dtype)
    logits = hidden @ weight.T + bias
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = vocab_parallel_cross_entropy(logits, target, vocab_start=0)
        theirs = F.cross_entropy(logits, target)
        ours_linear = vocab_parallel_linear_cross_entropy(hidden, weight, target, vocab_start=0, local_bias=bias)
        theirs_linear = F.cross_entropy(F.linear(hidden, weight, bias), target)
    assert ours.dtype == theirs.dtype and ours_linear.dtype == theirs_linear.dtype
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours_linear, theirs_linear, rtol=2e-2, atol=2e-2)
