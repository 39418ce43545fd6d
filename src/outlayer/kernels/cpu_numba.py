"""The Numba body of the fused softmax-cross-entropy kernel (imported only on first use).

Importing this module imports numba and registers a few tiny overloads; nothing is compiled
until :func:`compiled_kernel` is first called. :mod:`outlayer.kernels.cpu` is the public face.

One row ``z`` (V logits, class weights ``w``, target ``y``, smoothing ``eps``) costs two passes:

1. online max / sum of exponentials, in chunks that stay in L1: per chunk the max ``cm`` and a
   NaN/+inf check (two vectorised integer maxima over the float bits, on the same loads); an all
   -inf chunk is skipped (it adds nothing, and ``exp(-inf - -inf)`` would be NaN, wherever in the
   row it sits); when ``cm`` beats the running max ``m`` the running sums are moved to the new
   max, ``s <- s * exp(m - cm)``; then ``s += sum exp(z_c - m)``. With smoothing the same pass
   counts the finite logits ``K`` and sums ``w_c`` and ``w_c (z_c - m)`` over them (relative to
   the running max, moved along with it). Then, with ``q = (1-eps) onehot(y) + eps/K [z_c finite]``,
   ``l = W_q log s - sum_c w_c q_c (z_c - m)`` and ``W_q = sum_c w_c q_c``: every term relative to
   the max, so ``|z| = 1e16`` or a float32 offset of 1e6 loses nothing (``m + log s`` would round
   ``log s`` away).
2. (gradient only) ``g_c = scale * (W_q * exp((z_c - m) - log s) - w_c q_c)``, written once per
   element; the read of ``z_c`` precedes the write of ``g_c`` so ``g`` may be ``z`` itself.

Without smoothing, with a gradient and float32/float64 storage, a cheaper variant runs (its own
kernel, compiled only when used): per L1-sized chunk the max (one vectorised integer max; a +inf
shows there), then ``g_c = exp(z_c - m_k)`` against the running max ``m_k`` stored while summed
(a NaN shows as a NaN chunk sum: the check costs nothing per element); a last sweep multiplies
chunk k by ``scale w_y exp(m_k - m) / s`` and the target gets its ``-scale w_y``: one exponential
per logit instead of two, one read of the row from memory, the scaling sweep hitting L2 (a row
is at most 1 MiB at V = 250k float32).

A row holding a NaN or +inf is flagged (``row_bad``) and the caller raises; the bad value itself
stays in the row (a +inf chunk is never written; a NaN's exponential is NaN), so the message can
name it.
Sums are taken in the compute type per L1-sized chunk (the vectorised loop keeps many partial
sums) and accumulated across chunks in float64. The logits are only read: a read-only array is
fine, and an in-place gradient is written through ``grad``, the same memory. bfloat16 rows arrive
as their raw ``uint16`` bits and are widened to float32 in registers; the gradient is rounded back
to bfloat16 bits (round to nearest even) as it is stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic, overload

__all__ = ["FASTMATH", "compiled_kernel", "exp_f32", "fast_path_applies"]

#: LLVM fast-math flags: reassociation lets the sums vectorise; no ``nnan``/``ninf``, because
#: -inf logits (masked classes) and NaN must keep their IEEE meaning.
FASTMATH = {"contract", "reassoc", "arcp", "afn"}

#: Elements per chunk of the online max/sum pass: 4 KiB of float32, well inside L1.
CHUNK = 1024

_LOG2E = np.float32(1.0 / math.log(2.0))
# ln 2 split in two (Cody-Waite): the high part has 9 significant bits, so k * _LN2_HI is exact
# for |k| < 2**15 and r = x - k ln 2 loses nothing to cancellation.
_LN2_HI = np.float32(355.0 / 512.0)
_LN2_LO = np.float32(math.log(2.0) - 355.0 / 512.0)
# Below this exp underflows float32's normal range; the result is flushed to 0 (error < 1.2e-38).
_EXP_LOW = np.float32(math.log(float(np.finfo(np.float32).tiny)))
# Above this 2**k would need exponent 128 (inf); callers pass x <= 0, the clamp is a safety net.
_EXP_HIGH = np.float32(127 * math.log(2.0))
# Minimax polynomial for (exp(r) - 1 - r) / r**2 on |r| <= ln(2)/2 (Cephes expf): ~1 ulp.
_P0 = np.float32(1.9875691500e-4)
_P1 = np.float32(1.3981999507e-3)
_P2 = np.float32(8.3334519073e-3)
_P3 = np.float32(4.1665795894e-2)
_P4 = np.float32(1.6666665459e-1)
_P5 = np.float32(5.0000001201e-1)
_ONE = np.float32(1.0)
_HALF = np.float32(0.5)
_ZERO = np.float32(0.0)


@intrinsic
def _i32_bits_as_f32(typingctx, bits):  # type: ignore[no-untyped-def]
    """Reinterpret an int32's bits as a float32 (a no-op in the machine code, so it vectorises)."""
    if bits != types.int32:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@intrinsic
def _f32_bits_as_u32(typingctx, value):  # type: ignore[no-untyped-def]
    """Reinterpret a float32's bits as a uint32."""
    if value != types.float32:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(32))

    return types.uint32(types.float32), codegen


@intrinsic
def _i64_bits_as_f64(typingctx, bits):  # type: ignore[no-untyped-def]
    """Reinterpret an int64's bits as a float64."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@numba.njit(fastmath=FASTMATH)
def exp_f32(x):  # type: ignore[no-untyped-def]
    """exp for float32 in plain arithmetic so that LLVM vectorises it (numba has no vector exp
    without Intel SVML): x = k ln2 + r, exp(x) = 2**k * exp(r), 2**k built from its exponent bits.
    Exact 0 for x < -87.34 (and for -inf), NaN for NaN."""
    clamped = min(max(x, _EXP_LOW), _EXP_HIGH)
    k = np.floor(clamped * _LOG2E + _HALF)  # stays float32 (math.floor would return an int64)
    r = clamped - k * _LN2_HI - k * _LN2_LO
    r2 = r * r
    poly = ((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5
    exp_r = poly * r2 + r + _ONE
    two_k = _i32_bits_as_f32(np.int32((np.int32(k) + np.int32(127)) << np.int32(23)))
    result = exp_r * two_k
    # x != x keeps NaN; the clamp alone would turn NaN into a finite number on some targets.
    return _ZERO if x < _EXP_LOW else (x if x != x else result)


def _exp(x):  # type: ignore[no-untyped-def]  # pragma: no cover - replaced by the overload
    raise NotImplementedError


@overload(_exp)
def _exp_overload(x):  # type: ignore[no-untyped-def]
    if x == types.float32:
        return lambda x: exp_f32(x)
    return lambda x: math.exp(x)


def _widen(v):  # type: ignore[no-untyped-def]  # pragma: no cover - replaced by the overload
    raise NotImplementedError


@overload(_widen)
def _widen_overload(v):  # type: ignore[no-untyped-def]
    if v == types.uint16:
        # bfloat16 is the top half of a float32: shift its bits up and reinterpret.
        return lambda v: _i32_bits_as_f32(np.int32(np.uint32(v) << np.uint32(16)))
    return lambda v: v


def _narrow(value, like):  # type: ignore[no-untyped-def]  # pragma: no cover
    raise NotImplementedError


@overload(_narrow)
def _narrow_overload(value, like):  # type: ignore[no-untyped-def]
    """Convert a computed value to the storage type of ``like`` (an element of the output)."""
    if like == types.uint16:

        def to_bf16_bits(value, like):  # type: ignore[no-untyped-def]
            bits = _f32_bits_as_u32(np.float32(value))
            # Round to nearest, ties to even, on the 16 bits that are dropped.
            rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
            is_nan = (bits & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
            return np.uint16((bits | np.uint32(0x00400000)) >> np.uint32(16)) if is_nan else np.uint16(rounded >> np.uint32(16))

        return to_bf16_bits
    if like == types.float32:
        return lambda value, like: np.float32(value)
    return lambda value, like: np.float64(value)


def _compute(value, like):  # type: ignore[no-untyped-def]  # pragma: no cover
    raise NotImplementedError


@overload(_compute)
def _compute_overload(value, like):  # type: ignore[no-untyped-def]
    """Convert a scalar to the compute type of a stored element ``like``: float32 for float32 and
    bfloat16 storage, float64 for float64. Keeping per-element maths in float32 halves the work."""
    if like in (types.uint16, types.float32):
        return lambda value, like: np.float32(value)
    return lambda value, like: np.float64(value)


def _order_key(bits):  # type: ignore[no-untyped-def]  # pragma: no cover
    raise NotImplementedError


@overload(_order_key)
def _order_key_overload(bits):  # type: ignore[no-untyped-def]
    """Map a float's bits (as a signed int of its width) to an int ordered like the floats.

    LLVM does not vectorise a float max reduction unless NaN is ruled out (numba's fastmath
    cannot say so for one loop), but it does vectorise an integer max: sign-magnitude floats
    order like two's-complement ints once the magnitude bits of negatives are flipped. The map
    is its own inverse. +NaN orders above +inf, so a NaN logit still makes the max NaN.
    """
    width = bits.bitwidth
    magnitude = (1 << (width - 1)) - 1
    int_type = {16: np.int16, 32: np.int32, 64: np.int64}[width]
    shift = int_type(width - 1)
    mask = int_type(magnitude)
    # The outer cast matters: numba widens int16/int32 arithmetic to int64.
    return lambda bits: int_type(bits ^ ((bits >> shift) & mask))


def _key_as_float(key):  # type: ignore[no-untyped-def]  # pragma: no cover
    raise NotImplementedError


@overload(_key_as_float)
def _key_as_float_overload(key):  # type: ignore[no-untyped-def]
    """The float (in the compute type) whose order key is ``key``."""
    if key == types.int16:
        return lambda key: _i32_bits_as_f32(np.int32(np.uint32(np.uint16(_order_key(key))) << np.uint32(16)))
    if key == types.int32:
        return lambda key: _i32_bits_as_f32(_order_key(key))
    return lambda key: _i64_bits_as_f64(_order_key(key))


def _magnitude(bits):  # type: ignore[no-untyped-def]  # pragma: no cover
    raise NotImplementedError


@overload(_magnitude)
def _magnitude_overload(bits):  # type: ignore[no-untyped-def]
    """The float's bits without the sign, as an int of the same width: |x|'s bits. A value is NaN
    exactly when its magnitude bits exceed those of inf, whatever its sign (x86 makes -NaN)."""
    width = bits.bitwidth
    int_type = {16: np.int16, 32: np.int32, 64: np.int64}[width]
    mask = int_type((1 << (width - 1)) - 1)
    return lambda bits: int_type(bits & mask)


def _inf_bits(bits):  # type: ignore[no-untyped-def]  # pragma: no cover
    raise NotImplementedError


@overload(_inf_bits)
def _inf_bits_overload(bits):  # type: ignore[no-untyped-def]
    """The bits of +inf in the storage format of ``bits`` (bfloat16, float32, float64)."""
    width = bits.bitwidth
    int_type = {16: np.int16, 32: np.int32, 64: np.int64}[width]
    value = int_type({16: 0x7F80, 32: 0x7F800000, 64: 0x7FF0000000000000}[width])
    return lambda bits: value


@numba.njit(fastmath=FASTMATH)
def _scan(bits_chunk):  # type: ignore[no-untyped-def]
    """(max order key, max magnitude bits) of a chunk: its max, and whether it holds a NaN or +inf.

    Two vectorised integer maxima over the same loads: the check costs no extra pass over memory.
    """
    max_key = _order_key(bits_chunk[0])
    max_magnitude = _magnitude(bits_chunk[0])
    for c in range(1, bits_chunk.size):
        max_key = max(max_key, _order_key(bits_chunk[c]))
        max_magnitude = max(max_magnitude, _magnitude(bits_chunk[c]))
    return max_key, max_magnitude


@numba.njit(fastmath=FASTMATH)
def _scan_max(bits_chunk):  # type: ignore[no-untyped-def]
    """The max order key of a chunk (one vectorised integer max). A +inf shows as the max; a NaN of
    either sign does not (-NaN orders below -inf) but turns the chunk's exponential sum into NaN,
    which the caller checks: the fast path's NaN check costs no operation per element."""
    max_key = _order_key(bits_chunk[0])
    for c in range(1, bits_chunk.size):
        max_key = max(max_key, _order_key(bits_chunk[c]))
    return max_key


@numba.njit(fastmath=FASTMATH)
def _nonfinite(max_key, max_magnitude):  # type: ignore[no-untyped-def]
    """Whether a scanned chunk holds a NaN (magnitude above inf's) or +inf (max key at inf or above)."""
    inf = _inf_bits(max_key)
    return max_magnitude > inf or max_key >= inf


@numba.njit(fastmath=FASTMATH)
def _row_scan(bits_row):  # type: ignore[no-untyped-def]
    """(row max, holds NaN or +inf) in one sweep of vectorised integer maxima."""
    max_key, max_magnitude = _scan(bits_row)
    return _key_as_float(max_key), _nonfinite(max_key, max_magnitude)


@numba.njit(fastmath=FASTMATH)
def _write_grad_row(z_row, g_row, weight, use_weight, smoothing_on, coef, row_max, log_sum, spread_scaled):  # type: ignore[no-untyped-def]
    """g_c = coef * exp((z_c - m) - log s) - spread_scaled * w_c [z_c finite]; the target's own term
    is added by the caller. The exponent is taken relative to the max first: at |z| = 1e16 (or a
    float32 offset of 1e6) ``z - (m + log s)`` would round ``log s`` away."""
    neg_inf = _compute(-np.inf, z_row[0])
    zero = _compute(0.0, z_row[0])
    if smoothing_on:
        for c in range(z_row.size):
            z_c = _widen(z_row[c])
            w_c = _compute(weight[c], z_row[0]) if use_weight else _compute(1.0, z_row[0])
            g = coef * _exp((z_c - row_max) - log_sum) - (spread_scaled * w_c if z_c > neg_inf else zero)
            g_row[c] = _narrow(g, g_row[c])
    else:
        for c in range(z_row.size):
            g_row[c] = _narrow(coef * _exp((_widen(z_row[c]) - row_max) - log_sum), g_row[c])


@numba.njit(fastmath=FASTMATH)
def _write_grad_row_in_place(row, weight, use_weight, smoothing_on, coef, row_max, log_sum, spread_scaled):  # type: ignore[no-untyped-def]
    """:func:`_write_grad_row` with ``g_row`` = ``z_row``, written with one array so that LLVM
    sees each element read then overwritten (two arguments would get a failing overlap check)."""
    neg_inf = _compute(-np.inf, row[0])
    zero = _compute(0.0, row[0])
    if smoothing_on:
        for c in range(row.size):
            z_c = _widen(row[c])
            w_c = _compute(weight[c], row[0]) if use_weight else _compute(1.0, row[0])
            g = coef * _exp((z_c - row_max) - log_sum) - (spread_scaled * w_c if z_c > neg_inf else zero)
            row[c] = _narrow(g, row[c])
    else:
        for c in range(row.size):
            row[c] = _narrow(coef * _exp((_widen(row[c]) - row_max) - log_sum), row[c])


def _stores_compute_type(like):  # type: ignore[no-untyped-def]  # pragma: no cover
    raise NotImplementedError


@overload(_stores_compute_type)
def _stores_compute_type_overload(like):  # type: ignore[no-untyped-def]
    """Whether storage holds the compute type exactly (float32/float64: yes; bfloat16: no)."""
    exact = like in (types.float32, types.float64)
    return lambda like: exact


@numba.njit(fastmath=FASTMATH)
def _exp_shifted_into(z_row, shift, out_row):  # type: ignore[no-untyped-def]
    """out_c = exp(z_c - shift); returns sum_c out_c (float64, summed per L1-sized chunk)."""
    total = 0.0
    for start in range(0, z_row.size, CHUNK):
        z_chunk = z_row[start : start + CHUNK]
        out_chunk = out_row[start : start + CHUNK]
        chunk_sum = _compute(0.0, z_row[0])
        for c in range(z_chunk.size):
            e = _exp(_widen(z_chunk[c]) - shift)
            out_chunk[c] = _narrow(e, out_chunk[c])
            chunk_sum += e
        total += float(chunk_sum)
    return total


@numba.njit(fastmath=FASTMATH)
def _exp_shifted_in_place(row, shift):  # type: ignore[no-untyped-def]
    """:func:`_exp_shifted_into` with out = the row itself (one array: see _write_grad_row_in_place)."""
    total = 0.0
    for start in range(0, row.size, CHUNK):
        chunk = row[start : start + CHUNK]
        chunk_sum = _compute(0.0, row[0])
        for c in range(chunk.size):
            e = _exp(_widen(chunk[c]) - shift)
            chunk[c] = _narrow(e, chunk[c])
            chunk_sum += e
        total += float(chunk_sum)
    return total


@numba.njit(fastmath=FASTMATH)
def _scale_row(row, factor):  # type: ignore[no-untyped-def]
    for c in range(row.size):
        row[c] = _narrow(_widen(row[c]) * factor, row[c])


@numba.njit(fastmath=FASTMATH)
def _zero_row(row):  # type: ignore[no-untyped-def]
    for c in range(row.size):
        row[c] = _narrow(0.0, row[c])


_KERNEL_DOC = """Per-row losses into ``row_loss`` (float64, (N,)) and, if ``with_grad``, ``grad_scale`` times
    each row's gradient into ``grad`` ((N, V), may be ``logits`` itself).

    logits: (N, V) float32, float64 or bfloat16 bits (uint16), possibly read-only: it is only
    read, never written (an in-place gradient is written through ``grad``, the same memory);
    logit_bits: the same memory viewed as signed ints of the same width (for the vectorised max);
    weight: (V,) in the compute type (read only if ``use_weight``); in_place: ``grad`` is
    ``logits``, so each row is read in full before its gradient is written.
    ``row_bad[n]`` is set to 1 for a row holding a NaN or +inf (found in the max pass, or for a
    NaN by the one-sweep path's exponential sum); such a row gets a NaN loss, and the bad value
    itself is left a NaN / +inf (with an in-place gradient the rest of the row may hold
    exponentials). See the module docstring for the maths.
    """


@numba.njit(fastmath=FASTMATH)
def _ignored_row(n, bits_row, g_row, with_grad, row_loss, row_bad):  # noqa: ANN001, ANN202
    """An ignored row counts for nothing (loss 0, gradient 0), but its logits obey the same rule as every row's."""
    row_loss[n] = 0.0
    if _row_scan(bits_row)[1]:
        row_bad[n] = 1
        row_loss[n] = np.nan
    elif with_grad:
        _zero_row(g_row)


@numba.njit(fastmath=FASTMATH)
def _fast_row(n, z_row, bits_row, g_row, y, z_y, w_y, grad_scale, with_grad, in_place, row_loss, row_bad):  # noqa: ANN001, ANN202
    """One row without smoothing, with a gradient, float32/float64 storage (see the module docstring)."""
    n_classes = z_row.size
    neg_inf = _compute(-np.inf, z_row[0])
    zero = _compute(0.0, z_row[0])
    # Without smoothing the gradient is coef * exp(z - m) off the target: per L1-sized chunk,
    # scan it (max, NaN/+inf), then store its exponentials against the running max while
    # summing them; a last sweep scales each chunk by coef * exp(m_chunk - m). One exp per
    # logit, one read of the row from memory; the row (<= 1 MiB at V = 250k float32) stays
    # in L2 for the scaling sweep. bfloat16 storage would round the exponentials before
    # scaling: it takes the two-pass _general_row.
    n_chunks = (n_classes + CHUNK - 1) // CHUNK
    shifts = np.empty(n_chunks, dtype=np.float64)
    running_max = neg_inf
    sum_exp = 0.0
    bad = False
    for k in range(n_chunks):
        start = k * CHUNK
        max_key = _scan_max(bits_row[start : start + CHUNK])
        if max_key >= _inf_bits(max_key):  # +inf, or a +NaN (which orders above +inf)
            bad = True  # earlier chunks of an in-place row already hold exponentials
            break
        chunk_max = _key_as_float(max_key)
        if chunk_max > running_max:
            if running_max > neg_inf:
                sum_exp *= math.exp(float(running_max) - float(chunk_max))
            running_max = chunk_max
        shift = running_max if running_max > neg_inf else zero  # all -inf so far: exp(-inf - 0) = 0
        shifts[k] = float(shift)
        if in_place:
            chunk_sum = _exp_shifted_in_place(g_row[start : start + CHUNK], shift)
        else:
            chunk_sum = _exp_shifted_into(z_row[start : start + CHUNK], shift, g_row[start : start + CHUNK])
        if chunk_sum != chunk_sum:  # a NaN logit (exp keeps NaN; it stays in the row, unchanged)
            bad = True
            break
        sum_exp += chunk_sum
    if bad:
        row_bad[n] = 1
        row_loss[n] = np.nan
        return
    if running_max == neg_inf:
        _all_masked_row(n, y, w_y, grad_scale, with_grad, g_row, row_loss)
        return
    log_sum = math.log(sum_exp)
    # relative to the max: lse - z_y = log s - (z_y - m); m + log s would round log s away at 1e16
    target_offset = z_y - float(running_max)
    row_loss[n] = w_y * (log_sum - target_offset) if w_y != 0.0 else 0.0
    coef = grad_scale * w_y / sum_exp
    for k in range(n_chunks):
        start = k * CHUNK
        _scale_row(g_row[start : start + CHUNK], _compute(coef * math.exp(shifts[k] - float(running_max)), z_row[0]))
    g_row[y] = _narrow(grad_scale * w_y * (math.exp(target_offset - log_sum) - 1.0), g_row[y])


@numba.njit(fastmath=FASTMATH)
def _general_row(n, z_row, bits_row, g_row, y, z_y, w_y, weight, use_weight, smoothing, grad_scale, with_grad, in_place, row_loss, row_bad):  # noqa: ANN001, ANN202
    """One row, any options: the two-pass online softmax (see the module docstring)."""
    n_classes = z_row.size
    neg_inf = _compute(-np.inf, z_row[0])
    zero = _compute(0.0, z_row[0])
    one = _compute(1.0, z_row[0])
    # Pass 1: online max / sum of exponentials, one L1-sized chunk at a time. With smoothing the
    # same pass sums w_c and w_c (z_c - m) over the finite logits, relative to the running max m.
    running_max = neg_inf
    sum_exp = 0.0
    finite_count = 0
    finite_weight_sum = 0.0
    finite_weighted_offset_sum = 0.0  # sum_c w_c (z_c - running_max) over finite z_c
    bad = False
    for start in range(0, n_classes, CHUNK):
        # Slices indexed from 0: numba then knows indices are non-negative and drops its
        # negative-index wrap-around, which would otherwise turn vector loads into gathers.
        z_chunk = z_row[start : start + CHUNK]
        max_key, max_magnitude = _scan(bits_row[start : start + CHUNK])
        if _nonfinite(max_key, max_magnitude):
            bad = True
            break
        chunk_max = _key_as_float(max_key)
        if chunk_max == neg_inf:
            continue  # an all -inf chunk adds nothing (and exp(-inf - -inf) would be NaN)
        if chunk_max > running_max:
            if running_max > neg_inf:
                # rescale what was summed against the old max
                delta = float(running_max) - float(chunk_max)
                sum_exp *= math.exp(delta)
                finite_weighted_offset_sum += finite_weight_sum * delta
            running_max = chunk_max
        chunk_sum = zero  # summed in the compute type so that the loop vectorises
        for c in range(z_chunk.size):
            chunk_sum += _exp(_widen(z_chunk[c]) - running_max)
        sum_exp += float(chunk_sum)
        if smoothing > 0.0:
            chunk_count = 0
            chunk_weight_sum = zero
            chunk_offset_sum = zero
            w_chunk = weight[start : start + CHUNK] if use_weight else weight
            for c in range(z_chunk.size):
                z_c = _widen(z_chunk[c])
                is_finite = z_c > neg_inf
                w_c = w_chunk[c] if use_weight else one
                chunk_count += 1 if is_finite else 0
                chunk_weight_sum += w_c if is_finite else zero
                chunk_offset_sum += w_c * (z_c - running_max) if is_finite else zero
            finite_count += chunk_count
            finite_weight_sum += float(chunk_weight_sum)
            finite_weighted_offset_sum += float(chunk_offset_sum)
    if bad:
        row_bad[n] = 1
        row_loss[n] = np.nan
        return
    if running_max == neg_inf:
        _all_masked_row(n, y, (1.0 - smoothing) * w_y, grad_scale, with_grad, g_row, row_loss)
        return
    log_sum = math.log(sum_exp)
    target_offset = z_y - float(running_max)  # -inf for a masked target
    # q = (1 - eps) onehot(y) + eps/K on the K finite classes; a term whose weight w_c q_c is 0
    # contributes 0, so a -inf logit that carries no target mass never makes the loss NaN.
    # Every term is relative to the max: l = W_q log s - sum_c w_c q_c (z_c - m).
    target_mass = (1.0 - smoothing) * w_y
    weighted_mass = target_mass  # W_q = sum_c w_c q_c
    loss = target_mass * (log_sum - target_offset) if target_mass != 0.0 else 0.0
    spread = 0.0
    if smoothing > 0.0 and finite_count > 0:
        spread = smoothing / finite_count
        weighted_mass += spread * finite_weight_sum
        loss += spread * (finite_weight_sum * log_sum - finite_weighted_offset_sum)
    row_loss[n] = loss
    if not with_grad:
        return
    # Pass 2: g_c = scale * (W_q p_c - w_c q_c), reading z_c before writing g_c.
    coef = _compute(grad_scale * weighted_mass, z_row[0])
    log_sum_c = _compute(log_sum, z_row[0])
    spread_scaled = _compute(grad_scale * spread, z_row[0])
    if in_place:
        _write_grad_row_in_place(g_row, weight, use_weight, smoothing > 0.0, coef, running_max, log_sum_c, spread_scaled)
    else:
        _write_grad_row(z_row, g_row, weight, use_weight, smoothing > 0.0, coef, running_max, log_sum_c, spread_scaled)
    # The target's own term -scale (1 - eps) w_y, from the saved z_y: with an in-place
    # gradient z_row[y] is gone, and re-reading a rounded bfloat16 would round twice.
    g_y = float(coef) * math.exp(target_offset - log_sum) - grad_scale * target_mass
    if smoothing > 0.0 and z_y > -np.inf:
        g_y -= grad_scale * spread * w_y
    g_row[y] = _narrow(g_y, g_row[y])




def _kernel_body(
    logits: np.ndarray,
    logit_bits: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    use_weight: bool,
    ignore_index: int,
    use_ignore: bool,
    smoothing: float,
    grad_scale: float,
    with_grad: bool,
    grad: np.ndarray,
    in_place: bool,
    row_loss: np.ndarray,
    row_bad: np.ndarray,
) -> None:
    n_rows = logits.shape[0]
    for n in prange(n_rows):
        # 1-D row views: indexing the 2-D arrays makes LLVM emit gathers instead of vector loads.
        z_row = logits[n]
        bits_row = logit_bits[n]
        g_row = grad[n] if with_grad else grad[0]
        y = target[n]
        if use_ignore and y == ignore_index:
            _ignored_row(n, bits_row, g_row, with_grad, row_loss, row_bad)
            continue
        z_y = float(_widen(z_row[y]))  # read before any write: with an in-place gradient it is gone after
        w_y = float(weight[y]) if use_weight else 1.0
        _general_row(n, z_row, bits_row, g_row, y, z_y, w_y, weight, use_weight, smoothing, grad_scale, with_grad, in_place, row_loss, row_bad)


def _fast_kernel_body(
    logits: np.ndarray,
    logit_bits: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    use_weight: bool,
    ignore_index: int,
    use_ignore: bool,
    smoothing: float,
    grad_scale: float,
    with_grad: bool,
    grad: np.ndarray,
    in_place: bool,
    row_loss: np.ndarray,
    row_bad: np.ndarray,
) -> None:
    n_rows = logits.shape[0]
    for n in prange(n_rows):
        z_row = logits[n]
        bits_row = logit_bits[n]
        g_row = grad[n]
        y = target[n]
        if use_ignore and y == ignore_index:
            _ignored_row(n, bits_row, g_row, True, row_loss, row_bad)
            continue
        z_y = float(_widen(z_row[y]))
        w_y = float(weight[y]) if use_weight else 1.0
        _fast_row(n, z_row, bits_row, g_row, y, z_y, w_y, grad_scale, True, in_place, row_loss, row_bad)


_kernel_body.__doc__ = _KERNEL_DOC
_fast_kernel_body.__doc__ = (
    "The kernel for the commonest call, compiled on its own (less to compile, and to hold in memory):\n"
    "    no smoothing, a gradient, float32/float64 storage (smoothing is ignored). " + _KERNEL_DOC
)


@numba.njit(fastmath=FASTMATH)
def _all_masked_row(n, y, target_mass, grad_scale, with_grad, g_row, row_loss):  # noqa: ANN001, ANN202
    """A row whose logits are all -inf gives no class any probability: loss -log 0 = inf (0 when the
    target carries no weight), gradient -scale * target_mass at the target, as the core computes it."""
    row_loss[n] = np.inf if target_mass != 0.0 else 0.0
    if with_grad:
        _zero_row(g_row)
        g_row[y] = _narrow(-grad_scale * target_mass, g_row[y])


_CACHE: dict[tuple[bool, bool], Callable[..., None]] = {}


def fast_path_applies(storage_dtype: np.dtype, smoothing: float, with_grad: bool) -> bool:
    """Whether :func:`compiled_kernel` ``(fast=True)`` may take a call: the one-sweep path needs no
    smoothing, a gradient, and storage that holds the compute type exactly (not bfloat16)."""
    return with_grad and smoothing == 0.0 and storage_dtype in (np.float32, np.float64)


def compiled_kernel(parallel: bool = True, *, fast: bool = False) -> Callable[..., None]:
    """The jitted kernel (``parallel`` = threads over rows; ``fast``: the one-sweep kernel of
    :func:`fast_path_applies` calls, else the general one). Each is compiled on its first call per
    dtype, so a caller that never needs one never pays for it; cached on disk when the package
    folder (or NUMBA_CACHE_DIR) is writable, in memory otherwise."""
    key = (parallel, fast)
    if key not in _CACHE:
        body = _fast_kernel_body if fast else _kernel_body
        try:
            kernel = numba.njit(parallel=parallel, fastmath=FASTMATH, cache=True, nogil=True)(body)
        except (RuntimeError, OSError):  # no writable cache location: compile in memory each process
            kernel = numba.njit(parallel=parallel, fastmath=FASTMATH, cache=False, nogil=True)(body)
        _CACHE[key] = kernel
    return _CACHE[key]
