"""Diagnostics: the notes' bias/variance examples, gradient-health readings (hand-made and
from real deep networks) and every rejected input."""

import dataclasses
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.train.diagnostics import (
    BIAS_REMEDIES,
    VARIANCE_REMEDIES,
    GradientWarning,
    bias_variance,
    gradient_health,
)

# Seed 002, "偏差，方差", with a baseline (Bayes error) of about 0%.
NOTES_EXAMPLES = [
    (0.01, 0.11, "high variance", False, True),
    (0.15, 0.16, "high bias", True, False),
    (0.15, 0.30, "high bias and high variance", True, True),
    (0.005, 0.01, "good fit", False, False),
]


@pytest.mark.parametrize(("train", "dev", "verdict", "bias", "variance"), NOTES_EXAMPLES)
def test_the_notes_four_examples(train, dev, verdict, bias, variance):
    reading = bias_variance(train, dev)
    assert reading.verdict == verdict
    assert (reading.high_bias, reading.high_variance) == (bias, variance)
    assert reading.avoidable_bias == pytest.approx(train)
    assert reading.variance == pytest.approx(dev - train)
    expected = (BIAS_REMEDIES if bias else ()) + (VARIANCE_REMEDIES if variance else ())
    assert reading.remedies == expected


def test_remedies_are_the_notes():
    bias_text = " ".join(bias_variance(0.15, 0.16).remedies)
    assert "bigger network" in bias_text
    assert "train longer" in bias_text
    variance_text = " ".join(bias_variance(0.01, 0.11).remedies)
    for remedy in ("more training data", "L2", "dropout", "early stopping"):
        assert remedy in variance_text
    assert bias_variance(0.005, 0.01).remedies == ()


def test_baseline_turns_training_error_into_avoidable_bias():
    # 15% training error is no bias problem when humans err 14.5% of the time.
    noisy = bias_variance(0.15, 0.16, baseline_error=0.145)
    assert noisy.avoidable_bias == pytest.approx(0.005)
    assert noisy.verdict == "good fit"
    # Human-level 7.5%, train 8%, dev 10%: the variance is the problem.
    assert bias_variance(0.08, 0.10, baseline_error=0.075).verdict == "high variance"


def test_gap_equal_to_the_tolerance_counts_as_high_despite_rounding():
    assert 0.03 - 0.01 < 0.02  # binary floating point
    assert bias_variance(0.01, 0.03).verdict == "high variance"
    assert bias_variance(0.01, 0.0299).verdict == "good fit"
    assert bias_variance(0.01, 0.11, tolerance=0.2).verdict == "good fit"
    assert 0.03 - 0.01 < 0.02  # the avoidable bias too
    assert bias_variance(0.03, 0.03, baseline_error=0.01).verdict == "high bias"
    assert bias_variance(0.0299, 0.0299, baseline_error=0.01).verdict == "good fit"


def test_reading_prints_a_paragraph():
    text = str(bias_variance(0.01, 0.11))
    assert text.startswith("Train error 1%, dev error 11%, baseline 0%.")
    assert "variance (dev - train) is 10%" in text
    assert "high variance" in text
    assert "Try: get more training data" in text
    assert "Try:" not in str(bias_variance(0.005, 0.01))


def test_negative_gaps_are_explained():
    assert "Training beats the baseline" in str(bias_variance(0.05, 0.06, baseline_error=0.1))
    assert "dev error is below the training error" in str(bias_variance(0.05, 0.04))


def test_reading_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        bias_variance(0.01, 0.11).verdict = "good fit"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"train_error": 11.0},
            ValueError,
            r"^bias_variance: train_error expected a finite number in \[0, 1\], got 11.0; "
            r"errors are fractions, pass 11% as 0.11$",
        ),
        (
            {"dev_error": -0.1},
            ValueError,
            r"^bias_variance: dev_error expected a finite number in \[0, 1\], got -0.1$",
        ),
        ({"baseline_error": float("nan")}, ValueError, r"baseline_error expected a finite .*nan$"),
        ({"train_error": 10**400}, ValueError, r"train_error expected a finite number in \[0, 1\]"),
        (
            {"train_error": "0.1"},
            TypeError,
            r"^bias_variance: train_error expected a real number in \[0, 1\], got str '0.1'$",
        ),
        ({"dev_error": True}, TypeError, r"dev_error expected a real number .*, got bool True"),
        (
            {"tolerance": 0.0},
            ValueError,
            r"tolerance expected a finite number in \(0, 1\], got 0.0",
        ),
        ({"tolerance": 1.5}, ValueError, "got 1.5$"),
        ({"tolerance": 10**400}, ValueError, r"tolerance expected a finite number in \(0, 1\]"),
    ],
)
def test_bad_error_rates_are_rejected(kwargs, error, message):
    args = {"train_error": 0.1, "dev_error": 0.2} | kwargs
    with pytest.raises(error, match=message):
        bias_variance(**args)


def test_numpy_scalars_are_accepted():
    reading = bias_variance(np.float32(0.01), np.float64(0.11))
    assert reading.verdict == "high variance"


VANISHING = {"input": 2e-7, "hidden1": 3e-5, "hidden2": 4e-3, "output": 0.1}
EXPLODING = {"input": 400.0, "hidden1": 2.0, "hidden2": 0.5, "output": 0.2}


def test_vanishing_reading():
    health = gradient_health(VANISHING)
    assert health.status == "vanishing"
    assert (health.vanishing, health.exploding, health.healthy) == (True, False, False)
    assert health.vanishing_layers == ("input", "hidden1")
    assert health.ratio == pytest.approx(2e-6)
    assert "vanishing gradients in input (2.00e-06 x the output layer's norm" in health.message
    assert "hidden1 (3.00e-04 x" in health.message
    assert "ReLU" in health.message
    assert "hidden2" not in health.message


def test_exploding_reading():
    health = gradient_health(EXPLODING)
    assert health.status == "exploding"
    assert health.exploding_layers == ("input",)
    assert health.ratio == pytest.approx(2000.0)
    assert "exploding gradients in input (2.00e+03 x the output layer's norm > 1000)" in (
        health.message
    )
    assert "clip gradients" in health.message


def test_absolute_bounds_and_non_finite_norms():
    health = gradient_health({"a": math.nan, "b": 5e3, "c": 1e-9, "d": 1.0})
    assert health.exploding_layers == ("a", "b")
    assert health.vanishing_layers == ("c",)
    assert health.status == "vanishing and exploding"
    assert "a (norm nan)" in health.message
    assert "b (norm 5.00e+03 > max_norm 1000)" in health.message
    assert "c (norm 1.00e-09 < min_norm 1e-08)" in health.message


def test_ratio_tests_skip_a_broken_output_layer():
    # An exploded output layer is no yardstick: the floor alone finds the vanishing layer.
    health = gradient_health({"a": 1e-9, "b": 0.1, "c": 5e3})
    assert health.vanishing_layers == ("a",) and health.exploding_layers == ("c",)
    assert math.isnan(health.ratio)
    # A zero output norm with the floor disabled must not divide by zero.
    assert gradient_health({"a": 1.0, "b": 0.0}, min_norm=0.0).healthy


@pytest.mark.parametrize(
    "norms",
    [
        {"a": 1e-9, "b": 1e-12},  # the output layer below the floor too
        {"a": 9.4e-9, "b": 1.0e-8, "c": 2.1e-8},  # below the floor, but balanced with the top
        {"only": 1e-12},
    ],
)
def test_a_converged_network_is_not_vanishing(norms):
    # A fitted training set leaves every gradient tiny, the output layer's as well.
    health = gradient_health(norms)
    assert health.healthy, health.message
    assert math.isnan(health.ratio) or health.ratio > 1e-3


def test_small_but_balanced_gradients_are_healthy():
    # A nearly converged model: all norms small, none far below the output layer's.
    health = gradient_health({"a": 2e-6, "b": 1e-6, "c": 3e-6})
    assert health.healthy
    assert health.status == "healthy"
    assert health.message.startswith("gradients healthy: layer norms from 1.00e-06 (b)")


def test_a_list_is_the_norms_of_one_layers_parameters():
    health = gradient_health({"layer1": [3.0, 4.0], "layer2": np.array([5.0])})
    assert health.norms == {"layer1": 5.0, "layer2": 5.0}
    assert health.ratio == 1.0
    assert gradient_health({"only": [1e300, 1e300]}).norms["only"] == pytest.approx(
        math.sqrt(2) * 1e300
    )


def test_single_layer_uses_absolute_bounds_only():
    assert gradient_health({"only": 0.3}).healthy
    assert math.isnan(gradient_health({"only": 0.3}).ratio)
    assert gradient_health({"only": math.inf}).exploding


def test_custom_thresholds():
    assert gradient_health(VANISHING, vanish_ratio=1e-7, min_norm=1e-7).healthy
    assert gradient_health({"a": 50.0, "b": 1.0}, explode_ratio=10.0).exploding


def test_str_lists_every_layer():
    text = str(gradient_health(VANISHING))
    lines = text.splitlines()
    assert lines[0] == "gradient health: vanishing"
    assert lines[1].split() == ["input", "2.000e-07"]
    assert lines[4].split() == ["output", "1.000e-01"]
    assert lines[5].startswith("vanishing gradients in input")


def test_warn_issues_a_gradient_warning_only_when_unhealthy():
    with pytest.warns(GradientWarning, match="exploding gradients in input"):
        gradient_health(EXPLODING).warn()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradient_health({"a": 0.1, "b": 0.2}).warn()


def _deep_net_gradient_norms(activation, scale, depth=10, width=16):
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((32, width)))
    weights = [
        cr.tensor(rng.standard_normal((width, width)) * scale / np.sqrt(width), requires_grad=True)
        for _ in range(depth)
    ]
    h = x
    for w in weights:
        h = activation(h @ w)
    upstream = cr.tensor(rng.standard_normal(h.shape))
    (h * upstream).mean().backward()
    return {f"layer{i + 1}": float(np.linalg.norm(w.grad)) for i, w in enumerate(weights)}


def test_a_deep_sigmoid_network_reads_as_vanishing():
    # Seed 004: each sigmoid layer multiplies the backward signal by at most 1/4.
    health = gradient_health(_deep_net_gradient_norms(cr.sigmoid, scale=1.0))
    assert health.vanishing
    assert health.vanishing_layers[0] == "layer1"
    assert health.ratio < 1e-4


def test_the_remedy_relu_with_he_initialization_reads_as_healthy():
    health = gradient_health(_deep_net_gradient_norms(cr.relu, scale=np.sqrt(2.0)))
    assert health.healthy
    assert 0.1 < health.ratio < 10


def test_a_deep_linear_network_with_large_weights_reads_as_exploding():
    # Seed 000: without activations, weights a bit above 1 multiply up layer after layer.
    health = gradient_health(_deep_net_gradient_norms(lambda h: h, scale=3.0))
    assert health.exploding
    assert "max_norm" in health.message


@pytest.mark.parametrize(
    ("norms", "kwargs", "error", "message"),
    [
        ([0.1, 0.2], {}, TypeError, "expected a mapping of layer name to gradient norm, got list"),
        ({}, {}, ValueError, "at least one layer, got an empty mapping"),
        ({1: 0.1}, {}, TypeError, "expected layer names \\(str\\), got int"),
        ({"a": -0.1}, {}, ValueError, "norms >= 0 for layer 'a', got -0.1"),
        ({"a": []}, {}, ValueError, "at least one norm for layer 'a', got none"),
        ({"a": "big"}, {}, TypeError, "layer 'a' to map to a norm or a list of norms, got 'big'"),
        ({"a": [[0.1]]}, {}, TypeError, "a norm or a list of norms"),
        ({"a": None}, {}, TypeError, "a norm or a list of norms"),
        (  # NumPy's "setting an array element with a sequence"
            {"a": 1.0, "b": [0.1, [0.2]]},
            {},
            ValueError,
            r"^gradient_health: layer 'b' expected a rectangular array, got a ragged list "
            r"\[0.1, \[0.2\]\]$",
        ),
        (
            {"a": 1.0},
            {"vanish_ratio": 0.0},
            ValueError,
            r"vanish_ratio expected a finite number in \(0, 1\), got 0.0",
        ),
        ({"a": 1.0}, {"vanish_ratio": 1.0}, ValueError, "vanish_ratio .*got 1.0"),
        (
            {"a": 1.0},
            {"explode_ratio": 0.5},
            ValueError,
            "explode_ratio expected a finite number > 1, got 0.5",
        ),
        ({"a": 1.0}, {"explode_ratio": math.inf}, ValueError, "explode_ratio .*got inf"),
        (
            {"a": 1.0},
            {"explode_ratio": 10**400},
            ValueError,
            "explode_ratio expected a finite number > 1",
        ),
        (
            {"a": 1.0},
            {"min_norm": -1.0},
            ValueError,
            "min_norm expected a finite number >= 0, got -1.0",
        ),
        (
            {"a": 1.0},
            {"min_norm": 10**400},
            ValueError,
            "min_norm expected a finite number >= 0, got 1000",
        ),
        (
            {"a": 1.0},
            {"min_norm": 5.0, "max_norm": 5.0},
            ValueError,
            "0 <= min_norm < max_norm, got min_norm=5, max_norm=5",
        ),
        (
            {"a": 1.0},
            {"max_norm": math.nan},
            ValueError,
            "max_norm expected a number > 0, inf included, got nan",
        ),
        (
            {"a": 1.0},
            {"max_norm": -math.inf},
            ValueError,
            "max_norm expected a number > 0, inf included, got -inf",
        ),
        (
            {"a": 1.0},
            {"max_norm": "1e3"},
            TypeError,
            "max_norm expected a real number > 0, inf included, got str '1e3'",
        ),
    ],
)
def test_bad_gradient_inputs_are_rejected(norms, kwargs, error, message):
    with pytest.raises(error, match=message):
        gradient_health(norms, **kwargs)


@pytest.mark.parametrize("ceiling", [math.inf, 10**400], ids=["inf", "beyond-float64"])
def test_max_norm_may_be_infinite(ceiling):
    # no absolute ceiling: only the ratio to the output layer reads as exploding
    assert gradient_health({"a": 1e6, "b": 1e4}, max_norm=ceiling).healthy
    assert gradient_health({"a": 1e8, "b": 1e4}, max_norm=ceiling).exploding
