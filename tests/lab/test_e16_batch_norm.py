"""Experiment 16: batch normalization speeds up a deep network (fast preset)."""

import pytest

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["batch_norm"]("fast", tmp_path_factory.mktemp("e16"))


def test_batch_norm_reaches_a_low_cost_much_sooner(result):
    plain, normed = result.numbers["without_batch_norm"], result.numbers["with_batch_norm"]
    assert normed["epochs_to_cost_below_threshold"] is not None
    assert normed["final_cost"] < plain["final_cost"]
    assert plain["epochs_to_cost_below_threshold"] is None or (
        2 * normed["epochs_to_cost_below_threshold"] <= plain["epochs_to_cost_below_threshold"]
    )


def test_batch_norm_fits_clearly_better(result):
    plain, normed = result.numbers["without_batch_norm"], result.numbers["with_batch_norm"]
    assert normed["train_accuracy"] > plain["train_accuracy"] + 0.1
    assert result.verdict is True


def test_figure_is_a_png(result):
    assert result.figures[0].read_bytes()[:8] == PNG
