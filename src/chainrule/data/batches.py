"""Mini-batches: one pass over ``(X, y)`` per epoch, shuffled by an explicit Generator.

Batch size ``m`` (all samples) is batch gradient descent, ``1`` is stochastic gradient
descent, and the sizes in between (the notes suggest powers of two, 64 to 512) are
mini-batch gradient descent.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from chainrule import _checks
from chainrule._checks import as_array
from chainrule.data._checks import check_finite, check_same_length, numeric_dtype

__all__ = ["BatchLoader", "one_hot"]


class BatchLoader:
    """Iterate over ``(X, y)`` in mini-batches, reshuffled each epoch.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, ...)
        Features; batches keep its dtype (no conversion).
    y : numpy.ndarray, shape (n, ...)
        Targets, batched alongside ``X``.
    batch_size : int
        Samples per batch, at least 1.
    shuffle : bool
        Draw a new order of the samples for every epoch (needs a Generator in
        :meth:`epoch`); otherwise batches follow the stored order.
    drop_last : bool
        Drop the final batch when it has fewer than ``batch_size`` samples; keep it (the
        default) otherwise.

    Raises
    ------
    ValueError
        When the loader is built: ``X`` or ``y`` a ragged list, ``X`` and ``y`` without a
        sample axis or with other numbers of samples, no sample, ``batch_size`` below 1,
        ``drop_last`` with more than ``n`` samples per batch (no batch is left), or NaN or
        Inf in ``X`` (the message names ``X`` and counts them; :func:`chainrule.fit` relies
        on this check for its training inputs).
    TypeError
        ``batch_size`` is not an integer, ``shuffle`` or ``drop_last`` not a bool, or
        ``X`` not numeric (object, str or datetime data: an object array could hide NaN).

    Notes
    -----
    ``len(loader)`` is the number of batches per epoch: ``n // batch_size`` with
    ``drop_last``, else ``ceil(n / batch_size)``. Shuffled batches are copies (gathered
    rows); unshuffled ones are views into ``X`` and ``y``.

    Resuming mid-epoch: save ``rng.bit_generator.state`` before calling :meth:`epoch`,
    count the batches done, and later restore the state and call
    ``epoch(rng, start=done)``: the same permutation is drawn and the finished batches are
    skipped without being built.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        X, y = as_array("BatchLoader", "X", X), as_array("BatchLoader", "y", y)
        check_same_length(X, y)
        batch_size = _checks.integer("BatchLoader", "batch_size", batch_size, low=1)
        shuffle = _checks.boolean("BatchLoader", "shuffle", shuffle)
        drop_last = _checks.boolean("BatchLoader", "drop_last", drop_last)
        n = X.shape[0]
        if n == 0:
            raise ValueError("BatchLoader: expected at least one sample, got X with 0 rows")
        if drop_last and batch_size > n:
            raise ValueError(
                f"BatchLoader: drop_last=True with batch_size={batch_size} > n={n} samples "
                "leaves no batch"
            )
        check_finite(X)
        self.X, self.y = X, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._n_batches = n // batch_size if drop_last else -(-n // batch_size)

    def __len__(self) -> int:
        return self._n_batches

    @property
    def n_samples(self) -> int:
        """Number of samples in ``X``."""
        return self.X.shape[0]

    def epoch(
        self, rng: np.random.Generator | None = None, start: int = 0
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Return an iterator over one epoch's batches ``(X_batch, y_batch)``.

        Parameters
        ----------
        rng : numpy.random.Generator, optional
            Required when ``shuffle``: the call draws exactly one ``rng.permutation(n)``,
            right away (not lazily on the first batch). Ignored when not shuffling.
        start : int
            Index of the first batch to yield, in ``[0, len(self)]``; earlier batches of
            the same permutation are skipped.
        """
        start = _checks.integer("BatchLoader.epoch", "start", start, low=0)
        if start > self._n_batches:
            raise ValueError(
                f"BatchLoader.epoch: start expected a batch index in [0, {self._n_batches}], "
                f"got {start}"
            )
        order = None
        if self.shuffle:
            if not isinstance(rng, np.random.Generator):
                raise TypeError(
                    "BatchLoader.epoch: shuffle=True needs a numpy.random.Generator: "
                    f"loader.epoch(rng), got {type(rng).__name__}"
                )
            order = rng.permutation(self.n_samples)
        return self._batches(order, start)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One epoch in stored order; only for ``shuffle=False`` (else use :meth:`epoch`)."""
        return self.epoch()

    def _batches(
        self, order: np.ndarray | None, start: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        X, y, size, n = self.X, self.y, self.batch_size, self.n_samples
        for lo in range(start * size, self._n_batches * size, size):
            hi = min(lo + size, n)
            if order is None:
                yield X[lo:hi], y[lo:hi]
            else:
                idx = order[lo:hi]
                yield X[idx], y[idx]


def one_hot(y: np.ndarray, n_classes: int, dtype: np.dtype | str = "float32") -> np.ndarray:
    """Encode integer labels as rows of an identity matrix.

    Returns an array of shape ``(len(y), n_classes)`` and ``dtype`` with a 1 in column
    ``y[i]`` of row ``i`` and zeros elsewhere.

    Raises
    ------
    TypeError
        ``n_classes`` is not an integer (a bool is not one), or ``dtype`` not a
        floating-point or integer type.
    ValueError
        ``y`` is not a 1-D integer array (a ragged list included), ``n_classes`` is below
        1, or a label lies outside ``[0, n_classes)``.
    """
    y = as_array("one_hot", "y", y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(
            f"one_hot: y expected 1-D integer labels, got {y.dtype} array of shape {y.shape}"
        )
    n_classes = _checks.integer("one_hot", "n_classes", n_classes, low=1)
    dtype = numeric_dtype("one_hot", dtype, integer=True)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = y[(y < 0) | (y >= n_classes)]
        raise ValueError(
            f"one_hot: labels must lie in [0, {n_classes}), got {bad.size} outside it "
            f"(e.g. {bad[0]})"
        )
    out = np.zeros((y.shape[0], n_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out
