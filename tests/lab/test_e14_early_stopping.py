"""Experiment 14: early stopping at the dev-cost minimum (fast preset)."""

import pytest

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["early_stopping"]("fast", tmp_path_factory.mktemp("e14"))


def test_dev_cost_turns_up_while_training_cost_keeps_falling(result):
    n = result.numbers
    assert n["dev_cost_minimum_epoch"] < n["epochs"] - 20
    assert n["dev_cost_at_end"] > 1.5 * n["dev_cost_at_minimum"]
    assert n["train_cost_at_end"] < n["train_cost_at_minimum"]


def test_the_stopped_model_does_better_on_the_dev_set_after_far_fewer_epochs(result):
    n = result.numbers
    assert n["restored_model_dev_cost"] < n["dev_cost_at_end"] / 1.5
    assert n["dev_accuracy_early_stopped"] >= n["dev_accuracy_trained_to_end"]
    assert n["early_stopping_stopped_after"] < n["epochs"] / 2


def test_early_stopping_restores_the_minimum_after_its_patience(result):
    n = result.numbers
    assert n["restored_model_dev_cost"] == pytest.approx(n["dev_cost_at_minimum"], abs=1e-4)
    assert n["early_stopping_stopped_after"] <= n["dev_cost_minimum_epoch"] + 20  # patience
    assert result.verdict is True


def test_figure_is_a_png(result):
    assert result.figures[0].read_bytes()[:8] == PNG
