"""The fused CPU cross-entropy kernel: equal to the core's reference and to PyTorch, in all options.

The reference is :func:`outlayer.losses.cross_entropy_with_grad` (never routed to a kernel); the
kernel is :func:`outlayer.kernels.cross_entropy_numba`, called directly with validated input.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outlayer import InputError
from outlayer.kernels import cross_entropy_fused_raw, fused_available, numba_importable, reference_only
from outlayer.kernels import cross_entropy_numba as cross_entropy_fused
from outlayer.losses import cross_entropy_with_grad  # the reference: never routed to a kernel

numba_only = pytest.mark.skipif(not numba_importable(), reason="numba is not installed: only the reference path exists")

OPTION_SETS = [
    {},
    {"weight": "random"},
    {"ignore_index": "first-target"},
    {"label_smoothing": 0.1},
    {"weight": "random", "ignore_index": "first-target", "label_smoothing": 0.25},
]


def _problem(n: int, v: int, dtype: type, seed: int = 0, scale: float = 3.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, v)) * scale).astype(dtype)
    target = rng.integers(0, v, n)
    weight = rng.uniform(0.1, 2.0, v)
    return logits, target, weight


def _options(spec: dict, target: np.ndarray, weight: np.ndarray) -> dict:
    options = dict(spec)
    if options.get("weight") == "random":
        options["weight"] = weight
    if options.get("ignore_index") == "first-target":
        options["ignore_index"] = int(target[0])
    return options


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("spec", OPTION_SETS, ids=lambda s: "-".join(s) or "plain")
def test_fused_loss_and_gradient_equal_the_core_reference(dtype: type, reduction: str, spec: dict) -> None:
    logits, target, weight = _problem(37, 3001, dtype)  # V spans several chunks, not a multiple
    options = _options(spec, target, weight)
    loss, grad = cross_entropy_fused(logits, target, reduction=reduction, **options)
    ref_loss, ref_grad = cross_entropy_with_grad(logits, target, reduction=reduction, **options)
    tol = {"rtol": 2e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-14}
    assert loss.dtype == dtype and grad.dtype == dtype and grad.shape == logits.shape
    np.testing.assert_allclose(loss, ref_loss, **tol)
    np.testing.assert_allclose(grad, ref_grad, rtol=tol["rtol"], atol=tol["atol"] / 100)


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("spec", OPTION_SETS, ids=lambda s: "-".join(s) or "plain")
def test_fused_equals_torch_cross_entropy(dtype: type, reduction: str, spec: dict) -> None:
    torch = pytest.importorskip("torch")
    logits, target, weight = _problem(19, 1500, dtype, seed=1)
    options = _options(spec, target, weight)
    loss, grad = cross_entropy_fused(logits, target, reduction=reduction, **options)
    z = torch.tensor(logits, requires_grad=True)
    torch_options = dict(options)
    if "weight" in torch_options:
        torch_options["weight"] = torch.tensor(weight, dtype=z.dtype)
    torch_options.setdefault("ignore_index", -100)
    expected = torch.nn.functional.cross_entropy(z, torch.tensor(target), reduction=reduction, **torch_options)
    expected.sum().backward()
    tol = {"rtol": 2e-5, "atol": 2e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-14}
    np.testing.assert_allclose(loss, expected.detach().numpy(), **tol)
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=tol["rtol"], atol=tol["atol"] / 100)


@numba_only
def test_fused_gradient_matches_finite_differences() -> None:
    logits, target, weight = _problem(3, 7, np.float64, seed=2)
    options = {"weight": weight, "label_smoothing": 0.2, "reduction": "mean"}
    _, grad = cross_entropy_fused(logits, target, **options)
    step = 1e-6
    numeric = np.zeros_like(logits)
    for index in np.ndindex(*logits.shape):
        up, down = logits.copy(), logits.copy()
        up[index] += step
        down[index] -= step
        numeric[index] = (
            cross_entropy_fused(up, target, with_grad=False, **options)[0]
            - cross_entropy_fused(down, target, with_grad=False, **options)[0]
        ) / (2 * step)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_in_place_gradient_equals_separate_buffer(dtype: type, label_smoothing: float) -> None:
    logits, target, weight = _problem(33, 2100, dtype, seed=3)
    loss, grad = cross_entropy_fused(logits, target, weight=weight, label_smoothing=label_smoothing)
    buffer = logits.copy()
    loss_in_place, grad_in_place = cross_entropy_fused(
        buffer, target, weight=weight, label_smoothing=label_smoothing, grad_out=buffer
    )
    assert grad_in_place is buffer
    np.testing.assert_array_equal(loss_in_place, loss)
    np.testing.assert_allclose(grad_in_place, grad, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=0)


@numba_only
def test_grad_out_receives_the_gradient() -> None:
    logits, target, _ = _problem(8, 50, np.float32, seed=4)
    out = np.full_like(logits, np.nan)
    _, grad = cross_entropy_fused(logits, target, grad_out=out)
    assert grad is out
    np.testing.assert_allclose(out, cross_entropy_with_grad(logits, target)[1], rtol=2e-5, atol=1e-8)


@numba_only
@pytest.mark.parametrize("n_classes", [1, 2, 1023, 1024, 1025, 3 * 1024 + 5])
def test_chunk_boundaries_and_a_max_in_the_last_chunk(n_classes: int) -> None:
    logits, target, _ = _problem(5, n_classes, np.float32, seed=5)
    logits[:, -1] += 40.0  # the running max changes in the last chunk: the sum must be rescaled
    loss, grad = cross_entropy_fused(logits, target, reduction="none", label_smoothing=0.1)
    ref_loss, ref_grad = cross_entropy_with_grad(logits, target, reduction="none", label_smoothing=0.1)
    np.testing.assert_allclose(loss, ref_loss, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(grad, ref_grad, rtol=2e-5, atol=1e-6)


@numba_only
def test_huge_logits_do_not_overflow() -> None:
    logits, target, _ = _problem(6, 300, np.float32, seed=6)
    shifted = logits + np.float32(3e4)  # exp(z) overflows float32 far below this
    loss, grad = cross_entropy_fused(shifted, target)
    ref_loss, ref_grad = cross_entropy_with_grad(logits.astype(np.float64), target)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    # float32 spacing at 3e4 is 2e-3: the shifted logits themselves are rounded by that much
    np.testing.assert_allclose(loss, ref_loss, atol=5e-3)
    np.testing.assert_allclose(grad, ref_grad, atol=5e-4)


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_minus_inf_logits_with_smoothing_give_the_core_finite_loss(dtype: type) -> None:
    logits, target, weight = _problem(4, 2000, dtype, seed=7)
    logits[:, ::3] = -np.inf  # masked classes
    logits[np.arange(4), target] = 1.0  # targets stay possible
    for options in ({"label_smoothing": 0.2}, {"label_smoothing": 0.2, "weight": weight}):
        loss, grad = cross_entropy_fused(logits, target, reduction="none", **options)
        ref_loss, ref_grad = cross_entropy_with_grad(logits, target, reduction="none", **options)
        assert np.isfinite(loss).all() and np.isfinite(grad).all()
        assert (grad[:, ::3][logits[:, ::3] == -np.inf] == 0).all()
        np.testing.assert_allclose(loss, ref_loss, rtol=2e-5)
        np.testing.assert_allclose(grad, ref_grad, rtol=2e-5, atol=1e-7)


@numba_only
def test_target_logit_minus_inf_gives_infinite_loss_like_torch() -> None:
    logits, target, _ = _problem(2, 10, np.float64, seed=8)
    logits[0, target[0]] = -np.inf
    loss, _ = cross_entropy_fused(logits, target, reduction="none")
    ref_loss, _ = cross_entropy_with_grad(logits, target, reduction="none")
    assert loss[0] == np.inf and ref_loss[0] == np.inf
    np.testing.assert_allclose(loss[1], ref_loss[1])


@numba_only
@pytest.mark.parametrize("bad", [np.nan, -np.nan, np.inf])
@pytest.mark.parametrize("in_place", [False, True])
def test_nan_or_plus_inf_logit_is_refused_naming_row_and_column(bad: float, in_place: bool) -> None:
    logits, target, _ = _problem(3, 2500, np.float32, seed=9)
    logits[1, 1700] = bad
    for smoothing in (0.0, 0.1):
        buffer = logits.copy()
        with pytest.raises(InputError, match=r"logits must be finite or -inf, got (nan|inf) at index \(1, 1700\)"):
            cross_entropy_fused(buffer, target, label_smoothing=smoothing, grad_out=buffer if in_place else None)
        # the bad value itself is never overwritten (so the message can name it, and a caller can
        # find it); with an in-place gradient the rest of the buffer is unspecified after the error
        assert np.isnan(buffer[1, 1700]) if np.isnan(bad) else buffer[1, 1700] == bad


@numba_only
def test_nan_in_an_ignored_row_is_refused_too() -> None:
    logits, target, _ = _problem(3, 50, np.float64, seed=9)
    target[2] = -100
    logits[2, 7] = np.nan
    with pytest.raises(InputError, match=r"index \(2, 7\)"):
        cross_entropy_fused(logits, target, ignore_index=-100)


@numba_only
@pytest.mark.parametrize("case", ["all-ignored", "zero-weight", "empty"])
def test_mean_over_nothing_is_zero_with_zero_gradient(case: str) -> None:
    logits, target, weight = _problem(4, 9, np.float32, seed=10)
    options: dict = {}
    if case == "all-ignored":
        options["ignore_index"] = 3
        target[:] = 3
    elif case == "zero-weight":
        weight[target] = 0.0
        options["weight"] = weight
    else:
        logits, target = logits[:0], target[:0]
    loss, grad = cross_entropy_fused(logits, target, **options)
    ref_loss, ref_grad = cross_entropy_with_grad(logits, target, **options)
    assert float(loss) == 0.0 == float(ref_loss)
    assert grad.shape == logits.shape and not grad.any() and not np.asarray(ref_grad).any()


@numba_only
def test_ignored_rows_have_zero_loss_and_gradient() -> None:
    logits, target, _ = _problem(6, 40, np.float64, seed=11)
    target[[1, 4]] = -100
    loss, grad = cross_entropy_fused(logits, target, ignore_index=-100, reduction="none")
    assert loss[1] == 0 and loss[4] == 0 and not grad[[1, 4]].any()
    assert (loss[[0, 2, 3, 5]] > 0).all()


@numba_only
def test_forward_only_returns_no_gradient_and_the_same_loss() -> None:
    logits, target, weight = _problem(7, 130, np.float32, seed=12)
    loss, grad = cross_entropy_fused(logits, target, weight=weight, with_grad=False)
    assert grad is None
    np.testing.assert_array_equal(loss, cross_entropy_fused(logits, target, weight=weight)[0])


@numba_only
@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 6),
    v=st.integers(1, 2100),
    smoothing=st.sampled_from([0.0, 0.05, 1.0]),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([0.1, 5.0, 60.0]),
)
def test_fused_equals_reference_on_random_problems(n: int, v: int, smoothing: float, reduction: str, seed: int, scale: float) -> None:
    logits, target, weight = _problem(n, v, np.float64, seed=seed, scale=scale)
    loss, grad = cross_entropy_fused(logits, target, weight=weight, label_smoothing=smoothing, reduction=reduction)
    ref_loss, ref_grad = cross_entropy_with_grad(logits, target, weight=weight, label_smoothing=smoothing, reduction=reduction)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-12)


@numba_only
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_bfloat16_bits_are_computed_in_float32_and_rounded_once(label_smoothing: float) -> None:
    torch = pytest.importorskip("torch")
    logits32, target, weight = _problem(9, 2500, np.float32, seed=13)
    bf16 = torch.from_numpy(logits32).to(torch.bfloat16)
    bits = bf16.view(torch.int16).numpy().view(np.uint16)
    loss, grad_bits = cross_entropy_fused_raw(bits, target, weight=weight, label_smoothing=label_smoothing)
    widened = bf16.float().numpy()  # the exact values the kernel sees
    ref_loss, ref_grad = cross_entropy_with_grad(widened, target, weight=weight, label_smoothing=label_smoothing)
    grad = torch.from_numpy(grad_bits.view(np.int16)).view(torch.bfloat16).float().numpy()
    expected = torch.from_numpy(np.ascontiguousarray(ref_grad)).to(torch.bfloat16).float().numpy()
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss, ref_loss, rtol=2e-5)
    # one rounding to bfloat16 (8 bits): at most one unit in the last place apart
    np.testing.assert_allclose(grad, expected, rtol=2**-7, atol=1e-12)


def test_exp_f32_is_within_two_ulp_and_keeps_inf_and_nan() -> None:
    pytest.importorskip("numba")
    import numba

    from outlayer.kernels.cpu_numba import FASTMATH, exp_f32

    @numba.njit(fastmath=FASTMATH)
    def apply(x: np.ndarray, out: np.ndarray) -> None:
        for i in range(x.size):
            out[i] = exp_f32(x[i])

    x = np.concatenate([np.linspace(-87.0, 88.0, 200_001), [-np.inf, np.nan, -1e30, 0.0]]).astype(np.float32)
    out = np.empty_like(x)
    apply(x, out)
    exact = np.exp(x[:-4].astype(np.float64))
    ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(out[:-4] - exact) / ulp) <= 2.0
    assert out[-4] == 0.0 and np.isnan(out[-3]) and out[-2] == 0.0 and out[-1] == 1.0


def test_legacy_reference_only_block_switches_fused_available_off_and_back() -> None:
    before = fused_available()
    with reference_only():
        assert fused_available() is False
        with reference_only():
            assert fused_available() is False
        assert fused_available() is False
    assert fused_available() is before


def test_legacy_reference_only_is_local_to_its_thread() -> None:
    from concurrent.futures import ThreadPoolExecutor

    before = fused_available()
    with reference_only(), ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(fused_available).result() is before


def test_kernel_compiles_without_disk_cache_when_caching_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    numba = pytest.importorskip("numba")
    from outlayer.kernels import cpu_numba

    real_njit = numba.njit
    seen = []

    def njit_refusing_cache(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("cache"))
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real_njit(*args, **kwargs)

    monkeypatch.setattr(cpu_numba.numba, "njit", njit_refusing_cache)
    monkeypatch.setattr(cpu_numba, "_CACHE", {})
    kernel = cpu_numba.compiled_kernel(parallel=False)
    assert seen == [True, False]
    assert kernel.targetoptions.get("cache") is not True


@numba_only
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda z, y: cross_entropy_fused(z.astype(np.int32), y), "got int32"),
        (lambda z, y: cross_entropy_fused(z, y + 100), "class id"),
        (lambda z, y: cross_entropy_fused(z, -y - 1), "class id -"),
        (lambda z, y: cross_entropy_fused(z, y[:2]), r"target must have shape \(5,\)"),
        (lambda z, y: cross_entropy_fused(z, y.astype(float)), "integer class ids"),
        (lambda z, y: cross_entropy_fused(z, y, reduction="avg"), "got 'avg'"),
        (lambda z, y: cross_entropy_fused(z, y, weight=np.ones(3)), r"weight must have shape \(12,\)"),
        (lambda z, y: cross_entropy_fused(z, y, grad_out=np.empty((4, 4), np.float32)), "grad_out"),
        (lambda z, y: cross_entropy_fused(z, y, grad_out=np.empty_like(z, dtype=np.float64)), "grad_out"),
        (lambda z, y: cross_entropy_fused_raw(z, y, label_smoothing=1.5), r"label_smoothing must be a number in \[0, 1\], got 1.5"),
        (lambda z, y: cross_entropy_fused_raw(z, y, weight=-np.ones(12)), "weight must be finite and non-negative, got -1.0 at index 0"),
        (lambda z, y: cross_entropy_fused_raw(z, y, ignore_index=1.5), "ignore_index must be an integer or None, got 1.5"),
    ],
)
def test_bad_inputs_raise_one_clear_error(call, message: str) -> None:  # noqa: ANN001
    logits, target, _ = _problem(5, 12, np.float32, seed=15)
    with pytest.raises(ValueError, match=message):
        call(logits, target)


@numba_only
@pytest.mark.parametrize("layout", ["fortran", "strided", "read-only", "read-only-mmap"])
def test_non_contiguous_and_read_only_logits_give_the_same_result(layout: str, tmp_path) -> None:  # noqa: ANN001
    logits, target, weight = _problem(7, 40_000, np.float32, seed=16)  # > 32768 elements: the kernel's size
    expected = cross_entropy_fused(logits, target, weight=weight, label_smoothing=0.1)
    if layout == "fortran":
        given = np.asfortranarray(logits)
    elif layout == "strided":
        wide = np.zeros((7, 80_000), np.float32)
        wide[:, ::2] = logits
        given = wide[:, ::2]
    elif layout == "read-only":
        given = logits.copy()
        given.flags.writeable = False
    else:
        np.save(tmp_path / "logits.npy", logits)
        given = np.load(tmp_path / "logits.npy", mmap_mode="r")
    got = cross_entropy_fused(given, target, weight=weight, label_smoothing=0.1)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


@numba_only
def test_in_place_gradient_needs_contiguous_writeable_logits() -> None:
    logits, target, _ = _problem(4, 30, np.float32, seed=17)
    fortran = np.asfortranarray(logits)
    with pytest.raises(ValueError, match="C-contiguous"):
        cross_entropy_fused(fortran, target, grad_out=fortran)
    read_only = logits.copy()
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        cross_entropy_fused(read_only, target, grad_out=read_only)


@numba_only
def test_partially_overlapping_grad_out_is_refused() -> None:
    buffer = np.zeros((6, 10), dtype=np.float32)
    logits, target = buffer[:5], np.arange(5)
    with pytest.raises(ValueError, match="overlaps"):
        cross_entropy_fused(logits, target, grad_out=buffer[1:])


@numba_only
def test_concurrent_calls_from_threads_give_the_same_results() -> None:
    from concurrent.futures import ThreadPoolExecutor

    problems = [_problem(16, 900, np.float32, seed=20 + i) for i in range(6)]
    expected = [cross_entropy_fused(z, y, weight=w) for z, y, w in problems]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda p: cross_entropy_fused(p[0], p[1], weight=p[2]), problems))
    for (loss, grad), (expected_loss, expected_grad) in zip(results, expected):
        np.testing.assert_array_equal(loss, expected_loss)
        np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("in_place", [False, True])
def test_fused_kernel_agrees_with_the_core_on_an_all_minus_inf_row_and_a_zero_weight_impossible_target(
    smoothing: float, in_place: bool
) -> None:
    if not numba_importable():
        pytest.skip("numba (outlayer[fast]) is not installed")
    logits = np.array([[-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0], [0.5, -1.0, 2.0]], dtype=np.float64)
    target = np.array([1, 0, 2])
    weight = np.array([0.0, 1.0, 2.0])
    options = dict(weight=weight, label_smoothing=smoothing)
    for reduction in ("none", "sum"):
        want_loss, want_grad = cross_entropy_with_grad(logits.copy(), target, reduction=reduction, **options)
        buffer = logits.copy()
        got_loss, got_grad = cross_entropy_fused(
            buffer, target, reduction=reduction, grad_out=buffer if in_place else None, **options
        )
        np.testing.assert_allclose(got_loss, want_loss, rtol=1e-12)
        np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-15)
        if reduction == "none":
            # no class of row 0 is possible: -log 0; row 1's target has weight 0, so without
            # smoothing it counts for nothing (the uniform part carries the other classes' weights)
            assert np.isinf(got_loss[0]) and (got_loss[1] == 0.0 or smoothing > 0)


@numba_only
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_float32_accumulation_keeps_1e_minus_6_relative_accuracy_at_256k_classes(label_smoothing: float, offset: float) -> None:
    rng = np.random.default_rng(21)
    logits = (rng.standard_normal((4, 262_144)) * 3 + offset).astype(np.float32)
    target = rng.integers(0, 262_144, 4)
    loss, grad = cross_entropy_fused(logits, target, label_smoothing=label_smoothing, reduction="none")
    exact_loss, exact_grad = cross_entropy_with_grad(logits.astype(np.float64), target, label_smoothing=label_smoothing, reduction="none")
    np.testing.assert_allclose(loss, exact_loss, rtol=1e-6)
    np.testing.assert_allclose(grad, exact_grad, rtol=1e-5, atol=1e-6 * np.abs(exact_grad).max())
