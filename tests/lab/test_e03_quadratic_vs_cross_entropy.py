import numpy as np

import chainrule.lab.e03_quadratic_vs_cross_entropy as e03
from chainrule import losses
from chainrule.lab import EXPERIMENTS


def test_cross_entropy_learns_fastest_at_once_quadratic_after_a_plateau(tmp_path, check_pngs):
    result = EXPERIMENTS["quadratic_vs_cross_entropy"]("fast", tmp_path)
    numbers = result.numbers
    assert abs(numbers["initial_output"] - 0.982) < 1e-3  # sigmoid(4), the notes' 0.98
    assert numbers["epoch_of_fastest_learning"]["cross-entropy"] == 0
    assert numbers["largest_rise_of_learning_speed_over_peak"]["cross-entropy"] <= 0
    assert numbers["epoch_of_fastest_learning"]["quadratic"] > 150
    assert numbers["learning_speed_first_50_over_peak"]["quadratic"] < 0.2
    moved = numbers["weight_change"]["quadratic"]
    assert moved["first_150"] < 0.5 * moved["next_150"]
    assert numbers["output_after_150"]["quadratic"] > 0.9  # 150 epochs of plateau
    assert numbers["share_of_cost_removed_after_150"]["quadratic"] < 0.15
    assert result.verdict
    check_pngs(result.figures, tmp_path)


def _with_weights(monkeypatch, loss, weights):
    """Run the experiment with the weight trace of the ``loss`` neuron replaced."""
    train = e03._train

    def replaced(cost, lr, epochs):
        trace = train(cost, lr, epochs)
        if cost is loss:
            trace["w"] = weights(epochs).tolist()
        return trace

    monkeypatch.setattr(e03, "_train", replaced)


def test_a_quadratic_neuron_moving_at_one_speed_has_no_slow_start(tmp_path, monkeypatch):
    # its cost and output as measured, but w moving steadily from 2.0 to -1.0: no plateau
    _with_weights(monkeypatch, losses.quadratic, lambda epochs: np.linspace(2.0, -1.0, epochs + 1))
    result = EXPERIMENTS["quadratic_vs_cross_entropy"]("fast", tmp_path)
    assert not result.verdict
    assert result.numbers["learning_speed_first_50_over_peak"]["quadratic"] > 0.2


def test_a_cross_entropy_neuron_that_speeds_up_is_not_fastest_when_most_wrong(
    tmp_path, monkeypatch
):
    # w falling ever faster (a parabola), the quadratic cost's shape
    _with_weights(
        monkeypatch, losses.bce, lambda epochs: 2.0 - np.linspace(0.0, 1.0, epochs + 1) ** 2
    )
    result = EXPERIMENTS["quadratic_vs_cross_entropy"]("fast", tmp_path)
    assert not result.verdict
    assert result.numbers["epoch_of_fastest_learning"]["cross-entropy"] > 0
