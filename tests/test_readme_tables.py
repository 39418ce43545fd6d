"""The README's lab tables are what their commands print today: recomputed here, compared verbatim.

Each table sits between ``<!-- lab-table NAME -->`` markers and names the command that computes
it; :mod:`outlayer.lab_tables` runs those commands (the four ``outlayer compare`` runs are shared
by the training and paired tables) and renders them. When the code changes a number, this test
fails until ``PYTHONPATH=src python benchmarks/bench_compare.py readme --write`` is run again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from outlayer import lab_tables

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_has_every_generated_table_once() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = lab_tables.read_blocks(text)
    assert set(blocks) == set(lab_tables.BLOCKS)
    for name in lab_tables.BLOCKS:
        assert text.count(f"<!-- lab-table {name} -->") == 1


def test_replacing_blocks_keeps_everything_else_and_refuses_a_missing_marker() -> None:
    text = "intro\n<!-- lab-table rates -->\nold\n<!-- /lab-table rates -->\noutro\n"
    assert lab_tables.replace_blocks(text, {"rates": "new\n"}) == (
        "intro\n<!-- lab-table rates -->\nnew\n<!-- /lab-table rates -->\noutro\n")
    with pytest.raises(ValueError, match="lab-table surface"):
        lab_tables.replace_blocks(text, {"surface": "x\n"})


def test_the_default_rates_table_matches_the_stored_rates() -> None:
    """Cheap: the rates table is read from default_lr.json (tests/test_experiments.py checks that file)."""
    assert lab_tables.read_blocks(README.read_text(encoding="utf-8"))["rates"] == lab_tables.rates_block()


@pytest.mark.slow
def test_readme_lab_tables_are_what_their_commands_compute_today(lab_training_runs) -> None:
    """About a minute of one core: the four `outlayer compare` runs (5 losses x 10 seeds x 20 epochs,
    shared with tests/test_experiments.py through the session fixture), the surface lab and the Adam
    measurement."""
    readme = lab_tables.read_blocks(README.read_text(encoding="utf-8"))
    computed = {
        "training": lab_tables.training_block(lab_training_runs),
        "paired": lab_tables.paired_block(lab_training_runs),
        **lab_tables.compute_blocks(("surface", "adam")),
    }
    assert set(computed) | {"rates"} == set(lab_tables.BLOCKS)
    for name, block in computed.items():
        assert readme[name] == block, (
            f"README's '{name}' table is stale: run PYTHONPATH=src python benchmarks/bench_compare.py readme --write")
