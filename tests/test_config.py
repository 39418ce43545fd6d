"""outlayer.config and outlayer.catalogue: one place for defaults, choices and loss names, read by all."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import fields

import pytest

from outlayer.catalogue import CATALOGUE, LAB_LOSSES, PLANE_LOSSES, loss_info
from outlayer.config import CompareConfig, SurfaceConfig, settings_of


def _parser(module: str) -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser()
    importlib.import_module(module).configure(parser)
    return parser


def test_catalogue_is_the_one_list_of_losses_every_part_reads() -> None:
    from outlayer.losses import LOSS_NAMES
    from outlayer.nets import HEAD_NAMES
    from outlayer.plots import FIGURE_NAMES, LOSS_COLORS
    from outlayer.report._i18n import MESSAGES

    assert HEAD_NAMES == LAB_LOSSES and set(PLANE_LOSSES) == set(LOSS_NAMES)
    assert LOSS_COLORS == {name: entry.colour for name, entry in CATALOGUE.items()}
    # the page names every loss in both languages, and every figure by one short language-neutral name
    assert {name: MESSAGES[f"lossname.{name}"]["en"] for name in CATALOGUE} == {
        name: entry.label for name, entry in CATALOGUE.items()}
    assert set(FIGURE_NAMES) == set(CATALOGUE) and len(set(FIGURE_NAMES.values())) == len(FIGURE_NAMES)
    assert len(set(LOSS_COLORS.values())) == len(LOSS_COLORS)  # a reader tells the losses apart by colour
    for name in PLANE_LOSSES:  # the descriptions are the core's own
        from outlayer.losses import get_loss

        assert loss_info(name).description == get_loss(CATALOGUE[name].core).description
    assert loss_info("scalar").description and not loss_info("scalar").has_probabilities
    with pytest.raises(ValueError, match="unknown loss 'hinge'; choose from ce, mse"):
        loss_info("hinge")


def test_heads_accept_exactly_the_catalogues_options() -> None:
    from outlayer.nets import make_head

    for name, entry in CATALOGUE.items():
        make_head(name, 3, **{option.name: option.default for option in entry.options})
        others = {o.name for e in CATALOGUE.values() for o in e.options} - set(entry.option_names)
        for option in others:
            with pytest.raises(ValueError, match=option):
                make_head(name, 3, **{option: 1.0})


def test_square_loss_on_logits_is_the_only_separable_loss_and_the_core_agrees() -> None:
    """Separable: L(row) minus L(row without a fixed class) does not depend on the other logits."""
    import numpy as np

    from outlayer.losses import get_loss

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(50, 4))
    target = np.zeros(50, dtype=np.int64)
    for name in PLANE_LOSSES:
        loss = get_loss(CATALOGUE[name].core).value
        part = loss(rows, target, reduction="none") - loss(rows[:, :3], target, reduction="none")
        separable = bool(np.allclose(part, rows[:, 3] ** 2, rtol=1e-12, atol=1e-12))
        assert separable == CATALOGUE[name].separable, name


def test_compare_command_line_reads_its_defaults_and_choices_from_compare_config() -> None:
    parser = _parser("outlayer._cli.compare")
    defaults, args = CompareConfig(), parser.parse_args([])
    for field in ("dataset", "init", "optimizer", "seeds", "epochs", "activation", "batch_size", "target_accuracy",
                  "split_seed", "split_seeds"):
        assert getattr(args, field) == getattr(defaults, field), field
    assert tuple(args.losses) == defaults.losses and tuple(args.hidden) == defaults.hidden
    choices = {action.dest: action.choices for action in parser._actions if action.choices}
    for field, allowed in CompareConfig.CHOICES.items():
        assert tuple(choices[field]) == allowed, field
    assert parser.parse_args(["--no-split-seeds"]).split_seeds is False


def test_surface_command_line_reads_its_defaults_from_surface_config() -> None:
    args, defaults = _parser("outlayer._cli.surface").parse_args([]), SurfaceConfig()
    # the command line numbers classes from 1 (as the page does); SurfaceConfig keeps 0-based indices
    assert (args.classes, args.target, tuple(args.swept), args.fixed) == (
        defaults.num_classes, defaults.target + 1, tuple(c + 1 for c in defaults.swept), [defaults.fixed])
    assert (args.resolution, args.lr, args.steps, args.goal) == (defaults.resolution, defaults.lr, defaults.steps,
                                                                  defaults.goal)
    assert math.isinf(defaults.fixed) and defaults.fixed < 0  # the lecture's y3 -> -inf, held out


def test_settings_are_asdict_of_the_config_and_json_able() -> None:
    for config in (CompareConfig(), SurfaceConfig()):
        settings = settings_of(config)
        assert set(settings) == {f.name for f in fields(config)}
        json.dumps(settings, allow_nan=False)
    assert settings_of(SurfaceConfig())["fixed"] == "-inf"


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: CompareConfig(seeds=0), "seeds must be an integer >= 1, got 0"),
        (lambda: CompareConfig(seeds=True), "seeds"),
        (lambda: CompareConfig(init="bold"), "unknown init 'bold'"),
        (lambda: CompareConfig(losses=()), "at least one"),
        (lambda: CompareConfig(hidden=(64, 0)), "hidden widths"),
        (lambda: CompareConfig(target_accuracy=0.0), "target_accuracy"),
        (lambda: CompareConfig(lr={"mse": 0.1}, losses=("ce",)), "'mse', which is not among"),
        (lambda: CompareConfig(lr=float("nan")), "learning rate for 'ce'"),
        (lambda: CompareConfig(lr_grid=()), "at least one learning rate"),
        (lambda: CompareConfig(tuning_seeds=(1, 1)), "distinct"),
        (lambda: CompareConfig(tune_lr=True, first_seed=98), "evaluation seed 100 is also a tuning seed"),
        (lambda: CompareConfig(label_smoothing=0.2), "'ce-smooth', which is not among"),
        (lambda: CompareConfig.from_options(colour="red"), "unknown option 'colour'"),
        (lambda: SurfaceConfig(goal=1.0), "goal must be a probability in (0, 1), got 1.0"),
        (lambda: SurfaceConfig(limits=(1, 1)), "limits"),
        (lambda: SurfaceConfig(losses=("scalar",)), "unknown loss 'scalar'"),
        (lambda: SurfaceConfig(sweep_lrs=(0.1, -1)), "sweep_lrs"),
    ],
)
def test_bad_settings_raise_one_line_naming_the_value(make, needle) -> None:
    with pytest.raises(ValueError) as info:
        make()
    assert needle in str(info.value) and "\n" not in str(info.value)
