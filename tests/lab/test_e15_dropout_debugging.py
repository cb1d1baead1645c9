"""Experiment 15: dropout off gives a monotone cost, dropout on a noisy one (fast preset)."""

import pytest

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["dropout_debugging"]("fast", tmp_path_factory.mktemp("e15"))


def test_keep_prob_one_gives_a_monotone_cost(result):
    plain = result.numbers["keep_prob_1"]
    assert plain["steps_where_cost_rose"] == 0
    assert plain["last_cost"] < plain["first_cost"]


def test_dropout_gives_a_noisy_cost(result):
    dropped = result.numbers["keep_prob_0.5"]
    assert dropped["fraction_of_steps_where_cost_rose"] > 0.2
    assert dropped["largest_rise"] > 0
    assert result.verdict is True


def test_figure_is_a_png(result):
    assert result.figures[0].read_bytes()[:8] == PNG
