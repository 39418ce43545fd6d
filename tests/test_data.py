"""outlayer.data: offline datasets, stratified seeded splits, train-only standardisation, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from outlayer.data import BUILTIN_DATASETS, load_dataset, read_csv, stratified_split, synthetic_ordinal


@pytest.mark.parametrize(("name", "n", "d", "k"), [("digits", 1797, 64, 10), ("iris", 150, 4, 3), ("wine", 178, 13, 3),
                                                   ("synthetic", 900, 8, 3), ("ordinal", 1000, 8, 5)])
def test_builtin_dataset_has_its_documented_size_and_classes(name, n, d, k):
    data = load_dataset(name)
    assert data.n_features == d and data.n_classes == k
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == n
    assert data.ordered == (name == "ordinal")
    assert set(BUILTIN_DATASETS) >= {name}


def test_split_is_stratified_disjoint_and_covering():
    y = np.repeat(np.arange(4), [40, 100, 20, 60])
    parts = stratified_split(y, (0.6, 0.15, 0.25), seed=3)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(len(y)))
    for part, fraction in zip(parts, (0.6, 0.15, 0.25)):
        counts = np.bincount(y[part], minlength=4)
        # each class within one sample of its exact share
        assert np.all(np.abs(counts - fraction * np.bincount(y)) <= 1.0)


def test_split_depends_on_the_seed_only():
    y = np.arange(300) % 3
    first = stratified_split(y, seed=5)
    again = stratified_split(y, seed=5)
    other = stratified_split(y, seed=6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_every_class_keeps_a_training_sample_even_when_tiny():
    y = np.array([0] * 50 + [1])
    train, _, _ = stratified_split(y, (0.6, 0.15, 0.25), seed=0)
    assert 50 in train


def test_standardisation_uses_training_statistics_only():
    from sklearn.datasets import load_wine

    raw = load_wine().data
    y = load_wine().target
    train, val, test = stratified_split(y, (0.6, 0.15, 0.25), seed=0)
    data = load_dataset("wine")
    mean, std = raw[train].mean(axis=0), raw[train].std(axis=0)
    np.testing.assert_allclose(data.X_train, (raw[train] - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(data.X_test, (raw[test] - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(data.X_val, (raw[val] - mean) / std, rtol=1e-12)
    assert np.abs(data.X_test.mean(axis=0)).max() > 1e-3  # the test split was not centred on itself


def test_constant_features_are_left_finite():
    data = load_dataset("digits")  # pixel 0 is blank in every image
    assert np.all(np.isfinite(data.X_train)) and np.all(data.X_train[:, 0] == 0)


def test_ordinal_classes_follow_one_latent_number():
    """Class means of the features are monotone in the class index: the classes are ordered."""
    X, y = synthetic_ordinal(seed=0)
    means = np.array([X[y == c].mean(axis=0) for c in range(5)])
    assert np.all(np.diff(means, axis=0) > 0)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_header_string_labels_and_named_label_column(tmp_path):
    path = _write(tmp_path / "f.csv", "a,species,b\n1,cat,2\n3,dog,4\n5,cat,6\n7,dog,8\n9,cat,1\n2,dog,3\n")
    X, labels, names = read_csv(path, "species")
    np.testing.assert_array_equal(X[:2], [[1, 2], [3, 4]])
    assert labels[:3] == ["cat", "dog", "cat"] and names == ("a", "b")
    with pytest.warns(UserWarning, match="the validation split is empty"):  # six rows: too few to split
        data = load_dataset(path, label_column="species")
    assert data.classes == ("cat", "dog") and data.n_features == 2


def test_csv_without_header_numeric_labels_last_column_by_default(tmp_path):
    rows = "\n".join(f"{i},{i * 2},{i % 3}" for i in range(30))
    X, labels, names = read_csv(_write(tmp_path / "g.csv", rows))
    assert X.shape == (30, 2) and names == () and labels[:4] == [0, 1, 2, 0]
    with pytest.warns(UserWarning, match="the test split has only 6 samples"):
        assert load_dataset(tmp_path / "g.csv").classes == (0, 1, 2)


@pytest.mark.parametrize("column", [0, "0", -3])
def test_csv_label_column_by_index_including_negative(tmp_path, column):
    path = _write(tmp_path / "h.csv", "y,p,q\nx,1,2\nz,3,4\n")
    X, labels, _ = read_csv(path, column)
    assert labels == ["x", "z"] and X.tolist() == [[1, 2], [3, 4]]


def test_csv_with_semicolons_is_read(tmp_path):
    path = _write(tmp_path / "s.csv", "u;v;label\n1.5;2;a\n3;4e-1;b\n")
    X, labels, _ = read_csv(path)
    assert X.tolist() == [[1.5, 2.0], [3.0, 0.4]] and labels == ["a", "b"]


def test_npz_with_X_and_y_loads(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(40, 3)), y=np.array(["a", "b"] * 20))
    data = load_dataset(tmp_path / "d.npz")
    assert data.classes == ("a", "b") and data.n_features == 3


BAD_CSV = [
    ("missing", None, None, "does not exist"),
    ("dir.csv", None, None, "is a directory"),
    ("binary.csv", b"\xff\xfe\x00\x81garbage", None, "not a UTF-8"),
    ("empty.csv", "", None, "is empty"),
    ("nocol.csv", "a,b,label\n1,2,x\n3,4,y\n", "kind", "no column named 'kind'"),
    ("noheader.csv", "1,2,x\n3,4,y\n", "kind", "no header row"),
    ("range.csv", "1,2,x\n3,4,y\n", "7", "label column 7 is out of range"),
    ("text.csv", "a,b,label\n1,2,x\n3,oops,y\n", None, "row 3, column 'b': non-numeric value 'oops'"),
    ("blank.csv", "a,b,label\n1,2,x\n3,,y\n", None, "row 3, column 'b': an empty field"),
    ("nan.csv", "a,b,label\n1,2,x\nnan,4,y\n", None, "row 3, column 'a': 'nan' is not a finite number"),
    ("one.csv", "a,b,label\n1,2,x\n3,4,x\n", None, "only one class ('x')"),
    ("ragged.csv", "a,b,label\n1,2,x\n3,4\n", None, "row 3 has 2 fields, expected 3"),
    ("nolabel.csv", "a,b,label\n1,2,x\n3,4,\n", None, "row 3, column 'label': missing label"),
]


@pytest.mark.parametrize(("name", "content", "column", "needle"), BAD_CSV, ids=[c[0] for c in BAD_CSV])
def test_bad_csv_raises_one_line_naming_the_problem(tmp_path, name, content, column, needle):
    path = tmp_path / name
    if name == "dir.csv":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_dataset(path if name != "missing" else tmp_path / "missing.csv", label_column=column)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_bad_npz_files_raise_one_line_naming_the_problem(tmp_path):
    np.savez(tmp_path / "noy.npz", X=np.zeros((4, 2)))
    np.savez(tmp_path / "flat.npz", X=np.zeros(4), y=np.zeros(4))
    np.savez(tmp_path / "nan.npz", X=np.array([[1.0, np.nan], [2.0, 3.0]]), y=np.array([0, 1]))
    np.savez(tmp_path / "len.npz", X=np.zeros((4, 2)), y=np.zeros(3))
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    cases = {"noy.npz": "no array 'y'", "flat.npz": "two-dimensional", "nan.npz": "X[0, 1] is nan",
             "len.npz": "y must have shape (4,)", "junk.npz": "cannot read"}
    for name, needle in cases.items():
        with pytest.raises(ValueError) as info:
            load_dataset(tmp_path / name)
        assert needle in str(info.value) and "\n" not in str(info.value), name


def test_unknown_dataset_name_lists_the_choices():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*digits"):
        load_dataset("mnist")


def test_label_column_with_a_builtin_dataset_is_refused():
    with pytest.raises(ValueError, match="applies to CSV files"):
        load_dataset("iris", label_column="species")


# ------------------------------------------------------------------------------ hostile files
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

from crafted import CRAFTED, make_compressed_bomb  # noqa: E402
from outlayer.data import SmallSplitWarning, read_npz, require_every_split  # noqa: E402


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_file_loads_or_fails_in_one_short_line(crafted_files: dict[str, Path], name: str) -> None:
    """Every hostile file either loads or raises ValueError: one line, under 300 characters, naming
    the problem; none blocks (FIFOs, devices) and none leaks the rest of the file into the message."""
    expected, needle = CRAFTED[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if expected == "error":
            with pytest.raises(ValueError) as info:
                load_dataset(crafted_files[name])
            message = str(info.value)
            assert needle in message and "\n" not in message and len(message) < 300, message
            return
        data = load_dataset(crafted_files[name])
    small = [w for w in caught if issubclass(w.category, SmallSplitWarning)]
    assert bool(small) == (expected in ("warn", "split-error")), [str(w.message) for w in caught]
    if expected == "split-error":
        with pytest.raises(ValueError, match=needle):
            require_every_split(data)
    elif expected == "warn":
        assert needle in str(small[0].message)
    assert np.all(np.isfinite(data.X_train)) and np.all(np.isfinite(data.X_test))


def test_numeric_header_above_string_labels_is_a_header(crafted_files: dict[str, Path]) -> None:
    X, labels, names = read_csv(crafted_files["numeric_header.csv"])
    assert names == ("0", "1") and set(labels) == {"a", "b"} and len(labels) == 60
    assert load_dataset(crafted_files["numeric_header.csv"]).classes == ("a", "b")  # no class 'y'


def test_a_first_row_that_could_be_data_stays_data(tmp_path: Path) -> None:
    # consecutive integers, but its label is a class like the others: a sample, not a header
    rows = ["0,1,a", "1,2,b", "4,5,a", "7,8,b"]
    X, labels, names = read_csv(_write(tmp_path / "d.csv", "\n".join(rows) + "\n"))
    assert names == () and labels == ["a", "b", "a", "b"]


def test_label_first_csv_suggests_the_label_column_flag(crafted_files: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match=r"row 1, column 0: non-numeric value 'asetosa'.*pass --label-column 0"):
        load_dataset(crafted_files["label_first.csv"])
    with pytest.warns(SmallSplitWarning):  # 30 rows
        data = load_dataset(crafted_files["label_first.csv"], label_column=0)
    assert data.classes == ("asetosa", "bsetosa")


def test_unbalanced_quote_names_the_line_without_the_rest_of_the_file(crafted_files: dict[str, Path]) -> None:
    with pytest.raises(ValueError) as info:
        load_dataset(crafted_files["unbalanced_quote.csv"])
    assert "line 2" in str(info.value) and len(str(info.value)) < 200 and "\n" not in str(info.value)


def test_header_only_csv_says_there_are_no_data_rows(crafted_files: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="has a header row but no data rows"):
        load_dataset(crafted_files["header_only.csv"])


@pytest.mark.parametrize("name", ["fifo.csv", "fifo.npz", "device.csv"])
def test_fifos_and_devices_are_refused_without_blocking(crafted_files: dict[str, Path], name: str) -> None:
    import time

    start = time.perf_counter()
    with pytest.raises(ValueError, match="is a FIFO|is a device"):
        load_dataset(crafted_files[name])
    assert time.perf_counter() - start < 5.0


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = _write(tmp_path / "secret.csv", "a,b,y\n1,2,a\n")
    path.chmod(0)
    with pytest.raises(ValueError, match="not readable"):
        load_dataset(path)


def test_huge_features_are_standardised_not_zeroed(crafted_files: dict[str, Path]) -> None:
    """Values near 1e300 overflow x^2 in a naive standard deviation; the column is scaled first."""
    data = load_dataset(crafted_files["huge_values.npz"])
    assert np.allclose(data.X_train.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(data.X_train.std(axis=0), 1, rtol=1e-12)
    plain = load_dataset(crafted_files["ok.npz"])  # the same features / 1e300
    np.testing.assert_allclose(data.X_test, plain.X_test, rtol=1e-12, atol=1e-12)


def test_ordinary_columns_are_standardised_exactly_as_before() -> None:
    from outlayer.data import _standardise

    rng = np.random.default_rng(1)
    train, test = rng.normal(size=(50, 4)) * 3 + 1, rng.normal(size=(20, 4))
    mean, std = train.mean(axis=0), train.std(axis=0)
    got = _standardise(train, test)
    assert np.array_equal(got[0], (train - mean) / std) and np.array_equal(got[1], (test - mean) / std)


def test_test_value_overflowing_once_standardised_names_sample_and_column(tmp_path: Path) -> None:
    y = np.arange(40) % 2
    _, _, test = stratified_split(y, (0.6, 0.15, 0.25), seed=0)
    X = np.ones((40, 2))
    X[:, 0] = (np.arange(40) % 3) * 1e-300  # a training scale of 1e-300 ...
    X[test[0], 0] = 1e300  # ... and one test sample 1e600 scales away
    np.savez(tmp_path / "spread.npz", X=X, y=y)
    with pytest.raises(ValueError, match=rf"test sample {test[0]} \(0-based, in file order\), feature column 0 overflows"):
        load_dataset(tmp_path / "spread.npz")


def test_tiny_test_split_warns_naming_the_counts(crafted_files: dict[str, Path]) -> None:
    with pytest.warns(SmallSplitWarning, match=r"train \d+, validation \d+, test \d+\): the test split has only \d"):
        load_dataset(crafted_files["small.csv"])


def test_two_sample_test_split_warns(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i % 3},{'ab'[i % 2]}" for i in range(8))
    with pytest.warns(SmallSplitWarning, match="test 2"):
        data = load_dataset(_write(tmp_path / "eight.csv", "a,b,y\n" + rows + "\n"))
    assert len(data.y_test) == 2


def test_bytes_labels_are_decoded_and_date_labels_refused_up_front(crafted_files: dict[str, Path]) -> None:
    assert load_dataset(crafted_files["bytes_y.npz"]).classes == ("cat", "dog")
    with pytest.raises(ValueError, match="got dates"):
        load_dataset(crafted_files["datetime_y.npz"])


def test_npz_header_claiming_a_trillion_elements_is_refused_before_allocating(crafted_files: dict[str, Path]) -> None:
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(ValueError, match=r"declares shape \(1000000, 1000000\)"):
        read_npz(crafted_files["lying_header.npz"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2**20


@pytest.mark.slow
def test_compressed_npz_declaring_a_gibibyte_is_refused_quickly(tmp_path: Path) -> None:
    import time

    bomb = make_compressed_bomb(tmp_path / "bomb.npz")
    assert bomb.stat().st_size < 20 * 2**20
    start = time.perf_counter()
    with pytest.raises(ValueError, match="refusing to unpack an archive this compressible"):
        read_npz(bomb)
    assert time.perf_counter() - start < 1.0


def test_npz_within_the_memory_limit_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    np.savez(tmp_path / "big.npz", X=np.zeros((2000, 100)), y=np.arange(2000) % 2)
    monkeypatch.setenv("OUTLAYER_MEMORY_LIMIT", "1MiB")
    with pytest.raises(MemoryError, match=r"X of shape \(2000, 100\).*would need about 6.1 MiB.*limit"):
        read_npz(tmp_path / "big.npz")


def test_integer_labels_beyond_float_precision_stay_distinct(tmp_path: Path) -> None:
    big = 2**53
    rows = "\n".join(f"{i},{i % 3},{big + i % 2}" for i in range(40))
    _, labels, _ = read_csv(_write(tmp_path / "big.csv", "a,b,y\n" + rows + "\n"))
    assert set(labels) == {big, big + 1}
