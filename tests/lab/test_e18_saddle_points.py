"""Experiment 18: GD lingers on a saddle's plateau, the longer the closer it starts; Adam
does not (fast preset)."""

import pytest

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["saddle_points"]("fast", tmp_path_factory.mktemp("e18"))


def test_gradient_descent_lingers_longer_the_closer_it_starts(result):
    gd = result.numbers["steps_to_escape"]["gradient descent"]
    assert None not in gd
    assert gd == sorted(gd) and len(set(gd)) == len(gd)
    assert gd[-1] >= 3 * gd[0]


def test_adam_keeps_its_pace_and_is_far_faster_close_to_the_saddle(result):
    escape = result.numbers["steps_to_escape"]
    adam, gd = escape["Adam"], escape["gradient descent"]
    assert None not in adam
    assert max(adam) <= 1.5 * min(adam)
    assert 5 * adam[-1] <= gd[-1]
    assert result.verdict is True


def test_the_notes_momentum_is_no_faster_than_gradient_descent_at_the_same_rate(result):
    escape = result.numbers["steps_to_escape"]
    momentum, gd = escape["momentum (beta 0.9)"], escape["gradient descent"]
    assert all(m is not None and m >= g for m, g in zip(momentum, gd, strict=True))


def test_all_end_near_a_minimum(result):
    for costs in result.numbers["final_cost"].values():
        for cost in costs:
            assert cost == pytest.approx(-0.25, abs=0.01)


def test_figure_is_a_png(result):
    assert result.figures[0].read_bytes()[:8] == PNG
