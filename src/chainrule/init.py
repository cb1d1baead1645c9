"""Weight initializers: draw a layer's starting values from an explicit generator.

Every initializer has the signature ``fn(shape, rng=None, dtype="float32", **params)`` and
returns a new array; ``shape`` is a tuple of non-negative integers (anything else raises
before drawing, naming the initializer). Shapes follow the row-major convention of
:class:`chainrule.nn.Linear`: a weight has shape ``(n_in, n_out)``, so ``fan_in = shape[0]``
and ``fan_out = shape[1]`` (the notes' column-major ``W[l]`` has shape ``(n[l], n[l-1])``;
it is this matrix transposed).

Samples are drawn in float64 and then cast, so one seed gives the same values (to
rounding) in float32 and float64, the two dtypes initializers return (an integer dtype
raises ``TypeError``: it would truncate the draws, mostly to 0). Biases start at zero by
default (:func:`zeros`).

Why the scaling matters (seed 002, "vanishing and exploding gradients"): with unit-variance
weights, each layer multiplies the activations' variance by about ``n_in``; the scaled
initializers keep it near 1 so a deep network neither explodes nor vanishes.
"""

from __future__ import annotations

import inspect
import math
import numbers

import numpy as np

from chainrule import _checks
from chainrule.autodiff.tensor import float_dtype

__all__ = [
    "INITIALIZERS",
    "check_spec",
    "constant",
    "fans",
    "get_initializer",
    "he_normal",
    "he_uniform",
    "initialize",
    "lecun_normal",
    "lecun_uniform",
    "nielsen_normal",
    "normal",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]


def _shape(owner: str, shape) -> tuple[int, ...]:
    """``shape`` as a tuple of Python ints, each >= 0 (a single integer is a 1-D shape, as
    in NumPy); else ``TypeError`` (not a tuple or list of integers) or ``ValueError`` (a
    negative size), naming ``owner``. Every initializer checks its shape here first."""
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    expected = f"{owner}: shape expected a tuple of non-negative integers, got"
    if not isinstance(dims, tuple | list) or not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool | np.bool_) for n in dims
    ):
        raise TypeError(f"{expected} {type(shape).__name__} {shape!r:.80}")
    if any(n < 0 for n in dims):
        raise ValueError(f"{expected} {shape!r}")
    return tuple(int(n) for n in dims)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(n_in, n_out)``, both at least 1; a
    ``shape`` that is no shape is refused as by every initializer (see :func:`_shape`)."""
    shape = _shape("fans", shape)
    if len(shape) != 2:
        raise ValueError(
            f"fan-based initializers need a 2-D weight of shape (n_in, n_out), got shape {shape}"
        )
    n_in = _checks.integer("fan-based initializer", "n_in", shape[0], low=1)
    n_out = _checks.integer("fan-based initializer", "n_out", shape[1], low=1)
    return n_in, n_out


def _within(owner: str, dtype: np.dtype, reach: float, what: str) -> None:
    """Refuse parameters whose values would overflow ``dtype`` (``reach``: the largest
    magnitude they give, 10 standard deviations out for a Gaussian)."""
    if not reach <= float(np.finfo(dtype).max):
        raise ValueError(f"{owner}: {what} gives values beyond the {dtype} range")


def _uniform_within(owner: str, dtype: np.dtype, low: float, high: float, what: str) -> None:
    """Refuse a uniform on [low, high) whose values would overflow ``dtype``, or whose width
    would overflow float64: NumPy draws ``low + (high - low) * u`` in float64 (and raises
    ``OverflowError`` for an infinite width). Only the values must fit ``dtype``: a float32
    draw on [-2e38, 2e38) has a width of 4e38, finite in float64. A float64 value beyond
    ``max(|low|, |high|)`` by a rounding (a few float64 units, 2**-52 relative) still casts
    to a finite float32, which rounds anything within half its spacing (2**103) of its
    largest number down to it."""
    _within(owner, dtype, max(abs(low), abs(high)), what)
    if not math.isfinite(high - low):
        raise ValueError(
            f"{owner}: {what} gives the interval [{low:g}, {high:g}), whose width overflows "
            "float64, in which NumPy draws; expected a width high - low of at most "
            f"{float(np.finfo(np.float64).max):.4g}"
        )


# each initializer checks its dtype and the reach of its values before drawing: a refused
# one leaves rng as it was. ``what`` names the user's parameters whose values could
# overflow; None for the fixed scales of he_* / lecun_* / nielsen_* (at most sqrt(6)).
def _gaussian(owner: str, shape, rng, dtype, std: float, what: str | None = None) -> np.ndarray:
    dtype = float_dtype(owner, dtype)
    if what is not None:
        _within(owner, dtype, 10 * std, what)
    return (_checks.generator(owner, "rng", rng).standard_normal(shape) * std).astype(dtype)


def _uniform(owner: str, shape, rng, dtype, limit: float, what: str | None = None) -> np.ndarray:
    dtype = float_dtype(owner, dtype)
    if what is not None:
        _uniform_within(owner, dtype, -limit, limit, what)
    return _checks.generator(owner, "rng", rng).uniform(-limit, limit, shape).astype(dtype)


def _unused_rng(owner: str, rng) -> None:
    """Check the ``rng`` an initializer that draws nothing takes for the common signature,
    as the others check theirs: a value misplaced there (``constant(shape, 0.5)``) would
    be ignored."""
    if rng is not None:
        _checks.generator(owner, "rng", rng)


def zeros(shape, rng=None, dtype="float32") -> np.ndarray:
    """All zeros (the default for biases). For weights it leaves every hidden unit of a
    layer identical forever (the symmetry problem of seed 002)."""
    shape = _shape("zeros", shape)
    _unused_rng("zeros", rng)
    return np.zeros(shape, dtype=float_dtype("zeros", dtype))


def constant(shape, rng=None, dtype="float32", value: float = 0.0) -> np.ndarray:
    """Every entry equal to ``value``."""
    shape = _shape("constant", shape)
    _unused_rng("constant", rng)
    value = _checks.real("constant", "value", value)
    dtype = float_dtype("constant", dtype)
    _within("constant", dtype, abs(value), f"value={value}")
    return np.full(shape, value, dtype=dtype)


def normal(shape, rng=None, dtype="float32", std: float = 0.01, mean: float = 0.0) -> np.ndarray:
    """Gaussian N(mean, std^2). ``std=1`` is the notes' plain ``np.random.randn``."""
    shape = _shape("normal", shape)
    std = _checks.real("normal", "std", std, low=0.0)
    mean = _checks.real("normal", "mean", mean)
    dtype = float_dtype("normal", dtype)
    _within("normal", dtype, abs(mean) + 10 * std, f"mean={mean}, std={std}")
    return (_gaussian("normal", shape, rng, "float64", std) + mean).astype(dtype)


def uniform(shape, rng=None, dtype="float32", low: float = -0.05, high: float = 0.05):
    """Uniform on [low, high).

    The float64 draws that rounding (NumPy's ``low + (high - low) * u``, then the cast to
    ``dtype``) puts outside [low, high), high itself among them (about one float32 draw in
    2**25 on [0, 1)), become the nearest ``dtype`` value inside it; the others are kept
    as cast. An interval that holds no ``dtype`` value raises ``ValueError``.
    """
    shape = _shape("uniform", shape)
    low, high = _checks.real("uniform", "low", low), _checks.real("uniform", "high", high)
    if not low < high:
        raise ValueError(f"uniform: expected low < high, got low={low}, high={high}")
    dtype = float_dtype("uniform", dtype)
    _uniform_within("uniform", dtype, low, high, f"low={low}, high={high}")
    least, greatest = _half_open_bounds(dtype, low, high)
    draws = _checks.generator("uniform", "rng", rng).uniform(low, high, shape).astype(dtype)
    return np.clip(draws, least, greatest, out=draws)


def _half_open_bounds(dtype: np.dtype, low: float, high: float) -> tuple[np.floating, np.floating]:
    """The least and the greatest values of ``dtype`` in [low, high) (both finite: see
    :func:`_uniform_within`); ``ValueError`` when there is none."""
    least, greatest = dtype.type(low), dtype.type(high)
    if float(least) < low:  # compared in float64, where both are exact
        least = np.nextafter(least, dtype.type(math.inf))
    if float(greatest) >= high:
        greatest = np.nextafter(greatest, dtype.type(-math.inf))
    if not least <= greatest:
        raise ValueError(
            f"uniform: expected an interval [low, high) that holds a {dtype} value, got "
            f"low={low!r}, high={high!r}"
        )
    return least, greatest


def xavier_normal(shape, rng=None, dtype="float32", gain: float = 1.0) -> np.ndarray:
    """Xavier/Glorot normal: N(0, sigma^2) with sigma^2 = gain^2 * 2 / (n_in + n_out).

    The notes misprint this variance: seed 002 scales by sqrt(2 / (n_in * n_out)) and
    seed 000 by sqrt(2 / (n_in^2 + n_out^2)); Glorot and Bengio (2010) derive
    Var(W) = 2 / (n_in + n_out), the harmonic compromise between keeping the forward
    (1/n_in) and the backward (1/n_out) variance. Suited to tanh and sigmoid.

    A ``gain`` whose values (10 sigma out) would overflow ``dtype`` raises ``ValueError``,
    as :func:`normal` does.
    """
    shape = _shape("xavier_normal", shape)
    gain = _checks.real("xavier_normal", "gain", gain, low=0.0)
    n_in, n_out = fans(shape)
    std = gain * math.sqrt(2.0 / (n_in + n_out))
    return _gaussian("xavier_normal", shape, rng, dtype, std, f"gain={gain}")


def xavier_uniform(shape, rng=None, dtype="float32", gain: float = 1.0) -> np.ndarray:
    """Xavier/Glorot uniform on [-a, a], a = gain * sqrt(6 / (n_in + n_out)).

    Same variance as :func:`xavier_normal`, 2 / (n_in + n_out) (a uniform on [-a, a] has
    variance a^2 / 3); see there for the notes' misprints of this formula. A ``gain``
    whose values (up to a) would overflow ``dtype``, or whose width 2a would overflow
    float64 (where NumPy draws), raises ``ValueError``, as :func:`uniform` does.
    """
    shape = _shape("xavier_uniform", shape)
    gain = _checks.real("xavier_uniform", "gain", gain, low=0.0)
    n_in, n_out = fans(shape)
    limit = gain * math.sqrt(6.0 / (n_in + n_out))
    return _uniform("xavier_uniform", shape, rng, dtype, limit, f"gain={gain}")


def he_normal(shape, rng=None, dtype="float32") -> np.ndarray:
    """He/Kaiming normal: N(0, 2 / n_in), for ReLU (seed 002: ``randn * sqrt(2/n[l-1])``).

    ReLU zeroes half of its inputs, halving the second moment; the factor 2 restores it.
    """
    shape = _shape("he_normal", shape)
    n_in, _ = fans(shape)
    return _gaussian("he_normal", shape, rng, dtype, math.sqrt(2.0 / n_in))


def he_uniform(shape, rng=None, dtype="float32") -> np.ndarray:
    """He/Kaiming uniform on [-a, a], a = sqrt(6 / n_in): variance 2 / n_in, for ReLU."""
    shape = _shape("he_uniform", shape)
    n_in, _ = fans(shape)
    return _uniform("he_uniform", shape, rng, dtype, math.sqrt(6.0 / n_in))


def lecun_normal(shape, rng=None, dtype="float32") -> np.ndarray:
    """LeCun normal: N(0, 1 / n_in), for tanh (seed 002: ``randn * sqrt(1/n[l-1])``)."""
    shape = _shape("lecun_normal", shape)
    n_in, _ = fans(shape)
    return _gaussian("lecun_normal", shape, rng, dtype, math.sqrt(1.0 / n_in))


def lecun_uniform(shape, rng=None, dtype="float32") -> np.ndarray:
    """LeCun uniform on [-a, a], a = sqrt(3 / n_in): variance 1 / n_in."""
    shape = _shape("lecun_uniform", shape)
    n_in, _ = fans(shape)
    return _uniform("lecun_uniform", shape, rng, dtype, math.sqrt(3.0 / n_in))


def nielsen_normal(shape, rng=None, dtype="float32") -> np.ndarray:
    """The notes' improved Gaussian (Nielsen, ch. 3): mean 0, standard deviation 1/sqrt(n_in).

    Numerically the same distribution as :func:`lecun_normal`; kept under the notes' name.
    Seed 001 writes 1/sqrt(n_in + 1), counting the bias as one more input drawn from the
    same distribution; here biases start at zero, so the bias does not enter the count.
    With it, z = sum_k w_k x_k has standard deviation about 1 and sigmoid units start
    away from saturation.
    """
    shape = _shape("nielsen_normal", shape)
    n_in, _ = fans(shape)
    return _gaussian("nielsen_normal", shape, rng, dtype, 1.0 / math.sqrt(n_in))


INITIALIZERS = {
    "zeros": zeros,
    "constant": constant,
    "normal": normal,
    "uniform": uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "glorot_normal": xavier_normal,
    "glorot_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "kaiming_normal": he_normal,
    "kaiming_uniform": he_uniform,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "nielsen_normal": nielsen_normal,
}


def get_initializer(name: str):
    """The initializer registered under ``name``; ``ValueError`` listing valid names if none."""
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        hint = _checks.did_you_mean(name, INITIALIZERS)
        raise ValueError(
            f"unknown initializer {name!r}; expected one of {', '.join(INITIALIZERS)}{hint}"
        ) from None


def _plain(value):
    """``value`` as JSON holds it where it is a number: a NumPy scalar as the Python number
    it holds, a real number of another type (``fractions.Fraction``) as a float."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, numbers.Real) and not isinstance(value, int | float):
        return float(value)
    return value


def check_spec(spec: str | dict) -> str | dict:
    """``spec`` checked and made plain data: a registered name, or a dict with a registered
    ``"name"`` and only parameters that initializer takes (NumPy scalars become Python
    numbers, and other real numbers, a ``fractions.Fraction``, floats, so a layer's config
    stays JSON-able). The values are checked when drawing."""
    if not isinstance(spec, dict):
        get_initializer(spec)
        return spec
    if "name" not in spec:
        raise ValueError(f"expected an init dict with a 'name' key, got {spec!r}")
    params = {k: _plain(v) for k, v in spec.items()}
    name = params.pop("name")
    accepted = list(inspect.signature(get_initializer(name)).parameters)[3:]
    unknown = [k for k in params if k not in accepted]
    if unknown:
        takes = ", ".join(accepted) if accepted else "no parameters"
        raise ValueError(
            f"initializer {name!r}: unknown parameter {', '.join(map(repr, unknown))}; it takes "
            f"{takes}{_checks.did_you_mean(unknown, accepted)}"
        )
    return {"name": name, **params}


def initialize(spec: str | dict, shape, rng=None, dtype="float32") -> np.ndarray:
    """Draw an array from an initializer spec: a name (``"he_normal"``) or a JSON-able dict
    with its parameters (``{"name": "normal", "std": 0.1}``); see :func:`check_spec`."""
    spec = check_spec(spec)
    params = dict(spec) if isinstance(spec, dict) else {"name": spec}
    fn = get_initializer(params.pop("name"))
    return fn(shape, _checks.generator("initialize", "rng", rng), dtype, **params)
