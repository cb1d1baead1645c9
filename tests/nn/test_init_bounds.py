"""init.uniform keeps to [low, high) after rounding; init specs suggest the closest name."""

import re

import numpy as np
import pytest

from chainrule import init

ULP = 2.0**-23  # float32's spacing in [1, 2)


def test_float32_uniform_never_returns_high():
    # [1, 1 + 4 ulp): float64 draws from 1 + 3.5 ulp on rounded to 1 + 4 ulp = high
    low, high = 1.0, 1.0 + 4 * ULP
    a = init.uniform((4000,), 0, "float32", low=low, high=high)
    plain = np.random.default_rng(0).uniform(low, high, 4000).astype(np.float32)
    assert (plain == np.float32(high)).any()  # what the cast alone gave
    assert float(a.max()) == 1.0 + 3 * ULP
    inside = plain < np.float32(high)
    np.testing.assert_array_equal(a[inside].view(np.uint32), plain[inside].view(np.uint32))


def test_float32_uniform_never_returns_a_value_below_an_unrepresentable_low():
    # low between 1 and 1 + ulp: draws below 1 + ulp / 2 rounded down to 1 < low
    low, high = 1.0 + ULP / 4, 1.0 + 4 * ULP
    a = init.uniform((4000,), 0, "float32", low=low, high=high)
    plain = np.random.default_rng(0).uniform(low, high, 4000).astype(np.float32)
    assert (plain.astype(np.float64) < low).any()
    assert float(a.min()) == 1.0 + ULP and float(a.max()) < high


def test_default_uniform_values_are_unchanged_inside_the_interval():
    a = init.uniform((300, 200), 3)
    plain = np.random.default_rng(3).uniform(-0.05, 0.05, (300, 200)).astype(np.float32)
    np.testing.assert_array_equal(a.view(np.uint32), plain.view(np.uint32))


def test_a_uniform_interval_holding_no_dtype_value_is_refused_before_drawing():
    rng = np.random.default_rng(0)
    low, high = 1.0 + ULP / 4, 1.0 + ULP / 2
    expected = (
        "uniform: expected an interval [low, high) that holds a float32 value, got "
        f"low={low!r}, high={high!r}"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        init.uniform((3,), rng, "float32", low=low, high=high)
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state
    assert init.uniform((3,), 0, "float64", low=low, high=high).min() >= low


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        ({"name": "he_normall"}, "'he_normal'?"),
        ("he_normall", "'he_normal'?"),
        ({"name": "normal", "sdt": 1.0}, "'std'?"),
        ({"name": "normal", "sdt": 1.0, "maen": 0.0}, "'std' for 'sdt', 'mean' for 'maen'?"),
    ],
)
def test_a_misspelt_initializer_or_parameter_gets_the_closest_one(spec, hint):
    with pytest.raises(ValueError, match=f"; did you mean {re.escape(hint)}$"):
        init.check_spec(spec)


def test_an_unknown_parameter_like_none_gets_no_suggestion():
    with pytest.raises(ValueError, match="^initializer 'normal': unknown parameter 'qqq'; it "):
        init.check_spec({"name": "normal", "qqq": 1})
    with pytest.raises(ValueError, match="it takes std, mean$"):
        init.check_spec({"name": "normal", "qqq": 1})
