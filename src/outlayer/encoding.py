"""Label coding: class labels to integer ids, one-hot rows and (for ordered classes) scalar codes.

Writing nominal classes as the numbers 1, 2, 3 tells a model that class 1 is closer to class 2
than to class 3. One-hot rows carry no such order: every pair of classes is equally far apart.
Two exceptions are built in: ordered classes (``LabelCoder(ordered=True)`` exposes scalar codes)
and very many classes, where the losses take integer ids directly and never build one-hot rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Literal

import numpy as np

from outlayer._array_api import array_namespace, as_ints, asarray_like, default_float, first_index, format_index
from outlayer._validate import InputError, refuse_masked

__all__ = ["LabelCoder", "NotFittedError", "one_hot"]

Array = Any


def one_hot(
    labels: Array,
    num_classes: int | None = None,
    *,
    dtype: Any = None,
    axis: int = -1,
    out_of_range: Literal["error", "zeros"] = "error",
) -> Array:
    """One-hot rows for integer class ids.

    Args:
      labels: integer class ids of any shape (a float array holding whole numbers is accepted).
      num_classes: K; ``None`` infers ``max(labels) + 1``.
      dtype: output dtype; default the array library's default float (NumPy float64, torch float32).
      axis: where the new class axis goes in the output (``-1``: last).
      out_of_range: ``"error"`` raises ``ValueError`` naming the first negative or too large label
        and its index (PyTorch's behaviour); ``"zeros"`` gives an all-zero row instead (JAX's).

    Returns:
      An array of shape ``labels.shape`` with a new axis of size K inserted at ``axis``.
    """
    xp = array_namespace(labels)
    ids = as_ints(labels, xp)
    if out_of_range not in ("error", "zeros"):
        raise InputError(f"out_of_range must be 'error' or 'zeros', got {out_of_range!r}")
    if num_classes is None:
        if any(int(n) == 0 for n in ids.shape):
            raise InputError("cannot infer num_classes from empty labels; pass num_classes")
        num_classes = max(int(xp.max(ids)) + 1, 1)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise InputError(f"num_classes must be a positive integer, got {num_classes!r}")
    num_classes = int(num_classes)
    bad = (ids < 0) | (ids >= num_classes)
    if out_of_range == "error" and bool(xp.any(bad)):
        index = first_index(bad, xp)
        value = int(ids[index])
        where = f" at index {format_index(index)}" if index else ""
        raise InputError(f"label {value}{where} is out of range for num_classes={num_classes}")
    out_ndim = ids.ndim + 1
    if not -out_ndim <= axis < out_ndim:
        raise InputError(f"axis {axis} is out of range for a one-hot output with {out_ndim} dimension(s)")
    classes = asarray_like(list(range(num_classes)), ids, xp, dtype=xp.int64)
    hot = ids[..., None] == classes  # out-of-range ids match no class: all-zero rows
    result = xp.astype(hot, default_float(xp) if dtype is None else dtype)
    return xp.moveaxis(result, -1, axis) if axis % out_ndim != out_ndim - 1 else result


class NotFittedError(ValueError, AttributeError):
    """A LabelCoder was used before ``fit`` (subclasses ValueError and AttributeError, as in scikit-learn)."""


class LabelCoder:
    """Maps any hashable class labels to integer ids, one-hot rows and back.

    Follows scikit-learn's estimator conventions: ``__init__`` stores its arguments, ``fit``
    learns ``classes_`` and returns ``self``.

    Args:
      classes: the classes in the order their ids should follow. ``None`` learns them from
        ``fit`` in sorted order. Required when ``ordered=True``: the order is the point.
      ordered: the classes have a real order (e.g. "low" < "mid" < "high"). Then a single
        number per class is a legitimate target, and ``encode_scalar``/``decode_scalar`` exist.

    Attributes:
      classes_: array of the classes; id ``i`` stands for ``classes_[i]``.
      n_classes_: K.
    """

    def __init__(self, classes: Sequence[Hashable] | None = None, *, ordered: bool = False) -> None:
        self.classes = classes
        self.ordered = ordered

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, labels: Iterable[Hashable]) -> LabelCoder:
        """Learn the classes (or check ``labels`` against the given ones). Returns self.

        NaN labels are one class (every NaN is the same missing value), sorted after the others,
        as scikit-learn's ``LabelEncoder`` does; ``nan != nan`` would otherwise make each NaN a
        class of its own, in an order that varies between runs.
        """
        values = _label_list(labels)
        if self.classes is not None:
            classes = list(self.classes)
            keys = [_key(c) for c in classes]
            if len(set(keys)) != len(keys):
                duplicate = next(c for i, c in enumerate(classes) if keys[i] in keys[:i])
                raise InputError(f"classes contain {duplicate!r} more than once")
            known = set(keys)
            for i, label in enumerate(values):
                if _key(label) not in known:
                    raise InputError(f"unknown label {label!r} at index {i}: not in the given classes")
        else:
            if self.ordered:
                raise InputError("ordered=True needs the classes in their order: pass classes=[...]")
            if not values:
                raise InputError("cannot fit a LabelCoder on no labels")
            distinct: dict[Hashable, Any] = {_key(v): v for v in values}
            has_nan = _NAN in distinct
            distinct.pop(_NAN, None)
            try:
                classes = sorted(distinct.values())
            except TypeError as exc:
                kinds = sorted({type(v).__name__ for v in values})
                raise InputError(f"labels of mixed types ({', '.join(kinds)}) cannot be sorted; pass classes=[...]") from exc
            if has_nan:
                classes.append(float("nan"))
        self.classes_ = _object_array(classes)
        self.n_classes_ = len(classes)
        self._index_ = {_key(label): i for i, label in enumerate(classes)}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise NotFittedError("this LabelCoder is not fitted yet: call fit(labels) first")

    # -- labels -> numbers -------------------------------------------------------------------------
    def encode(self, labels: Iterable[Hashable]) -> np.ndarray:
        """Integer ids (int64) for ``labels``; an unknown label raises ValueError naming it."""
        self._check_fitted()
        values = _label_list(labels)
        ids = np.empty(len(values), dtype=np.int64)
        for i, label in enumerate(values):
            try:
                ids[i] = self._index_[_key(label)]
            except (KeyError, TypeError):
                raise InputError(f"unknown label {label!r} at index {i}; known: {_short(self.classes_)}") from None
        return ids

    def one_hot(self, labels: Iterable[Hashable], *, dtype: Any = np.float64) -> np.ndarray:
        """One-hot rows (N, K) for ``labels``."""
        return one_hot(self.encode(labels), self.n_classes_, dtype=dtype)

    def encode_scalar(self, labels: Iterable[Hashable]) -> np.ndarray:
        """Ordered classes only: the float code 0, 1, ..., K-1 of each label (one number per sample)."""
        self._require_ordered("encode_scalar")
        return self.encode(labels).astype(np.float64)

    # -- numbers -> labels -------------------------------------------------------------------------
    def decode(self, ids_or_probs: Array) -> np.ndarray:
        """Labels for integer ids (any shape) or for probability rows (N, K), by argmax.

        A 2-D float array is always read as probability rows: its width must be K (a float row of
        the wrong width is refused, never read as whole-number ids).
        """
        self._check_fitted()
        refuse_masked(ids_or_probs, "ids_or_probs")
        values = np.asarray(ids_or_probs)
        if values.dtype.kind == "f" and values.ndim == 2:
            if values.shape[1] != self.n_classes_:
                raise InputError(
                    f"probability rows must have {self.n_classes_} columns (one per class), got shape {values.shape}"
                )
            if not np.all(np.isfinite(values)):
                index = first_index(~np.isfinite(values), np)
                raise InputError(f"probability rows must be finite, got {values[index]} at index {format_index(index)}")
            ids = np.argmax(values, axis=-1)
        else:
            ids = as_ints(values, np, name="ids")
            bad = (ids < 0) | (ids >= self.n_classes_)
            if np.any(bad):
                index = first_index(bad, np)
                where = f" at index {format_index(index)}" if index else ""
                raise InputError(f"id {int(ids[index])}{where} is out of range for {self.n_classes_} classes")
        return self.classes_[ids]

    def decode_scalar(self, values: Array) -> np.ndarray:
        """Ordered classes only: round each number to the nearest code, clip to [0, K-1], return labels."""
        self._require_ordered("decode_scalar")
        values = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            index = first_index(~np.isfinite(values), np)
            raise InputError(f"scalar predictions must be finite, got {values[index]} at index {format_index(index)}")
        return self.classes_[np.clip(np.rint(values), 0, self.n_classes_ - 1).astype(np.int64)]

    def _require_ordered(self, method: str) -> None:
        if not self.ordered:
            raise InputError(
                f"{method} implies the classes are ordered; create LabelCoder(classes=[...], ordered=True) for ordinal classes"
            )
        self._check_fitted()

    def __repr__(self) -> str:
        args = [] if self.classes is None else [f"classes={list(self.classes)!r}"]
        if self.ordered:
            args.append("ordered=True")
        return f"LabelCoder({', '.join(args)})"


def _label_list(labels: Iterable[Hashable]) -> list[Hashable]:
    if isinstance(labels, (str, bytes)):
        raise InputError(f"labels must be a sequence of labels, got the single string {labels!r}")
    if isinstance(labels, np.ndarray):
        if labels.ndim != 1:
            raise InputError(f"labels must be one-dimensional, got shape {labels.shape}")
        return labels.tolist()
    return list(labels)


class _NanKey:
    """The one dictionary key of every NaN label (``nan != nan``, so NaNs cannot key a dict themselves)."""

    def __repr__(self) -> str:
        return "nan"


_NAN = _NanKey()


def _key(label: Hashable) -> Hashable:
    """``label`` itself, or :data:`_NAN` for any float NaN (Python, NumPy float16/32/64)."""
    if isinstance(label, (float, np.floating)) and label != label:
        return _NAN
    return label


def _object_array(classes: list[Hashable]) -> np.ndarray:
    """Classes as a 1-D array: a plain dtype when NumPy infers one (ints, strings), object otherwise."""
    try:
        array = np.asarray(classes)
        if array.ndim == 1 and [_key(c) for c in array.tolist()] == [_key(c) for c in classes]:
            return array
    except (ValueError, TypeError):
        pass
    array = np.empty(len(classes), dtype=object)
    array[:] = classes
    return array


def _short(classes: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(repr(c) for c in classes[:limit].tolist())
    return shown + (", ..." if len(classes) > limit else "")
