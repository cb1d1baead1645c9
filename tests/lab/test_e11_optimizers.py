"""Experiment 11: GD, momentum, RMSprop and Adam on a ravine and on two moons (fast preset)."""

import numpy as np
import pytest

from chainrule.lab import EXPERIMENTS
from chainrule.lab.e11_optimizers import LR_GRID, SHARED_LR

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["optimizers"]("fast", tmp_path_factory.mktemp("e11"))


def test_momentum_damps_the_zig_zag_at_the_same_rate(result):
    same = result.numbers["same_lr"]
    assert same["GD"]["sign_flips_in_b"] > 2 * same["Momentum"]["sign_flips_in_b"]
    assert same["Momentum"]["steep_direction_travel"] < same["GD"]["steep_direction_travel"] / 2


def test_every_adaptive_method_beats_gd_at_its_best_rate(result):
    ravine = result.numbers["ravine"]
    for name in ("Momentum", "RMSprop", "Adam"):
        assert ravine[name]["final_cost"] < ravine["GD"]["final_cost"] / 10


def test_adam_beats_plain_gd_on_moons(result):
    moons = result.numbers["moons"]
    assert moons["Adam"]["dev_accuracy"] > moons["GD"]["dev_accuracy"] + 0.03
    assert moons["Adam"]["final_train_cost"] < moons["GD"]["final_train_cost"]
    assert result.verdict is True


def test_figures_are_pngs(result):
    assert len(result.figures) == 2
    for path in result.figures:
        assert path.read_bytes()[:8] == PNG


def test_setup_states_the_rate_grid_as_it_is(result):
    """The setup called all 14 rates log-spaced: 13 are, and the shared rate is added to them."""
    log_spaced = [lr for lr in LR_GRID if lr != SHARED_LR]
    assert len(LR_GRID) == 14 and np.allclose(log_spaced, np.geomspace(0.002, 0.5, 13))
    assert ") of 14 rates: 13 log-spaced in [0.002, 0.5] and the shared rate 0.019;" in result.setup
