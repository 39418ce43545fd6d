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

import array
import csv
import itertools
import math
import os
import re
import stat
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "BUILTIN_DATASETS",
    "MIN_TEST_SAMPLES",
    "MIN_VALIDATION_SAMPLES",
    "Dataset",
    "LabelColumnError",
    "SmallSplitWarning",
    "load_dataset",
    "load_dataset_for",
    "read_csv",
    "read_npz",
    "require_every_split",
    "split_sizes",
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
class LabelColumnError(ValueError):
    """The label column asked for does not exist (or the dataset has no columns to choose from)."""


class SmallSplitWarning(UserWarning):
    """A split too small to measure anything reliably (a handful of test samples, a class missing)."""


#: Fewer test / validation samples than these (or a class missing from either) give a SmallSplitWarning.
MIN_TEST_SAMPLES = 10
MIN_VALIDATION_SAMPLES = 5
#: Rows read before deciding whether the first row is a header.
_SAMPLE_ROWS = 1000
#: An NPZ member larger than this that inflates by more than _BOMB_RATIO is refused unread.
_BOMB_BYTES = 64 * 2**20
_BOMB_RATIO = 100


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _short(text: object, width: int = 40) -> str:
    """``repr`` of a cell, cut in the middle when long, so that a message stays one line."""
    shown = repr(text)
    return shown if len(shown) <= width else f"{shown[: width // 2 - 2]}...{shown[-width // 2 + 2:]}"


def _open_regular(path: Path, mode: str = "rb", **kwargs: Any) -> Any:
    """Open ``path`` for reading, refusing anything but a regular file before a read can block.

    The file is opened non-blocking and checked with fstat on the open descriptor, so a FIFO (which
    would wait for a writer for ever), a device (``/dev/zero`` never ends) or a socket is refused
    at once, even if it replaced a regular file after an earlier check.
    """
    if not os.path.lexists(path):
        raise ValueError(f"data file {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"data file {str(path)!r} is a directory")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except PermissionError:
        raise ValueError(f"data file {str(path)!r} is not readable (permission denied)") from None
    except FileNotFoundError:
        raise ValueError(f"data file {str(path)!r} does not exist (or is a link to a missing file)") from None
    except OSError as exc:
        raise ValueError(f"cannot open data file {str(path)!r}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a device" if
                stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "a socket" if
                stat.S_ISSOCK(info.st_mode) else "not a regular file")
        raise ValueError(f"data file {str(path)!r} is {kind}; give a regular .csv or .npz file")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, mode, **kwargs)


def _column_label(index: int, header: Sequence[str] | None) -> str:
    return _short(header[index]) if header is not None else str(index)


def _consecutive_integers(cells: Sequence[str]) -> bool:
    """``0,1,2,...`` or ``1,2,3,...``: the column names pandas and numpy write for unnamed columns."""
    try:
        numbers = [int(cell) for cell in cells]
    except ValueError:
        return False
    return len(numbers) >= 2 and numbers[0] in (0, 1) and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def _detect_header(first: list[str], body: list[list[str]], label_column: str | int | None) -> bool:
    """Whether the first row names the columns, judged by content.

    Yes when it names the requested label column; when some column has a non-number on the first
    row and only numbers below it; or when the first row's other cells are the column numbers
    0, 1, 2, ... (or 1, 2, 3, ...) and its label occurs in no other row while every other label
    occurs at least twice (``0,1,2,y`` above string labels: a numeric header, not the one sample
    of a class of its own).
    """
    as_index = isinstance(label_column, str) and label_column.strip().lstrip("-").isdigit()
    if isinstance(label_column, str) and not as_index and label_column in first:
        return True  # (a string of digits is an index: "0" among the first row's values is no evidence)
    width = len(first)
    label_index = width - 1
    if isinstance(label_column, int) or (isinstance(label_column, str) and label_column.strip().lstrip("-").isdigit()):
        label_index = int(label_column) % width if -width <= int(label_column) < width else label_index
    features = [cell for j, cell in enumerate(first) if j != label_index]
    if not body:  # a lone row is a header when a feature cell is not a number
        return any(not _is_number(cell) for cell in features)
    rows = [row for row in body if len(row) == width]
    for j, cell in enumerate(first):
        below = [row[j].strip() for row in rows if row[j].strip()]
        if cell and not _is_number(cell) and below and all(_is_number(b) for b in below):
            return True
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[label_index].strip()] = counts.get(row[label_index].strip(), 0) + 1
    # the first row's label would be a class of one sample, while every other class has several
    rare = first[label_index] not in counts and bool(counts) and min(counts.values()) >= 2
    return rare and _consecutive_integers(features)


def read_csv(path: str | os.PathLike[str], label_column: str | int | None = None) -> tuple[np.ndarray, list[Any], tuple[str, ...]]:
    """Read features and raw labels from a CSV file.

    ``label_column`` is a column name (needs a header), an integer index (negative counts from
    the end; a string of digits counts as an index unless a header column has that name), or
    ``None`` for the last column. Whether the first row is a header is judged by content (see
    :func:`_detect_header`, on the first 1000 rows). Labels are kept as numbers when every label
    parses as one (integers exactly, when integral), else as strings.

    Returns ``X`` (N, D) float64, ``labels`` (a list of N labels), ``feature_names``. Errors name
    the line and column: a non-numeric feature (suggesting ``--label-column`` when the column
    looks like labels), a non-finite or overflowing value, a missing label, a ragged row, a quoted
    field that runs over several lines (an unbalanced quote), a header with no data rows.
    """
    path = Path(path)
    try:
        with _open_regular(path, "r", newline="", encoding="utf-8-sig") as handle:
            size = os.fstat(handle.fileno()).st_size
            from outlayer._guards import check_dataset

            # at most one value per two bytes ("0,"), each a float64 in four copies once loaded
            check_dataset(size // 2 + 1, f"reading {str(path)!r} ({size} bytes)", "the size of the file")
            sample = handle.read(65536)
            handle.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
            except csv.Error:
                dialect = csv.excel  # one column or an ambiguous sample: plain commas
            return _parse_csv(path, csv.reader(handle, dialect), label_column)
    except UnicodeDecodeError:
        raise ValueError(f"data file {str(path)!r} is not a UTF-8 text CSV file") from None
    except csv.Error as exc:
        raise ValueError(f"cannot read {str(path)!r}: {str(exc).splitlines()[0]} (an unbalanced quote?)") from None
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None


def _rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted field may span lines)."""
    line = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            yield line, row
        line = reader.line_num + 1


def _parse_csv(path: Path, reader: Any, label_column: str | int | None) -> tuple[np.ndarray, list[Any], tuple[str, ...]]:
    rows = _rows(reader)
    sample = list(itertools.islice(rows, _SAMPLE_ROWS))
    if not sample:
        raise ValueError(f"data file {str(path)!r} is empty")
    width = len(sample[0][1])
    if width < 2:
        raise ValueError(f"{str(path)!r} has {width} column; need at least one feature and one label column")
    first = [cell.strip() for cell in sample[0][1]]
    header = first if _detect_header(first, [row for _, row in sample[1:]], label_column) else None
    if header is not None and len(sample) == 1:
        raise ValueError(f"data file {str(path)!r} has a header row but no data rows")

    if label_column is None:
        label_index = width - 1
    elif isinstance(label_column, str) and header is not None and label_column in header:
        label_index = header.index(label_column)
    elif isinstance(label_column, int) or (isinstance(label_column, str) and label_column.strip().lstrip("-").isdigit()):
        label_index = int(label_column)
        if not -width <= label_index < width:
            raise LabelColumnError(f"label column {label_column} is out of range: {str(path)!r} has {width} columns")
        label_index %= width
    elif header is None:
        raise LabelColumnError(f"no column named {_short(label_column)}: {str(path)!r} has no header row")
    else:
        raise LabelColumnError(f"no column named {_short(label_column)} in {str(path)!r}; columns: "
                         f"{_short(', '.join(header), 200)[1:-1]}")

    feature_indices = [j for j in range(width) if j != label_index]
    values = array.array("d")
    raw_labels: list[str] = []
    label_lines = array.array("q")
    body = itertools.chain(sample[1:] if header is not None else sample, rows)
    for line, row in body:
        for j, cell in enumerate(row):
            if "\n" in cell or "\r" in cell:
                raise ValueError(f"{str(path)!r} line {line}, column {_column_label(j, header)}: a quoted field "
                                 "runs over several lines (an unbalanced quote?)")
        if len(row) != width:
            raise ValueError(f"{str(path)!r} row {line} has {len(row)} fields, expected {width}")
        for j in feature_indices:
            cell = row[j].strip()
            try:
                value = float(cell)
            except ValueError:
                raise ValueError(_feature_error(path, line, j, cell, header, sample)) from None
            if not math.isfinite(value):
                what = "overflows float64" if _is_number(cell) and cell.lower().lstrip("+-") not in (
                    "inf", "infinity", "nan") else "is not a finite number"
                raise ValueError(f"{str(path)!r} row {line}, column {_column_label(j, header)}: {_short(cell)} {what}")
            values.append(value)
        label = row[label_index].strip()
        if not label or label.lower() in ("nan", "na", "null"):
            raise ValueError(f"{str(path)!r} row {line}, column {_column_label(label_index, header)}: "
                             f"missing label {_short(label)}")
        raw_labels.append(label)
        label_lines.append(line)
    if not raw_labels:
        raise ValueError(f"data file {str(path)!r} has a header but no data rows")
    X = np.frombuffer(values, dtype=np.float64).reshape(len(raw_labels), len(feature_indices)).copy()
    names = tuple(header[j] for j in feature_indices) if header is not None else ()
    return X, _numeric_labels(path, raw_labels, label_lines, _column_label(label_index, header)), names


def _feature_error(path: Path, line: int, j: int, cell: str, header: Sequence[str] | None,
                   sample: Sequence[tuple[int, list[str]]]) -> str:
    """The message for a non-numeric feature, with the fix when the column looks like labels."""
    what = "an empty field" if not cell else f"non-numeric value {_short(cell)}"
    message = f"{str(path)!r} row {line}, column {_column_label(j, header)}: {what} (features must be numbers)"
    column = [row[j].strip() for _, row in sample[1 if header is not None else 0:] if len(row) > j]
    if cell and column and not any(_is_number(c) for c in column):
        name = header[j] if header is not None and header[j] else str(j)
        message += f"; if column {_column_label(j, header)} holds the labels, pass --label-column {name}"
    return message


_INTEGER = re.compile(r"^[+-]?\d+$")


def _numeric_labels(path: Path, labels: list[str], lines: Sequence[int], column: str) -> list[Any]:
    """Labels as numbers when all are numbers (ints exactly: 2^53 + 1 stays itself), else as strings."""
    if not all(_is_number(label) for label in labels):
        return labels
    numbers: list[Any] = []
    for index, label in enumerate(labels):
        if _INTEGER.match(label):
            numbers.append(int(label))
            continue
        value = float(label)
        if not math.isfinite(value):
            raise ValueError(f"{str(path)!r} row {lines[index]}, column {column}: label {_short(label)} is not a "
                             "finite number")
        numbers.append(int(value) if value.is_integer() and abs(value) < 2**53 else value)
    return numbers


def _npz_members(path: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's .npy members by array name; anything else in it is refused."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename
        if info.is_dir() or not name.endswith(".npy"):
            raise ValueError(f"{str(path)!r}: member {_short(name)} is not a .npy array; an NPZ file holds only "
                             "arrays (write it with numpy.savez(path, X=X, y=y))")
        key = name[: -len(".npy")]
        if key in members:
            raise ValueError(f"{str(path)!r} holds the array {_short(key)} twice")
        if info.flag_bits & 0x1:
            raise ValueError(f"{str(path)!r}: member {_short(name)} is encrypted")
        members[key] = info
    return members


def _npy_header(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a member's .npy header, checked against the member's size before reading it."""
    from numpy.lib import format as npy

    try:
        with archive.open(info) as member:
            version = npy.read_magic(member)
            reader = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}.get(version)
            if reader is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, _, dtype = reader(member)
            header_size = member.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        raise ValueError(f"{str(path)!r}: array {key!r} is not a valid .npy array ({str(exc).splitlines()[0]})") from None
    if dtype.hasobject:
        raise ValueError(f"{str(path)!r}: array {key!r} holds Python objects (dtype {dtype}); save plain numbers or "
                         "strings")
    if dtype.names is not None or dtype.subdtype is not None:
        raise ValueError(f"{str(path)!r}: array {key!r} has a structured dtype ({dtype}); save plain numbers or strings")
    declared = math.prod(shape) * dtype.itemsize
    if declared > info.file_size - header_size:
        raise ValueError(f"{str(path)!r}: array {key!r} declares shape {shape} ({declared} bytes) but the archive "
                         f"holds {max(info.file_size - header_size, 0)} bytes of it: the file is damaged")
    if (info.compress_type != zipfile.ZIP_STORED and info.file_size > _BOMB_BYTES
            and info.file_size > _BOMB_RATIO * max(info.compress_size, 1)):
        raise ValueError(f"{str(path)!r}: array {key!r} would inflate from {info.compress_size} bytes to "
                         f"{info.file_size} ({info.file_size // max(info.compress_size, 1)}x); refusing to unpack "
                         "an archive this compressible (save it with numpy.savez, uncompressed)")
    return tuple(int(n) for n in shape), dtype


#: What each dtype kind is, for the messages about X and y.
_KINDS = {"c": "complex numbers", "U": "strings", "S": "bytes", "M": "dates (datetime64)", "m": "time spans "
          "(timedelta64)", "V": "raw bytes", "O": "Python objects"}


def read_npz(path: str | os.PathLike[str]) -> tuple[np.ndarray, list[Any]]:
    """Read arrays ``X`` (N, D) numeric and ``y`` (N,) labels from an ``.npz`` file.

    Everything is checked before an array is allocated: the file is a regular file and a zip
    archive (a ``.npy`` renamed ``.npz`` is named as such), every member is a ``.npy`` array, ``X``
    and ``y`` exist, their headers parse, their shapes fit each other, their dtypes are plain (no
    objects, no structured, no complex, no dates), the sizes they declare fit the members that
    hold them and the memory limit, and no member is a zip bomb. Labels may be integers, floats
    (finite), booleans, strings or bytes (decoded as UTF-8).
    """
    path = Path(path)
    with _open_regular(path) as handle:
        start = handle.read(6)
        handle.seek(0)
        if start.startswith(b"\x93NUMPY"):
            raise ValueError(f"{str(path)!r} is a single .npy array, not an .npz archive: save features and labels "
                             "together with numpy.savez(path, X=X, y=y)")
        if not start.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise ValueError(f"cannot read {str(path)!r} as an NPZ archive: it is not a zip file")
        try:
            with zipfile.ZipFile(handle) as archive:
                members = _npz_members(path, archive)
                missing = [key for key in ("X", "y") if key not in members]
                if missing:
                    raise ValueError(f"{str(path)!r} has no array {missing[0]!r} (found: "
                                     f"{_short(', '.join(members), 80)[1:-1] or 'none'})")
                x_shape, x_dtype = _npy_header(path, archive, members["X"], "X")
                y_shape, y_dtype = _npy_header(path, archive, members["y"], "y")
                _check_npz_shapes(path, x_shape, x_dtype, y_shape, y_dtype)
                from outlayer._guards import check_dataset

                check_dataset(math.prod(x_shape), f"loading {str(path)!r} (X of shape {x_shape})",
                              "the number of samples or features")
                from numpy.lib import format as npy

                with archive.open(members["X"]) as member:
                    X_raw = npy.read_array(member, allow_pickle=False)
                with archive.open(members["y"]) as member:
                    y_raw = npy.read_array(member, allow_pickle=False)
        except (OSError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
            raise ValueError(f"cannot read {str(path)!r} as an NPZ archive: {str(exc).splitlines()[0]}") from None
    with np.errstate(over="ignore"):
        X = X_raw.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        what = f"{X_raw[row, col]!r} overflows float64" if np.isfinite(X_raw[row, col]) else f"is {X[row, col]}"
        raise ValueError(f"{str(path)!r}: X[{row}, {col}] {what}; features must be finite")
    return X, _npz_labels(path, y_raw)


def _check_npz_shapes(path: Path, x_shape: tuple[int, ...], x_dtype: np.dtype, y_shape: tuple[int, ...],
                      y_dtype: np.dtype) -> None:
    if len(x_shape) != 2:
        raise ValueError(f"{str(path)!r}: X must be two-dimensional (N, D), got shape {x_shape}")
    if x_shape[0] == 0 or x_shape[1] == 0:
        raise ValueError(f"{str(path)!r}: X has shape {x_shape}; need at least one sample and one feature")
    if len(y_shape) != 1 or y_shape[0] != x_shape[0]:
        raise ValueError(f"{str(path)!r}: y must have shape ({x_shape[0]},) to match X, got {y_shape}")
    if x_dtype.kind not in "biuf":
        raise ValueError(f"{str(path)!r}: X must be real numbers, got {_KINDS.get(x_dtype.kind, 'dtype')} "
                         f"(dtype {x_dtype}){'; convert it with X.astype(float)' if x_dtype.kind in 'US' else ''}")
    if y_dtype.kind not in "biufUS":
        raise ValueError(f"{str(path)!r}: y must hold integers or strings, got {_KINDS.get(y_dtype.kind, 'dtype')} "
                         f"(dtype {y_dtype}); convert the labels first, e.g. y.astype(str)")


def _npz_labels(path: Path, y: np.ndarray) -> list[Any]:
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise ValueError(f"{str(path)!r}: y[{int(bad[0])}] is {y[bad[0]]}, labels must be finite")
    if y.dtype.kind == "S":  # bytes labels: text, as a CSV would give them
        labels = []
        for index, item in enumerate(y.tolist()):
            try:
                labels.append(item.decode("utf-8"))
            except UnicodeDecodeError:
                raise ValueError(f"{str(path)!r}: y[{index}] = {_short(item)} is not UTF-8 text") from None
        y = np.asarray(labels, dtype=str)
    if y.dtype.kind == "U":
        empty = np.flatnonzero(np.char.str_len(np.char.strip(y)) == 0)
        if empty.size:
            raise ValueError(f"{str(path)!r}: y[{int(empty[0])}] is an empty label")
    return y.tolist()


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


#: Columns whose largest |value| lies outside [_TINY, _HUGE] are divided by it before the mean and
#: standard deviation are taken: their squares would overflow (1e300^2) or vanish (1e-300^2).
#: Every other column is divided by exactly 1.0, so ordinary data is standardised bit for bit as before.
_HUGE, _TINY = 1e150, 1e-150


def _standardise(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    peak = np.max(np.abs(train), axis=0) if len(train) else np.ones(train.shape[1])
    peak = np.where((peak > _HUGE) | ((peak < _TINY) & (peak > 0)), peak, 1.0)
    mean = (train / peak).mean(axis=0)
    scale = (train / peak).std(axis=0)
    # constant features (e.g. the always-blank corner pixels of digits) would divide by zero
    scale = np.where(scale > 0, scale, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        return tuple((part / peak - mean) / scale for part in (train, *others))


def _check_standardised(name: str, parts: Sequence[np.ndarray], indices: Sequence[np.ndarray]) -> None:
    """A validation or test value far outside the training range can still overflow: say where."""
    for part, split, index in zip(parts, ("training", "validation", "test"), indices):
        bad = ~np.isfinite(part)
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            raise ValueError(f"dataset {name!r}: {split} sample {int(index[row])} (0-based, in file order), feature "
                             f"column {col} overflows once standardised by the training split's scale; rescale that "
                             "column")


def split_sizes(data: Dataset) -> str:
    """``"train 90, validation 24, test 36"``."""
    return f"train {len(data.y_train)}, validation {len(data.y_val)}, test {len(data.y_test)}"


def require_every_split(data: Dataset) -> None:
    """Raise ValueError when the validation or test split of ``data`` is empty (nothing to measure on)."""
    for split, y in (("validation", data.y_val), ("test", data.y_test)):
        if len(y) == 0:
            total = len(data.y_train) + len(data.y_val) + len(data.y_test)
            raise ValueError(f"dataset {data.name!r} has {total} samples, too few to split ({split_sizes(data)}): "
                             f"the {split} split is empty; add samples")


def _check_split(name: str, classes: Sequence[Any], y: np.ndarray, parts: Sequence[np.ndarray]) -> None:
    """Warn about a validation or test split too small to measure anything (empty included)."""
    counts = [len(part) for part in parts]
    sizes = f"train {counts[0]}, validation {counts[1]}, test {counts[2]}"
    problems = []
    for count, split, least in ((counts[2], "test", MIN_TEST_SAMPLES), (counts[1], "validation", MIN_VALIDATION_SAMPLES)):
        if count < least:
            problems.append(f"the {split} split is empty" if count == 0 else
                            f"the {split} split has only {count} sample{'s' if count > 1 else ''}")
    for part, split in zip(parts[1:], ("validation", "test")):
        missing = [classes[c] for c in range(len(classes)) if not np.any(y[part] == c)]
        if missing and len(part):
            problems.append(f"the {split} split has no sample of class {_short(missing[0])}"
                            + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    if problems:
        warnings.warn(f"dataset {name!r} ({sizes}): {'; '.join(problems)}: its accuracies rest on too few "
                      "samples to mean much", SmallSplitWarning, stacklevel=3)


def load_dataset_for(flags: tuple[str, str], name: str | os.PathLike[str], *, training: bool = True,
                     **options: Any) -> Dataset:
    """:func:`load_dataset`, with each error prefixed by the option it is about: ``flags`` names the
    dataset option and the label-column option (the CLI's ``("--dataset", "--label-column")``).
    ``training``: also refuse a dataset whose validation or test split is empty (:func:`require_every_split`)."""
    try:
        data = load_dataset(name, **options)
        if training:
            require_every_split(data)
        return data
    except LabelColumnError as exc:
        raise LabelColumnError(f"{flags[1]}: {exc}") from None
    except ValueError as exc:
        raise type(exc)(f"{flags[0]}: {exc}") from None


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
            raise LabelColumnError(f"label_column={label_column!r} applies to CSV files, not to the built-in dataset "
                                   f"{key!r}")
        X, y, classes, is_ordered, names = _builtin(key, split_seed)
    else:
        suffix = Path(text).suffix.lower()
        if suffix not in (".csv", ".npz", ".txt", ".tsv"):
            try:
                exists = os.path.lexists(text)
            except (OSError, ValueError):  # a name too long for the file system, a NUL byte
                exists = False
            if not exists:
                raise ValueError(f"unknown dataset {_short(text)}; choose one of {', '.join(BUILTIN_DATASETS)} "
                                 "or a .csv/.npz file")
            raise ValueError(f"cannot tell the format of {_short(text)}: use a .csv or .npz file")
        if suffix == ".npz":
            if label_column is not None:
                raise LabelColumnError("label_column applies to CSV files; an NPZ file holds its labels in the array y")
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
    if all(f > 0 for f in fractions):
        _check_split(key, classes, y, (train, val, test))
    parts = (X[train], X[val], X[test])
    if standardise:
        parts = _standardise(*parts)
        _check_standardised(key, parts, (train, val, test))
    return Dataset(
        name=key,
        X_train=parts[0], y_train=y[train],
        X_val=parts[1], y_val=y[val],
        X_test=parts[2], y_test=y[test],
        classes=classes,
        ordered=is_ordered if ordered is None else bool(ordered),
        feature_names=names,
    )
