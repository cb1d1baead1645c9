"""Inverted dropout: identity when off, unbiased when on, reproducible from its generator."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn


def test_eval_mode_and_keep_prob_one_are_the_identity():
    x = cr.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    assert nn.Dropout(0.5, rng=0).eval()(x) is x
    assert nn.Dropout(1.0, rng=0)(x) is x
    assert F.dropout(x, 0.3, np.random.default_rng(0), training=False) is x


def test_training_preserves_the_mean_activation():
    keep = 0.8
    x = np.ones((1000, 1000), np.float32)
    out = nn.Dropout(keep, rng=0)(x).data
    assert out.dtype == np.float32
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / keep, rtol=1e-6)  # kept units are scaled up
    # A unit's output has mean 1 and variance (1 - keep) / keep; five standard errors:
    sigma = np.sqrt((1 - keep) / keep / x.size)
    assert abs(out.mean() - 1.0) < 5 * sigma
    assert abs(kept.mean() - keep) < 5 * np.sqrt(keep * (1 - keep) / x.size)


def test_gradient_is_the_mask_over_keep_prob():
    x = cr.tensor(np.full((50, 40), 2.0), requires_grad=True)
    out = nn.Dropout(0.5, rng=1)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data / 2.0)


def test_masks_come_from_the_layers_generator():
    x = np.ones((20, 30), np.float32)
    a, b = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7)
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)  # same seed, same mask
    assert not np.array_equal(a(x).data, first)  # a fresh mask on every call
    (_, g), (_, h) = next(a.named_generators()), next(b.named_generators())
    h.bit_generator.state = g.bit_generator.state
    np.testing.assert_array_equal(a(x).data, b(x).data)  # restoring the state replays it


@pytest.mark.parametrize("keep_prob", [0.0, -0.5, 1.5, float("nan")])
def test_keep_prob_must_be_a_probability(keep_prob):
    expected = r"keep_prob expected a finite number in \(0, 1\], got"
    with pytest.raises(ValueError, match=rf"^Dropout: {expected}"):
        nn.Dropout(keep_prob)
    with pytest.raises(ValueError, match=rf"^dropout: {expected}"):
        F.dropout(cr.tensor([1.0]), keep_prob, np.random.default_rng(0))


@pytest.mark.parametrize("keep_prob", ["0.8", True, None])
def test_keep_prob_must_be_a_number(keep_prob):
    expected = r"keep_prob expected a real number in \(0, 1\], got"
    with pytest.raises(TypeError, match=rf"^Dropout: {expected}"):
        nn.Dropout(keep_prob)
    with pytest.raises(TypeError, match=rf"^dropout: {expected}"):
        F.dropout(cr.tensor([1.0]), keep_prob, np.random.default_rng(0))


def test_functional_dropout_needs_a_generator():
    with pytest.raises(TypeError, match="Generator"):
        F.dropout(cr.tensor([1.0, 2.0]), 0.5, 0)


# The masks compare uniform draws in the input's dtype, multiples of 2**-24 in float32 and
# of 2**-53 in float64, with keep_prob: below that step every unit is kept at the step's
# rate, not keep_prob's, and 1 / keep_prob can overflow the dtype (NaN outputs).
@pytest.mark.parametrize(("dtype", "bits"), [(np.float32, 24), (np.float64, 53)])
def test_a_keep_prob_below_the_draws_resolution_is_refused_before_drawing(dtype, bits):
    x = cr.tensor(np.ones((4, 5), dtype))
    rng = np.random.default_rng(0)
    expected = (
        rf"^dropout: keep_prob expected a number >= 2\*\*-{bits} .* for {np.dtype(dtype)} input"
    )
    with pytest.raises(ValueError, match=f"{expected}, got 1e-40$"):
        F.dropout(x, 1e-40, rng)
    with pytest.raises(ValueError, match=f"{expected}, got {2.0**-bits / 2!r}$"):
        F.dropout(x, 2.0**-bits / 2, rng)
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state
    out = F.dropout(x, 2.0**-bits, rng).data  # the smallest allowed: 1 / keep_prob is finite
    assert np.isin(out, [0.0, 2.0**bits]).all()


def test_the_layer_refuses_a_keep_prob_no_dtype_resolves():
    expected = r"^Dropout: keep_prob expected a number >= 2\*\*-53 .* for float64 input, got 1e-20$"
    with pytest.raises(ValueError, match=expected):
        nn.Dropout(1e-20)
    layer = nn.Dropout(1e-10, rng=0)  # float64 input resolves it, float32 input does not
    assert layer(np.ones(3)).shape == (3,)
    state = layer.rng.bit_generator.state
    with pytest.raises(ValueError, match=r"^dropout: keep_prob expected a number >= 2\*\*-24"):
        layer(np.ones(3, np.float32))
    assert layer.rng.bit_generator.state == state


def test_one_keep_prob_check_gives_a_float_and_names_its_caller():
    # the one check behind F.dropout, nn.Dropout and MLP(dropout=...): the range under the
    # caller's own name, then, given a dtype, the step of that dtype's draws
    assert F.check_keep_prob("Owner", "p", np.float32(0.5), np.float32) == 0.5
    assert type(F.check_keep_prob("Owner", "p", np.float32(0.5))) is float
    with pytest.raises(ValueError, match=r"^Owner: p expected a finite number in \(0, 1\], got"):
        F.check_keep_prob("Owner", "p", 0.0, np.float64)
    assert F.check_keep_prob("Owner", "p", 1e-8) == 1e-8  # no dtype: the range alone
    assert F.check_keep_prob("Owner", "p", 1e-8, np.float64) == 1e-8
    with pytest.raises(ValueError, match=r"^Owner: keep_prob expected a number >= 2\*\*-24"):
        F.check_keep_prob("Owner", "p", 1e-8, np.float32)


@pytest.mark.parametrize("training", ["False", 0, None, np.array([False])])
def test_functional_dropout_takes_only_a_bool_training_flag(training):
    # the string "False" is truthy: a mask was drawn where the caller meant evaluation
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    with pytest.raises(TypeError, match=r"^dropout: training expected True or False, got "):
        F.dropout(cr.tensor(np.ones((3, 2))), 0.5, rng, training=training)
    assert rng.bit_generator.state == state
    x = cr.tensor(np.ones(3))
    assert F.dropout(x, 0.5, rng, training=np.False_) is x


@pytest.mark.parametrize(
    ("x", "keep_prob"),
    [
        (np.array([[np.inf, 1.0, 2.0, 3.0]]), 0.5),  # inf, or inf * 0: non-finite whatever the mask
        (np.full((1, 64), 3e38, np.float32), 0.5),  # finite: a kept unit's 6e38 overflows
    ],
    ids=["inf-input", "overflow"],
)
def test_a_call_refused_by_detect_anomaly_leaves_the_generator_untouched(x, keep_prob):
    # the mask was drawn before the check raised: the refused call consumed randomness,
    # and every later mask differed from a run without it
    d, fresh = nn.Dropout(keep_prob, rng=0), nn.Dropout(keep_prob, rng=0)
    before = d.rng.bit_generator.state
    x = cr.tensor(x, requires_grad=True)
    with (
        cr.detect_anomaly(),
        np.errstate(invalid="ignore", over="ignore"),
        pytest.raises(FloatingPointError, match="op 'dropout' produced NaN/Inf"),
    ):
        d(x)
    assert d.rng.bit_generator.state == before
    ones = np.ones((8, 8), np.float32)
    np.testing.assert_array_equal(d(ones).data, fresh(ones).data)
