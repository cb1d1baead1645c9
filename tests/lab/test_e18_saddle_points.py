"""Experiment 18: GD lingers at a saddle, momentum and Adam get through (fast preset)."""

import pytest

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["saddle_points"]("fast", tmp_path_factory.mktemp("e18"))


def test_momentum_and_adam_escape_at_least_twice_as_fast(result):
    runs = result.numbers["runs"]
    gd = runs["gradient descent"]["steps_to_escape"]
    for label in ("momentum (beta 0.9)", "Adam"):
        escaped = runs[label]["steps_to_escape"]
        assert escaped is not None
        assert gd is None or 2 * escaped <= gd
    assert result.verdict is True


def test_all_end_near_a_minimum(result):
    for run in result.numbers["runs"].values():
        assert run["final_cost"] == pytest.approx(-0.25, abs=0.01)


def test_figure_is_a_png(result):
    assert result.figures[0].read_bytes()[:8] == PNG
