"""Offline datasets for the training lab, split and standardised the honest way.

Built in (no network): ``digits`` (scikit-learn's 8x8 handwritten digits, 1797 x 64, 10
classes, the default), ``iris`` (150 x 4, 3 classes), ``wine`` (178 x 13, 3 classes),
``synthetic`` (3 overlapping Gaussian classes) and ``ordinal`` (5 ordered classes cut from one
latent number, where regressing a single scalar per class is legitimate). User data: a CSV file
(one column holds the labels, numeric or strings; a header row is detected) or an NPZ file with
arrays ``X`` (N, D) and ``y`` (N,).

:func:`load_dataset` returns a :class:`Dataset`: a stratified train / validation / test split
drawn from ``split_seed``, with every feature standardised by the mean and standard deviation of
the **training** split only (statistics of the test set never leak into training). Labels are
integer ids 0..K-1; ``classes`` maps them back to the original labels.

Bad input raises ``ValueError`` with one line naming the problem (missing file, unreadable file,
no such column, a non-numeric or missing feature with its row and column, a single class).
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "BUILTIN_DATASETS",
    "Dataset",
    "load_dataset",
    "read_csv",
    "read_npz",
    "stratified_split",
    "synthetic_blobs",
    "synthetic_ordinal",
]

#: Names accepted by :func:`load_dataset` besides a path to a ``.csv`` or ``.npz`` file.
BUILTIN_DATASETS: tuple[str, ...] = ("digits", "iris", "wine", "synthetic", "ordinal")


@dataclass(frozen=True, eq=False)  # arrays inside: identity, not element-wise ==
class Dataset:
    """A split, standardised classification dataset.

    ``X_*`` are float64 (n, D) arrays, ``y_*`` int64 class ids in [0, K). ``ordered`` says the
    classes have a natural order (only then is the ``scalar`` loss a legitimate model).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[Any, ...]
    ordered: bool = False
    feature_names: tuple[str, ...] = field(default=())

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    def describe(self) -> dict[str, Any]:
        """JSON-able summary: sizes and classes."""
        return {
            "name": self.name,
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "classes": [c.item() if isinstance(c, np.generic) else c for c in self.classes],
            "ordered": self.ordered,
            "n_train": int(len(self.y_train)),
            "n_val": int(len(self.y_val)),
            "n_test": int(len(self.y_test)),
        }


# -- synthetic sets ------------------------------------------------------------------------------
def synthetic_blobs(n_samples: int = 900, n_features: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian classes with unit covariance whose means sit 2.5 apart on a triangle.

    The classes overlap (Bayes accuracy below 100 %), so the set separates good and bad losses
    without being trivial. Returns ``X`` (n, n_features) and ``y`` (n,) in {0, 1, 2}.
    """
    if n_features < 2:
        raise ValueError(f"synthetic_blobs needs n_features >= 2, got {n_features}")
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % 3
    angles = 2.0 * np.pi * np.arange(3) / 3.0
    # vertices of an equilateral triangle with side 2.5: circumradius = side / sqrt(3)
    means = np.zeros((3, n_features))
    means[:, 0] = np.cos(angles) * 2.5 / math.sqrt(3.0)
    means[:, 1] = np.sin(angles) * 2.5 / math.sqrt(3.0)
    X = means[y] + rng.standard_normal((n_samples, n_features))
    order = rng.permutation(n_samples)
    return X[order], y[order]


def synthetic_ordinal(
    n_samples: int = 1000, n_classes: int = 5, n_features: int = 8, noise: float = 0.3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered classes: a latent ``t ~ U(0, K)`` cut into unit intervals, class = floor(t).

    Each feature is a smooth monotone function of ``t`` (a random positive mixture of t, sqrt t
    and a sigmoid bump) plus Gaussian noise of standard deviation ``noise`` (in units of t).
    Neighbouring classes are confused, distant ones are not: regressing the class number as one
    scalar is a sound model here, unlike for digits where 3 is not "between" 2 and 4.
    """
    if n_classes < 2:
        raise ValueError(f"synthetic_ordinal needs n_classes >= 2, got {n_classes}")
    rng = np.random.default_rng(seed)
    latent = rng.uniform(0.0, n_classes, size=n_samples)
    y = np.minimum(np.floor(latent), n_classes - 1).astype(np.int64)
    mix = rng.uniform(0.2, 1.0, size=(3, n_features))
    basis = np.stack(
        [latent, np.sqrt(latent * n_classes), n_classes / (1.0 + np.exp(-(latent - n_classes / 2.0)))], axis=1
    )
    X = basis @ mix + noise * rng.standard_normal((n_samples, n_features))
    return X, y


def _builtin(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, tuple[Any, ...], bool, tuple[str, ...]]:
    if name in ("digits", "iris", "wine"):
        from sklearn import datasets  # lazy: only the lab needs scikit-learn

        bunch = getattr(datasets, f"load_{name}")()
        classes = tuple(int(c) for c in np.unique(bunch.target)) if name == "digits" else tuple(bunch.target_names)
        names = tuple(str(f) for f in getattr(bunch, "feature_names", ()))
        return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64), classes, False, names
    if name == "synthetic":
        X, y = synthetic_blobs(seed=seed)
        return X, y, (0, 1, 2), False, ()
    X, y = synthetic_ordinal(seed=seed)
    return X, y, tuple(range(int(y.max()) + 1)), True, ()


# -- user files ----------------------------------------------------------------------------------
def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ValueError(f"data file {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"data file {str(path)!r} is a directory")
    if not os.access(path, os.R_OK):
        raise ValueError(f"data file {str(path)!r} is not readable (permission denied)")


def _column_label(index: int, header: Sequence[str] | None) -> str:
    return f"{header[index]!r}" if header is not None else str(index)


def read_csv(path: str | os.PathLike[str], label_column: str | int | None = None) -> tuple[np.ndarray, list[Any], tuple[str, ...]]:
    """Read features and raw labels from a CSV file.

    ``label_column`` is a column name (needs a header), an integer index (negative counts from
    the end; a string of digits counts as an index unless a header column has that name), or
    ``None`` for the last column. The first row is a header when it names the label column or
    when one of its fields is not a number where the second row has a number. Labels are kept as
    numbers when every label parses as one (integers when integral), else as strings.

    Returns ``X`` (N, D) float64, ``labels`` (a list of N labels), ``feature_names``.
    """
    path = Path(path)
    _check_file(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(65536)
            handle.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
            except csv.Error:
                dialect = csv.excel  # one column or an ambiguous sample: plain commas
            rows = [row for row in csv.reader(handle, dialect) if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise ValueError(f"data file {str(path)!r} is not a UTF-8 text CSV file") from None
    except (OSError, csv.Error) as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc}") from None
    if not rows:
        raise ValueError(f"data file {str(path)!r} is empty")
    width = len(rows[0])
    if width < 2:
        raise ValueError(f"{str(path)!r} has {width} column; need at least one feature and one label column")

    first = [cell.strip() for cell in rows[0]]
    names_label = isinstance(label_column, str) and label_column in first
    looks_like_header = len(rows) > 1 and any(
        not _is_number(a) and b.strip() and _is_number(b.strip()) for a, b in zip(first, rows[1])
    )
    header = first if (names_label or looks_like_header) else None
    body = rows[1:] if header is not None else rows
    first_line = 2 if header is not None else 1

    if label_column is None:
        label_index = width - 1
    elif isinstance(label_column, str) and header is not None and label_column in header:
        label_index = header.index(label_column)
    elif isinstance(label_column, int) or (isinstance(label_column, str) and label_column.lstrip("-").isdigit()):
        label_index = int(label_column)
        if not -width <= label_index < width:
            raise ValueError(f"label column {label_column} is out of range: {str(path)!r} has {width} columns")
        label_index %= width
    elif header is None:
        raise ValueError(f"no column named {label_column!r}: {str(path)!r} has no header row")
    else:
        raise ValueError(f"no column named {label_column!r} in {str(path)!r}; columns: {', '.join(header)}")

    feature_indices = [j for j in range(width) if j != label_index]
    X = np.empty((len(body), len(feature_indices)), dtype=np.float64)
    raw_labels: list[str] = []
    for i, row in enumerate(body):
        line = first_line + i
        if len(row) != width:
            raise ValueError(f"{str(path)!r} row {line} has {len(row)} fields, expected {width}")
        for out_j, j in enumerate(feature_indices):
            cell = row[j].strip()
            try:
                value = float(cell)
            except ValueError:
                what = "an empty field" if not cell else f"non-numeric value {cell!r}"
                raise ValueError(f"{str(path)!r} row {line}, column {_column_label(j, header)}: {what} (features must be numbers)") from None
            if not math.isfinite(value):
                raise ValueError(f"{str(path)!r} row {line}, column {_column_label(j, header)}: {cell!r} is not a finite number")
            X[i, out_j] = value
        label = row[label_index].strip()
        if not label or label.lower() in ("nan", "na", "null"):
            raise ValueError(f"{str(path)!r} row {line}, column {_column_label(label_index, header)}: missing label {label!r}")
        raw_labels.append(label)
    if not raw_labels:
        raise ValueError(f"data file {str(path)!r} has a header but no data rows")

    labels: list[Any] = raw_labels
    if all(_is_number(label) for label in raw_labels):
        numbers = [float(label) for label in raw_labels]
        labels = [int(v) if v.is_integer() else v for v in numbers]
    names = tuple(header[j] for j in feature_indices) if header is not None else ()
    return X, labels, names


def read_npz(path: str | os.PathLike[str]) -> tuple[np.ndarray, list[Any]]:
    """Read arrays ``X`` (N, D) numeric and ``y`` (N,) labels from an ``.npz`` file."""
    path = Path(path)
    _check_file(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("X", "y") if key not in archive.files]
            if missing:
                raise ValueError(f"{str(path)!r} has no array {missing[0]!r} (found: {', '.join(archive.files) or 'none'})")
            X_raw, y_raw = archive["X"], archive["y"]
    except ValueError as exc:
        if "has no array" in str(exc):
            raise
        raise ValueError(f"cannot read {str(path)!r} as an NPZ archive: {str(exc).splitlines()[0]}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"cannot read {str(path)!r} as an NPZ archive: {exc}") from None
    if X_raw.ndim != 2:
        raise ValueError(f"{str(path)!r}: X must be two-dimensional (N, D), got shape {X_raw.shape}")
    if y_raw.ndim != 1 or len(y_raw) != len(X_raw):
        raise ValueError(f"{str(path)!r}: y must have shape ({len(X_raw)},) to match X, got {y_raw.shape}")
    if X_raw.dtype.kind not in "biuf":
        raise ValueError(f"{str(path)!r}: X must be numeric, got dtype {X_raw.dtype}")
    X = X_raw.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"{str(path)!r}: X[{row}, {col}] is {X[row, col]}, features must be finite")
    if y_raw.dtype.kind == "f":
        nan_rows = np.flatnonzero(~np.isfinite(y_raw))
        if nan_rows.size:
            raise ValueError(f"{str(path)!r}: y[{int(nan_rows[0])}] is {y_raw[nan_rows[0]]}, labels must be finite")
    return X, y_raw.tolist()


# -- splitting and scaling -----------------------------------------------------------------------
def stratified_split(
    y: np.ndarray, fractions: Sequence[float] = (0.6, 0.15, 0.25), seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Index arrays, one per fraction, with each class spread in proportion to ``fractions``.

    Within each class the indices are shuffled by ``seed`` and cut at the rounded cumulative
    fractions, so every class with at least ``len(fractions)`` samples appears in every part;
    the first part (training) always gets at least one sample of each class. Indices in each
    part are sorted, making the split a pure function of (y, fractions, seed).
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or np.any(fractions < 0) or not math.isclose(float(fractions.sum()), 1.0, abs_tol=1e-9):
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions.tolist()}")
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    cumulative = np.cumsum(fractions)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        cuts = np.rint(cumulative * len(members)).astype(int)
        cuts[0] = max(cuts[0], 1)  # a class absent from training could never be predicted
        cuts = np.maximum.accumulate(np.minimum(cuts, len(members)))
        starts = np.concatenate([[0], cuts[:-1]])
        for part, start, stop in zip(parts, starts, cuts):
            part.append(members[start:stop])
    return tuple(np.sort(np.concatenate(part)) for part in parts)


def _standardise(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    # constant features (e.g. the always-blank corner pixels of digits) would divide by zero
    scale = np.where(scale > 0, scale, 1.0)
    return tuple((part - mean) / scale for part in (train, *others))


def load_dataset(
    name: str | os.PathLike[str] = "digits",
    *,
    label_column: str | int | None = None,
    split_seed: int = 0,
    fractions: Sequence[float] = (0.6, 0.15, 0.25),
    standardise: bool = True,
    ordered: bool | None = None,
) -> Dataset:
    """Load a built-in dataset by name, or a ``.csv`` / ``.npz`` file by path, split and scaled.

    ``fractions`` are the train / validation / test shares; ``split_seed`` fixes the split (the
    training runs' own seeds do not move it, so seeds measure training randomness only).
    ``ordered`` overrides whether the classes count as ordered (default: only ``ordinal``; for
    user files, numeric labels sorted by value are ordered only if you say so).
    """
    text = os.fspath(name)
    key = text.lower()
    if key in BUILTIN_DATASETS:
        if label_column is not None:
            raise ValueError(f"label_column={label_column!r} applies to CSV files, not to the built-in dataset {key!r}")
        X, y, classes, is_ordered, names = _builtin(key, split_seed)
    else:
        suffix = Path(text).suffix.lower()
        if suffix not in (".csv", ".npz", ".txt", ".tsv"):
            if not Path(text).exists():
                raise ValueError(f"unknown dataset {text!r}; choose one of {', '.join(BUILTIN_DATASETS)} or a .csv/.npz file")
            raise ValueError(f"cannot tell the format of {text!r}: use a .csv or .npz file")
        if suffix == ".npz":
            X, labels = read_npz(text)
            names = ()
        else:
            X, labels, names = read_csv(text, label_column)
        from outlayer.encoding import LabelCoder

        coder = LabelCoder().fit(labels)
        y = coder.encode(labels)
        classes = tuple(c.item() if isinstance(c, np.generic) else c for c in coder.classes_)
        is_ordered = False
        key = Path(text).name
    if len(classes) < 2 or len(np.unique(y)) < 2:
        raise ValueError(f"dataset {key!r} has only one class ({classes[0]!r}); classification needs at least two")
    train, val, test = stratified_split(y, fractions, split_seed)
    parts = (X[train], X[val], X[test])
    if standardise:
        parts = _standardise(*parts)
    return Dataset(
        name=key,
        X_train=parts[0], y_train=y[train],
        X_val=parts[1], y_val=y[val],
        X_test=parts[2], y_test=y[test],
        classes=classes,
        ordered=is_ordered if ordered is None else bool(ordered),
        feature_names=names,
    )
