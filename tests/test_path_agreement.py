"""Every cross-entropy path agrees with one float64 judge on one generator of hostile inputs.

The cases and the judge are tests/adversarial.py. The paths, each called through its public API:

* numpy-reference   ``outlayer.cross_entropy_with_grad(..., impl="reference")``
* numpy-auto        ``outlayer.cross_entropy_with_grad(...)`` (the dispatcher's choice)
* numba             ``outlayer.cross_entropy_with_grad(..., impl="numba")`` (out of place)
* numba-forward     ``outlayer.cross_entropy(..., impl="numba")`` (no gradient)
* numba-in-place    ``outlayer._dispatch.fused_cross_entropy(z, ..., impl="numba", grad_out=z)``
* torch-2d          ``outlayer.torch.cross_entropy`` on (N, V), autograd backward; also ``inplace=True``
  and forward under ``torch.no_grad()``
* torch-kdim        ``outlayer.torch.cross_entropy`` on (1, V, N), class axis 1
* linear-numpy      ``outlayer.linear_ce.linear_cross_entropy_with_grad`` with ``hidden = I``, so that
  ``hidden @ weight.T + bias`` is the case's logits exactly (-inf columns through the bias)
* linear-torch      ``outlayer.torch.linear_cross_entropy``, the same construction
* vocab-parallel    ``outlayer.torch.vocab_parallel_cross_entropy`` over gloo, 2 processes (one spawn)
* triton            ``outlayer._dispatch.fused_cross_entropy(..., impl="triton")`` under
  ``TRITON_INTERPRET=1``, in a subprocess (Triton reads the switch when it is first imported)

A path that cannot take a case says so by skipping it (NumPy has no bfloat16; a linear layer
cannot make a -inf logit in one row only; vocab-parallel CE needs 2 classes, one per rank). Tolerances are
stated once, in ``adversarial.tolerance``. No case is marked as a known failure: every path takes
every case it can express.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import adversarial
import outlayer
from adversarial import Case, as_numpy, as_torch, assert_matches
from outlayer import InputError, _dispatch
from outlayer.linear_ce import linear_cross_entropy_with_grad

torch = pytest.importorskip("torch")

CASES = adversarial.cases()
REFUSALS = adversarial.refusals()
NUMBA = pytest.mark.skipif(not _dispatch.numba_usable(), reason="numba (outlayer[fast]) is not installed")
HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def _ids(cases: list[Case]) -> list[str]:
    return [case.id for case in cases]


@cache
def _case(case_id: str) -> Case:
    return next(case for case in CASES + REFUSALS if case.id == case_id)


def _torch_ignore(case: Case) -> Any:
    """torch's ignore_index: an int; the core's None (nothing ignored) is torch's default, which no id equals."""
    return -100 if case.ignore_index is None else case.ignore_index


def _torch_weight(case: Case) -> Any:
    """Class weights in the logits' dtype, as torch wants them (the generator's are exact in every dtype)."""
    if case.weight is None:
        return None
    return torch.from_numpy(np.asarray(case.weight)).to(getattr(torch, case.dtype))


# ------------------------------------------------------------------------------------------------
def _params(path: str, cases: list[Case]) -> list[Any]:
    params = []
    for case in cases:
        params.append(pytest.param(case.id, id=case.id))
    return params


# ------------------------------------------------------------------------------------------------
# The NumPy entry points.
# ------------------------------------------------------------------------------------------------
NUMPY_CASES = [case for case in CASES if case.dtype != "bfloat16"]
NUMBA_CASES = [case for case in CASES if case.dtype in ("float32", "float64")]
#: The variants of a path (forward only, in place, K-dimensional, ...) get the cases up to 3001
#: classes and the issue's reproducers; the main paths get every case, the 300k-class ones included.
SMALL_CASES = [case for case in CASES if case.shape[1] <= 3001 or case.id.startswith("issue-")]


@pytest.mark.parametrize("case_id", _ids(NUMPY_CASES))
def test_numpy_reference_agrees(case_id: str) -> None:
    case = _case(case_id)
    loss, grad = outlayer.cross_entropy_with_grad(as_numpy(case), case.target, impl="reference", **case.options())
    assert np.asarray(loss).dtype == np.dtype(case.dtype) and grad.dtype == np.dtype(case.dtype)
    assert_matches(case, loss, grad, path="numpy-reference")


@pytest.mark.parametrize("case_id", _ids(NUMPY_CASES))
def test_numpy_auto_agrees(case_id: str) -> None:
    case = _case(case_id)
    loss, grad = outlayer.cross_entropy_with_grad(as_numpy(case), case.target, **case.options())
    assert_matches(case, loss, grad, path="numpy-auto")


@NUMBA
@pytest.mark.parametrize("case_id", _ids(NUMBA_CASES))
def test_numba_out_of_place_agrees(case_id: str) -> None:
    case = _case(case_id)
    logits = as_numpy(case)
    before = np.array(logits, copy=True)
    loss, grad = outlayer.cross_entropy_with_grad(logits, case.target, impl="numba", **case.options())
    np.testing.assert_array_equal(logits, before)  # out of place: the input is untouched
    assert_matches(case, loss, grad, path="numba")


@NUMBA
@pytest.mark.parametrize("case_id", _ids([case for case in NUMBA_CASES if case in SMALL_CASES]))
def test_numba_forward_only_agrees(case_id: str) -> None:
    case = _case(case_id)
    loss = outlayer.cross_entropy(as_numpy(case), case.target, impl="numba", **case.options())
    assert_matches(case, loss, None, path="numba-forward")


@NUMBA
@pytest.mark.parametrize("case_id", _ids(NUMBA_CASES))
def test_numba_in_place_agrees(case_id: str) -> None:
    case = _case(case_id)
    buffer = np.array(as_numpy(case), order="C", copy=True)
    loss, grad = _dispatch.fused_cross_entropy(buffer, case.target, impl="numba", grad_out=buffer, **case.options())
    assert grad is buffer
    assert_matches(case, loss, grad, path="numba-in-place")


# ------------------------------------------------------------------------------------------------
# The torch front end (public API).
# ------------------------------------------------------------------------------------------------
def _torch_2d(case: Case, *, inplace: bool = False) -> tuple[Any, Any]:
    from outlayer.torch import cross_entropy

    logits = as_torch(case)
    leaf = logits.clone() if inplace else logits
    leaf.requires_grad_(True)
    loss = cross_entropy(
        leaf, torch.from_numpy(case.target), weight=_torch_weight(case), ignore_index=_torch_ignore(case),
        label_smoothing=case.label_smoothing, reduction=case.reduction, inplace=inplace,
    )
    assert loss.dtype == logits.dtype
    loss.sum().backward()
    return loss.detach().double().numpy(), leaf.grad.double().numpy()


@pytest.mark.parametrize("case_id", _params("torch-2d", CASES))
def test_torch_2d_agrees(case_id: str) -> None:
    case = _case(case_id)
    loss, grad = _torch_2d(case)
    assert_matches(case, loss, grad, path="torch-2d")


@pytest.mark.parametrize("case_id", _params("torch-2d-inplace", SMALL_CASES))
def test_torch_2d_in_place_agrees(case_id: str) -> None:
    case = _case(case_id)
    loss, grad = _torch_2d(case, inplace=True)
    assert_matches(case, loss, grad, path="torch-2d-inplace")


@pytest.mark.parametrize("case_id", _params("torch-2d-no-grad", SMALL_CASES))
def test_torch_2d_forward_under_no_grad_agrees(case_id: str) -> None:
    from outlayer.torch import cross_entropy

    case = _case(case_id)
    with torch.no_grad():
        loss = cross_entropy(
            as_torch(case), torch.from_numpy(case.target), weight=_torch_weight(case), ignore_index=_torch_ignore(case),
            label_smoothing=case.label_smoothing, reduction=case.reduction,
        )
    assert_matches(case, loss.double().numpy(), None, path="torch-2d-no-grad")


@pytest.mark.parametrize("case_id", _params("torch-kdim", SMALL_CASES))
def test_torch_k_dimensional_agrees(case_id: str) -> None:
    from outlayer.torch import cross_entropy

    case = _case(case_id)
    leaf = as_torch(case).T.contiguous().unsqueeze(0).requires_grad_(True)  # (1, V, N): class axis 1
    loss = cross_entropy(
        leaf, torch.from_numpy(case.target)[None], weight=_torch_weight(case), ignore_index=_torch_ignore(case),
        label_smoothing=case.label_smoothing, reduction=case.reduction,
    )
    loss.sum().backward()
    assert_matches(case, loss.detach().double().numpy(), leaf.grad[0].T.double().numpy(), path="torch-kdim")


# ------------------------------------------------------------------------------------------------
# Linear + cross-entropy: hidden = I, weight = the logits' transpose, -inf columns in the bias.
# ------------------------------------------------------------------------------------------------
def _linear_parts(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hidden, weight, bias) in float64 with hidden @ weight.T + bias == the case's logits exactly:
    each logit is one product 1 * w plus exact zeros, and a -inf column comes from the bias."""
    values = case.values()
    masked = np.all(np.isneginf(values), axis=0)
    n = values.shape[0]
    hidden = np.eye(n)
    weight = np.where(masked[None, :], 0.0, values).T.copy()
    bias = np.where(masked, -np.inf, 0.0)
    return hidden, weight, bias


LINEAR_CASES = [case for case in CASES if case.column_masked and np.all(np.isfinite(case.values()) | np.all(np.isneginf(case.values()), axis=0))]


@pytest.mark.parametrize("case_id", _ids([case for case in LINEAR_CASES if case.dtype != "bfloat16"]))
def test_linear_numpy_agrees(case_id: str) -> None:
    case = _case(case_id)
    hidden, weight, bias = (part.astype(case.dtype) for part in _linear_parts(case))
    loss, _, dweight, _ = linear_cross_entropy_with_grad(
        hidden, weight, case.target, bias=bias, class_weight=case.weight, ignore_index=case.ignore_index,
        label_smoothing=case.label_smoothing, reduction=case.reduction, chunk_size=2,
    )
    assert_matches(case, loss, dweight.T, path="linear-numpy")  # hidden = I: dW = dZ^T exactly


@pytest.mark.parametrize("case_id", _params("linear-torch", LINEAR_CASES))
def test_linear_torch_agrees(case_id: str) -> None:
    from outlayer.torch import linear_cross_entropy

    case = _case(case_id)
    dtype = getattr(torch, case.dtype)
    hidden, weight, bias = (torch.from_numpy(part).to(dtype) for part in _linear_parts(case))
    weight.requires_grad_(True)
    loss = linear_cross_entropy(
        hidden, weight, torch.from_numpy(case.target), bias=bias, class_weight=_torch_weight(case),
        ignore_index=_torch_ignore(case), label_smoothing=case.label_smoothing, reduction=case.reduction, chunk_size=2,
    )
    loss.sum().backward()
    assert_matches(case, loss.detach().double().numpy(), weight.grad.T.double().numpy(), path="linear-torch")


# ------------------------------------------------------------------------------------------------
# Refusals: every path refuses the same inputs with InputError.
# ------------------------------------------------------------------------------------------------
def _refuse_numpy(case: Case, impl: str) -> None:
    outlayer.cross_entropy_with_grad(np.asarray(case.logits, dtype=case.dtype), case.target, impl=impl, **case.options())


def _refuse_torch(case: Case) -> None:
    from outlayer.torch import cross_entropy

    logits = torch.from_numpy(np.asarray(case.logits, dtype=case.dtype)).requires_grad_(True)
    weight = None if case.weight is None else torch.from_numpy(np.asarray(case.weight, dtype=case.dtype))
    loss = cross_entropy(
        logits, torch.from_numpy(case.target.astype(np.int64)), weight=weight,
        ignore_index=_torch_ignore(case), label_smoothing=case.label_smoothing, reduction=case.reduction,
    )
    loss.sum().backward()


def _refuse_torch_kdim(case: Case) -> None:
    from outlayer.torch import cross_entropy

    logits = torch.from_numpy(np.asarray(case.logits, dtype=case.dtype).T.copy())[None].requires_grad_(True)
    weight = None if case.weight is None else torch.from_numpy(np.asarray(case.weight, dtype=case.dtype))
    loss = cross_entropy(
        logits, torch.from_numpy(case.target.astype(np.int64))[None], weight=weight,
        ignore_index=_torch_ignore(case), label_smoothing=case.label_smoothing, reduction=case.reduction,
    )
    loss.sum().backward()


def _refuse_linear_torch(case: Case) -> None:
    from outlayer.torch import linear_cross_entropy

    values = torch.from_numpy(np.asarray(case.logits, dtype=case.dtype))
    weight = values.T.contiguous().requires_grad_(True)
    class_weight = None if case.weight is None else torch.from_numpy(np.asarray(case.weight, dtype=case.dtype))
    loss = linear_cross_entropy(
        torch.eye(values.shape[0], dtype=values.dtype), weight, torch.from_numpy(case.target.astype(np.int64)),
        class_weight=class_weight, ignore_index=_torch_ignore(case), label_smoothing=case.label_smoothing, reduction=case.reduction,
    )
    loss.sum().backward()


def _refuse_linear(case: Case) -> None:
    values = np.asarray(case.logits, dtype=case.dtype)
    hidden = np.eye(values.shape[0], dtype=case.dtype)
    with np.errstate(invalid="ignore"):  # 0 * inf in the matmul: the NaN logits to be refused
        linear_cross_entropy_with_grad(
            hidden, values.T.copy(), case.target, class_weight=case.weight, ignore_index=case.ignore_index,
            label_smoothing=case.label_smoothing, reduction=case.reduction,
        )


REFUSAL_PATHS = {
    "numpy-reference": lambda case: _refuse_numpy(case, "reference"),
    "numpy-auto": lambda case: _refuse_numpy(case, "auto"),
    "numba": lambda case: _refuse_numpy(case, "numba"),
    "torch-2d": _refuse_torch,
    "torch-kdim": _refuse_torch_kdim,
    "linear-numpy": _refuse_linear,
    "linear-torch": _refuse_linear_torch,
}


def _refusal_params() -> list[Any]:
    params = []
    for path in REFUSAL_PATHS:
        for case in REFUSALS:
            if path == "numba" and not _dispatch.numba_usable():
                continue
            if path.startswith(("torch", "linear-torch")) and case.target.dtype == np.uint64:
                continue  # torch has no uint64 class ids to refuse
            params.append(pytest.param(path, case.id, id=f"{path}-{case.id}"))
    return params


@pytest.mark.parametrize(("path", "case_id"), _refusal_params())
def test_every_path_refuses_the_same_inputs(path: str, case_id: str) -> None:
    case = _case(case_id)
    with pytest.raises(InputError, match=case.refusal.replace("*", r"\*")):
        REFUSAL_PATHS[path](case)


def _probability_params() -> list[Any]:
    params = []
    for case_id, logits, target, options, phrase in adversarial.probability_refusals():
        for path in ("numpy", "torch-2d"):
            params.append(pytest.param(path, logits, target, options, phrase, id=f"{path}-{case_id}"))
    return params


@pytest.mark.parametrize(("path", "logits", "target", "options", "phrase"), _probability_params())
def test_probability_targets_are_refused_alike(path: str, logits: np.ndarray, target: np.ndarray, options: dict, phrase: str) -> None:
    with pytest.raises(InputError, match=phrase):
        if path == "numpy":
            outlayer.cross_entropy(logits, target, **options)
        else:
            from outlayer.torch import cross_entropy

            cross_entropy(torch.from_numpy(logits), torch.from_numpy(target), **options)


# ------------------------------------------------------------------------------------------------
# Vocabulary-parallel CE (gloo, 2 processes) and the Triton kernel (interpreter): one process each.
# ------------------------------------------------------------------------------------------------
import adversarial_paths  # noqa: E402  (after the torch import skip: it needs torch in its children)

VOCAB_CASES = adversarial_paths.vocab_cases() + adversarial_paths.nonfinite_refusals()
TRITON_CASES = adversarial_paths.triton_cases() + adversarial_paths.nonfinite_refusals(("float32",))


def _shared_child_results(
    name: str, code: str, env: dict[str, str], request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Run ``code`` in one fresh interpreter per test session (under xdist: the first worker runs it,
    the others wait on a lock and read its JSON) and return {case id: failure, "" if it agrees}."""
    import fcntl

    shared = tmp_path_factory.getbasetemp() if not hasattr(request.config, "workerinput") else tmp_path_factory.getbasetemp().parent
    saved = shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not saved.exists():
            environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE)]), **env}
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=600, check=False)
            if done.returncode != 0:
                saved.write_text(json.dumps({"__error__": done.stderr[-4000:]}))
            else:
                saved.write_text(done.stdout.strip().splitlines()[-1])
    results = json.loads(saved.read_text())
    assert "__error__" not in results, results.get("__error__")
    return results


@pytest.fixture(scope="session")
def vocab_parallel_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    return _shared_child_results("vocab-parallel", "import adversarial_paths; adversarial_paths.vocab_parallel_main()", {}, request, tmp_path_factory)


@pytest.fixture(scope="session")
def triton_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    pytest.importorskip("triton", reason="Triton is not installed")
    return _shared_child_results("triton", "import adversarial_paths; adversarial_paths.triton_main()", {"TRITON_INTERPRET": "1"}, request, tmp_path_factory)


@pytest.mark.parametrize("case_id", _params("vocab-parallel", VOCAB_CASES))
def test_vocab_parallel_agrees(case_id: str, vocab_parallel_results: dict[str, str]) -> None:
    assert case_id in vocab_parallel_results, "the case did not run"
    failure = vocab_parallel_results[case_id]
    assert failure == "", failure


@pytest.mark.parametrize("case_id", _ids(TRITON_CASES))
def test_triton_interpreted_agrees(case_id: str, triton_results: dict[str, str]) -> None:
    assert case_id in triton_results, "the case did not run"
    failure = triton_results[case_id]
    assert failure == "", failure
