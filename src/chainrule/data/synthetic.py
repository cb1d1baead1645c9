"""Small datasets generated in code: classification in the plane, and a regression curve.

Every generator takes ``seed`` (an int, or a ``numpy.random.Generator`` to draw from) and
returns ``(X, y)`` with ``X`` of shape ``(n, n_features)`` in ``dtype`` (a floating-point
type: float32 unless asked) and integer class labels ``y`` of shape ``(n,)`` as int64
(:func:`make_sine` returns regression targets of shape ``(n, 1)`` in ``dtype``). Points
are computed in float64, then cast once. Rows are shuffled, so classes do not arrive in blocks.
Noise or scale arguments so large that some points overflow (float64, or ``dtype``) are
refused with a ``ValueError`` that names them, without NumPy warnings.

Arguments are checked before any random draw: ``n`` must be an int large enough to give
every class at least one point (the number of classes; 1 for :func:`make_sine`), noise
scales (``noise``, ``std``) finite and non-negative, every other number finite, ``dtype`` a
floating-point type. A bool or a string given for a number is refused with a
``TypeError``, never converted.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from chainrule import _checks
from chainrule._checks import as_array
from chainrule.data._checks import check_finite, numeric_dtype

__all__ = [
    "make_blobs",
    "make_circles",
    "make_flower",
    "make_moons",
    "make_sine",
    "make_spirals",
    "make_xor",
]

Seed = int | np.random.Generator


def make_moons(
    n: int = 200, noise: float = 0.1, seed: Seed = 0, dtype: DTypeLike = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's construction).

    Class 0: ``(cos t, sin t)``; class 1: ``(1 - cos t, 0.5 - sin t)``, with ``t`` evenly
    spaced over ``[0, pi]``; then Gaussian noise of standard deviation ``noise`` on both
    coordinates. Class 0 gets ``(n + 1) // 2`` points, class 1 ``n // 2``.
    """
    rng = _start("make_moons", n, seed, dtype, classes=2, noise=noise)
    n0, n1 = _per_class(n, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    X = np.concatenate([np.c_[np.cos(t0), np.sin(t0)], np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]])
    X += rng.normal(0.0, noise, X.shape) if noise else 0.0
    return _finish(X, _labels([n0, n1]), rng, dtype, "make_moons", "noise")


def make_circles(
    n: int = 200,
    noise: float = 0.05,
    factor: float = 0.5,
    seed: Seed = 0,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """A unit circle (class 0) around a circle of radius ``factor`` (class 1).

    Points are evenly spaced in angle, then moved by Gaussian noise of standard deviation
    ``noise``. Class 0 gets ``(n + 1) // 2`` points, class 1 ``n // 2``.
    """
    factor = _checks.real(
        "make_circles", "factor", factor, low=0.0, high=1.0, low_open=True, high_open=True
    )
    rng = _start("make_circles", n, seed, dtype, classes=2, noise=noise)
    n0, n1 = _per_class(n, 2)
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n1, endpoint=False)
    X = np.concatenate([np.c_[np.cos(t0), np.sin(t0)], factor * np.c_[np.cos(t1), np.sin(t1)]])
    X += rng.normal(0.0, noise, X.shape) if noise else 0.0
    return _finish(X, _labels([n0, n1]), rng, dtype, "make_circles", "noise")


def make_spirals(
    n: int = 300,
    k: int = 3,
    noise: float = 0.2,
    seed: Seed = 0,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` interleaved spiral arms, one class each (the CS231n construction).

    Arm ``j`` has radius ``r`` evenly spaced over ``[0, 1]`` and angle
    ``t = linspace(4j, 4(j + 1)) + noise * N(0, 1)``; its points are ``r * (sin t, cos t)``.
    The ``n`` points are shared out as evenly as possible (earlier classes get the extra).
    """
    k = _checks.integer("make_spirals", "k", k, low=2)
    rng = _start("make_spirals", n, seed, dtype, classes=k, noise=noise)
    counts = _per_class(n, k)
    arms = []
    with np.errstate(over="ignore", invalid="ignore"):  # a huge noise: _cast refuses NaN
        for j, m in enumerate(counts):
            r = np.linspace(0.0, 1.0, m)
            t = np.linspace(4.0 * j, 4.0 * (j + 1), m) + rng.normal(0.0, noise, m)
            arms.append(np.c_[r * np.sin(t), r * np.cos(t)])
    return _finish(np.concatenate(arms), _labels(counts), rng, dtype, "make_spirals", "noise")


def make_flower(
    n: int = 400,
    noise: float = 0.2,
    radius: float = 4.0,
    seed: Seed = 0,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """The planar "flower" of deeplearning.ai's ``planar_utils.load_planar_dataset``.

    For class ``j`` in {0, 1}: ``t = linspace(3.12 j, 3.12 (j + 1)) + noise * N(0, 1)``,
    ``r = radius * sin(4 t) + noise * N(0, 1)``, points ``(r sin t, r cos t)``. The
    classes interleave as petals that no straight line separates (logistic regression
    stays near chance; one hidden layer of a few tanh units does well). The original fixes
    ``n = 400``, ``noise = 0.2`` and ``radius = 4``. Class 0 gets ``(n + 1) // 2`` points.
    """
    radius = _checks.real("make_flower", "radius", radius)
    rng = _start("make_flower", n, seed, dtype, classes=2, noise=noise)
    counts = _per_class(n, 2)
    petals = []
    with np.errstate(over="ignore", invalid="ignore"):  # huge arguments: _cast refuses them
        for j, m in enumerate(counts):
            t = np.linspace(3.12 * j, 3.12 * (j + 1), m) + rng.normal(0.0, noise, m)
            r = radius * np.sin(4.0 * t) + rng.normal(0.0, noise, m)
            petals.append(np.c_[r * np.sin(t), r * np.cos(t)])
    X = np.concatenate(petals)
    return _finish(X, _labels(counts), rng, dtype, "make_flower", "noise or radius")


def make_xor(
    n: int = 200, noise: float = 0.1, seed: Seed = 0, dtype: DTypeLike = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table, blurred: points around (0, 0), (0, 1), (1, 0), (1, 1).

    Point ``i`` sits at corner ``i mod 4`` plus Gaussian noise of standard deviation
    ``noise``; its label is the XOR of the corner's coordinates, so classes 0 and 1 lie on
    opposite diagonals and no straight line separates them.
    """
    rng = _start("make_xor", n, seed, dtype, classes=2, noise=noise)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    which = np.arange(n) % 4
    X = corners[which] + (rng.normal(0.0, noise, (n, 2)) if noise else 0.0)
    y = np.array([0, 1, 1, 0], dtype=np.int64)[which]
    return _finish(X, y, rng, dtype, "make_xor", "noise")


def make_sine(
    n: int = 200,
    noise: float = 0.1,
    seed: Seed = 0,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy sine regression: ``x ~ U(-pi, pi)``, ``y = sin(x) + noise * N(0, 1)``.

    Returns ``X`` and ``y`` both of shape ``(n, 1)`` in ``dtype``.
    """
    rng = _start("make_sine", n, seed, dtype, classes=1, noise=noise)
    x = rng.uniform(-np.pi, np.pi, (n, 1))
    y = np.sin(x) + (rng.normal(0.0, noise, (n, 1)) if noise else 0.0)
    return x.astype(dtype), _cast(y, dtype, "make_sine", "noise")


def make_blobs(
    n: int = 300,
    centers: int | ArrayLike = 3,
    std: float = 1.0,
    n_features: int | None = None,
    box: tuple[float, float] = (-10.0, 10.0),
    seed: Seed = 0,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs, one class per center.

    ``centers`` is a count, an integer >= 1 (centers drawn uniformly from ``box``, a pair
    ``(low, high)``, in each of ``n_features`` dimensions, 2 unless given), or an array of
    real numbers of shape ``(k, n_features)``, both >= 1 (``n_features``, when given too,
    must agree with it). A single number that is not an integer is refused with a
    ``TypeError``. Each point is its center plus Gaussian noise of standard deviation
    ``std``; the ``n`` points are shared out as evenly as possible (earlier classes get the
    extra).
    """
    n_features = _checks.integer("make_blobs", "n_features", n_features, low=1, none=True)
    given = None
    if isinstance(centers, bool) or not isinstance(centers, numbers.Integral):
        given = as_array("make_blobs", "centers", centers)
        if given.dtype.kind not in "iuf":
            raise TypeError(
                "make_blobs: centers expected a count or an array of real numbers of shape "
                f"(k, n_features), got {centers!r} of dtype {given.dtype}"
            )
    drawn = given is None or given.ndim == 0  # one number: a count, refused unless an integer
    if drawn:
        k = _checks.integer("make_blobs", "centers", centers, low=1)
        n_features = 2 if n_features is None else n_features
        try:
            low, high = box
        except (TypeError, ValueError):
            raise TypeError(
                "make_blobs: box expected a pair (low, high) of finite numbers, got "
                f"{type(box).__name__} {box!r}"
            ) from None
        low = _checks.real("make_blobs", "box[0]", low)
        high = _checks.real("make_blobs", "box[1]", high)
        if low > high:
            raise ValueError(f"make_blobs: box expected (low, high) with low <= high, got {box}")
        if not math.isfinite(high - low):  # NumPy's uniform draws low + (high - low) * u
            raise ValueError(
                f"make_blobs: box expected a width high - low within the float64 range, got {box}"
            )
    else:
        centers = given.astype(np.float64)
        if centers.ndim != 2 or min(centers.shape) < 1:
            raise ValueError(
                "make_blobs: centers expected an array of shape (k, n_features), both >= 1, "
                f"got shape {centers.shape}"
            )
        if n_features is not None and n_features != centers.shape[1]:
            raise ValueError(
                f"make_blobs: n_features expected {centers.shape[1]}, the width of centers of "
                f"shape {centers.shape}, got {n_features}; pass one or make them agree"
            )
        check_finite(centers, "centers")
        k = centers.shape[0]
    rng = _start("make_blobs", n, seed, dtype, classes=k, std=std)
    if drawn:
        centers = rng.uniform(low, high, (k, n_features))
    counts = _per_class(n, k)
    y = _labels(counts)
    with np.errstate(over="ignore"):  # huge arguments: _cast refuses the Inf
        X = centers[y] + rng.normal(0.0, std, (n, centers.shape[1]))
    return _finish(
        X, y, rng, dtype, "make_blobs", "std or box bounds" if drawn else "std or centers"
    )


def _start(
    owner: str, n: int, seed: Seed, dtype: DTypeLike, classes: int, **scales: float
) -> np.random.Generator:
    """Check ``n`` (an integer, at least one point per class), ``dtype`` (a float type) and
    the noise ``scales`` of generator ``owner`` (real numbers >= 0); make the rng."""
    n = _checks.integer(owner, "n", n, low=1)
    if n < classes:
        raise ValueError(
            f"{owner}: n expected at least {classes}, one point for each of the {classes} "
            f"classes, got {n}"
        )
    numeric_dtype(owner, dtype)
    for name, value in scales.items():
        _checks.real(owner, name, value, low=0.0)
    return _checks.generator(owner, "seed", seed, allow_none=False)


def _per_class(n: int, k: int) -> list[int]:
    base, extra = divmod(n, k)
    return [base + (j < extra) for j in range(k)]


def _labels(counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _finish(
    X: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    dtype: DTypeLike,
    owner: str,
    sizes: str,
) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(y))
    return _cast(X[order], dtype, owner, sizes), y[order]


def _cast(values: np.ndarray, dtype: DTypeLike, owner: str, sizes: str) -> np.ndarray:
    """``values`` (float64) in ``dtype``; ``ValueError`` where the arguments ``sizes`` of
    generator ``owner`` (a noise or scale near the limits of float64 or of ``dtype``) made
    some not finite, or beyond the range of ``dtype``, where NumPy would warn and give Inf."""
    with np.errstate(over="ignore"):
        cast = values.astype(dtype)
    if np.isfinite(cast).all():  # the one pass when nothing is wrong
        return cast
    lost = np.count_nonzero(~np.isfinite(values))  # Inf or NaN in float64 stays so cast
    if lost:
        raise ValueError(
            f"{owner}: expected finite points, got {lost} of {values.size} coordinates not "
            f"finite (Inf or NaN) even in float64, where they are computed; give smaller "
            f"{sizes}"
        )
    beyond = np.count_nonzero(~np.isfinite(cast))
    if beyond:
        largest = float(np.max(np.abs(values)))
        raise ValueError(
            f"{owner}: expected points within the {np.dtype(dtype)} range, got {beyond} beyond "
            f"it (the largest magnitude {largest:.3g}); give smaller {sizes}, or dtype=float64"
        )
    return cast
