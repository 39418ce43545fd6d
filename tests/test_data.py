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
    data = load_dataset(path, label_column="species")
    assert data.classes == ("cat", "dog") and data.n_features == 2


def test_csv_without_header_numeric_labels_last_column_by_default(tmp_path):
    rows = "\n".join(f"{i},{i * 2},{i % 3}" for i in range(30))
    X, labels, names = read_csv(_write(tmp_path / "g.csv", rows))
    assert X.shape == (30, 2) and names == () and labels[:4] == [0, 1, 2, 0]
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
