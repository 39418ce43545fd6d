"""outlayer.torch.linear_cross_entropy equals F.cross_entropy(hidden @ weight.T + bias, target)."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from outlayer import _dispatch  # noqa: E402
from outlayer.torch import LinearCrossEntropyLoss, linear_cross_entropy  # noqa: E402

N, D, V = 37, 8, 29  # N not a multiple of the chunk sizes used: the last block is partial


def make_problem(dtype=torch.float64, *, seed=0, n=N, d=D, v=V, ignore_some=True, bias=True):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(n, d, generator=gen, dtype=torch.float64).to(dtype)
    weight = (torch.randn(v, d, generator=gen, dtype=torch.float64) / d**0.5).to(dtype)
    b = torch.randn(v, generator=gen, dtype=torch.float64).to(dtype) if bias else None
    target = torch.randint(0, v, (n,), generator=gen)
    if ignore_some:
        target[::5] = -100
    class_weight = torch.rand(v, generator=gen, dtype=torch.float64).to(dtype) + 0.5
    return hidden, weight, b, target, class_weight


def naive_and_grads(hidden, weight, bias, target, class_weight=None, **options):
    leaves = [t.detach().clone().requires_grad_(True) if t is not None else None for t in (hidden, weight, bias)]
    h, w, b = leaves
    logits = h @ w.T if b is None else h @ w.T + b
    loss = F.cross_entropy(logits, target, weight=class_weight, **options)
    upstream = torch.linspace(0.5, 1.5, loss.numel(), dtype=loss.dtype).reshape(loss.shape)
    (loss * upstream).sum().backward()
    return loss.detach(), [None if t is None else t.grad for t in leaves], upstream


def ours_and_grads(hidden, weight, bias, target, upstream, **options):
    leaves = [t.detach().clone().requires_grad_(True) if t is not None else None for t in (hidden, weight, bias)]
    h, w, b = leaves
    loss = linear_cross_entropy(h, w, target, bias=b, **options)
    (loss * upstream).sum().backward()
    return loss.detach(), [None if t is None else t.grad for t in leaves]


CASES = list(itertools.product(("mean", "sum", "none"), (False, True), (0.0, 0.2), (True, False)))


@pytest.mark.parametrize("impl", ["numba", "reference"])
@pytest.mark.parametrize(("reduction", "weighted", "smoothing", "with_bias"), CASES)
def test_loss_and_gradients_match_naive_torch(reduction, weighted, smoothing, with_bias, impl):
    if impl == "numba" and not _dispatch.numba_usable():
        pytest.skip("numba is not installed")
    hidden, weight, bias, target, class_weight = make_problem(bias=with_bias)
    torch_options = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=-100, class_weight=class_weight if weighted else None)
    expected, expected_grads, upstream = naive_and_grads(hidden, weight, bias, target, **torch_options)
    got, got_grads = ours_and_grads(
        hidden, weight, bias, target, upstream, reduction=reduction, label_smoothing=smoothing,
        class_weight=class_weight if weighted else None, chunk_size=8, impl=impl,
    )
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    for name, g, e in zip(("hidden", "weight", "bias"), got_grads, expected_grads):
        if e is None:
            assert g is None, name
        else:
            torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12, msg=lambda m, name=name: f"d{name}: {m}")


@pytest.mark.parametrize("chunk_size", [1, 5, 36, 37, 1000])
def test_result_does_not_depend_on_chunk_size(chunk_size):
    hidden, weight, bias, target, class_weight = make_problem(seed=3)
    expected, expected_grads, upstream = naive_and_grads(hidden, weight, bias, target, label_smoothing=0.1)
    got, got_grads = ours_and_grads(hidden, weight, bias, target, upstream, label_smoothing=0.1, chunk_size=chunk_size)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    for g, e in zip(got_grads, expected_grads):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("impl", ["numba", "reference"])
def test_gradcheck_float64(reduction, impl):
    hidden, weight, bias, target, class_weight = make_problem(n=7, d=3, v=5, seed=1)
    target[2] = -100
    for t in (hidden, weight, bias):
        t.requires_grad_(True)

    def fn(h, w, b):
        return linear_cross_entropy(h, w, target, bias=b, class_weight=class_weight, label_smoothing=0.15, reduction=reduction, chunk_size=3, impl=impl)

    assert torch.autograd.gradcheck(fn, (hidden, weight, bias), eps=1e-6, atol=1e-8)


def test_float32_default_chunk_matches_naive_to_float32_rounding():
    hidden, weight, bias, target, _ = make_problem(torch.float32, n=300, d=64, v=1000, seed=4)
    expected, expected_grads, upstream = naive_and_grads(hidden, weight, bias, target)
    got, got_grads = ours_and_grads(hidden, weight, bias, target, upstream)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    for g, e in zip(got_grads, expected_grads):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("impl", ["auto", "numba"])
def test_bfloat16_matches_naive_float32_within_bfloat16_rounding(impl):
    hidden, weight, bias, target, _ = make_problem(torch.float32, n=64, d=16, v=50, seed=5)
    expected, expected_grads, upstream = naive_and_grads(hidden, weight, bias, target)
    got, got_grads = ours_and_grads(hidden.bfloat16(), weight.bfloat16(), bias.bfloat16(), target, upstream.bfloat16(), chunk_size=16, impl=impl)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), expected, rtol=2e-2, atol=2e-2)
    for g, e in zip(got_grads, expected_grads):
        assert g.dtype == torch.bfloat16
        torch.testing.assert_close(g.float(), e, rtol=5e-2, atol=5e-3)


def test_mean_over_only_ignored_rows_is_zero_with_zero_gradients():
    hidden, weight, bias, target, _ = make_problem()
    target[:] = -100
    leaves = [t.clone().requires_grad_(True) for t in (hidden, weight, bias)]
    loss = linear_cross_entropy(leaves[0], leaves[1], target, bias=leaves[2])
    loss.backward()
    assert loss.item() == 0.0
    for leaf in leaves:
        assert torch.count_nonzero(leaf.grad) == 0


def test_only_the_inputs_that_require_grad_get_one():
    hidden, weight, bias, target, _ = make_problem()
    expected, expected_grads, upstream = naive_and_grads(hidden, weight, bias, target)
    w = weight.clone().requires_grad_(True)
    loss = linear_cross_entropy(hidden, w, target, bias=bias)
    (loss * upstream).backward()
    assert hidden.grad is None and bias.grad is None
    torch.testing.assert_close(w.grad, expected_grads[1])
    with torch.no_grad():
        torch.testing.assert_close(linear_cross_entropy(hidden, weight, target, bias=bias), expected)


def test_module_form_matches_function():
    hidden, weight, bias, target, class_weight = make_problem()
    loss_fn = LinearCrossEntropyLoss(class_weight, label_smoothing=0.1, chunk_size=4)
    expected = linear_cross_entropy(hidden, weight, target, bias=bias, class_weight=class_weight, label_smoothing=0.1)
    torch.testing.assert_close(loss_fn(hidden, weight, target, bias), expected)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(weight=torch.zeros(V, D + 1, dtype=torch.float64)), r"hidden shape \(37, 8\) and weight shape \(29, 9\)"),
        (dict(hidden=torch.zeros(N, dtype=torch.float64)), r"hidden must be 2-D .* shape \(37,\)"),
        (dict(target=torch.zeros(N + 1, dtype=torch.int64)), r"target shape \(38,\)"),
        (dict(bias=torch.zeros(V + 2, dtype=torch.float64)), r"bias shape \(31,\)"),
        (dict(weight=torch.zeros(V, D, dtype=torch.float32)), r"weight dtype torch.float32 does not match hidden dtype torch.float64"),
        (dict(target=torch.zeros(N, dtype=torch.float64)), r"target must hold integer class ids, got dtype torch.float64"),
        (dict(target=torch.full((N,), V)), rf"target must be class ids in \[0, {V}\) or ignore_index=-100, got {V} at index 0"),
        (dict(class_weight=-torch.ones(V, dtype=torch.float64)), r"class_weight must be finite and non-negative, got -1.0 at index 0"),
        (dict(ignore_index=1.5), r"ignore_index must be an integer, got 1.5"),
        (dict(impl="fast"), r"impl must be one of 'auto', 'reference', 'numba', 'triton', got 'fast'"),
        (dict(chunk_size=0), r"chunk_size must be a positive integer or None, got 0"),
        (dict(chunk_size=-3), r"got -3"),
        (dict(chunk_size=2.5), r"got 2.5"),
        (dict(chunk_size=True), r"got True"),
        (dict(reduction="avg"), r"reduction must be one of .* got 'avg'"),
        (dict(label_smoothing=1.5), r"label_smoothing must be a number in \[0, 1\], got 1.5"),
    ],
)
def test_bad_input_raises_one_clear_error(change, message):
    hidden, weight, bias, target, _ = make_problem()
    args = dict(hidden=hidden, weight=weight, target=target, bias=bias) | change
    with pytest.raises(ValueError, match=message):
        linear_cross_entropy(args.pop("hidden"), args.pop("weight"), args.pop("target"), **args)



def test_second_backward_with_retained_graph_accumulates_the_same_gradient_again():
    hidden, weight, bias, target, _ = make_problem()
    _, expected_grads, _ = naive_and_grads(hidden, weight, bias, target)
    w = weight.clone().requires_grad_(True)
    loss = linear_cross_entropy(hidden, w, target, bias=bias)
    loss.backward(retain_graph=True)  # upstream 1: the stored gradient itself is handed over
    (2 * loss).backward()  # the stored gradient must not have been changed by the first backward
    torch.testing.assert_close(w.grad, 3 * expected_grads[1] / 0.5)  # naive_and_grads used upstream 0.5


def test_bench_suite_rows_have_the_shared_keys_and_consistent_ratios():
    from outlayer.bench import linear_ce as suite

    rows = suite.run(shapes=[(64, 8, 300)], dtypes=("float32",), repeats=1, chunk_size=16)
    keys = {"suite", "case", "N", "V", "d", "dtype", "impl", "mode", "median_ms", "peak_extra_mb", "gbps", "tflops", "ratio_vs_torch"}
    assert {row["impl"] for row in rows} >= {"torch-naive", "outlayer", "outlayer-numpy"}
    naive = next(row for row in rows if row["impl"] == "torch-naive")
    for row in rows:
        assert keys <= row.keys() and row["suite"] == "linear-ce" and (row["N"], row["d"], row["V"]) == (64, 8, 300)
        assert row["ratio_vs_torch"] == pytest.approx(naive["median_ms"] / row["median_ms"])


def test_vocab_parallel_bench_suite_outside_a_distributed_job_refuses_naming_how_to_run_it(monkeypatch):
    # main's 9c60e3b: SuiteSkipped instead of an empty list (an empty table would look like a result)
    from outlayer.bench import vocab_parallel as suite
    from outlayer.bench._common import SuiteSkipped

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not torch.distributed.is_initialized()
    with pytest.raises(SuiteSkipped, match="torchrun"):
        suite.run(quick=True, dtypes=("float32",))


@pytest.mark.parametrize("impl", ["numba", "reference"])
def test_nan_logits_are_refused_naming_the_row_in_the_whole_batch(impl):
    if impl == "numba" and not _dispatch.numba_usable():
        pytest.skip("numba is not installed")
    hidden, weight, bias, target, _ = make_problem()
    hidden[13, 2] = float("nan")  # row 13 is in the third block of 5 rows
    with pytest.raises(ValueError, match=r"logits \(hidden @ weight.T \+ bias\) must be finite or -inf, got nan at index \(13, 0\)"):
        linear_cross_entropy(hidden, weight, target, bias=bias, chunk_size=5, impl=impl)


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="VmHWM is Linux-only")
def test_forward_backward_holds_one_block_of_logits_beyond_the_gradients() -> None:
    """Peak extra memory (the process's resident high-water mark, torch's allocations included) of
    a warm forward+backward is the gradients plus ONE (chunk, V) block: a product allocated per block
    while the previous block is still alive would hold two."""
    from outlayer.bench._common import measure_peak_extra_bytes

    n, d, v, chunk = 2048, 256, 16000, 512  # 31 MiB blocks, gradients of 17.6 MiB
    gen = torch.Generator().manual_seed(0)
    hidden, weight = torch.randn(n, d, generator=gen), torch.randn(v, d, generator=gen) / d**0.5
    target = torch.randint(0, v, (n,), generator=gen)

    def forward_backward() -> tuple:
        h, w = hidden.detach().requires_grad_(True), weight.detach().requires_grad_(True)
        linear_cross_entropy(h, w, target, chunk_size=chunk).backward()
        return h.grad, w.grad

    forward_backward()  # warm: the kernel compiled, the BLAS's own buffers allocated
    extra = measure_peak_extra_bytes(forward_backward)
    block, gradients = chunk * v * 4, (n + v) * d * 4
    budget = gradients + block + block // 4  # a quarter block of slack for small temporaries
    assert extra <= budget, (
        f"forward+backward took {extra / 2**20:.1f} MiB; the gradients ({gradients / 2**20:.1f} MiB) "
        f"and one block ({block / 2**20:.1f} MiB) allow {budget / 2**20:.1f}"
    )
