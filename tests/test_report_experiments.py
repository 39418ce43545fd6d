"""The experiments' subsections of the report: present, sourced, their numbers those of the labs.

Uses the session's quick report (``quick_report`` in conftest.py); the page/data agreement of
every tagged number and the translation of every sentence are checked for the whole page by
tests/test_report.py and tests/test_report_i18n.py.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from outlayer.report._experiments import EXPERIMENT_JOBS, REPORT_SETTINGS
from outlayer.report._sections import relation_key

SUBSECTIONS = ("exp-neuron", "exp-sweep", "exp-calibration", "exp-pretrain", "exp-many-classes", "exp-priors")


def _beyond(report: dict[str, Any]) -> dict[str, Any]:
    return json.loads((report["out"] / "data" / "beyond.json").read_text())["experiments"]


def _section(report: dict[str, Any], key: str = "beyond") -> str:
    page = report["index"].read_text(encoding="utf-8")
    start = page.index(f'<section id="{key}">')
    return page[start:page.index("</section>", start)]


def _text(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def test_beyond_the_lecture_has_one_subsection_per_experiment_in_order(quick_report: dict[str, Any]) -> None:
    section = _section(quick_report)
    positions = [section.index(f'id="{key}"') for key in SUBSECTIONS]
    assert positions == sorted(positions)


def test_each_experiment_subsection_links_its_source_and_shows_its_figure(quick_report: dict[str, Any]) -> None:
    section = _section(quick_report)
    data = _beyond(quick_report)
    sources = {"exp-neuron": data["neuron"]["source"]["url"], "exp-sweep": data["sweep"]["source"]["url"],
               "exp-calibration": data["calibration"]["sources"]["guo2017"]["url"],
               "exp-pretrain": data["pretrain"]["gentle"]["source"]["url"],
               "exp-many-classes": data["many_classes"]["source"]["url"], "exp-priors": data["priors"]["source"]["url"]}
    for index, key in enumerate(SUBSECTIONS):
        start = section.index(f'id="{key}"')
        end = section.index(f'id="{SUBSECTIONS[index + 1]}"') if index + 1 < len(SUBSECTIONS) else len(section)
        part = section[start:end]
        assert f'href="{sources[key]}" rel="noreferrer"' in part, key
        assert "<img" in part, key


def test_every_experiment_figure_file_is_written(quick_report: dict[str, Any]) -> None:
    from outlayer.report._experiments import CELL_ANALYSES

    figures = quick_report["out"] / "figures"
    stems = [stem for _, _, by_stem, _ in EXPERIMENT_JOBS.values() for stem in by_stem]
    stems += [f"calibration_{cell}_reliability" for cell in CELL_ANALYSES] + [f"pretrain_{cell}_accuracy" for cell in CELL_ANALYSES]
    for stem in stems:  # one file, or one per panel (stem-panel), in both formats
        found = [p.name for p in figures.glob(f"{stem}*.svg") if p.stem == stem or p.stem.startswith(f"{stem}-")]
        assert found and all((figures / name).with_suffix(".png").is_file() for name in found), stem


def test_sweep_data_on_the_page_is_the_labs_run_at_the_reports_quick_settings(quick_report: dict[str, Any]) -> None:
    from outlayer.lab import sweep

    again = sweep.run(sweep.SweepConfig(**REPORT_SETTINGS["sweep"]["quick"]))
    points = _beyond(quick_report)["sweep"]["points"]
    for row in again["rows"]:
        shown = points[row["optimizer"]][row["loss"]][format(row["logit_std"], "g")]
        assert shown["test_accuracy"] == row["test_accuracy"] and shown["lr"] == row["lr"]
    assert _beyond(quick_report)["sweep"]["lecture_corner_p_target"] == again["lecture_corner_p_target"]


def test_neuron_numbers_on_the_page_are_those_of_outlayer_neuron(quick_report: dict[str, Any]) -> None:
    from outlayer.neuron import run

    result = run()
    assert _beyond(quick_report)["neuron"]["equal_rate"] == result["equal_rate"]
    text = _text(_section(quick_report))
    two = result["equal_rate"][1]["epochs_to_output_below"]["0.5"]
    assert f"needs {two['quadratic']} epochs" in text and f"cross-entropy {two['cross-entropy']}" in text


def test_experiment_sentences_use_the_words_the_paired_intervals_support(quick_report: dict[str, Any]) -> None:
    from outlayer.report._i18n import T
    from outlayer.report._sections import relation_msg

    data = _beyond(quick_report)
    text = _text(_section(quick_report))
    for init, entry in data["pretrain"].items():
        arms, paired = entry["losses"]["mse"]["arms"], entry["losses"]["mse"]["paired"]
        said = relation_msg(arms["pretrained"]["test_accuracy"], arms["scratch"]["test_accuracy"],
                            T("exp.pretrain.arm_pretrained", loss="mse"), T("exp.pretrain.arm_scratch", loss="mse"),
                            paired["pretrained - scratch"]["test_accuracy"])
        assert said.plain("en") in text, init
        assert said.key == relation_key(arms["pretrained"]["test_accuracy"], arms["scratch"]["test_accuracy"],
                                        paired["pretrained - scratch"]["test_accuracy"])
    for name, cell in data["calibration"]["cells"].items():
        if name not in data["calibration"]["smoothing"]:
            continue
        said = relation_msg(cell["summary"]["ce-smooth"]["calibration"]["ece_before"],
                            cell["summary"]["ce"]["calibration"]["ece_before"], T("exp.calib.smooth_name"),
                            T("exp.calib.ce_name"), {**data["calibration"]["smoothing"][name], "flip": True})
        assert said.plain("en") in text, name


@pytest.mark.parametrize("quick", [False, True])
def test_report_plan_states_each_experiments_seeds(quick: bool) -> None:
    from outlayer.report._experiments import experiment_jobs
    from outlayer.report._jobs import make_plan

    jobs = {job.name: job for job in experiment_jobs(make_plan("digits", None, quick))}
    assert set(jobs) == {f"exp-{name}" for name in EXPERIMENT_JOBS}
    mode = "quick" if quick else "default"
    for name in EXPERIMENT_JOBS:
        assert jobs[f"exp-{name}"].options["settings"] == REPORT_SETTINGS[name][mode]
