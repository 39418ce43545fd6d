"""outlayer report: the folder it writes, where its numbers come from, and how it fails.

The quick report is built once per session (``quick_report`` in conftest.py); the tests that
need a failing or second run monkeypatch the expensive part or build one more quick report.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import outlayer
from outlayer.cli import main
from outlayer.report import MARKER, build_report
from outlayer.report._i18n import T
from outlayer.report._page import Numbers, lookup
from outlayer.report._sections import relation_key
from outlayer.report._write import check_target, flatten, spreadsheet_safe, staged_folder, write_data

SECTION_ORDER = ["labels", "softmax", "loss", "surface", "training", "beyond", "reproduce", "references"]


class _PageParser(HTMLParser):
    """Collects section ids, tagged numbers (``<span>`` or MathML ``<mn>``), every src, and every
    href with the section it is in and its rel attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.numbers: list[dict[str, str]] = []
        self.links: list[str] = []
        self.sources: list[str] = []
        self.anchors: list[dict[str, str]] = []
        self._open_number: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "section":
            self.sections.append(attributes["id"])
        if "data-key" in attributes:
            self._open_number = {"key": attributes["data-key"], "value": attributes["data-value"], "text": ""}
            self.numbers.append(self._open_number)
        for name in ("src", "href"):
            if name in attributes:
                self.links.append(attributes[name])
        if "src" in attributes:
            self.sources.append(attributes["src"])
        if "href" in attributes:
            self.anchors.append({"tag": tag, "href": attributes["href"], "rel": attributes.get("rel", ""),
                                 "section": self.sections[-1] if self.sections else ""})

    def handle_data(self, data: str) -> None:
        if self._open_number is not None:
            self._open_number["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("span", "mn"):
            self._open_number = None


@pytest.fixture(scope="module")
def page(quick_report: dict[str, Any]) -> _PageParser:
    parser = _PageParser()
    parser.feed(quick_report["index"].read_text(encoding="utf-8"))
    return parser


def _data(report: dict[str, Any], name: str) -> Any:
    return json.loads((report["out"] / "data" / f"{name}.json").read_text())


# ------------------------------------------------------------------------------- the folder
def test_quick_report_writes_page_figures_data_and_marker(quick_report: dict[str, Any]) -> None:
    out = quick_report["out"]
    assert quick_report["index"] == (out / "index.html").resolve()
    assert (out / MARKER).is_file()
    for name in [*SECTION_ORDER, "run"]:
        assert (out / "data" / f"{name}.json").is_file()
        assert (out / "data" / f"{name}.csv").is_file()
    assert len(list((out / "figures").glob("*.png"))) >= 10
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # no staging left


def test_page_has_the_eight_sections_in_the_seeds_order(page: _PageParser) -> None:
    assert page.sections == SECTION_ORDER


def test_report_with_every_figure_as_svg_and_png_weighs_under_5_mb(quick_report: dict[str, Any]) -> None:
    files = [p for p in quick_report["out"].rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    assert total < 5e6, f"{total / 1e6:.2f} MB"
    figures = [p for p in files if p.parent.name == "figures"]
    assert {p.stem for p in figures if p.suffix == ".svg"} == {p.stem for p in figures if p.suffix == ".png"}


def test_page_references_only_files_inside_the_report(page: _PageParser, quick_report: dict[str, Any]) -> None:
    out = quick_report["out"]
    external = re.compile(r"^[a-z]+://|^//")  # http(s)://, or a protocol-relative URL
    for source in page.sources:  # nothing the page loads comes from outside
        assert not external.match(source), source
    for anchor in page.anchors:
        link = anchor["href"]
        if external.match(link):
            # only the Sources section and the experiments' subsections (section 6) link out, each to
            # the source it reproduces: plain <a> links that send no referrer
            assert anchor["tag"] == "a" and anchor["rel"] == "noreferrer", anchor
            assert anchor["section"] in ("references", "beyond"), anchor
            assert link.startswith("https://") or link.startswith(("http://neuralnetworksanddeeplearning.com/",
                                                                   "http://www.cs.toronto.edu/~hinton/")), link
            continue
        if link.startswith("#") or link.startswith("data:"):
            continue
        assert (out / link).exists(), link


def test_every_number_on_the_page_comes_from_the_data_files(page: _PageParser, quick_report: dict[str, Any]) -> None:
    assert len(page.numbers) > 100
    for number in page.numbers:
        section, path = number["key"].split(":", 1)
        value = lookup(_data(quick_report, section), path)
        assert repr(value) == number["value"], number
        shown = number["text"].rstrip("%")
        assert re.fullmatch(r"-?\d+(\.\d+)?(e[+-]\d+)?", shown), number  # a formatted number, nothing else


def test_csv_data_files_hold_the_json_values(quick_report: dict[str, Any]) -> None:
    for json_path in (quick_report["out"] / "data").glob("*.json"):
        with open(json_path.with_suffix(".csv"), newline="") as handle:
            rows = {row["path"]: row["value"] for row in csv.DictReader(handle)}
        for path, value in flatten(json.loads(json_path.read_text())):
            cell = value if isinstance(value, str) else json.dumps(value)
            assert rows[spreadsheet_safe(path)] == spreadsheet_safe(cell)  # formulas written as text


# --------------------------------------------------------------------- numbers vs the library
def test_worked_example_numbers_match_the_library(quick_report: dict[str, Any]) -> None:
    softmax = _data(quick_report, "softmax")["worked"]
    loss = _data(quick_report, "loss")
    logits = np.array([2.0, 1.0, 0.1])
    np.testing.assert_array_equal(softmax["probabilities"], outlayer.softmax(logits))
    assert loss["worked"]["cross_entropy"] == pytest.approx(float(outlayer.cross_entropy(logits, 0)), rel=1e-15)
    assert loss["worked"]["mse"] == pytest.approx(float(outlayer.mse(logits, 0)), rel=1e-15)
    _, grad = outlayer.mse_with_grad(logits, 2, reduction="sum")
    np.testing.assert_allclose(loss["wrong"]["grad_mse"], grad, rtol=1e-14)


def test_sigmoid_equals_two_class_softmax_on_the_page(quick_report: dict[str, Any]) -> None:
    two = _data(quick_report, "softmax")["two_class"]
    assert two["sigmoid"]["sigmoid_of_difference"] == pytest.approx(float(outlayer.sigmoid(1.0)), rel=1e-15)
    assert two["sigmoid"]["softmax_first"] == pytest.approx(float(outlayer.softmax(np.array([2.0, 1.0]))[0]), rel=1e-15)
    assert two["sigmoid"]["abs_difference"] < 1e-15


def test_surface_corner_gradients_match_the_core_losses(quick_report: dict[str, Any]) -> None:
    surface = _data(quick_report, "surface")
    setup = surface["setup"]
    logits = np.zeros(setup["num_classes"])
    for cls, value in setup["fixed"].items():
        logits[int(cls)] = float(value)  # "-inf" (JSON has no infinity) for a held-out class
    logits[setup["swept"]] = setup["start"]
    for name in ("ce", "mse"):
        _, grad = outlayer.get_loss(name).with_grad(logits[None], np.array([setup["target"]]), reduction="sum")
        expected = float(np.hypot(*grad[0, setup["swept"]]))
        assert surface["losses"][name]["corner"]["grad_norm"] == pytest.approx(expected, rel=1e-12)


def test_training_numbers_are_those_of_a_library_run(quick_report: dict[str, Any]) -> None:
    # the cheapest run of the report (ordinal set, scalar output, first seed) repeated by the library
    from outlayer.experiments import compare

    labels = _data(quick_report, "labels")["ordinal"]
    config = labels["config"]
    page_run = next(r for r in labels["runs"] if r["loss"] == "scalar" and r["seed"] == config["seeds"][0])
    again = compare(dataset="ordinal", losses=("scalar",), init=config["init"], optimizer=config["optimizer"],
                    seeds=1, epochs=config["epochs"], lr=config["lr"]["scalar"], first_seed=config["seeds"][0],
                    split_seed=config["split_seed"], hidden=tuple(config["hidden"]), batch_size=config["batch_size"])
    assert page_run["final"] == again["runs"][0]["final"]
    accuracies = [r["final"]["test_accuracy"] for r in labels["runs"] if r["loss"] == "scalar"]
    assert labels["summary"]["scalar"]["test_accuracy"]["mean"] == pytest.approx(np.mean(accuracies), rel=1e-15)


def test_reproduce_section_names_command_seeds_versions_and_time(quick_report: dict[str, Any]) -> None:
    run, reproduce = _data(quick_report, "run"), _data(quick_report, "reproduce")
    assert run["command"].startswith("outlayer report --out ") and run["command"].endswith("--seeds 2 --quick")
    assert 0 < run["run_time_s"] < 600
    assert reproduce["seeds"] == [0, 1]
    assert reproduce["versions"]["outlayer"] == outlayer.__version__
    assert reproduce["versions"]["numpy"] == np.__version__
    assert html.escape(run["command"]) in quick_report["index"].read_text()


@pytest.mark.slow
def test_same_seed_gives_identical_data_and_figure_files(quick_report: dict[str, Any], tmp_path: Path) -> None:
    again = build_report(tmp_path / "again", quick=True)
    first = {p.name: p.read_bytes() for p in (quick_report["out"] / "data").iterdir() if p.stem != "run"}
    second = {p.name: p.read_bytes() for p in (again["out"] / "data").iterdir() if p.stem != "run"}
    assert first.keys() == second.keys() and len(first) == 2 * len(SECTION_ORDER)
    assert [name for name in first if first[name] != second[name]] == []
    # and byte-identical figures, SVG and PNG (no date, fixed SVG ids, deterministic palettes)
    first = {p.name: p.read_bytes() for p in (quick_report["out"] / "figures").iterdir()}
    second = {p.name: p.read_bytes() for p in (again["out"] / "figures").iterdir()}
    assert first.keys() == second.keys() and [name for name in first if first[name] != second[name]] == []


# --------------------------------------------------------------------------- safety and errors
def test_foreign_folder_is_refused_and_left_untouched(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="not an outlayer report"):
        build_report(tmp_path, quick=True)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_cli_refuses_foreign_folder_with_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("keep")
    assert main(["report", "--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an outlayer report" in err and str(tmp_path) in err


def _exit_code(argv: list[str]) -> int:
    """main()'s status, also when argparse itself exits (a value of the wrong type)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0"], "argument --seeds: expected a positive integer, got '0'"),
        (["--seeds", "many"], "argument --seeds: expected a positive integer, got 'many'"),
        (["--dataset", "no-such-set"], "unknown dataset 'no-such-set'"),
        (["--dataset", "missing.csv"], "'missing.csv' does not exist"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = _exit_code(["report", "--quick", "--out", str(tmp_path / "r"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "r").exists()


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "report"
    target.write_text("a file")
    with pytest.raises(ValueError, match="is not a folder"):
        check_target(target)


def _previous_report(quick_report: dict[str, Any], tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "report"
    shutil.copytree(quick_report["out"], out)
    return out, {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize("error", [RuntimeError("lab crashed"), KeyboardInterrupt()])
def test_failed_run_leaves_previous_report_intact(quick_report: dict[str, Any], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    out, before = _previous_report(quick_report, tmp_path)

    def crash(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr("outlayer.report.run_jobs", crash)
    with pytest.raises(type(error)):
        build_report(out, quick=True, workers=1)
    after = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # the temporary folder is gone


def test_failure_after_everything_is_written_still_moves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with staged_folder(out, "marker\n") as stage:
        (stage / "index.html").write_text("old")
    with pytest.raises(RuntimeError, match="late"), staged_folder(out, "marker\n") as stage:
        (stage / "index.html").write_text("new")
        raise RuntimeError("late")
    assert (out / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_failed_swap_restores_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report"
    with staged_folder(out, "marker\n") as stage:
        (stage / "index.html").write_text("old")
    real_rename = os.rename

    def rename(src: Any, dst: Any) -> None:
        if Path(dst) == out and ".new-" in Path(src).name:  # the new report's move into place fails
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr("outlayer.report._write.os.rename", rename)
    with pytest.raises(OSError, match="disk full"), staged_folder(out, "marker\n") as stage:
        (stage / "index.html").write_text("new")
    assert (out / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_successful_run_replaces_previous_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with staged_folder(out, "marker\n") as stage:
        (stage / "old.txt").write_text("old")
    with staged_folder(out, "marker\n") as stage:
        (stage / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # an ordinary folder, not mkdtemp's private 0700


def test_current_folder_can_be_the_report_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    with staged_folder(Path("."), "marker\n") as stage:
        (stage / "index.html").write_text("page")
    assert (tmp_path / "here" / "index.html").read_text() == "page"
    assert [p.name for p in tmp_path.iterdir()] == ["here"]


# ------------------------------------------------------------------------------------- helpers
def test_numbers_tag_each_value_with_its_data_path() -> None:
    numbers = Numbers("loss", {"worked": {"probabilities": [0.6590011388859679, -1e-9]}})
    assert numbers("worked/probabilities/0", ".3f") == (
        '<span class="num" data-key="loss:worked/probabilities/0" data-value="0.6590011388859679">0.659</span>'
    )
    assert ">0.000<" in numbers("worked/probabilities/1", ".3f")  # never "-0.000"
    with pytest.raises(KeyError, match="no item '5' in data path 'worked/probabilities/5'"):
        numbers("worked/probabilities/5")


def _refuse_constant(name: str) -> None:
    raise AssertionError(f"invalid JSON constant {name}")


def test_write_data_writes_nan_as_null_with_a_note_and_normalises_numpy(tmp_path: Path) -> None:
    json_path, csv_path = write_data(tmp_path, "x", {"a": np.float64(0.5), "b": np.arange(2)})
    assert json.loads(json_path.read_text()) == {"a": 0.5, "b": [0, 1]}
    json_path, csv_path = write_data(tmp_path, "bad", {"a": float("nan"), "b": [1.0, float("-inf")]})
    written = json.loads(json_path.read_text(), parse_constant=_refuse_constant)
    assert written["a"] is None and written["b"] == [1.0, None]
    assert written["nonfinite"]["paths"] == {"a": "nan", "b/1": "-inf"}
    rows = dict(csv.reader(csv_path.open()))
    assert rows["a"] == "null" and rows["nonfinite/paths/b/1"] == "'-inf"  # a text cell starting with "-"


@pytest.mark.parametrize(("cell", "written"), [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+1+1", "'+1+1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("-x", "'-x"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("-inf", "'-inf"), ("-1_000", "'-1_000"),
    ("-0.5", "-0.5"), ("+3", "+3"), ("-1e-09", "-1e-09"), ("cat", "cat"), ("", ""), ("1=1", "1=1"),
])
def test_spreadsheet_safe_quotes_formulas_and_keeps_numbers(cell: str, written: str) -> None:
    assert spreadsheet_safe(cell) == written


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"mean": 0.9, "ci95": [0.85, 0.95]}, {"mean": 0.5, "ci95": [0.4, 0.6]}, "rel.clearly_above"),
        ({"mean": 0.5, "ci95": [0.4, 0.6]}, {"mean": 0.9, "ci95": [0.85, 0.95]}, "rel.clearly_below"),
        ({"mean": 0.6, "ci95": [0.4, 0.8]}, {"mean": 0.7, "ci95": [0.55, 0.85]}, "rel.within"),
        ({"mean": 0.6, "ci95": None}, {"mean": 0.7, "ci95": None}, "rel.below_one_seed"),
        ({"mean": None, "ci95": None}, {"mean": 0.7, "ci95": None}, "rel.not_comparable"),
    ],
)
def test_relation_words_follow_the_intervals(a: dict[str, Any], b: dict[str, Any], expected: str) -> None:
    assert relation_key(a, b) == expected


@pytest.mark.parametrize(
    ("paired", "expected"),
    [
        ({"mean": 0.05, "t_ci95": [0.01, 0.09], "bootstrap_ci95": [0.02, 0.08]}, "rel.clearly_above"),
        ({"mean": -0.05, "t_ci95": [-0.09, -0.01], "bootstrap_ci95": [-0.08, -0.02]}, "rel.clearly_below"),
        # the t interval excludes 0 but the bootstrap does not: no claim
        ({"mean": 0.05, "t_ci95": [0.01, 0.09], "bootstrap_ci95": [-0.01, 0.08]}, "rel.within"),
        ({"mean": 0.05, "t_ci95": [0.01, 0.09], "bootstrap_ci95": [0.02, 0.08], "flip": True}, "rel.clearly_below"),
        ({"mean": 0.05, "t_ci95": None, "bootstrap_ci95": None}, "rel.above_one_seed"),
    ],
)
def test_relation_words_follow_the_paired_interval_not_the_overlap(paired: dict[str, Any], expected: str) -> None:
    # unpaired, these two would overlap widely; the paired difference decides
    a, b = {"mean": 0.80, "ci95": [0.70, 0.90]}, {"mean": 0.75, "ci95": [0.65, 0.85]}
    assert relation_key(a, b, paired) == expected


# ---------------------------------------------------------------------------- the lab sections
def test_report_plan_uses_compare_defaults_which_are_the_tuned_rates_budget() -> None:
    from outlayer.config import CompareConfig, SurfaceConfig
    from outlayer.experiments import default_lr_table
    from outlayer.report._jobs import make_plan

    plan = make_plan("digits", None, quick=False)
    assert plan.seeds == CompareConfig().seeds == 10
    assert plan.epochs == CompareConfig().epochs == default_lr_table()["procedure"]["epochs"]
    quick = make_plan("digits", None, quick=True)
    assert (quick.seeds, quick.epochs) == (CompareConfig.QUICK["seeds"], CompareConfig.QUICK["epochs"])
    assert quick.surface_options == SurfaceConfig.QUICK


def test_training_sentences_use_the_words_the_paired_intervals_support(quick_report: dict[str, Any]) -> None:
    training = _data(quick_report, "training")
    page = html.unescape(re.sub(r"<[^>]+>", "", quick_report["index"].read_text(encoding="utf-8")))
    for cell in ("confident-sgd", "gentle-sgd", "confident-adam"):
        data = training["cells"][cell]
        entry = data["paired"]["ce - mse"]["test_accuracy"]
        key = relation_key(data["summary"]["mse"]["test_accuracy"], data["summary"]["ce"]["test_accuracy"],
                           {**entry, "flip": True})
        # the clause the paired interval supports, in both languages ("MSE is clearly below CE", "均方误差明显低于交叉熵")
        for lang in ("en", "zh"):
            assert T(key, a=T("short.mse"), b=T("short.ce")).plain(lang) in page, (cell, lang)
    assert "within the seed-to-seed spread" not in page


def test_surface_section_never_counts_an_unreachable_goal(quick_report: dict[str, Any]) -> None:
    surface = _data(quick_report, "surface")
    square = surface["losses"]["mse-logits"]
    assert square["goal_reachable"] is False and square["steps_to_p90"] is None
    assert all(path["steps_to_p90"] is None for path in square["paths"].values())
    text = quick_report["index"].read_text(encoding="utf-8")
    section = text[text.index('<section id="surface">'):text.index("</section>", text.index('<section id="surface">'))]
    keys = {key for keys in re.findall(r'data-msg="([^"]+)"', section) for key in keys.split()}
    assert {"surface.unreachable", "surface.cell_unreachable"} <= keys
    held = "<msub><mi>z</mi><mn>3</mn></msub><mo>=</mo><mrow><mo>−</mo><mi>∞</mi></mrow>"
    assert held in section  # the held-out logit, 1-based and in the page's notation (z, not y)


def test_adam_measurement_on_the_page_is_the_librarys(quick_report: dict[str, Any]) -> None:
    from outlayer import probes
    from outlayer.config import CompareConfig

    probe = _data(quick_report, "training")["probe"]
    again = probes.network_start(probe["network"][0]["seed"], CompareConfig(init="confident", optimizer="adam"))
    assert again["losses"] == probe["network"][0]["losses"]
    toy = probe["toy"]["losses"]["mse"]
    g, eps = np.array(toy["abs_grad"]), probe["toy"]["eps"]
    np.testing.assert_allclose(toy["adam_step_over_lr"], g / (g + eps), rtol=1e-6)
    assert probe["uniform_start"]["ratio_mse_ce"] == pytest.approx(2 / probe["uniform_start"]["num_classes"])
