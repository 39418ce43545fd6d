"""Hostile dataset files for the loaders, the CLI and the fuzz test (the ``crafted_files`` fixture).

Each entry of :data:`CRAFTED` is ``name -> (expected, needle)``: ``expected`` is ``"ok"``, ``"warn"``
(loads, with a SmallSplitWarning) or ``"error"`` (one-line ValueError containing ``needle``).
:func:`make_crafted_files` writes them all into a folder and returns their paths.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

#: name -> (expected outcome, text the error or the loaded classes must contain)
CRAFTED: dict[str, tuple[str, str]] = {
    # CSV
    "ok.csv": ("ok", ""),
    "numeric_header.csv": ("ok", ""),
    "label_first.csv": ("error", "pass --label-column 0"),
    "label_first_named.csv": ("error", "pass --label-column species"),
    "header_only.csv": ("error", "has a header row but no data rows"),
    "unbalanced_quote.csv": ("error", "unbalanced quote"),
    "formula_labels.csv": ("ok", ""),
    "inf_label.csv": ("error", "label 'inf' is not a finite number"),
    "huge_values.csv": ("ok", ""),
    "overflow.csv": ("error", "'1e400' overflows float64"),
    "bom.csv": ("ok", ""),
    "semicolons.csv": ("ok", ""),
    "empty.csv": ("error", "is empty"),
    "blank_lines.csv": ("error", "is empty"),
    "binary.csv": ("error", "not a UTF-8"),
    "nul.csv": ("error", "non-numeric value"),
    "ragged.csv": ("error", "has 2 fields, expected 3"),
    "one_column.csv": ("error", "need at least one feature and one label column"),
    "tiny.csv": ("split-error", "the test split is empty"),
    "small.csv": ("warn", "the test split has only"),
    "long_field.csv": ("error", "field larger than field limit"),
    "fifo.csv": ("error", "is a FIFO"),
    "device.csv": ("error", "is a device"),
    "dir.csv": ("error", "is a directory"),
    "dangling.csv": ("error", "does not exist"),
    "nan_feature.csv": ("error", "'nan' is not a finite number"),
    "one_class.csv": ("error", "only one class"),
    # NPZ
    "ok.npz": ("ok", ""),
    "bytes_y.npz": ("ok", ""),
    "bool_y.npz": ("ok", ""),
    "huge_values.npz": ("ok", ""),
    "renamed_npy.npz": ("error", "is a single .npy array, not an .npz archive"),
    "txt_member.npz": ("error", "member 'notes.txt' is not a .npy array"),
    "no_y.npz": ("error", "has no array 'y'"),
    "object_X.npz": ("error", "holds Python objects"),
    "structured_X.npz": ("error", "structured dtype"),
    "complex_X.npz": ("error", "X must be real numbers, got complex numbers"),
    "string_X.npz": ("error", "X must be real numbers, got strings"),
    "datetime_y.npz": ("error", "y must hold integers or strings, got dates"),
    "complex_y.npz": ("error", "y must hold integers or strings, got complex"),
    "lying_header.npz": ("error", "the file is damaged"),
    "truncated.npz": ("error", "cannot read"),
    "empty_zip.npz": ("error", "has no array 'X'"),
    "three_d.npz": ("error", "two-dimensional"),
    "mismatch.npz": ("error", "y must have shape (6,)"),
    "zero_features.npz": ("error", "need at least one sample and one feature"),
    "nan_X.npz": ("error", "X[1, 0] is nan"),
    "longdouble_overflow.npz": ("error", "overflows float64"),
    "nan_y.npz": ("error", "labels must be finite"),
    "empty_label.npz": ("error", "is an empty label"),
    "not_a_zip.npz": ("error", "not a zip file"),
    "fifo.npz": ("error", "is a FIFO"),
}


def _rows(n: int, label: callable = lambda i: "ab"[i % 2]) -> list[str]:  # type: ignore[valid-type]
    return [f"{(i * 7) % 11 - 5},{(i * 3) % 5 + 0.5},{label(i)}" for i in range(n)]


def _npz(path: Path, **arrays: np.ndarray) -> None:
    np.savez(path, **arrays)


def make_crafted_files(folder: Path) -> dict[str, Path]:
    """Write every file of :data:`CRAFTED` into ``folder``; return name -> path."""
    f = folder
    text = {
        "ok.csv": "f1,f2,kind\n" + "\n".join(_rows(60)) + "\n",
        "numeric_header.csv": "0,1,y\n" + "\n".join(_rows(60)) + "\n",
        "label_first.csv": "\n".join(f"{'ab'[i % 2]}setosa,{i},{i % 3}" for i in range(30)) + "\n",
        "label_first_named.csv": "species,a,b\n" + "\n".join(f"{'xy'[i % 2]},{i},{i % 3}" for i in range(30)) + "\n",
        "header_only.csv": "a,b,label\n",
        "unbalanced_quote.csv": "a,b,y\n1,2,\"x\n" + "\n".join(_rows(500)) + "\n",
        "formula_labels.csv": "f1,f2,kind\n" + "\n".join(
            _rows(80, lambda i: ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1:A9)", "-x"][i % 4])) + "\n",
        "inf_label.csv": "a,b,y\n" + "\n".join(f"{i},{i % 3},{['1', '2', 'inf'][i % 3]}" for i in range(30)) + "\n",
        "huge_values.csv": "a,b,y\n" + "\n".join(f"{(i % 7 - 3) * 1e300},{i % 5},{'ab'[i % 2]}" for i in range(60)) + "\n",
        "overflow.csv": "a,b,y\n1,2,a\n1e400,3,b\n4,5,a\n",
        "bom.csv": "\ufefff1,f2,kind\n" + "\n".join(_rows(60)) + "\n",
        "semicolons.csv": "u;v;label\n" + "\n".join(r.replace(",", ";") for r in _rows(60)) + "\n",
        "empty.csv": "",
        "blank_lines.csv": "\n\n  \n\n",
        "nul.csv": "a,b,y\n1,2\x00,a\n3,4,b\n",
        "ragged.csv": "a,b,y\n1,2,a\n3,4\n",
        "one_column.csv": "y\na\nb\n",
        "tiny.csv": "a,b,y\n1,2,a\n3,4,b\n5,6,a\n7,8,b\n",
        "small.csv": "a,b,y\n" + "\n".join(_rows(16)) + "\n",
        "long_field.csv": "a,b,y\n1,2,\"" + "x" * 200_000 + "\"\n3,4,b\n",
        "nan_feature.csv": "a,b,y\n1,2,a\nnan,4,b\n",
        "one_class.csv": "a,b,y\n1,2,u\n3,4,u\n",
    }
    paths: dict[str, Path] = {}
    for name, content in text.items():
        (f / name).write_text(content, encoding="utf-8")
    (f / "binary.csv").write_bytes(b"\xff\xfe\x00\x81garbage\n")
    os.mkfifo(f / "fifo.csv")
    os.mkfifo(f / "fifo.npz")
    os.symlink("/dev/zero", f / "device.csv")
    (f / "dir.csv").mkdir()
    os.symlink(f / "missing-target.csv", f / "dangling.csv")

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.array(["a", "b"] * 20)
    _npz(f / "ok.npz", X=X, y=y)
    _npz(f / "bytes_y.npz", X=X, y=np.array([b"cat", b"dog"] * 20))
    _npz(f / "bool_y.npz", X=X, y=np.array([True, False] * 20))
    _npz(f / "huge_values.npz", X=X * 1e300, y=y)
    buffer = io.BytesIO()
    np.save(buffer, X)
    (f / "renamed_npy.npz").write_bytes(buffer.getvalue())
    with zipfile.ZipFile(f / "txt_member.npz", "w") as archive:
        archive.writestr("X.npy", buffer.getvalue())
        archive.writestr("notes.txt", "hello")
    _npz(f / "no_y.npz", X=X)
    _npz(f / "object_X.npz", X=np.array([[1, "a"], [2, None]], dtype=object), y=np.array([0, 1]))
    _npz(f / "structured_X.npz", X=np.zeros(2, dtype=[("a", "f8"), ("b", "f8")]), y=np.array([0, 1]))
    _npz(f / "complex_X.npz", X=X + 1j, y=y)
    _npz(f / "string_X.npz", X=X.astype(str), y=y)
    _npz(f / "datetime_y.npz", X=X, y=np.array(["2024-01-01", "2024-01-02"] * 20, dtype="datetime64[D]"))
    _npz(f / "complex_y.npz", X=X, y=np.array([1j, 2j] * 20))
    header = io.BytesIO()
    from numpy.lib import format as npy

    npy.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(f / "lying_header.npz", "w") as archive:
        archive.writestr("X.npy", header.getvalue() + b"\x00" * 64)
        archive.writestr("y.npy", buffer.getvalue())
    ok = (f / "ok.npz").read_bytes()
    (f / "truncated.npz").write_bytes(ok[: len(ok) // 2])
    with zipfile.ZipFile(f / "empty_zip.npz", "w"):
        pass
    _npz(f / "three_d.npz", X=np.zeros((2, 2, 2)), y=np.zeros(2))
    _npz(f / "mismatch.npz", X=np.zeros((6, 2)), y=np.zeros(5))
    _npz(f / "zero_features.npz", X=np.zeros((6, 0)), y=np.zeros(6))
    _npz(f / "nan_X.npz", X=np.array([[1.0, 2.0], [np.nan, 3.0]]), y=np.array([0, 1]))
    _npz(f / "longdouble_overflow.npz", X=np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.longdouble) *
         (np.longdouble("1e400") if np.isfinite(np.longdouble("1e400")) else np.inf), y=np.array([0, 1]))
    _npz(f / "nan_y.npz", X=X, y=np.where(np.arange(40) == 3, np.nan, np.arange(40) % 2))
    _npz(f / "empty_label.npz", X=X, y=np.array(["a", " "] * 20))
    (f / "not_a_zip.npz").write_bytes(b"not a zip file at all")
    for name in CRAFTED:
        paths[name] = f / name
    return paths


def make_compressed_bomb(path: Path, declared: int = 2**30) -> Path:
    """A valid compressed NPZ whose X (zeros) declares ``declared`` bytes in a few MiB (built in ~2 s)."""
    from numpy.lib import format as npy

    rows = declared // 8 // 64
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("X.npy", "w", force_zip64=True) as member:
            npy.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": (rows, 64)})
            chunk = bytes(2**24)
            for _ in range(declared // len(chunk)):
                member.write(chunk)
        buffer = io.BytesIO()
        np.save(buffer, np.arange(rows) % 2)
        archive.writestr("y.npy", buffer.getvalue())
    return path
