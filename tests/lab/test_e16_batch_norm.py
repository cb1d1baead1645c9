"""Experiment 16: batch normalization speeds up a deep network (fast preset)."""

import numpy as np
import pytest

import chainrule.lab.e16_batch_norm as e16
from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["batch_norm"]("fast", tmp_path_factory.mktemp("e16"))


def test_batch_norm_reaches_a_low_cost_much_sooner(result):
    plain, normed = result.numbers["without_batch_norm"], result.numbers["with_batch_norm"]
    assert normed["epochs_to_cost_below_threshold"] <= e16.FEW_EPOCHS
    assert plain["lowest_cost"] > e16.BARELY * plain["first_epoch_cost"]  # barely moves
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


def _with_cost(monkeypatch, batch_norm: bool, cost):
    """Run the experiment with the training-cost curve of one of the two nets replaced."""
    train = e16._train

    def replaced(X, y, bn, epochs):
        model, real = train(X, y, bn, epochs)
        return model, (cost(epochs) if bn == batch_norm else real)

    monkeypatch.setattr(e16, "_train", replaced)


def test_a_plain_net_whose_cost_falls_is_not_one_that_barely_moves(tmp_path, monkeypatch):
    # from ln 2 down to 0.5: never below the threshold, yet far more than "barely moving"
    _with_cost(monkeypatch, False, lambda epochs: np.linspace(0.7, 0.5, epochs))
    result = EXPERIMENTS["batch_norm"]("fast", tmp_path)
    assert not result.verdict
    assert result.numbers["without_batch_norm"]["epochs_to_cost_below_threshold"] is None


def test_batch_norm_reaching_the_threshold_late_is_not_within_a_few_epochs(tmp_path, monkeypatch):
    _with_cost(monkeypatch, True, lambda epochs: np.linspace(0.7, 0.2, epochs))
    result = EXPERIMENTS["batch_norm"]("fast", tmp_path)
    assert not result.verdict
    assert result.numbers["with_batch_norm"]["epochs_to_cost_below_threshold"] > e16.FEW_EPOCHS
