"""The exponentially weighted average of the notes, with and without bias correction."""

import numpy as np
import pytest

from chainrule.optim import EWMA, ewma


def test_recursion_equals_the_explicit_weighted_sum():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(20)
    beta = 0.9
    out = ewma(theta, beta)
    for t in range(1, 21):
        weights = (1 - beta) * beta ** np.arange(t - 1, -1, -1)
        assert out[t - 1] == pytest.approx(weights @ theta[:t], rel=1e-12)


def test_bias_correction_divides_by_one_minus_beta_to_the_t():
    theta = np.array([10.0, 12.0, 11.0])
    raw = ewma(theta, 0.9)
    corrected = ewma(theta, 0.9, bias_correction=True)
    np.testing.assert_allclose(corrected, raw / (1 - 0.9 ** np.arange(1, 4)))
    assert corrected[0] == pytest.approx(10.0)  # the first value is no longer 0.1 * theta_1
    assert raw[0] == pytest.approx(1.0)


def test_constant_series_corrected_is_exact():
    np.testing.assert_allclose(ewma(np.full(50, 3.0), 0.98, bias_correction=True), 3.0)


def test_streaming_arrays_keep_dtype_and_reset():
    avg = EWMA(0.5)
    avg.update(np.ones(3, np.float32))
    value = avg.update(np.full(3, 3.0, np.float32))
    assert value.dtype == np.float32
    np.testing.assert_allclose(value, 0.5 * 0.5 + 0.5 * 3.0)
    assert avg.t == 2
    avg.reset()
    assert avg.t == 0 and avg.value == 0.0


def test_an_impulse_fades_to_one_over_e_after_one_over_one_minus_beta_steps():
    beta = 0.98
    n = round(1 / (1 - beta))
    impulse = np.zeros(n + 1)
    impulse[0] = 1.0
    out = ewma(impulse, beta)
    assert out[n] / out[0] == pytest.approx(np.exp(-1), rel=0.02)


@pytest.mark.parametrize("beta", [1.0, -0.1])
def test_beta_outside_unit_interval_is_rejected(beta):
    with pytest.raises(ValueError, match=rf"beta expected .* in \[0, 1\), got {beta}"):
        EWMA(beta)


def test_a_0d_value_is_no_series():
    with pytest.raises(ValueError, match=r"ewma: series expected an array of shape \(T, ...\), "):
        ewma(5.0)
    assert ewma([5.0], beta=0.5).tolist() == [2.5]


@pytest.mark.parametrize(
    ("series", "got"),
    [(["a", "b"], "<U1"), ([1 + 2j, 3j], "complex128"), ([True], "bool"), ([None], "object")],
)
def test_a_series_of_non_real_numbers_is_refused_as_update_refuses_them(series, got):
    # once cast to float64: complex lost its imaginary part (a warning), None became NaN,
    # strings raised NumPy's ValueError and bools averaged as 0 and 1
    with pytest.raises(TypeError, match=f"ewma: series expected real numbers, got {got}"):
        ewma(series)
    assert ewma(np.array([2, 4], np.int8), beta=0.5).dtype == np.float64


@pytest.mark.parametrize("series", ["12.5", b"1", np.str_("1")], ids=repr)
def test_a_bare_string_is_refused_as_a_string_not_as_a_0d_value(series):
    # was the ValueError of a 0-d value, against the docstring's TypeError for strings
    with pytest.raises(
        TypeError, match=r"ewma: series expected real numbers, got (<U|\|S)\d+ values"
    ):
        ewma(series)


RAGGED = pytest.mark.parametrize(
    "series", [[[1.0, 2.0], [3.0]], ([1.0], 2.0)], ids=["list", "tuple"]
)


@RAGGED
def test_a_ragged_series_is_refused_by_ewma(series):
    # was NumPy's bare "setting an array element with a sequence"
    message = rf"^ewma: series expected a rectangular array, got a ragged {type(series).__name__} "
    with pytest.raises(ValueError, match=message):
        ewma(series)


@RAGGED
def test_a_ragged_value_is_refused_by_update_and_changes_nothing(series):
    # let NumPy's bare "setting an array element with a sequence" through, naming nothing
    avg = EWMA(0.9)
    avg.update(np.ones(2))
    message = (
        rf"^EWMA.update: theta expected a rectangular array, got a ragged {type(series).__name__} "
    )
    with pytest.raises(ValueError, match=message):
        avg.update(series)
    assert avg.t == 1


def test_update_keeps_the_first_value_s_shape_and_refuses_non_numbers():
    avg = EWMA(0.9)
    avg.update(np.ones(3))
    with pytest.raises(ValueError, match=r"expected shape \(3,\) like the values before it"):
        avg.update(np.ones((2, 3)))  # broadcasting made the average (2, 3)
    with pytest.raises(ValueError, match=r"got \(\)"):
        avg.update(1.0)
    assert avg.t == 1
    avg.reset()
    assert avg.update(2.0) == pytest.approx(0.2)
    for bad, got in [(None, "NoneType"), ("x", "str"), (True, "bool"), (np.array(["a"]), "<U1")]:
        with pytest.raises(TypeError, match=f"real number or real array, got {got}"):
            EWMA(0.9).update(bad)


def test_the_returned_average_is_not_the_running_state():
    # without bias correction update() handed out v itself: editing it changed the average
    avg = EWMA(0.5)
    out = avg.update(np.array([2.0, 4.0]))
    out[...] = 0.0
    np.testing.assert_array_equal(avg.update(np.array([2.0, 4.0])), [1.5, 3.0])
    avg.value[...] = 0.0
    np.testing.assert_array_equal(avg.value, [1.5, 3.0])


def test_a_value_beyond_float_range_is_refused_and_changes_nothing():
    # the int's OverflowError came after the shape was recorded: () was pinned, t still 0
    avg = EWMA(0.9)
    with pytest.raises(
        ValueError, match=r"EWMA.update: theta expected a real number within the float"
    ):
        avg.update(10**400)
    assert avg.t == 0
    np.testing.assert_allclose(avg.update(np.ones(3)), 0.1)  # any shape may come first
    avg = EWMA(0.5)
    avg.update(2.0)
    with pytest.raises(ValueError, match="got an int beyond it"):
        avg.update(-(10**400))
    assert (avg.t, avg.value) == (1, 1.0)
