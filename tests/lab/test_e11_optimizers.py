"""Experiment 11: GD, momentum, RMSprop and Adam on a ravine and on two moons (fast preset)."""

import numpy as np
import pytest

import chainrule.lab.e11_optimizers as e11
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


def test_rmsprop_slows_the_steep_direction_and_speeds_up_the_shallow_one(result):
    ravine = result.numbers["ravine"]
    gd, rms = ravine["GD"], ravine["RMSprop"]
    # GD's effective rate is its learning rate along both coordinates
    assert gd["effective_rate_w"] == pytest.approx(gd["best_lr"])
    assert gd["effective_rate_b"] == pytest.approx(gd["best_lr"])
    assert rms["effective_rate_w"] > gd["effective_rate_w"]
    assert rms["effective_rate_b"] < gd["effective_rate_b"]


def test_adam_trains_faster_than_gd_each_at_its_best_rate(result):
    moons = result.numbers["moons"]
    for name in ("GD", "Adam"):
        assert set(moons[name]["best_lr"]) <= set(e11.MOONS_RATES)
        assert len(moons[name]["final_train_cost"]) == len(e11.MOONS_SEEDS["fast"])
    pairs = zip(moons["Adam"]["final_train_cost"], moons["GD"]["final_train_cost"], strict=True)
    assert all(adam < gd for adam, gd in pairs)
    assert result.verdict is True


def test_each_optimizer_on_moons_is_tuned_on_the_grid_by_final_training_cost(tmp_path, monkeypatch):
    """GD and Adam are each trained at every rate of the grid from every initialization,
    and the rate reported is the one with the lowest final training cost."""
    runs = []

    def recording_fit(model, loss, optimizer, X, y, **options):
        history = fit(model, loss, optimizer, X, y, **options)
        runs.append((type(optimizer).__name__, optimizer.lr, history.last["train_loss"]))
        return history

    fit = e11.fit
    monkeypatch.setattr(e11, "fit", recording_fit)
    monkeypatch.setitem(e11.MOONS_SEEDS, "fast", (1,))
    result = EXPERIMENTS["optimizers"]("fast", tmp_path)
    for name, cls in (("GD", "SGD"), ("Adam", "Adam")):
        tried = {lr: cost for kind, lr, cost in runs if kind == cls}
        assert sorted(tried) == sorted(e11.MOONS_RATES)
        best = min(tried, key=tried.get)
        assert result.numbers["moons"][name]["best_lr"] == [best]
        assert result.numbers["moons"][name]["final_train_cost"] == [tried[best]]


def test_a_tuned_gd_that_trains_further_than_adam_makes_the_verdict_false(tmp_path, monkeypatch):
    # GD's training cost divided by 10 after every run: tuned GD now ends below Adam
    def faster_gd(model, loss, optimizer, X, y, **options):
        history = fit(model, loss, optimizer, X, y, **options)
        if type(optimizer).__name__ == "SGD":
            for row in history.epochs:
                row["train_loss"] /= 10
        return history

    fit = e11.fit
    monkeypatch.setattr(e11, "fit", faster_gd)
    monkeypatch.setattr(e11, "MOONS_RATES", (0.03, 1.0))
    monkeypatch.setitem(e11.MOONS_SEEDS, "fast", (1,))
    result = EXPERIMENTS["optimizers"]("fast", tmp_path)
    assert result.verdict is False


def test_equal_effective_rates_make_the_verdict_false(tmp_path, monkeypatch):
    # RMSprop measured as taking GD's rate along both directions: the claim is not shown
    monkeypatch.setattr(e11, "_effective_rates", lambda path: (SHARED_LR, SHARED_LR))
    monkeypatch.setattr(e11, "MOONS_RATES", (0.03, 0.1))
    monkeypatch.setitem(e11.MOONS_SEEDS, "fast", (1,))
    result = EXPERIMENTS["optimizers"]("fast", tmp_path)
    moons = result.numbers["moons"]
    assert moons["Adam"]["final_train_cost"][0] < moons["GD"]["final_train_cost"][0]
    assert result.verdict is False


def test_figures_are_pngs(result):
    assert len(result.figures) == 2
    for path in result.figures:
        assert path.read_bytes()[:8] == PNG


def test_setup_states_the_rate_grid_as_it_is(result):
    """The setup called all 14 rates log-spaced: 13 are, and the shared rate is added to them."""
    log_spaced = [lr for lr in LR_GRID if lr != SHARED_LR]
    assert len(LR_GRID) == 14 and np.allclose(log_spaced, np.geomspace(0.002, 0.5, 13))
    assert ") of 14 rates: 13 log-spaced in [0.002, 0.5] and the shared rate 0.019;" in result.setup


def test_no_initialization_leaves_the_moons_net_at_guessing():
    # with MLP [2, 5, 2, 1], init seed 11 lost its bottleneck units to relu's dead zone: both
    # optimizers ended at ln 2 and "GD won" by 9e-5
    X, y = e11.make_moons(300, noise=0.2, seed=0)
    y = y[:, None].astype(np.float32)
    costs = {name: e11._best_moons_run(name, 11, X, y)[1][-1] for name in ("GD", "Adam")}
    assert costs["GD"] < 0.3 and costs["Adam"] < costs["GD"]
