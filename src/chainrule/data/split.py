"""Train/dev/test splits: shuffled, optionally stratified by class, with exact sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from chainrule.data._checks import check_same_length
from chainrule.init import as_generator

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
        ``n`` is not an integer.
    ValueError
        ``n`` is negative, or the ratios are not 2 or 3 positive numbers summing to 1.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be a non-negative int, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"n must be a non-negative int, got {n}")
    n = int(n)
    ratios = _check_ratios(ratios)
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
    proportions: the samples of a class of size ``n_c``, in random order, get the keys
    ``(i + 0.5) / n_c``; all samples are sorted by key (ties in random order) and cut into
    consecutive parts. Every part then holds each class within about one sample of
    ``n_c * ratio`` while the part sizes stay exact.

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
    ValueError
        ``X`` and ``y`` differ in length, the ratios are not 2 or 3 positive numbers
        summing to 1, ``stratify`` is asked for with ``y`` that is not 1-D, or some part
        would be empty.
    """
    X, y = np.asarray(X), np.asarray(y)
    check_same_length(X, y)
    n = X.shape[0]
    sizes = split_sizes(n, ratios)
    if min(sizes) == 0:
        raise ValueError(
            f"every part needs at least one sample: ratios {tuple(ratios)} of n={n} "
            f"give sizes {sizes}"
        )
    rng = as_generator(seed, allow_none=False)
    if stratify:
        if y.ndim != 1:
            raise ValueError(f"stratify needs 1-D class labels y, got shape {y.shape}")
        order = _stratified_order(y, rng)
    else:
        order = rng.permutation(n)
    bounds = np.cumsum(sizes)[:-1]
    parts = []
    for idx in np.split(order, bounds):
        if stratify:  # the key order interleaves classes in a pattern; shuffle it away
            idx = rng.permutation(idx)
        parts.append((X[idx], y[idx]))
    return tuple(parts)


def _stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    n = y.shape[0]
    shuffled = rng.permutation(n)
    # Rank of each sample inside its class, in random order: a stable sort by class of a
    # random permutation keeps the permutation's order within each class.
    by_class = shuffled[np.argsort(inverse[shuffled], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[by_class] = np.arange(n) - np.repeat(starts, counts)
    key = (rank + 0.5) / counts[inverse]
    return np.lexsort((rng.random(n), key))


def _check_ratios(ratios: Sequence[float]) -> tuple[float, ...]:
    ratios = tuple(float(r) for r in ratios)
    if len(ratios) not in (2, 3) or min(ratios) <= 0:
        raise ValueError(
            f"ratios must be 2 or 3 positive fractions (train, [dev,] test), got {ratios}"
        )
    if not math.isclose(sum(ratios), 1.0, abs_tol=1e-6):
        raise ValueError(f"ratios must sum to 1, got {ratios} summing to {sum(ratios):g}")
    return ratios
