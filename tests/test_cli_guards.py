"""outlayer._guards: memory estimates from shapes, the limit they are held to, output-path checks.

The estimates are checked against what the labs really allocate (tracemalloc sees NumPy's
buffers): each must be an upper bound of the measured peak, and not a wild one at scale.
"""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from outlayer import _guards
from outlayer._guards import ResourceLimitError, available_memory, check_memory, check_output_dir, format_bytes, memory_limit, network_bytes, surface_bytes


def _peak(function, *args, **kwargs) -> int:
    function(*args, **kwargs)  # once before measuring: lazy imports and caches are not the job's
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("resolution", "classes", "steps", "losses"), [
    (601, 3, 10, ("ce", "mse")), (201, 40, 10, ("ce",)), (301, 3, 100, None)])
def test_surface_estimate_bounds_the_measured_peak(resolution: int, classes: int, steps: int, losses) -> None:
    from outlayer import surface
    from outlayer.losses import LOSS_NAMES

    names = losses or LOSS_NAMES
    options = {"resolution": resolution, "num_classes": classes, "steps": steps, "losses": names}
    measured = _peak(surface.run, **options)
    estimate = sum(surface_bytes(resolution=resolution, num_classes=classes, n_losses=len(names), steps=steps,
                                 n_runs=3 + len(surface.SWEEP_LRS)).values())
    assert measured <= estimate <= 4 * measured + 2 * _guards._BASELINE_BYTES, (measured, estimate)


def test_surface_estimate_per_descent_step_bounds_the_measured_growth() -> None:
    """The recorded paths grow with --steps: the estimate's slope bounds the measured one."""
    from outlayer import surface

    def peak(steps: int) -> int:
        tracemalloc.start()
        try:
            surface.run(resolution=5, steps=steps, losses=("ce", "mse"))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    surface.run(resolution=5, steps=10, losses=("ce", "mse"))
    measured = (peak(1100) - peak(100)) / 1000
    parts = [surface_bytes(resolution=5, num_classes=3, n_losses=2, steps=s, n_runs=7)["paths"] for s in (100, 1100)]
    estimated = (parts[1] - parts[0]) / 1000
    assert 0 < measured <= estimated <= 4 * measured, (measured, estimated)


@pytest.mark.parametrize(("hidden", "dataset", "optimizer"), [
    ((1000, 1000), "iris", "sgd"), ((512,), "digits", "adam"), ((64,), "synthetic", "momentum")])
def test_network_estimate_bounds_the_measured_peak(hidden: tuple[int, ...], dataset: str, optimizer: str) -> None:
    from outlayer.data import load_dataset
    from outlayer.experiments import compare

    data = load_dataset(dataset)
    measured = _peak(compare, data, ("ce", "mse"), seeds=1, epochs=1, hidden=hidden, optimizer=optimizer)
    estimate = sum(network_bytes(n_features=data.n_features, hidden=hidden, n_outputs=data.n_classes,
                                 n_samples=len(data.y_train), batch_size=32, optimizer=optimizer).values())
    assert measured <= estimate <= 4 * measured + 2 * _guards._BASELINE_BYTES, (measured, estimate)


def test_the_issue_s_cases_are_estimated_far_beyond_any_machine() -> None:
    grid = sum(surface_bytes(resolution=100_000, num_classes=3, n_losses=4, steps=1000, n_runs=7).values())
    assert grid >= 224 * 2**30  # the issue saw a 224 GiB allocation fail: the estimate is at least that
    network = sum(network_bytes(n_features=64, hidden=(100_000, 100_000), n_outputs=10, n_samples=1078,
                                batch_size=32, optimizer="sgd").values())
    assert network >= 74.5 * 2**30
    huge = surface_bytes(resolution=201, num_classes=99999999999999999999, n_losses=4, steps=1000, n_runs=7)
    assert sum(huge.values()) > 10**20  # exact integers: no overflow, no float infinity


def test_limit_comes_from_the_machine_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTLAYER_MEMORY_LIMIT", raising=False)
    available = available_memory()
    assert available is not None and available > 0
    limit, source = memory_limit()
    assert limit == pytest.approx(_guards.MEMORY_SAFETY * available, rel=0.2) and "available" in source
    for text, expected in (("512MiB", 512 * 2**20), ("8G", 8 * 10**9), ("1.5 GiB", int(1.5 * 2**30)),
                           ("123", 123)):
        monkeypatch.setenv("OUTLAYER_MEMORY_LIMIT", text)
        assert memory_limit() == (expected, "set by OUTLAYER_MEMORY_LIMIT")
    monkeypatch.setenv("OUTLAYER_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="OUTLAYER_MEMORY_LIMIT='lots' is not a size"):
        memory_limit()


def test_refusal_states_estimate_limit_and_what_to_lower(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTLAYER_MEMORY_LIMIT", "1GiB")
    with pytest.raises(ResourceLimitError) as info:
        check_memory(3 * 2**40, "the surface lab with --resolution 100000", "--resolution")
    assert str(info.value) == ("the surface lab with --resolution 100000 would need about 3 TiB of memory, more "
                               "than the 1 GiB limit (set by OUTLAYER_MEMORY_LIMIT): lower --resolution")
    assert isinstance(info.value, MemoryError) and isinstance(info.value, ValueError)
    check_memory(2**30, "fits", "nothing")


@pytest.mark.parametrize(("count", "text"), [(0, "0 bytes"), (1536, "1.5 KiB"), (224 * 2**30, "224 GiB"),
                                             (10**40, "10^21 EiB")])
def test_format_bytes_handles_any_integer(count: int, text: str) -> None:
    assert format_bytes(count) == text


def test_surface_lab_refuses_from_python_too_before_any_work() -> None:
    from outlayer import surface

    with pytest.raises(ResourceLimitError, match="lower resolution"):
        surface.run(resolution=10**6)
    with pytest.raises(ValueError, match="fixed 1e[+]308 is too large"):
        surface.run(fixed=1e308, resolution=5, steps=1)
    with pytest.raises(ValueError, match="limits 1e[+]308 is too large"):
        surface.run(limits=(0.1, 1e308), resolution=5, steps=1)


@pytest.mark.parametrize(("make", "needle"), [
    (lambda root: "", "--out is empty"),
    (lambda root: str(_file(root)), "exists and is not a folder"),
    (lambda root: str(_file(root) / "below"), "is a file, not a folder"),
    (lambda root: str(root / ("n" * 300)), "is 300 bytes long; this file system allows 255"),
    (lambda root: str(root / "x\x00y"), "contains a NUL byte"),
    (lambda root: str(_dangling(root)), "is a link to a missing target"),
    (lambda root: "/proc/outlayer-cannot-be-here", "cannot write in '/proc'"),
])
def test_output_dir_problems_are_one_line_naming_the_flag(tmp_path: Path, make, needle: str) -> None:
    with pytest.raises(ValueError) as info:
        check_output_dir(make(tmp_path), "--out")
    assert needle in str(info.value) and str(info.value).startswith("--out") and "\n" not in str(info.value)
    assert [p.name for p in tmp_path.iterdir() if "probe" in p.name] == []


def test_read_only_folder_is_refused(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; /proc stands in for them above")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    with pytest.raises(ValueError, match="cannot write in"):
        check_output_dir(locked / "out")


def test_good_output_dirs_pass_and_nothing_is_created(tmp_path: Path) -> None:
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert check_output_dir(tmp_path) == tmp_path
    assert list(tmp_path.iterdir()) == []


def _file(root: Path) -> Path:
    path = root / "a-file"
    path.write_text("x")
    return path


def _dangling(root: Path) -> Path:
    link = root / "link"
    link.symlink_to(root / "nowhere")
    return link
