"""Train/dev/test splits: shuffled, optionally stratified by class, with exact sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from chainrule import _checks
from chainrule._checks import as_array
from chainrule.data._checks import check_same_length

__all__ = ["split_sizes", "train_dev_test_split"]


def split_sizes(n: int, ratios: Sequence[float]) -> tuple[int, ...]:
    """Share ``n`` samples out by ``ratios`` with the largest-remainder method.

    Each part gets ``floor(n * ratio)`` and the samples left over go one each to the parts
    with the largest fractional remainders (ties to the earlier part). The ratios need only
    sum to 1 within 1e-6, so for large ``n`` the floors can leave more samples over than
    there are parts, or sum to more than ``n``; the part with the largest ratio (the
    earlier one on ties) then takes or gives up the difference. The sizes always sum to
    ``n`` exactly; when the ratios sum to 1, each is within one of ``n * ratio``.

    Raises
    ------
    TypeError
        ``n`` is not an integer, or ``ratios`` is not a sequence of real numbers (a bool or
        a string is not one), or is a set (whose order is arbitrary), a dict or a 0-d array.
    ValueError
        ``n`` is negative, or the ratios are not 2 or 3 finite positive numbers summing to 1.
    """
    return _sizes("split_sizes", n, ratios)


def _sizes(owner: str, n: int, ratios: Sequence[float]) -> tuple[int, ...]:
    """:func:`split_sizes` for its callers: errors name ``owner``."""
    n = _checks.integer(owner, "n", n, low=0)
    ratios = _check_ratios(owner, ratios)
    exact = [n * r for r in ratios]
    sizes = [math.floor(e) for e in exact]
    by_remainder = sorted(range(len(ratios)), key=lambda i: (sizes[i] - exact[i], i))
    for i in by_remainder[: max(n - sum(sizes), 0)]:
        sizes[i] += 1
    sizes[ratios.index(max(ratios))] += n - sum(sizes)
    return tuple(sizes)


def train_dev_test_split(
    X: np.ndarray,
    y: np.ndarray,
    ratios: Sequence[float] = (0.6, 0.2, 0.2),
    *,
    stratify: bool = False,
    seed: int | np.random.Generator = 0,
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Split ``(X, y)`` into shuffled parts (train, dev, test) of the given proportions.

    The notes' choices for small data sets: ``(0.7, 0.2, 0.1)`` or ``(0.7, 0.3)``; with a
    million samples, dev and test parts of about 10,000 and 1,000 samples suffice (the
    course's ``(0.98, 0.01, 0.01)``). The default, 60/20/20, is the course's other choice
    for small data. Part sizes come from :func:`split_sizes`.

    With ``stratify=True`` each class of ``y`` is spread over the parts in the same
    proportions. Part by part, the part's size is shared out over the samples not yet
    placed, class by class, with the largest-remainder method: a class with ``r_c`` of the
    ``R`` remaining samples gets ``floor(r_c * size / R)``, and the samples left over go
    one each to the classes with the largest remainders (ties in random order); the last
    part takes what is left. Which samples of a class go where is random. The part sizes
    stay exact, the first part holds each class within one sample of
    ``n_c * size / n``, and every later part within two.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, ...)
    y : numpy.ndarray, shape (n, ...)
    ratios : sequence of 2 or 3 floats
        Positive fractions summing to 1 (within 1e-6).
    stratify : bool
        Keep class proportions of ``y`` (1-D labels) in every part.
    seed : int or numpy.random.Generator
        Source of the shuffle.

    Returns
    -------
    tuple of (X_part, y_part)
        One pair per ratio, in order; each part's rows in random order. The parts are new
        arrays (fancy-indexed copies) with the dtypes of ``X`` and ``y``.

    Raises
    ------
    TypeError
        ``ratios`` is not a sequence of real numbers (as in :func:`split_sizes`),
        ``stratify`` is not a bool, or
        ``stratify`` is asked for with labels ``y`` that do not sort (``None`` among
        strings, say).
    ValueError
        ``X`` or ``y`` is a ragged list, ``X`` and ``y`` differ in length, the ratios are
        not 2 or 3 finite positive numbers summing to 1, ``stratify`` is asked for with
        ``y`` that is not 1-D, or some part would be empty.
    """
    stratify = _checks.boolean("train_dev_test_split", "stratify", stratify)
    X, y = as_array("train_dev_test_split", "X", X), as_array("train_dev_test_split", "y", y)
    check_same_length(X, y)
    n = X.shape[0]
    sizes = _sizes("train_dev_test_split", n, ratios)
    if min(sizes) == 0:
        raise ValueError(
            f"every part needs at least one sample: ratios {tuple(ratios)} of n={n} "
            f"give sizes {sizes}"
        )
    if stratify and y.ndim != 1:
        raise ValueError(f"stratify needs 1-D class labels y, got shape {y.shape}")
    classes = _classes(y) if stratify else None
    rng = _checks.generator("train_dev_test_split", "seed", seed, allow_none=False)
    if classes is not None:
        indices = _stratified_parts(*classes, sizes, rng)
    else:
        indices = np.split(rng.permutation(n), np.cumsum(sizes)[:-1])
    return tuple((X[idx], y[idx]) for idx in indices)


def _classes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The class of each label in ``y`` (its index among the sorted distinct labels) and
    the count of each class; TypeError naming the labels' types when they do not sort."""
    try:
        _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    except TypeError as error:
        types = ", ".join(sorted({type(label).__name__ for label in y}))
        raise TypeError(
            "train_dev_test_split: stratify expected class labels y that sort, got "
            f"{y.dtype} labels of types {types} ({error})"
        ) from None
    return inverse, counts


def _stratified_parts(
    inverse: np.ndarray, counts: np.ndarray, sizes, rng: np.random.Generator
) -> list[np.ndarray]:
    """The rows of each part, in random order, for ``stratify=True``, from the class of
    each row, ``inverse``, and each class's count, ``counts`` (see the caller)."""
    shares = _apportion(counts, sizes, rng)  # shares[c, j]: class c's samples in part j
    shuffled = rng.permutation(inverse.shape[0])
    # a stable sort by class of a random permutation: each class's rows in random order
    by_class = shuffled[np.argsort(inverse[shuffled], kind="stable")]
    part_of = np.empty(inverse.shape[0], dtype=np.int64)
    part_of[by_class] = np.repeat(np.tile(np.arange(len(sizes)), len(counts)), shares.ravel())
    return [rng.permutation(np.flatnonzero(part_of == j)) for j in range(len(sizes))]


def _apportion(counts: np.ndarray, sizes, rng: np.random.Generator) -> np.ndarray:
    """How many samples of each class go to each part: the largest-remainder method, part
    by part over the samples left, in exact integer arithmetic (see the caller)."""
    remaining = counts.astype(np.int64)
    shares = np.empty((len(counts), len(sizes)), dtype=np.int64)
    tie_break = rng.permutation(len(counts))
    for j, size in enumerate(sizes[:-1]):
        share, remainder = np.divmod(remaining * size, remaining.sum())
        left_over = size - int(share.sum())  # fewer than the classes with remainder > 0
        share[np.lexsort((tie_break, -remainder))[:left_over]] += 1
        shares[:, j] = share
        remaining -= share
    shares[:, -1] = remaining
    return shares


def _check_ratios(owner: str, ratios: Sequence[float]) -> tuple[float, ...]:
    expected = "2 or 3 positive fractions (train, [dev,] test)"
    _checks.ordered(owner, "ratios", ratios, f"a sequence of {expected}")
    try:
        given = tuple(ratios)
    except TypeError:
        raise TypeError(
            f"{owner}: ratios expected a sequence of {expected}, got "
            f"{type(ratios).__name__} {ratios!r}"
        ) from None
    ratios = tuple(_checks.real(owner, f"ratios[{i}]", r) for i, r in enumerate(given))
    if len(ratios) not in (2, 3) or min(ratios) <= 0:
        raise ValueError(f"{owner}: ratios expected {expected}, got {ratios}")
    if not math.isclose(sum(ratios), 1.0, abs_tol=1e-6):
        raise ValueError(
            f"{owner}: ratios expected fractions summing to 1, got {ratios} summing to "
            f"{sum(ratios):g}"
        )
    return ratios
