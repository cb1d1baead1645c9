import pytest

import chainrule.lab.e09_gradient_descent_variants as e09
from chainrule.lab import EXPERIMENTS

BATCH, MINI, SGD = "batch (m = 512)", "mini-batch (64)", "stochastic (1)"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["gradient_descent_variants"]("fast", tmp_path_factory.mktemp("e09"))


def _untimed(numbers: dict) -> dict:
    """``numbers`` with fixed seconds per epoch, so that a verdict on them is deterministic."""
    return {**numbers, "seconds_per_epoch_median": {BATCH: 1e-3, MINI: 1e-3, SGD: 1e-1}}


def test_batch_is_smooth_stochastic_is_noisy_minibatch_learns_per_epoch_and_per_update(
    result, check_pngs
):
    numbers = result.numbers
    assert numbers["updates_per_epoch"] == {BATCH: 1, MINI: 8, SGD: 512}
    rose = numbers["share_of_steps_where_cost_rose"]
    assert rose[BATCH] == 0.0 < rose[MINI]
    assert numbers["cost_noise"][SGD] > numbers["cost_noise"][MINI]
    epochs, updates = numbers["final_dev_cost"], numbers["dev_cost_after_same_updates"]
    assert epochs[MINI] < epochs[BATCH]
    assert abs(updates[MINI] - updates[BATCH]) <= e09.CLOSE * updates[BATCH]
    # batch descent makes one update per epoch: the per-update run retraces the timed one
    assert numbers["updates_compared"] == 4
    assert updates[BATCH] == epochs[BATCH]
    assert e09._holds(_untimed(numbers))
    check_pngs(result.figures, result.figures[0].parent)


@pytest.mark.parametrize("seed", [29, 4])
def test_the_verdict_holds_for_other_seeds(tmp_path, monkeypatch, seed):
    # seed 29: stochastic descent far ahead after 4 epochs and ahead after 4 updates;
    # seed 4: behind mini-batch after 4 epochs. Neither is part of the claim.
    monkeypatch.setattr(e09, "SEED", seed)
    numbers = EXPERIMENTS["gradient_descent_variants"]("fast", tmp_path).numbers
    assert e09._holds(_untimed(numbers))


def test_stochastic_far_ahead_per_epoch_keeps_the_verdict(result):
    # the numbers of initial weights seed 19 (fast): stochastic descent's 2048 updates get
    # much further than mini-batch's 32, which the old verdict (mini-batch within 5% of
    # the best per epoch) wrongly required
    numbers = _untimed(result.numbers)
    numbers["final_dev_cost"] = {BATCH: 0.543, MINI: 0.334, SGD: 0.186}
    numbers["dev_cost_after_same_updates"] = {BATCH: 0.543, MINI: 0.539, SGD: 0.788}
    assert e09._holds(numbers)


def test_minibatch_behind_batch_per_epoch_fails_the_verdict(result):
    numbers = _untimed(result.numbers)
    numbers["final_dev_cost"] = {BATCH: 0.564, MINI: 0.57, SGD: 0.325}
    assert not e09._holds(numbers)


@pytest.mark.parametrize("mini", [0.6, 0.5])
def test_minibatch_updates_far_from_batch_updates_fail_the_verdict(result, mini):
    numbers = _untimed(result.numbers)
    numbers["dev_cost_after_same_updates"] = {BATCH: 0.564, MINI: mini, SGD: 0.681}
    assert not e09._holds(numbers)
