"""Experiment 16: batch normalization keeps the pre-activations' distribution steady and
speeds up a deep network (fast preset)."""

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
        model, real, seen = train(X, y, bn, epochs)
        return model, (cost(epochs) if bn == batch_norm else real), seen

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


def test_normalized_pre_activations_drift_far_less_than_z_after_the_first_layer(result):
    drift = result.numbers["with_batch_norm"]["drift"]
    assert len(drift["z"]) == len(drift["normalized"]) == e16.DEPTH
    for layer in range(1, e16.DEPTH):
        assert drift["z"][layer] > 0.5  # the layers before it changed what it receives
        assert drift["normalized"][layer] <= e16.STEADY * drift["z"][layer]


def test_measuring_the_pre_activations_leaves_the_running_statistics_as_they_were():
    X = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    model = e16.MLP([2, 4, 4, 1], activation="sigmoid", seed=1, batch_norm=True)
    model.eval()
    before = model.state_dict()
    (z1, n1), (z2, n2) = e16._pre_activations(model, X)
    assert not model.training
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    # normalized over X as one batch: mean beta (0), std gamma (1) at the start
    np.testing.assert_allclose(n2.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(n2.std(axis=0), 1.0, atol=1e-3)
    assert z1.shape == n1.shape == (50, 4) and z2.dtype == np.float64


def test_normalized_values_that_drift_like_z_are_not_stable(tmp_path, monkeypatch):
    # the claim's "keeps their distribution stable" was part of the verdict's claim but
    # nothing measured it
    measure = e16._pre_activations

    def unnormalized(model, X):
        return [(z, z) for z, _ in measure(model, X)]

    monkeypatch.setattr(e16, "_pre_activations", unnormalized)
    result = EXPERIMENTS["batch_norm"]("fast", tmp_path)
    assert not result.verdict
    normed = result.numbers["with_batch_norm"]
    assert normed["epochs_to_cost_below_threshold"] <= e16.FEW_EPOCHS  # the rest still held


def test_accuracy_is_measured_with_running_statistics_of_the_final_weights():
    # at lr 0.3 the running estimates kept in training lag the weights (eval-mode accuracy
    # 60-80% on nets whose training cost is 0.15); they are recomputed before measuring
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2)).astype(np.float32)
    model = e16.MLP([2, 4, 4, 1], activation="sigmoid", seed=1, batch_norm=True)
    norms = [layer for layer in model.layers if isinstance(layer, e16.BatchNorm1d)]
    (z1, _), (z2, _) = e16._pre_activations(model, X)
    e16._recompute_running_statistics(model, X)
    assert not model.training
    for layer, z in zip(norms, (z1, z2), strict=True):
        assert layer.momentum == 0.9  # put back
        np.testing.assert_allclose(layer.running_mean, z.mean(axis=0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.running_var, z.var(axis=0, ddof=1), rtol=1e-4)


def test_the_batch_norm_net_classifies_the_training_set(result):
    normed = result.numbers["with_batch_norm"]
    assert normed["train_accuracy"] > 0.9
    assert normed["train_accuracy"] >= normed["train_accuracy_with_training_running_statistics"]
