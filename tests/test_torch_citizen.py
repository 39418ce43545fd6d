"""outlayer.torch.cross_entropy is a PyTorch citizen on every path, judged by PyTorch itself.

Double backward (gradient penalties, ``gradgradcheck``), ``torch.func`` (grad, vmap, jvp,
hessian), ``torch.compile(fullgraph=True)``, ``torch.autocast`` and ``nn.Module`` conventions,
each compared with ``torch.nn.functional.cross_entropy`` on the same inputs. The paths: 2-D
``(N, V)`` and 1-D ``(V,)`` logits and K-dimensional ``(N, V, d1, ...)`` logits (all three run the
fused kernel op), and the core's reference on torch tensors (probability targets).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from outlayer import _dispatch  # noqa: E402
from outlayer.torch import CrossEntropyLoss, _ce, cross_entropy, linear_cross_entropy  # noqa: E402

pytestmark = pytest.mark.skipif(not _dispatch.numba_usable(), reason="numba is not installed: the kernel path does not exist")
IMPLS = ["numba", "reference"]  # the kernel op and the core on torch tensors (small inputs' "auto")

OPTIONS = {
    "plain": {},
    "weight-ignore-smoothing": {"weight": True, "ignore_index": 2, "label_smoothing": 0.15},
}


def _graph_names(tensor: torch.Tensor) -> set[str]:
    """Names of every autograd node behind ``tensor``."""
    names, stack, seen = set(), [tensor.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.add(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


def _runs_fused(loss: torch.Tensor) -> bool:
    return bool({"_FusedCrossEntropyBackward", "_FusedCrossEntropyInPlaceBackward"} & _graph_names(loss))


def _case(shape: str, dtype: torch.dtype = torch.float64, seed: int = 0):
    """(logits, target, weight) for a path: "2d" (5, 7), "1d" (7,), "kdim" (2, 7, 3)."""
    gen = torch.Generator().manual_seed(seed)
    if shape == "2d":
        logits, target = torch.randn(5, 7, generator=gen, dtype=torch.float64), torch.randint(0, 7, (5,), generator=gen)
        target[1] = 2
    elif shape == "1d":
        logits, target = torch.randn(7, generator=gen, dtype=torch.float64), torch.tensor(4)
    else:
        logits, target = torch.randn(2, 7, 3, generator=gen, dtype=torch.float64), torch.randint(0, 7, (2, 3), generator=gen)
        target[0, 0] = 2
    weight = torch.rand(7, generator=gen, dtype=torch.float64) + 0.2
    return (logits * 2).to(dtype), target, weight.to(dtype)


def _options(name: str, weight: torch.Tensor) -> dict:
    options = dict(OPTIONS[name])
    if options.pop("weight", False):
        options["weight"] = weight
    return options


# ------------------------------------------------------------------------------------------------
# Double backward.
# ------------------------------------------------------------------------------------------------
def test_gradient_penalty_through_the_fused_path_keeps_the_logits_term() -> None:
    """The issue's reproducer: d/dW [l + |dl/dW|^2] with the fused 2-D path equals PyTorch's."""
    gen = torch.Generator().manual_seed(3)
    hidden = torch.randn(4, 2, generator=gen, dtype=torch.float64)
    target = torch.tensor([0, 2, 1, 2])
    weight0 = torch.randn(3, 2, generator=gen, dtype=torch.float64)

    def penalised(loss_fn):
        weight = weight0.clone().requires_grad_()
        loss = loss_fn(hidden @ weight.T, target)
        assert (loss_fn is F.cross_entropy) != _runs_fused(loss)
        (grad,) = torch.autograd.grad(loss, weight, create_graph=True)
        (total,) = torch.autograd.grad(loss + (grad**2).sum(), weight)
        (first_order,) = torch.autograd.grad(loss_fn(hidden @ weight.T, target), weight)
        return total, first_order

    ours, first_order = penalised(lambda z, y: cross_entropy(z, y, impl="numba"))
    expected, _ = penalised(F.cross_entropy)
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-14)
    assert (ours - first_order).abs().max() > 1e-2  # the penalty's own term is there, not lost


GRADGRAD_CASES = [("2d", "plain", "mean")] + [(shape, "weight-ignore-smoothing", r) for shape in ("2d", "1d", "kdim") for r in ("mean", "sum", "none")]


@pytest.mark.parametrize(("shape", "options", "reduction"), GRADGRAD_CASES)
@pytest.mark.parametrize("impl", IMPLS)
def test_gradcheck_and_gradgradcheck_pass_on_every_path_in_float64(impl: str, shape: str, options: str, reduction: str) -> None:
    logits, target, weight = _case(shape)
    leaf = logits.clone().requires_grad_()

    def loss_fn(z: torch.Tensor) -> torch.Tensor:
        return cross_entropy(z, target, reduction=reduction, impl=impl, **_options(options, weight))

    assert _runs_fused(loss_fn(leaf)) == (impl == "numba")
    assert torch.autograd.gradcheck(loss_fn, (leaf,))
    assert torch.autograd.gradgradcheck(loss_fn, (leaf,))


def test_gradgradcheck_passes_on_the_reference_path_with_probability_targets() -> None:
    logits, _, weight = _case("2d")
    probabilities = torch.softmax(torch.randn_like(logits), dim=1)
    leaf = logits.clone().requires_grad_()

    def loss_fn(z: torch.Tensor) -> torch.Tensor:
        return cross_entropy(z, probabilities, weight=weight, label_smoothing=0.1)

    assert not _runs_fused(loss_fn(leaf))
    assert torch.autograd.gradgradcheck(loss_fn, (leaf,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_double_backward_in_low_precision_equals_torch_on_the_widened_logits(dtype: torch.dtype) -> None:
    logits, target, weight = _case("2d", dtype)
    vector = torch.randn(logits.shape, generator=torch.Generator().manual_seed(1))

    def hessian_vector(loss_fn, z0, weight):
        z = z0.clone().requires_grad_()
        (grad,) = torch.autograd.grad(loss_fn(z, target, weight=weight, label_smoothing=0.1), z, create_graph=True)
        (hv,) = torch.autograd.grad((grad * vector.to(grad.dtype)).sum(), z)
        return grad.detach(), hv

    grad, hv = hessian_vector(lambda *a, **k: cross_entropy(*a, impl="numba", **k), logits, weight)
    expected_grad, expected_hv = hessian_vector(F.cross_entropy, logits.float(), weight.float())
    assert grad.dtype == hv.dtype == dtype
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 2**-7, "atol": 1e-3}
    torch.testing.assert_close(grad.float(), expected_grad, **tolerance)
    torch.testing.assert_close(hv.float(), expected_hv, **tolerance)


def test_second_backward_through_a_retained_graph_equals_the_first() -> None:
    logits, target, weight = _case("2d")
    leaf = logits.clone().requires_grad_()
    loss = cross_entropy(leaf, target, weight=weight, impl="numba") * 3.0
    (first,) = torch.autograd.grad(loss, leaf, retain_graph=True)
    (second,) = torch.autograd.grad(loss, leaf, create_graph=True)  # then the differentiable branch
    torch.testing.assert_close(first, second, rtol=1e-12, atol=1e-15)


def test_first_order_backward_hands_over_the_kernel_buffer_without_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The custom-op route adds no (N, V) copy: ``.grad`` is the very buffer the kernel wrote."""
    addresses = []  # not the buffers themselves: an extra reference would make autograd copy
    original = _ce._empty_like_hugepages

    def recording(tensor: torch.Tensor) -> torch.Tensor:
        buffer = original(tensor)
        addresses.append(buffer.data_ptr())
        return buffer

    monkeypatch.setattr(_ce, "_empty_like_hugepages", recording)
    for shape in ("2d", "1d"):
        logits, target, _ = _case(shape, torch.float32)
        leaf = logits.clone().requires_grad_()
        cross_entropy(leaf, target, impl="numba").backward()
        assert leaf.grad.data_ptr() == addresses[-1]
    assert len(addresses) == 2


# ------------------------------------------------------------------------------------------------
# inplace=True.
# ------------------------------------------------------------------------------------------------
def test_in_place_refuses_create_graph_with_a_clear_error() -> None:
    logits, target, _ = _case("2d")
    leaf = logits.clone().requires_grad_()
    loss = cross_entropy(leaf, target, inplace=True, impl="numba")
    with pytest.raises(RuntimeError, match="inplace=True overwrote the logits.*pass inplace=False"):
        torch.autograd.grad(loss, leaf, create_graph=True)


def test_in_place_refuses_torch_func_transforms_with_a_clear_error() -> None:
    logits, target, _ = _case("2d")
    with pytest.raises(RuntimeError, match="inplace=True.*torch.func"):
        torch.func.grad(lambda z: cross_entropy(z, target, inplace=True))(logits)


def test_in_place_first_order_still_equals_torch_and_reuses_the_logits_memory() -> None:
    logits, target, weight = _case("kdim")
    expected = logits.clone().requires_grad_()
    F.cross_entropy(expected, target, weight=weight, label_smoothing=0.1).backward()
    flat, flat_target = _case("2d")[:2]
    leaf = flat.clone().requires_grad_()
    cross_entropy(leaf, flat_target, inplace=True, impl="numba").backward()
    assert leaf.grad.data_ptr() == leaf.data_ptr()
    reference = flat.clone().requires_grad_()
    F.cross_entropy(reference, flat_target).backward()
    torch.testing.assert_close(leaf.grad, reference.grad)
    kdim = logits.clone().requires_grad_()  # K-dim in place works on the row copy: still right
    cross_entropy(kdim, target, weight=weight, label_smoothing=0.1, inplace=True, impl="numba").backward()
    torch.testing.assert_close(kdim.grad, expected.grad)


# ------------------------------------------------------------------------------------------------
# torch.func.
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", ["2d", "1d", "kdim"])
@pytest.mark.parametrize("impl", IMPLS)
def test_torch_func_grad_hessian_and_jvp_equal_torch(impl: str, shape: str, reduction: str) -> None:
    logits, target, weight = _case(shape)
    options = _options("weight-ignore-smoothing", weight)

    def ours(z):
        return cross_entropy(z, target, reduction=reduction, impl=impl, **options).sum()

    def theirs(z):
        return F.cross_entropy(z, target, reduction=reduction, **options).sum()

    tangent = torch.randn_like(logits)
    torch.testing.assert_close(torch.func.grad(ours)(logits), torch.func.grad(theirs)(logits))
    torch.testing.assert_close(torch.func.hessian(ours)(logits), torch.func.hessian(theirs)(logits))
    torch.testing.assert_close(torch.func.jvp(ours, (logits,), (tangent,)), torch.func.jvp(theirs, (logits,), (tangent,)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_vmap_over_logits_targets_and_weights_equals_torch(reduction: str) -> None:
    gen = torch.Generator().manual_seed(4)
    logits = torch.randn(3, 5, 7, generator=gen, dtype=torch.float64)
    target = torch.randint(0, 7, (3, 5), generator=gen)
    target[1, :] = -100  # one whole problem ignored: its mean is 0 here (PyTorch: NaN)
    target[0, 0] = -100
    weights = torch.rand(3, 7, generator=gen, dtype=torch.float64) + 0.1

    def ours(z, y, w=None):
        return cross_entropy(z, y, weight=w, reduction=reduction, label_smoothing=0.1)

    def theirs(z, y, w=None):
        return F.cross_entropy(z, y, weight=w, reduction=reduction, label_smoothing=0.1)

    def looped(*args, in_dims):  # PyTorch's own loss cannot vmap over the weights: a loop
        batched = [a.unbind(0) if d == 0 else [a] * 3 for a, d in zip(args, in_dims)]
        return torch.stack([theirs(*problem) for problem in zip(*batched)])

    cases = (((0, 0), (logits, target)), ((0, None), (logits, target[0])), ((None, 0), (logits[0], target)), ((0, 0, 0), (logits, target, weights)))
    for in_dims, args in cases:
        got, expected = torch.vmap(ours, in_dims=in_dims)(*args), looped(*args, in_dims=in_dims)
        if in_dims[0] == 0 and len(in_dims) == 2:  # where PyTorch's own vmap works
            torch.testing.assert_close(torch.vmap(theirs, in_dims=in_dims)(*args), expected, equal_nan=True)
        if reduction == "mean" and in_dims[1] == 0:
            assert torch.isnan(expected[1]) and got[1] == 0
            got, expected = got[[0, 2]], expected[[0, 2]]
        torch.testing.assert_close(got, expected)


def test_per_sample_gradients_with_vmap_of_grad_equal_torch() -> None:
    gen = torch.Generator().manual_seed(5)
    weight = torch.randn(7, 4, generator=gen, dtype=torch.float64)
    hidden = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    target = torch.randint(0, 7, (6,), generator=gen)

    def per_sample(loss_fn):
        def loss(w, h, y):
            return loss_fn((h @ w.T).unsqueeze(0), y.unsqueeze(0), label_smoothing=0.05)

        return torch.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(weight, hidden, target)

    torch.testing.assert_close(per_sample(cross_entropy), per_sample(F.cross_entropy))


# ------------------------------------------------------------------------------------------------
# torch.compile.
# ------------------------------------------------------------------------------------------------
def _compiled_equals_torch(shape: str, backend: str) -> None:
    logits, target, weight = _case(shape, torch.float32)
    options = _options("weight-ignore-smoothing", weight)
    torch._dynamo.reset()

    def loss_fn(z, y):
        return cross_entropy(z, y, reduction="none", **options).sum() * 2.0

    explanation = torch._dynamo.explain(loss_fn)(logits.clone().requires_grad_(), target)
    assert explanation.graph_count == 1 and explanation.graph_break_count == 0, explanation.break_reasons
    assert "outlayer.cross_entropy_fused" in explanation.graphs[0].code  # the kernel, small as the input is
    compiled = torch.compile(loss_fn, fullgraph=True, backend=backend)
    ours, theirs = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    loss = compiled(ours, target)
    loss.backward()
    expected = F.cross_entropy(theirs, target, reduction="none", **options).sum() * 2.0
    expected.backward()
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(ours.grad, theirs.grad)
    with torch.no_grad():  # the forward-only graph (no gradient computed by the kernel)
        torch.testing.assert_close(compiled(logits, target), expected.detach())


@pytest.mark.parametrize("shape", ["2d", "kdim"])
def test_torch_compile_fullgraph_has_no_graph_break_and_equals_torch(shape: str) -> None:
    """AOTAutograd's tracing (fake tensors, the op's registered autograd), without C++ codegen."""
    _compiled_equals_torch(shape, "aot_eager")


@pytest.mark.slow
def test_torch_compile_with_inductor_equals_torch() -> None:
    _compiled_equals_torch("2d", "inductor")


def test_torch_compile_ignores_inplace_and_still_equals_torch() -> None:
    logits, target, _ = _case("2d", torch.float32)
    torch._dynamo.reset()
    compiled = torch.compile(lambda z, y: cross_entropy(z, y, inplace=True), fullgraph=True, backend="aot_eager")
    ours, theirs = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    compiled(ours, target).backward()
    F.cross_entropy(theirs, target).backward()
    torch.testing.assert_close(ours.grad, theirs.grad)


# ------------------------------------------------------------------------------------------------
# torch.autocast and nn.Module conventions.
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
@pytest.mark.parametrize("autocast_dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("impl", IMPLS)
def test_loss_dtype_under_cpu_autocast_matches_torch(impl: str, dtype: torch.dtype, autocast_dtype: torch.dtype) -> None:
    logits, target, weight = _case("2d", dtype)
    for options in ({}, {"weight": weight}):
        with torch.autocast("cpu", dtype=autocast_dtype):
            ours = cross_entropy(logits, target, impl=impl, **options)
            theirs = F.cross_entropy(logits, target, **options)
        assert ours.dtype == theirs.dtype
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", IMPLS)
def test_autocast_gradient_reaches_low_precision_logits_in_their_dtype(impl: str) -> None:
    logits, target, _ = _case("2d", torch.bfloat16)
    ours, theirs = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cross_entropy(ours, target, impl=impl).backward()
        F.cross_entropy(theirs, target).backward()
    assert ours.grad.dtype == theirs.grad.dtype == torch.bfloat16
    torch.testing.assert_close(ours.grad, theirs.grad)


def test_module_is_a_weighted_loss_with_torchs_state_dict() -> None:
    weight = torch.rand(7, dtype=torch.float64)
    ours = CrossEntropyLoss(weight=weight, ignore_index=3, label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(weight=weight, ignore_index=3, label_smoothing=0.1)
    assert isinstance(ours, torch.nn.modules.loss._WeightedLoss)
    assert ours.state_dict().keys() == theirs.state_dict().keys() == {"weight"}
    assert CrossEntropyLoss().state_dict().keys() == torch.nn.CrossEntropyLoss().state_dict().keys() == set()
    for name in ("ignore_index", "label_smoothing", "reduction"):
        assert getattr(ours, name) == getattr(theirs, name)
    fresh = CrossEntropyLoss(weight=torch.zeros(7, dtype=torch.float64))
    fresh.load_state_dict(theirs.state_dict())  # a torch checkpoint loads into ours, and back
    theirs.load_state_dict(fresh.state_dict())
    logits, target, _ = _case("2d")
    torch.testing.assert_close(fresh(logits, target), torch.nn.CrossEntropyLoss(weight=weight)(logits, target))
    assert ours.float().weight.dtype == torch.float32  # .to() moves the buffer like torch's


# ------------------------------------------------------------------------------------------------
# linear_cross_entropy: the same claims against the naive F.cross_entropy(h @ W.T + b, y).
# ------------------------------------------------------------------------------------------------
def _linear_case(dtype: torch.dtype = torch.float64, seed: int = 0, n: int = 5, d: int = 3, v: int = 4):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(n, d, generator=gen, dtype=torch.float64).to(dtype)
    weight = torch.randn(v, d, generator=gen, dtype=torch.float64).to(dtype)
    bias = torch.randn(v, generator=gen, dtype=torch.float64).to(dtype)
    target = torch.randint(0, v, (n,), generator=gen)
    target[1] = -100
    class_weight = (torch.rand(v, generator=gen, dtype=torch.float64) + 0.5).to(dtype)
    return hidden, weight, bias, target, class_weight


def _linear_fns(target, class_weight, reduction, chunk_size=2, impl="numba"):
    def ours(h, w, b):
        return linear_cross_entropy(
            h, w, target, bias=b, class_weight=class_weight, label_smoothing=0.1, reduction=reduction, chunk_size=chunk_size, impl=impl
        )

    def naive(h, w, b):
        return F.cross_entropy(h @ w.T + b, target, weight=class_weight, label_smoothing=0.1, reduction=reduction)

    return ours, naive


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("impl", IMPLS)
def test_linear_gradcheck_and_gradgradcheck_pass_in_float64(impl: str, reduction: str) -> None:
    hidden, weight, bias, target, class_weight = _linear_case()
    ours, _ = _linear_fns(target, class_weight, reduction, chunk_size=3, impl=impl)  # two blocks
    leaves = tuple(t.clone().requires_grad_() for t in (hidden, weight, bias))
    assert "_LinearCrossEntropyBackward" in _graph_names(ours(*leaves))
    assert torch.autograd.gradcheck(ours, leaves)
    assert torch.autograd.gradgradcheck(ours, leaves)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("impl", IMPLS)
def test_linear_gradient_penalty_on_every_parameter_equals_naive(impl: str, dtype: torch.dtype) -> None:
    hidden, weight, bias, target, class_weight = _linear_case(dtype, seed=1, n=9, d=4, v=6)

    def penalised(loss_fn):
        leaves = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
        loss = loss_fn(*leaves)
        grads = torch.autograd.grad(loss, leaves, create_graph=True)
        total = loss + sum((g**2).sum() for g in grads)
        return torch.autograd.grad(total, leaves)

    ours, naive = _linear_fns(target, class_weight, "mean", chunk_size=4, impl=impl)
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-12}
    for got, expected in zip(penalised(ours), penalised(naive)):
        torch.testing.assert_close(got, expected, **tolerance)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("impl", ["auto", "numba"])
def test_linear_torch_func_grad_hessian_jvp_and_vmap_equal_naive(impl: str, reduction: str) -> None:
    hidden, weight, bias, target, class_weight = _linear_case(seed=2)
    ours, naive = _linear_fns(target, class_weight, reduction, impl=impl)

    def summed(fn):
        return lambda h, w, b: fn(h, w, b).sum()

    primals = (hidden, weight, bias)
    tangents = tuple(torch.randn_like(t) for t in primals)
    for got, expected in zip(torch.func.grad(summed(ours), argnums=(0, 1, 2))(*primals), torch.func.grad(summed(naive), argnums=(0, 1, 2))(*primals)):
        torch.testing.assert_close(got, expected)
    torch.testing.assert_close(torch.func.hessian(summed(ours), argnums=1)(*primals), torch.func.hessian(summed(naive), argnums=1)(*primals))
    torch.testing.assert_close(torch.func.jvp(summed(ours), primals, tangents), torch.func.jvp(summed(naive), primals, tangents))
    batch = torch.randn(3, *hidden.shape, dtype=hidden.dtype)
    torch.testing.assert_close(torch.vmap(ours, in_dims=(0, None, None))(batch, weight, bias), torch.vmap(naive, in_dims=(0, None, None))(batch, weight, bias))


def test_linear_per_sample_weight_gradients_with_vmap_of_grad_equal_naive() -> None:
    hidden, weight, _, target, _ = _linear_case(seed=3)
    target = target.clamp(min=0)

    def per_sample(loss_fn):
        return torch.vmap(torch.func.grad(lambda w, h, y: loss_fn(h[None], w, y[None])), in_dims=(None, 0, 0))(weight, hidden, target)

    got = per_sample(lambda h, w, y: linear_cross_entropy(h, w, y))  # "auto": the op under vmap
    torch.testing.assert_close(got, per_sample(lambda h, w, y: F.cross_entropy(h @ w.T, y)))


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_linear_torch_compile_fullgraph_has_no_graph_break_and_equals_naive(reduction: str) -> None:
    hidden, weight, bias, target, class_weight = _linear_case(torch.float32, seed=4)
    ours, naive = _linear_fns(target, class_weight, reduction, impl="auto")  # small: the op even so, when traced
    torch._dynamo.reset()

    def loss_fn(h, w, b):
        return ours(h, w, b).sum()

    leaves = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
    explanation = torch._dynamo.explain(loss_fn)(*leaves)
    assert explanation.graph_count == 1 and explanation.graph_break_count == 0, explanation.break_reasons
    assert "outlayer.linear_cross_entropy" in explanation.graphs[0].code
    compiled = torch.compile(loss_fn, fullgraph=True, backend="aot_eager")
    loss = compiled(*leaves)
    loss.backward()
    reference = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
    expected = naive(*reference).sum()
    expected.backward()
    torch.testing.assert_close(loss, expected)
    for got, want in zip(leaves, reference):
        torch.testing.assert_close(got.grad, want.grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("impl", IMPLS)
def test_linear_under_cpu_autocast_has_the_loss_dtype_and_gradients_of_naive(impl: str, dtype: torch.dtype) -> None:
    hidden, weight, bias, target, _ = _linear_case(dtype, seed=5, n=16, d=8, v=12)
    ours_leaves = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
    naive_leaves = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = linear_cross_entropy(ours_leaves[0], ours_leaves[1], target, bias=ours_leaves[2], impl=impl)
        naive = F.cross_entropy(F.linear(naive_leaves[0], naive_leaves[1], naive_leaves[2]), target)
    assert ours.dtype == naive.dtype
    ours.backward()
    naive.backward()
    tolerance = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 2e-2, "atol": 1e-2}
    torch.testing.assert_close(ours, naive, **tolerance)
    for got, want in zip(ours_leaves, naive_leaves):
        assert got.grad.dtype == want.grad.dtype == dtype
        torch.testing.assert_close(got.grad, want.grad, **tolerance)
