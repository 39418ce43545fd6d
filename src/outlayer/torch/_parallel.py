"""Vocabulary-parallel cross-entropy over ``torch.distributed`` (Megatron-LM style).

Each process (rank) of a group holds the same N rows but only a slice of the classes: columns
``[vocab_start, vocab_start + V_local)`` of the logits (or the matching rows of the classifier
weight). With ``z`` the full row of logits, ``m = max_c z_c``, ``s = z - m`` and optional class
weights ``w``:

    loss_n = (1 - eps) w_y (lse - s_y) + eps / K (W lse - sum_{c finite} w_c s_c),   lse = log sum_c exp s_c

(``K`` finite logits, ``W`` their total weight; the core's formula, :func:`outlayer.losses.cross_entropy`).
Every term is a sum or a max over classes, so each rank computes its shard's part and two
collectives finish it: an all-reduce MAX of the row maxima (the max shift, so ``exp`` never
overflows), then an all-reduce SUM of seven per-row partial sums (sum of exponentials, the target
logit and weight on the rank that holds it, and for smoothing the finite count, weight and
weighted sum; plus a NaN/+inf flag). The loss is then identical on every rank, and the gradient of
the local slice needs no communication:

    dloss_n / dz_c = ((1 - eps) w_y + eps W / K) p_c - (1 - eps) w_y [c = y] - eps w_c [z_c finite] / K

Before any of that, **one cheap collective check**: every rank all-gathers a small vector (its
status, N, dtype, options, a checksum of its targets, its slice, and for the linear form d, a
checksum of the bits of ``hidden`` and whether it has a bias). So ranks that disagree on options or
targets, whose slices overlap or leave gaps, or one of which rejects its own input, all raise the
same :class:`outlayer._validate.InputError` at once, instead of returning different losses,
aborting in a mismatched all-reduce, or leaving the others blocked in it. ``timeout=`` bounds every
collective of a call (a rank that never arrives makes the others raise ``TimeoutError``).

Autograd: first-order backward hands over the gradient computed in the forward. Under
``create_graph=True`` it recomputes it in differentiable torch operations whose collectives have
the right derivatives (a sum over ranks used rank-locally back-propagates as a sum over ranks; the
replicated ``hidden`` gradient as an identity), so gradient penalties and double backward are right.
``torch.func`` transforms and ``torch.compile`` tracing are not supported here (the collectives act
in place on plain tensors): under ``torch.compile`` these functions run eagerly (a graph break).

The CE formula is written here once more because no single process sees a whole row; the tests
check it against ``F.cross_entropy`` and the core on the gathered logits. The transport is
torch.distributed (gloo on CPU, NCCL on GPUs); see docs/distributed.md for ``torchrun``.
"""

from __future__ import annotations

import datetime
import numbers
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist

from outlayer import linear_ce as _np_linear
from outlayer.torch import _grad

__all__ = ["vocab_parallel_cross_entropy", "vocab_parallel_linear_cross_entropy"]

Tensor = torch.Tensor
_DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)
_INTEGER_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
_REDUCTIONS = ("mean", "sum", "none")
_FUNCTIONS = ("vocab_parallel_cross_entropy", "vocab_parallel_linear_cross_entropy")
# What the ranks must agree on (compared for equality), in the order of the gathered vector.
_AGREED = (
    ("function", "function (the same call on every rank)"),
    ("rows", "number of rows N"),
    ("dtype", "logits dtype"),
    ("reduction", "reduction"),
    ("ignore_index", "ignore_index"),
    ("label_smoothing", "label_smoothing"),
    ("weight", "presence of class weights"),
    ("target", "target class ids (their checksums differ)"),
    ("hidden_dim", "hidden size d"),
    ("hidden", "hidden (the checksums of its bits differ)"),
    ("bias", "presence of local_bias"),
)
_LOCAL = ("status", "vocab_start", "local_classes", "kept_weight")  # per rank, not compared
_FIELDS = _LOCAL + tuple(name for name, _ in _AGREED)
_MESSAGE_BYTES = 512  # a rank's refusal, sent along in the same all-gather


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # float16/bfloat16 mantissas lose the softmax: work in float32 and cast the gradient back.
    return torch.promote_types(dtype, torch.float32)


# ------------------------------------------------------------------------------------------------
# Collectives with a deadline.
# ------------------------------------------------------------------------------------------------
def _wait(work: Any, timeout: float | None, what: str) -> None:
    if timeout is None:
        work.wait()
        return
    try:
        work.wait(timeout=datetime.timedelta(seconds=timeout))
    except RuntimeError as exc:
        raise TimeoutError(
            f"{what} did not complete within timeout={timeout:g} s on rank {dist.get_rank()}: another rank of the "
            "group did not make the same call (it failed earlier or took another branch). The process group "
            "cannot be used after a failed collective: destroy it."
        ) from exc


def _all_reduce(tensor: Tensor, op: Any, group: Any, timeout: float | None, what: str) -> Tensor:
    _wait(dist.all_reduce(tensor, op=op, group=group, async_op=True), timeout, what)
    return tensor


class _SumOverRanks(torch.autograd.Function):
    """A sum over ranks that each rank then uses in its own way (the softmax denominator inside
    its own slice's gradient): the derivative is a sum over ranks too."""

    @staticmethod
    def forward(ctx: Any, tensor: Tensor, group: Any, timeout: float | None) -> Tensor:  # type: ignore[override]
        ctx.group, ctx.timeout = group, timeout
        return _all_reduce(tensor.clone(), dist.ReduceOp.SUM, group, timeout, "vocab-parallel all-reduce")

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        return _SumOverRanks.apply(grad.contiguous(), ctx.group, ctx.timeout), None, None


class _CopyToRanks(torch.autograd.Function):
    """Identity on a replicated input (``hidden``); the gradient is the sum of every rank's part."""

    @staticmethod
    def forward(ctx: Any, tensor: Tensor, group: Any, timeout: float | None) -> Tensor:  # type: ignore[override]
        ctx.group, ctx.timeout = group, timeout
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        return _SumToReplicated.apply(grad.contiguous(), ctx.group, ctx.timeout), None, None


class _SumToReplicated(torch.autograd.Function):
    """A sum over ranks whose result is replicated (``hidden``'s gradient): its derivative is the
    identity, each rank receiving the one replicated upstream gradient."""

    @staticmethod
    def forward(ctx: Any, tensor: Tensor, group: Any, timeout: float | None) -> Tensor:  # type: ignore[override]
        ctx.group, ctx.timeout = group, timeout
        return _all_reduce(tensor.clone(), dist.ReduceOp.SUM, group, timeout, "vocab-parallel all-reduce of the hidden gradient")

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        return _CopyToRanks.apply(grad, ctx.group, ctx.timeout), None, None


# ------------------------------------------------------------------------------------------------
# The collective check.
# ------------------------------------------------------------------------------------------------
def _bits_checksum(tensor: Tensor, block: int = 1 << 20) -> int:
    """A checksum of a tensor's bits, the same on every rank iff (almost surely) the bits are:
    an integer sum, exact and order-independent unlike a float sum, weighted by position so that
    a swap shows. In blocks, so the int64 temporaries stay small; int64 arithmetic wraps."""
    flat = tensor.detach().reshape(-1)
    if flat.is_floating_point():
        flat = flat.view({8: torch.int64, 4: torch.int32, 2: torch.int16}[flat.element_size()])
    total = torch.zeros((), dtype=torch.int64, device=flat.device)
    for start in range(0, flat.numel(), block):
        part = flat[start : start + block].to(torch.int64)
        positions = torch.arange(start + 1, start + part.numel() + 1, device=flat.device, dtype=torch.int64) % 1000003
        total += (part * (2 * positions + 1)).sum() + part.sum() * 7919
    return int(total)


def _float_bits(value: float) -> int:
    return int(torch.tensor(float(value), dtype=torch.float64).view(torch.int64))


def _signature(fields: dict[str, int], message: str, device: torch.device) -> Tensor:
    values = torch.tensor([int(fields.get(name, -1)) for name in _FIELDS], dtype=torch.int64)
    text = message.encode("utf-8", errors="replace")[:_MESSAGE_BYTES].ljust(_MESSAGE_BYTES, b"\0")
    encoded = torch.frombuffer(bytearray(text), dtype=torch.int64)
    return torch.cat([values, encoded]).to(device)


def _shown(name: str, value: int) -> str:
    if name == "reduction":
        return repr(_REDUCTIONS[value]) if 0 <= value < len(_REDUCTIONS) else "?"
    if name == "dtype":
        return str(_DTYPES[value]).removeprefix("torch.") if 0 <= value < len(_DTYPES) else "?"
    if name == "function":
        return _FUNCTIONS[value] if 0 <= value < len(_FUNCTIONS) else "?"
    if name == "label_smoothing":
        return f"{float(torch.tensor(value, dtype=torch.int64).view(torch.float64)):g}"
    if name in ("target", "hidden"):
        return f"{value & 0xFFFFFFFF:08x}"
    if name in ("weight", "bias"):
        return "given" if value else "none"
    return str(value)


def _device_for(group: Any, *candidates: Any) -> torch.device:
    for candidate in candidates:
        if isinstance(candidate, Tensor):
            return candidate.device
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _agree(function: str, group: Any, timeout: float | None, device: torch.device, inspect: Callable[[], dict[str, int]]) -> tuple[int, float]:
    """This rank's own checks (``inspect``), then one all-gather of every rank's findings; raises the
    same InputError on every rank when any rank refused its input or the ranks disagree.

    Returns (V, the total class weight of the kept rows, the ``"mean"`` denominator).
    """
    from outlayer._validate import InputError

    local_error: BaseException | None = None
    try:
        fields, message = dict(inspect(), status=0), ""
    except Exception as exc:  # any refusal, even an unexpected one, must reach the other ranks
        local_error = exc
        fields, message = {"status": 1}, str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
    mine = _signature(fields, message, device)
    world = dist.get_world_size(group)
    gathered = [torch.empty_like(mine) for _ in range(world)]
    _wait(dist.all_gather(gathered, mine, group=group, async_op=True), timeout, f"{function}'s input check (an all-gather)")
    table = [row.cpu() for row in gathered]
    columns = {name: [int(row[i]) for row in table] for i, name in enumerate(_FIELDS)}

    def fail(text: str) -> None:
        raise InputError(f"{function}: {text}") from local_error

    refused = [rank for rank, status in enumerate(columns["status"]) if status != 0]
    if refused:
        first = refused[0]
        text = table[first][len(_FIELDS):].numpy().tobytes().rstrip(b"\0").decode("utf-8", errors="replace")
        others = f" (ranks {refused} refused theirs)" if len(refused) > 1 else ""
        fail(f"rank {first} refused its input: {text}{others}")
    for name, description in _AGREED:
        values = columns[name]
        if len(set(values)) > 1:
            fail(f"every rank must pass the same {description}, got " + ", ".join(f"{_shown(name, v)} on rank {r}" for r, v in enumerate(values)))
    slices = sorted((start, size, rank) for rank, (start, size) in enumerate(zip(columns["vocab_start"], columns["local_classes"])))
    expected = 0
    for start, size, _ in slices:
        if start != expected:
            shown = ", ".join(f"[{s}, {s + n}) on rank {r}" for s, n, r in sorted(slices, key=lambda item: item[2]))
            fail(f"the ranks' vocabulary slices must tile [0, V) with no gap or overlap, got {shown}")
        expected = start + size
    kept_weight = sum(float(torch.tensor(v, dtype=torch.int64).view(torch.float64)) for v in columns["kept_weight"])
    return expected, kept_weight


def _check_options(reduction: object, label_smoothing: object, ignore_index: object, vocab_start: object) -> tuple[str, float, int, int]:
    from outlayer import _validate

    reduction = _validate.check_reduction(reduction)
    label_smoothing = _validate.check_label_smoothing(label_smoothing)
    ignore_index = _validate.check_ignore_index(ignore_index, allow_none=False)
    if isinstance(vocab_start, bool) or not isinstance(vocab_start, numbers.Integral) or int(vocab_start) < 0:
        raise _validate.error("vocab_start", "a non-negative integer", vocab_start)
    return reduction, label_smoothing, int(ignore_index), int(vocab_start)  # type: ignore[arg-type]


def _check_target(target: object, n_rows: int) -> Tensor:
    from outlayer import _validate

    if not isinstance(target, Tensor) or target.dtype not in _INTEGER_DTYPES:
        raise _validate.error("target", "an integer tensor of class ids", _validate.Described(str(getattr(target, "dtype", type(target).__name__))))
    if tuple(target.shape) != (n_rows,):
        raise _validate.error("target", f"of shape ({n_rows},), one class id per row", _validate.Described(f"shape {tuple(target.shape)}"))
    return target.to(torch.int64)


def _check_local_weight(weight: object, n_local: int, dtype: torch.dtype) -> Tensor | None:
    """This rank's (V_local,) slice of the class weights: finite and non-negative (the core's policy)."""
    import numpy as np

    from outlayer import _validate

    if weight is None:
        return None
    if not isinstance(weight, Tensor):
        raise _validate.error("weight", "a torch.Tensor or None", _validate.Described(type(weight).__name__))
    values = weight.detach().cpu()
    values = values.float() if values.dtype in (torch.bfloat16, torch.float16) else values
    like = np.zeros(0, dtype=np.float64 if _compute_dtype(dtype) == torch.float64 else np.float32)
    checked = _validate.check_class_weight(values.numpy(), num_classes=n_local, xp=np, like=like)
    return torch.as_tensor(checked, device=weight.device)


def _kept_weight(target: Tensor, weight: Tensor | None, vocab_start: int, n_local: int, ignore_index: int) -> int:
    """This rank's share of the ``"mean"`` denominator (float64 bits): the class weights of the kept
    rows whose target is in this slice (their count without weights)."""
    local = target - vocab_start
    mine = (target != ignore_index) & (local >= 0) & (local < n_local)
    if weight is None:
        return _float_bits(float(mine.sum()))
    picked = weight.to(torch.float64)[local.clamp(0, max(n_local - 1, 0))] if n_local > 0 else torch.zeros_like(local, dtype=torch.float64)
    return _float_bits(float(torch.where(mine, picked, 0.0).sum()))


def _refuse_nonfinite(name: str, local_logits: Tensor, row_max: Tensor, vocab_start: int) -> None:
    """NaN / +inf logits are refused (the core's policy), found from the row maxima (NaN and +inf
    survive a max): the first such entry is named, on the error path only."""
    from outlayer import _validate

    bad_rows = torch.isnan(row_max) | (row_max == float("inf"))
    if bool(bad_rows.any()):
        row = int(bad_rows.nonzero()[0, 0])
        values = local_logits[row].detach().float()
        column = int((torch.isnan(values) | (values == float("inf"))).nonzero()[0, 0])
        raise _validate.error(
            name, "finite or -inf", float(values[column]), where=_validate.format_index((row, column)), hint=f"global class {vocab_start + column}"
        )


def _autocasting(tensor: Any) -> bool:
    if not isinstance(tensor, Tensor) or tensor.device.type not in ("cpu", "cuda"):
        return False
    return torch.is_autocast_enabled(tensor.device.type)


def _require_group(group: Any) -> None:
    from outlayer._validate import InputError

    if not (dist.is_available() and dist.is_initialized()):
        raise InputError("torch.distributed is not initialised: call torch.distributed.init_process_group first (docs/distributed.md)")


def _check_timeout(timeout: object) -> float | None:
    from outlayer import _validate

    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 < float(timeout) < float("inf"):
        raise _validate.error("timeout", "a positive number of seconds or None", timeout)
    return float(timeout)


# ------------------------------------------------------------------------------------------------
# One block of rows: loss and gradient of the local slice (two collectives).
# ------------------------------------------------------------------------------------------------
def _shard_rows(
    z: Tensor,
    target: Tensor,
    weight: Tensor | None,
    vocab_start: int,
    group: Any,
    ignore_index: int,
    eps: float,
    timeout: float | None,
    with_grad: bool,
    name: str,
    row_offset: int = 0,
    row_max: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """(loss per row, this slice's per-row gradient or None) of a block ``z`` (B, V_local).

    ``z`` is only read; the gradient is a new (B, V_local) buffer in the compute dtype (the one
    buffer of the call: it holds the shifted logits, their exponentials, then the gradient).
    ``row_max``: the local row maxima if already known (one pass over ``z`` less).
    """
    from outlayer._validate import InputError

    compute = _compute_dtype(z.dtype)
    n_rows, n_local = z.shape
    if row_max is None or n_local == 0:
        row_max = z.amax(dim=1) if n_local > 0 else z.new_full((n_rows,), float("-inf"))
    row_max = row_max.to(compute)
    bad = torch.isnan(row_max) | (row_max == float("inf"))
    global_max = _all_reduce(torch.where(bad, float("-inf"), row_max), dist.ReduceOp.MAX, group, timeout, "vocab-parallel all-reduce of the row maxima")
    # A row whose logits are all -inf has no finite maximum; shifting by 0 keeps -inf - m from being NaN.
    global_max = torch.where(torch.isfinite(global_max), global_max, torch.zeros_like(global_max))

    kept = target != ignore_index
    local_ids = target - vocab_start
    in_shard = kept & (local_ids >= 0) & (local_ids < n_local)
    safe_ids = local_ids.clamp(0, max(n_local - 1, 0)).unsqueeze(1)
    shifted = torch.empty((n_rows, n_local), dtype=compute, device=z.device)
    torch.sub(z, global_max.unsqueeze(1), out=shifted)
    stats = torch.zeros(n_rows, 7, dtype=compute, device=z.device)
    if n_local > 0:
        stats[:, 0] = torch.where(in_shard, shifted.gather(1, safe_ids).squeeze(1), 0.0)
        stats[:, 1] = torch.where(in_shard, weight.to(compute)[safe_ids.squeeze(1)] if weight is not None else 1.0, 0.0)
    finite = None
    if eps > 0.0:  # only smoothing needs the finite logits' count, weight and weighted sum
        finite = torch.isfinite(shifted)
        stats[:, 2] = finite.sum(dim=1).to(compute)
        finite_shifted = torch.where(finite, shifted, 0.0)
        if weight is None:
            stats[:, 3] = stats[:, 2]
            stats[:, 4] = finite_shifted.sum(dim=1)
        else:
            w = weight.to(compute)
            stats[:, 3] = (finite.to(compute) * w).sum(dim=1)
            stats[:, 4] = (finite_shifted * w).sum(dim=1)
        del finite_shifted
    stats[:, 5] = bad.to(compute)
    probs = shifted.exp_()  # in place: the shifted logits are not needed any more
    stats[:, 6] = probs.sum(dim=1)
    _all_reduce(stats, dist.ReduceOp.SUM, group, timeout, "vocab-parallel all-reduce of the row sums")
    target_logit, target_weight, n_finite, finite_weight, finite_sum, n_bad, sum_exp = stats.unbind(dim=1)
    if bool((n_bad > 0).any()):  # identical on every rank after the all-reduce: all raise together
        row = int((n_bad > 0).nonzero()[0, 0])
        raise InputError(f"{name} must be finite or -inf, got NaN or +inf in row {row_offset + row} (on the rank holding that class)")

    log_sum_exp = torch.where(sum_exp > 0, sum_exp.clamp(min=torch.finfo(compute).tiny).log(), float("-inf"))
    target_mass = (1.0 - eps) * target_weight
    # where, not products: a zero-weight target, or eps = 1, with a -inf logit gives 0, not 0 * inf
    nll = torch.where(target_logit == float("-inf"), float("inf"), target_mass * (log_sum_exp - target_logit))
    loss_rows = torch.where(target_mass > 0, nll, 0.0)
    if eps > 0.0:
        smooth = eps / n_finite.clamp(min=1) * (finite_weight * log_sum_exp - finite_sum)
        loss_rows = loss_rows + torch.where(n_finite > 0, smooth, 0.0)
    loss_rows = torch.where(kept, loss_rows, 0.0)
    if not with_grad:
        return loss_rows, None
    grad = probs.div_(torch.where(sum_exp > 0, sum_exp, 1.0).unsqueeze(1))
    mass = target_mass + (eps * finite_weight / n_finite.clamp(min=1) if eps > 0.0 else 0.0)
    grad.mul_(mass.unsqueeze(1))
    if n_local > 0:
        grad.scatter_add_(1, safe_ids, torch.where(in_shard, -target_mass, 0.0).unsqueeze(1))
    if finite is not None:
        per_class = (eps / n_finite.clamp(min=1)).unsqueeze(1) * (1.0 if weight is None else weight.to(compute).unsqueeze(0))
        grad.sub_(torch.where(finite, per_class, 0.0))
    grad.masked_fill_(~kept.unsqueeze(1), 0.0)
    return loss_rows, grad


def _differentiable_shard_gradient(
    z: Tensor, target: Tensor, weight: Tensor | None, vocab_start: int, group: Any, ignore_index: int, eps: float, timeout: float | None
) -> Tensor:
    """The per-row gradient of :func:`_shard_rows`, in differentiable torch operations (for
    ``create_graph=True``): the softmax denominator is a :class:`_SumOverRanks`, whose derivative
    sums every rank's part; the max shift, counts and weights are constants."""
    compute = _compute_dtype(z.dtype)
    n_rows, n_local = z.shape
    kept = target != ignore_index
    local_ids = target - vocab_start
    in_shard = kept & (local_ids >= 0) & (local_ids < n_local)
    values = torch.where(kept.unsqueeze(1), z.to(compute), 0.0)  # ignored rows: zeros, no NaN to differentiate
    with torch.no_grad():
        row_max = values.amax(dim=1) if n_local > 0 else values.new_full((n_rows,), float("-inf"))
        row_max = _all_reduce(row_max.contiguous(), dist.ReduceOp.MAX, group, timeout, "vocab-parallel all-reduce of the row maxima")
        row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
        finite = torch.isfinite(values)
        constants = torch.zeros(n_rows, 3, dtype=compute, device=z.device)
        if n_local > 0:
            picked = weight.to(compute)[local_ids.clamp(0, n_local - 1)] if weight is not None else torch.ones_like(constants[:, 0])
            constants[:, 0] = torch.where(in_shard, picked, 0.0)
        constants[:, 1] = finite.sum(dim=1).to(compute)
        constants[:, 2] = (finite.to(compute) * (weight.to(compute) if weight is not None else 1.0)).sum(dim=1)
        target_weight, n_finite, finite_weight = _all_reduce(constants, dist.ReduceOp.SUM, group, timeout, "vocab-parallel all-reduce").unbind(dim=1)
    exps = torch.exp(values - row_max.unsqueeze(1))
    sum_exp = _SumOverRanks.apply(exps.sum(dim=1), group, timeout)
    probs = exps / torch.where(sum_exp > 0, sum_exp, torch.ones_like(sum_exp)).unsqueeze(1)
    target_mass = (1.0 - eps) * target_weight
    mass = target_mass + eps * finite_weight / n_finite.clamp(min=1)
    onehot = (local_ids.unsqueeze(1) == torch.arange(n_local, device=z.device)) & in_shard.unsqueeze(1)
    grad = mass.unsqueeze(1) * probs - target_mass.unsqueeze(1) * onehot.to(compute)
    if eps > 0.0:
        per_class = (eps / n_finite.clamp(min=1)).unsqueeze(1) * (1.0 if weight is None else weight.to(compute).unsqueeze(0))
        grad = grad - torch.where(finite, per_class, torch.zeros_like(grad))
    return torch.where(kept.unsqueeze(1), grad, torch.zeros_like(grad))


# ------------------------------------------------------------------------------------------------
# The logits form.
# ------------------------------------------------------------------------------------------------
class _VocabParallelCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        local_logits: Tensor,
        target: Tensor,
        weight: Tensor | None,
        vocab_start: int,
        group: Any,
        ignore_index: int,
        label_smoothing: float,
        reduction: str,
        timeout: float | None,
        denominator: float,
        row_max: Tensor | None,
    ) -> Tensor:
        with_grad = ctx.needs_input_grad[0]
        loss_rows, grad = _shard_rows(
            local_logits.detach(), target, weight, vocab_start, group, ignore_index, label_smoothing, timeout, with_grad, "local_logits",
            row_max=row_max,
        )
        scale = (1.0 / denominator if denominator > 0 else 0.0) if reduction == "mean" else 1.0  # a mean over nothing: 0
        if grad is not None and scale != 1.0:
            grad.mul_(scale)
        loss = loss_rows if reduction == "none" else loss_rows.sum() * scale
        ctx.options = (vocab_start, group, ignore_index, label_smoothing, reduction, timeout, scale)
        ctx.out_dtype = local_logits.dtype
        # the logits are saved (not copied) for create_graph=True only; the gradient for first order
        ctx.save_for_backward(local_logits, target, weight, grad)
        return loss.to(local_logits.dtype)

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        local_logits, target, weight, grad = ctx.saved_tensors
        vocab_start, group, ignore_index, label_smoothing, reduction, timeout, scale = ctx.options
        if torch.is_grad_enabled():  # create_graph=True: a gradient autograd can differentiate again
            grad = _differentiable_shard_gradient(local_logits, target, weight, vocab_start, group, ignore_index, label_smoothing, timeout) * scale
            upstream = grad_loss.to(grad.dtype)
            grad = grad * (upstream.unsqueeze(1) if reduction == "none" else upstream)
            return (grad.to(ctx.out_dtype),) + (None,) * 10
        grad = _grad.scale_by_upstream(grad, grad_loss, reduction)
        return (grad.to(ctx.out_dtype),) + (None,) * 10


def _no_transforms(function: str, *tensors: Any) -> None:
    for tensor in tensors:
        if isinstance(tensor, Tensor) and not _grad.is_plain_tensor(tensor):
            raise RuntimeError(f"{function} does not run under torch.func transforms or torch.compile tracing (its collectives need plain tensors)")


@torch.compiler.disable
def vocab_parallel_cross_entropy(
    local_logits: Tensor,
    target: Tensor,
    *,
    vocab_start: int,
    group: Any = None,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    timeout: float | None = None,
) -> Tensor:
    """Cross-entropy of logits whose class axis is split over the ranks of ``group``.

    Args:
        local_logits: (N, V_local) this rank's columns ``[vocab_start, vocab_start + V_local)``
            of the (N, V) logits; the N rows are the same on every rank. Finite or -inf.
        target: (N,) global class ids in [0, V), or ``ignore_index``; the same on every rank.
        vocab_start: the global id of this rank's first column. The ranks' slices must tile [0, V).
        group: the process group (``None``: the default group).
        weight: optional (V_local,) slice of the class weights (``F.cross_entropy``'s ``weight``).
        ignore_index, label_smoothing, reduction: as ``F.cross_entropy`` (``"mean"`` over the total
            weight of the non-ignored rows; a mean over nothing is 0). Smoothing spreads over finite
            logits. The same on every rank.
        timeout: seconds each collective of this call may wait for the other ranks (``None``: the
            process group's own timeout, 30 minutes by default); past it, ``TimeoutError``.

    Returns:
        The loss, identical on every rank: a scalar, or (N,) for ``"none"``. Backward gives this
        rank's slice of the logits' gradient (differentiable again under ``create_graph=True``).

    Raises:
        InputError: on every rank at once, when any rank's input is invalid or the ranks disagree
            (options, N, dtype, targets, overlapping or missing slices). Collectives: one all-gather
            of ~600 bytes per rank (the check), one all-reduce MAX of N values and one all-reduce
            SUM of 7N values.
    """
    _require_group(group)
    timeout = _check_timeout(timeout)
    _no_transforms("vocab_parallel_cross_entropy", local_logits, target, weight)
    if _autocasting(local_logits) and local_logits.dtype != torch.float64:
        local_logits = local_logits.float()  # PyTorch's cross-entropy runs in float32 under autocast
    function = _FUNCTIONS[0]
    checked: dict[str, Any] = {}

    def inspect() -> dict[str, int]:
        from outlayer import _validate

        reduction_, smoothing, ignore_, start = _check_options(reduction, label_smoothing, ignore_index, vocab_start)
        if not isinstance(local_logits, Tensor) or local_logits.ndim != 2 or not local_logits.is_floating_point():
            shown = f"shape {tuple(local_logits.shape)} dtype {local_logits.dtype}" if isinstance(local_logits, Tensor) else type(local_logits).__name__
            raise _validate.error("local_logits", "a 2-D floating tensor (N, V_local)", _validate.Described(shown))
        n_rows, n_local = (int(n) for n in local_logits.shape)
        ids = _check_target(target, n_rows)
        local_weight = _check_local_weight(weight, n_local, local_logits.dtype)
        row_max = local_logits.detach().amax(dim=1) if n_local > 0 and n_rows > 0 else None
        if row_max is not None:
            _refuse_nonfinite("local_logits", local_logits, row_max, start)
        checked.update(ids=ids, weight=local_weight, reduction=reduction_, smoothing=smoothing, ignore_index=ignore_, start=start, row_max=row_max)
        return dict(
            function=0, rows=n_rows, dtype=_DTYPES.index(local_logits.dtype), reduction=_REDUCTIONS.index(reduction_), ignore_index=ignore_,
            label_smoothing=_float_bits(smoothing), weight=int(local_weight is not None), target=_bits_checksum(ids), hidden_dim=-1, hidden=0, bias=-1,
            vocab_start=start, local_classes=n_local, kept_weight=_kept_weight(ids, local_weight, start, n_local, ignore_),
        )

    n_classes, denominator = _agree(function, group, timeout, _device_for(group, local_logits), inspect)
    _check_class_ids_everywhere(checked["ids"], n_classes, checked["ignore_index"])
    return _VocabParallelCrossEntropy.apply(
        local_logits, checked["ids"], checked["weight"], checked["start"], group, checked["ignore_index"], checked["smoothing"],
        checked["reduction"], timeout, denominator, checked["row_max"],
    )


def _check_class_ids_everywhere(ids: Tensor, n_classes: int, ignore_index: int) -> None:
    """Class ids in [0, V): the targets are the same on every rank (checked), so is this verdict."""
    import numpy as np

    from outlayer import _validate

    _validate.check_class_ids(ids.detach().cpu().numpy(), num_classes=n_classes, ignore_index=ignore_index, xp=np)


# ------------------------------------------------------------------------------------------------
# The linear form, in blocks of rows.
# ------------------------------------------------------------------------------------------------
def _linear_blocks(
    hidden: Tensor,
    local_weight: Tensor,
    local_bias: Tensor | None,
    target: Tensor,
    weight: Tensor | None,
    options: tuple[Any, ...],
    want: tuple[bool, bool, bool],
    row_scale: Tensor | None,
) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
    """Loss per row and this rank's gradient parts (dhidden before the sum over ranks, dweight,
    dbias), one block of ``chunk`` rows at a time: no rank ever holds its (N, V_local) logits."""
    vocab_start, group, ignore_index, eps, reduction, timeout, scale, chunk = options
    want_h, want_w, want_b = want
    with_grad = want_h or want_w or want_b
    acc = torch.promote_types(local_weight.dtype, torch.float32)
    dhidden = torch.zeros(hidden.shape, dtype=acc, device=hidden.device) if want_h else None
    dweight = torch.zeros(local_weight.shape, dtype=acc, device=local_weight.device) if want_w else None
    dbias = torch.zeros(local_weight.shape[0], dtype=acc, device=local_weight.device) if want_b else None
    losses = []
    for start in range(0, max(hidden.shape[0], 1), chunk):
        h_block = hidden[start : start + chunk]
        logits = h_block @ local_weight.T if local_bias is None else torch.addmm(local_bias, h_block, local_weight.T)
        block_loss, grad = _shard_rows(
            logits, target[start : start + chunk], weight, vocab_start, group, ignore_index, eps, timeout, with_grad,
            "logits (hidden @ local_weight.T + local_bias)", row_offset=start,
        )
        del logits
        losses.append(block_loss)
        if grad is None:
            continue
        factor = scale if row_scale is None else row_scale[start : start + chunk].to(grad.dtype).unsqueeze(1) * scale
        grad.mul_(factor)
        grad = grad.to(hidden.dtype)
        if dhidden is not None:
            dhidden[start : start + chunk] = grad @ local_weight
        if dweight is not None:
            dweight.addmm_(grad.T.to(acc), h_block.to(acc))
        if dbias is not None:
            dbias += grad.sum(dim=0, dtype=acc)
    loss_rows = torch.cat(losses)[: hidden.shape[0]]
    return (
        loss_rows,
        None if dhidden is None else dhidden.to(hidden.dtype),
        None if dweight is None else dweight.to(local_weight.dtype),
        None if dbias is None else dbias.to(local_weight.dtype),
    )


def _differentiable_linear_gradients(
    hidden: Tensor,
    local_weight: Tensor,
    local_bias: Tensor | None,
    target: Tensor,
    weight: Tensor | None,
    options: tuple[Any, ...],
    upstream: Tensor,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """(dhidden, dweight, dbias) of ``<upstream, loss>`` that autograd can differentiate again:
    ``hidden`` enters through :class:`_CopyToRanks` and its gradient leaves through
    :class:`_SumToReplicated`, the block gradients through :func:`_differentiable_shard_gradient`."""
    vocab_start, group, ignore_index, eps, reduction, timeout, scale, chunk = options
    compute = _compute_dtype(hidden.dtype)
    shared = _CopyToRanks.apply(hidden, group, timeout)
    parts, dweight, dbias = [], None, None
    for start in range(0, max(hidden.shape[0], 1), chunk):
        h_block = shared[start : start + chunk]
        logits = h_block @ local_weight.T if local_bias is None else h_block @ local_weight.T + local_bias
        grad = _differentiable_shard_gradient(logits, target[start : start + chunk], weight, vocab_start, group, ignore_index, eps, timeout)
        factor = upstream.to(compute)[start : start + chunk].unsqueeze(1) if reduction == "none" else upstream.to(compute)
        grad = grad * (factor * scale)
        parts.append(grad @ local_weight.to(compute))
        block_dweight, block_dbias = grad.T @ h_block.to(compute), grad.sum(dim=0)
        dweight = block_dweight if dweight is None else dweight + block_dweight
        dbias = block_dbias if dbias is None else dbias + block_dbias
    dhidden = _SumToReplicated.apply(torch.cat(parts)[: hidden.shape[0]].contiguous(), group, timeout)
    return dhidden.to(hidden.dtype), dweight.to(local_weight.dtype), None if local_bias is None else dbias.to(local_bias.dtype)  # type: ignore[union-attr]


class _VocabParallelLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        hidden: Tensor,
        local_weight: Tensor,
        local_bias: Tensor | None,
        target: Tensor,
        weight: Tensor | None,
        options: tuple[Any, ...],
    ) -> Tensor:
        vocab_start, group, ignore_index, eps, reduction, timeout, scale, chunk = options
        want = (ctx.needs_input_grad[0], ctx.needs_input_grad[1], local_bias is not None and ctx.needs_input_grad[2])
        ctx.options, ctx.want = options, want
        if reduction == "none":  # the per-row upstream gradient is unknown: backward recomputes the blocks
            loss_rows, *_ = _linear_blocks(hidden, local_weight, local_bias, target, weight, options, (False, False, False), None)
            ctx.save_for_backward(hidden, local_weight, local_bias, target, weight)
            return loss_rows.to(hidden.dtype)
        loss_rows, dhidden, dweight, dbias = _linear_blocks(hidden, local_weight, local_bias, target, weight, options, want, None)
        if dhidden is not None:  # every rank's part of the replicated hidden's gradient, summed once
            _all_reduce(dhidden, dist.ReduceOp.SUM, group, timeout, "vocab-parallel all-reduce of the hidden gradient")
        ctx.save_for_backward(hidden, local_weight, local_bias, target, weight, dhidden, dweight, dbias)
        return (loss_rows.sum() * scale).to(hidden.dtype)

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        options, want = ctx.options, ctx.want
        vocab_start, group, ignore_index, eps, reduction, timeout, scale, chunk = options
        saved = ctx.saved_tensors
        hidden, local_weight, local_bias, target, weight = saved[:5]
        if torch.is_grad_enabled():  # create_graph=True
            grads = _differentiable_linear_gradients(hidden, local_weight, local_bias, target, weight, options, grad_loss)
        elif reduction == "none":
            _, dhidden, dweight, dbias = _linear_blocks(hidden, local_weight, local_bias, target, weight, options, want, grad_loss)
            if dhidden is not None:
                _all_reduce(dhidden, dist.ReduceOp.SUM, group, timeout, "vocab-parallel all-reduce of the hidden gradient")
            grads = (dhidden, dweight, dbias)
        elif _grad.is_plain_tensor(grad_loss) and bool(grad_loss == 1):
            grads = tuple(saved[5:])  # loss.backward(): hand over the stored gradients themselves
        else:
            grads = tuple(None if g is None else g * grad_loss.to(g.dtype) for g in saved[5:])
        return tuple(g if w else None for g, w in zip(grads, want)) + (None,) * 3


@torch.compiler.disable
def vocab_parallel_linear_cross_entropy(
    hidden: Tensor,
    local_weight: Tensor,
    target: Tensor,
    *,
    vocab_start: int,
    local_bias: Tensor | None = None,
    group: Any = None,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    chunk_size: int | None = None,
    timeout: float | None = None,
) -> Tensor:
    """Cross-entropy of ``hidden @ W.T + b`` with the classifier's rows split over the ranks, in
    blocks of rows (no rank holds its (N, V_local) logits).

    Args:
        hidden: (N, d), the same on every rank (checked: a checksum of its bits).
        local_weight: (V_local, d) rows ``[vocab_start, vocab_start + V_local)`` of the (V, d) classifier.
        target, vocab_start, group, weight, ignore_index, label_smoothing, reduction, timeout: as
            :func:`vocab_parallel_cross_entropy` (``weight``: this rank's slice of the class weights).
        local_bias: optional (V_local,) slice of the bias.
        chunk_size: rows per block (``None``: about 64 MiB of local logits per block,
            :func:`outlayer.linear_ce.default_chunk_size`).

    Returns:
        The loss, identical on every rank. Backward gives each rank the gradient of its weight
        (and bias) slice and the full gradient of ``hidden`` (every rank's part all-reduced once).
        For ``"mean"`` / ``"sum"`` the gradients are computed during the forward, block by block;
        ``"none"`` recomputes the blocks in backward. Collectives per block: an all-reduce MAX of
        ``chunk`` values and an all-reduce SUM of 7 ``chunk`` values; plus the check (one
        all-gather) and the hidden gradient (one all-reduce of N x d).
    """
    _require_group(group)
    timeout = _check_timeout(timeout)
    _no_transforms("vocab_parallel_linear_cross_entropy", hidden, local_weight, target, local_bias, weight)
    autocast = _autocasting(hidden)
    if autocast and torch.float64 not in (getattr(hidden, "dtype", None), getattr(local_weight, "dtype", None)):
        # as F.cross_entropy(F.linear(...)) under autocast: the product in the autocast dtype, the loss in float32
        low = torch.get_autocast_dtype(hidden.device.type)
        hidden, local_weight = hidden.to(low), local_weight.to(low)
        local_bias = None if local_bias is None else local_bias.to(low)
    function = _FUNCTIONS[1]
    checked: dict[str, Any] = {}

    def inspect() -> dict[str, int]:
        from outlayer import _validate

        reduction_, smoothing, ignore_, start = _check_options(reduction, label_smoothing, ignore_index, vocab_start)
        for name, value in (("hidden", hidden), ("local_weight", local_weight)):
            if not isinstance(value, Tensor) or not value.is_floating_point():
                raise _validate.error(name, "a floating-point torch.Tensor", _validate.Described(str(getattr(value, "dtype", type(value).__name__))))
        _np_linear.check_linear_shapes(
            tuple(hidden.shape), tuple(local_weight.shape), tuple(getattr(target, "shape", ())), None if local_bias is None else tuple(local_bias.shape)
        )
        for name, value in (("local_weight", local_weight), ("local_bias", local_bias)):
            if value is not None and value.dtype != hidden.dtype:
                raise _validate.InputError(f"{name} dtype {value.dtype} does not match hidden dtype {hidden.dtype}")
        n_rows, dim = (int(n) for n in hidden.shape)
        n_local = int(local_weight.shape[0])
        ids = _check_target(target, n_rows)
        local_weight_classes = _check_local_weight(weight, n_local, hidden.dtype)
        chunk = _np_linear.check_chunk_size(chunk_size) or _np_linear.default_chunk_size(n_rows, n_local, max(hidden.element_size(), 4))
        checked.update(ids=ids, weight=local_weight_classes, reduction=reduction_, smoothing=smoothing, ignore_index=ignore_, start=start, chunk=chunk)
        return dict(
            function=1, rows=n_rows, dtype=_DTYPES.index(hidden.dtype), reduction=_REDUCTIONS.index(reduction_), ignore_index=ignore_,
            label_smoothing=_float_bits(smoothing), weight=int(local_weight_classes is not None), target=_bits_checksum(ids), hidden_dim=dim,
            hidden=_bits_checksum(hidden), bias=int(local_bias is not None), vocab_start=start, local_classes=n_local,
            kept_weight=_kept_weight(ids, local_weight_classes, start, n_local, ignore_),
        )

    n_classes, denominator = _agree(function, group, timeout, _device_for(group, hidden), inspect)
    _check_class_ids_everywhere(checked["ids"], n_classes, checked["ignore_index"])
    scale = (1.0 / denominator if denominator > 0 else 0.0) if checked["reduction"] == "mean" else 1.0  # a mean over nothing: 0
    options = (checked["start"], group, checked["ignore_index"], checked["smoothing"], checked["reduction"], timeout, scale, checked["chunk"])
    loss = _VocabParallelLinearCrossEntropy.apply(hidden, local_weight, local_bias, checked["ids"], checked["weight"], options)
    return loss.to(_compute_dtype(loss.dtype)) if autocast else loss
