"""Every figure of the lab and the report follows the conventions of :mod:`outlayer.plots`: no text cut
off, no text under 10 pt (and no mathtext, whose scripts are smaller), no legend over data, no
annotation in a data colour, panels that fit a phone column, labels without sentences, SVG and PNG
for every figure, byte-identical files for the same data.

The checker itself (:func:`outlayer.plots._layout.layout_problems`) is tested first on figures
broken on purpose, so that its silence on the real figures means something.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from outlayer import plots
from outlayer.plots import (
    ANNOTATION_COLOR,
    LOSS_COLORS,
    PANEL_WIDTH,
    TEXT_PT,
    new_figure,
    save_figures,
)
from outlayer.plots._layout import drawn_texts, layout_problems

#: Words a label may hold: the lecture's own technical terms (its slides are in English) and symbols;
#: anything else English in a figure is a sentence the Chinese page could not translate.
ALLOWED_WORDS = {"epoch", "step", "lr", "seed", "accuracy", "confidence", "validation", "train", "test", "logit",
                 "scale", "momentum", "adam", "gd", "sgd", "ce", "mse", "ls", "nll", "ece", "scalar", "ln", "min",
                 "gentle", "confident", "steps", "to", "share", "e"}


# --------------------------------------------------------------------------- the checker can fail
def _line_figure() -> Any:
    fig = new_figure()
    ax = fig.subplots()
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50), color=LOSS_COLORS["ce"], label="CE")
    return fig, ax


def test_checker_finds_text_cut_off_by_the_edge() -> None:
    fig, _ = _line_figure()
    fig.text(0.98, 0.5, "far too long a label for the edge")
    assert any("cut off by the figure's edge" in p for p in layout_problems(fig))


def test_checker_finds_text_below_10_pt_and_mathtext() -> None:
    fig, ax = _line_figure()
    ax.set_xlabel("tiny", fontsize=7)
    ax.set_ylabel("$z_1$")
    problems = layout_problems(fig)
    assert any("'tiny' is 7 pt, below 10 pt" in p for p in problems)
    assert any("mathtext" in p for p in problems)


def test_checker_finds_two_texts_drawn_over_each_other() -> None:
    fig, ax = _line_figure()
    ax.annotate("4c", (0.5, 0.5), color=ANNOTATION_COLOR)
    ax.annotate("1c", (0.5, 0.5), color=ANNOTATION_COLOR)
    assert any("text '4c' overlaps text '1c'" in p for p in layout_problems(fig))


def test_checker_finds_a_legend_over_a_line_and_over_a_map() -> None:
    fig, ax = _line_figure()
    ax.legend(loc="center")
    assert any("covers the line 'CE'" in p for p in layout_problems(fig))
    fig = new_figure()
    ax = fig.subplots()
    ax.imshow(np.eye(4))
    ax.plot([0, 1], [0, 1], label="x")
    ax.legend(loc="lower left")
    assert any("covers a map" in p for p in layout_problems(fig))
    fig, ax = _line_figure()
    ax.legend(loc="upper left")  # the rising line never enters the top left corner
    assert layout_problems(fig) == []


def test_checker_finds_an_annotation_in_a_data_colour() -> None:
    fig, ax = _line_figure()
    ax.annotate("here", xy=(0.5, 0.5), xytext=(0.2, 0.8), arrowprops={"color": LOSS_COLORS["ce"]})
    assert any("data colour" in p for p in layout_problems(fig))
    fig, ax = _line_figure()
    ax.annotate("here", xy=(0.5, 0.5), xytext=(0.2, 0.8), color=ANNOTATION_COLOR,
                arrowprops={"color": ANNOTATION_COLOR})
    assert layout_problems(fig) == []


# ----------------------------------------------------------------------------- every real figure
def _collect(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Make :func:`outlayer.plots.save_figure` record each figure's problems and size before saving."""
    seen: dict[str, Any] = {}
    original = plots.save_figure

    def recording(fig: Any, out_dir: Any, stem: str, *args: Any, **kwargs: Any) -> Any:
        seen[stem] = {"problems": layout_problems(fig), "size": tuple(fig.get_size_inches()),
                      "texts": [artist.get_text() for artist, *_ in drawn_texts(fig)[0]]}
        return original(fig, out_dir, stem, *args, **kwargs)

    monkeypatch.setattr(plots, "save_figure", recording)
    return seen


def _assert_conventions(seen: dict[str, Any]) -> None:
    assert seen
    assert {stem: entry["problems"] for stem, entry in seen.items() if entry["problems"]} == {}
    # one panel wide: fits a 360 px phone column at 10 px text (<= PANEL_WIDTH inches at TEXT_PT)
    assert {stem: entry["size"] for stem, entry in seen.items() if entry["size"][0] > PANEL_WIDTH + 1e-9} == {}
    for stem, entry in seen.items():
        words = {w.lower() for text in entry["texts"] for w in re.findall(r"[A-Za-z]{2,}", text)}
        assert words <= ALLOWED_WORDS, (stem, sorted(words - ALLOWED_WORDS))


def test_every_surface_figure_follows_the_conventions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from outlayer import surface

    seen = _collect(monkeypatch)
    result = surface.run(out_dir=str(tmp_path), resolution=41, steps=60, map_resolution=11)
    _assert_conventions(seen)
    assert len(seen) == 23  # 7 figures: 4 losses x 4 maps, 3 optimisers, 2 + 2 cuts
    # every panel as SVG and PNG, each listed
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == sorted(result["figures"].values())
    assert {Path(f).stem for f in files if f.endswith(".svg")} == {Path(f).stem for f in files if f.endswith(".png")}


def test_every_report_figure_follows_the_conventions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     quick_report: dict[str, Any]) -> None:
    """The report's training, beyond, Adam and tuning figures, redrawn from the quick report's data
    files, and its worked-example figures, through the same :func:`save_figures`."""
    from outlayer.experiments import default_lr_table
    from outlayer.explain import explain
    from outlayer.plots import training
    from outlayer.report import _figures
    from outlayer.report._jobs import EXPLAIN_CALLS, TEMPERATURES, TUNING_PANELS

    data = {name: json.loads((quick_report["out"] / "data" / f"{name}.json").read_text())
            for name in ("labels", "training", "beyond")}
    seen = _collect(monkeypatch)
    explained = {name: explain(**kwargs) for name, kwargs in EXPLAIN_CALLS.items()}
    table = default_lr_table()
    built = {
        "report_temperature": _figures.temperature_figure([explained[f"explain-T{t:g}"] for t in TEMPERATURES]),
        "report_gradients": _figures.gradients_figure([explained["explain"], explained["explain-rabbit"]]),
        "labels_accuracy": training.accuracy_figure(data["labels"]["dataset"]),
        "training_accuracy": training.accuracy_figure(data["training"]["cells"]["confident-sgd"]),
        "training_gradients": training.gradient_figure(data["training"]["cells"]["confident-sgd"]),
        "beyond_reliability": training.reliability_figure(data["beyond"]),
        "beyond_learning_curves": training.learning_curves_figure(data["beyond"]),
        "adam_first_step": training.adam_first_step_figure(data["training"]["probe"]),
        "lr_tuning": training.lr_tuning_figure({f"{init}-{opt}": table["tables"][opt][init] for init, opt in TUNING_PANELS}),
    }
    written = save_figures(built, tmp_path)
    _assert_conventions(seen)
    assert written["lr_tuning"] == "lr_tuning-gentle-sgd.png"  # panels named by start and optimiser
    assert list(built["report_gradients"]) == ["cat", "rabbit"]


def test_the_page_shows_every_report_figure_as_svg(quick_report: dict[str, Any]) -> None:
    folder = quick_report["out"] / "figures"
    svg = {p.stem for p in folder.glob("*.svg")}
    png = {p.stem for p in folder.glob("*.png")}
    assert svg == png and len(svg) >= 40  # every panel of every figure in both formats
    page = quick_report["index"].read_text(encoding="utf-8")
    shown = re.findall(r'<img src="figures/([^"]+)"', page)
    assert shown and all(name.endswith(".svg") for name in shown)


def test_the_same_data_give_byte_identical_files(tmp_path: Path) -> None:
    from outlayer import surface
    from outlayer.explain import explain
    from outlayer.plots import surface as surface_figures
    from outlayer.report import _figures

    grids = {name: surface.evaluate_grid(name, resolution=21) for name in ("ce", "mse")}
    for run in ("one", "two"):
        figures = {"temperature": _figures.temperature_figure([explain(temperature=t) for t in (0.5, 1.0)]),
                   "maps": surface_figures.gradient_heatmaps_figure(grids, (-10.0, 10.0))}  # a raster inside the SVG
        save_figures(figures, tmp_path / run)
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names and names == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    svg = (tmp_path / "one" / "maps-mse.svg").read_text()
    assert "<dc:date>" not in svg and 'image-rendering:pixelated' in svg  # no date; the map is a small image


def test_text_sizes_are_read_from_the_svg_the_way_the_page_reads_them(tmp_path: Path) -> None:
    """A panel's smallest text, as the page measures it from the SVG, is TEXT_PT: so it shows at 10 px
    from 332 px up (text of s pt at display width D is s * D / (72 * 4.6) px)."""
    from outlayer import surface
    from outlayer.plots import surface as surface_figures
    from outlayer.report._page import measure_figure

    fig = surface_figures.progress_figure({"ce": {"sgd": surface.descent_path("ce", steps=20)}})
    save_figures({"progress": fig}, tmp_path)
    size = measure_figure(tmp_path / "progress-sgd.svg")
    assert size.min_text_pt == pytest.approx(TEXT_PT)
    assert size.width_px == pytest.approx(PANEL_WIDTH * 96) and size.min_display_px() <= 334


def test_power_of_ten_labels_use_unicode_superscripts() -> None:
    assert [plots.power_of_ten(v) for v in (1e-8, 1.0, 10.0, 100.0, 0.5, 0.0)] == ["10⁻⁸", "1", "10", "10²", "0.5", ""]
    assert plots.subscript(12) == "₁₂"
