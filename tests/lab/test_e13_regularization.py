"""Experiment 13: L2 and dropout close the train-dev gap of an overfitting net (fast preset)."""

import pytest

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["regularization"]("fast", tmp_path_factory.mktemp("e13"))


def test_the_unregularized_net_overfits_and_is_read_as_high_variance(result):
    plain = result.numbers["variants"]["no regularization"]
    assert plain["train_accuracy"] > plain["dev_accuracy"] + 0.05
    assert plain["reading"].startswith("high variance")


def test_l2_and_dropout_shrink_the_gap_without_losing_dev_accuracy(result):
    rows = result.numbers["variants"]
    plain = rows["no regularization"]
    for label in ("L2, lambda = 0.5", "dropout, keep_prob = 0.6"):
        assert rows[label]["train_dev_gap"] < plain["train_dev_gap"] / 2, label
        assert rows[label]["dev_accuracy"] >= plain["dev_accuracy"], label
    assert 0.05 < result.numbers["bayes_error_estimate"] < 0.2
    assert result.verdict is True


def test_figure_is_a_png(result):
    assert result.figures[0].read_bytes()[:8] == PNG
