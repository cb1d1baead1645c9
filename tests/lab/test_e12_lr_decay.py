"""Experiment 12: learning-rate decay ends closer to the minimum (fast preset)."""

import pytest

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["lr_decay"]("fast", tmp_path_factory.mktemp("e12"))


def test_every_decay_schedule_ends_closer_to_the_minimum_than_a_constant_rate(result):
    schedules = result.numbers["schedules"]
    constant = schedules["constant alpha0"]["mean_excess_cost_last_5_epochs"]
    for label, row in schedules.items():
        if label != "constant alpha0":
            assert row["mean_excess_cost_last_5_epochs"] < constant / 2, label
            assert row["final_lr"] < schedules["constant alpha0"]["final_lr"]
    assert result.verdict is True


def test_figure_is_a_png(result):
    assert [p.name for p in result.figures] == ["lr_decay.png"]
    assert result.figures[0].read_bytes()[:8] == PNG
