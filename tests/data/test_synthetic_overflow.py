"""Arguments so large that points overflow even float64 are refused by name, with advice
that fits and without NumPy's RuntimeWarnings from inside the generator."""

import warnings

import numpy as np
import pytest

from chainrule.data import make_blobs, make_flower, make_moons, make_spirals

BLOBS = [[1.7e308, 0.0], [0.0, 0.0], [1.0, 1.0]]


@pytest.mark.parametrize(
    ("make", "owner", "sizes"),
    [
        (lambda: make_spirals(noise=1e308), "make_spirals", "noise"),
        (lambda: make_flower(noise=1e308), "make_flower", "noise or radius"),
        (lambda: make_moons(noise=1e308, dtype=np.float64), "make_moons", "noise"),
        (lambda: make_blobs(centers=BLOBS, std=1e308), "make_blobs", "std or centers"),
        (lambda: make_blobs(box=(0.0, 1.7e308), std=1e308), "make_blobs", "std or box bounds"),
    ],
)
def test_points_not_finite_in_float64_are_refused_without_numpy_warnings(make, owner, sizes):
    # NumPy warned "invalid value encountered in sin" (or "overflow encountered in add"),
    # then the message read "the largest magnitude nan" and advised dtype=float64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as info:
            make()
    message = str(info.value)
    assert message.startswith(f"{owner}: expected finite points, got ")
    assert "not finite (Inf or NaN) even in float64" in message
    assert message.endswith(f"give smaller {sizes}")
    assert "nan" not in message and "dtype=float64" not in message


def test_points_beyond_float32_only_advise_float64_and_name_the_argument():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as info:
            make_flower(radius=1e300)
    message = str(info.value)
    assert message.startswith("make_flower: expected points within the float32 range")
    assert message.endswith("give smaller noise or radius, or dtype=float64")
    X, _ = make_flower(radius=1e300, dtype=np.float64)
    assert np.isfinite(X).all()
