"""Exponentially weighted moving averages, the building block of momentum, RMSprop and Adam."""

from __future__ import annotations

import numbers

import numpy as np

from chainrule import _checks


class EWMA:
    """A running exponentially weighted average of scalars or arrays (notes 002 section 2.2).

    ::

        v_0 = 0
        v_t = beta * v_{t-1} + (1 - beta) * theta_t
        value = v_t / (1 - beta**t)     with bias_correction=True, else v_t

    v_t weights theta_{t-i} by (1 - beta) * beta**i, so it averages roughly the last
    1 / (1 - beta) values (beta = 0.9: about 10), in one slot of memory. Starting from
    v_0 = 0 biases the first values towards 0; dividing by 1 - beta**t (the sum of the
    weights) removes that bias and matters only while beta**t is not negligible.

    Parameters
    ----------
    beta : float
        In [0, 1).
    bias_correction : bool
        Report v_t / (1 - beta**t) instead of v_t.

    Examples
    --------
    >>> avg = EWMA(0.9, bias_correction=True)
    >>> avg.update(10.0)
    10.0
    """

    def __init__(self, beta: float = 0.9, *, bias_correction: bool = False):
        self.beta = _checks.beta("EWMA", "beta", beta)
        self.bias_correction = _checks.boolean("EWMA", "bias_correction", bias_correction)
        self.reset()

    def reset(self) -> None:
        """Forget all values: t = 0, v = 0 (the next value may have any shape)."""
        self.t = 0
        self.v = 0.0
        self._shape: tuple[int, ...] | None = None

    def update(self, theta):
        """Fold in the next value theta_t and return the (corrected) average.

        Raises
        ------
        TypeError
            If ``theta`` is not a real number or an array of real numbers.
        ValueError
            If its shape differs from the first value's: one average follows one
            quantity, and broadcasting would silently mix two. Or if it is a ragged list
            (rows of different lengths), or a number beyond the float range (a Python int
            such as 10**400). The average is unchanged.
        """
        owner = "EWMA.update"
        if isinstance(theta, numbers.Real) and not isinstance(theta, (bool, np.bool_)):
            shape: tuple[int, ...] = ()
        else:
            array = None
            if isinstance(theta, (np.ndarray, list, tuple)):
                array = _checks.as_array(owner, "theta", theta)
            if array is None or array.dtype.kind not in "fiu":
                got = f"{array.dtype} array" if array is not None else type(theta).__name__
                raise TypeError(f"{owner}: theta expected a real number or real array, got {got}")
            theta, shape = array, array.shape
        if self._shape is not None and shape != self._shape:
            raise ValueError(
                f"{owner}: theta expected shape {self._shape} like the values before it, got "
                f"{shape} (reset() to start a new average)"
            )
        try:
            v = self.beta * self.v + (1.0 - self.beta) * theta
        except OverflowError:  # a Python int (or Fraction) beyond float
            kind = type(theta).__name__
            raise ValueError(
                f"{owner}: theta expected a real number within the float range (|theta| < "
                f"1.8e308), got {'an' if kind[0] in 'aeiou' else 'a'} {kind} beyond it"
            ) from None
        # only now that it worked: nothing changes when a value is refused
        self._shape, self.v, self.t = shape, v, self.t + 1
        return self.value

    @property
    def value(self):
        """The average so far: v_t, or v_t / (1 - beta**t) with bias correction."""
        if self.bias_correction and self.t:
            return self.v / (1.0 - self.beta**self.t)
        return np.copy(self.v) if isinstance(self.v, np.ndarray) else self.v  # not the state

    def __repr__(self) -> str:
        return f"EWMA(beta={self.beta}, bias_correction={self.bias_correction}, t={self.t})"


def ewma(series, beta: float = 0.9, *, bias_correction: bool = False) -> np.ndarray:
    """The EWMA of a whole series along its first axis: ``out[t-1]`` is the value at t.

    Floating series keep their dtype; integer ones become float64. Other values (bool,
    complex, strings, objects, a bare string included) are refused with ``TypeError``, as
    :meth:`EWMA.update` refuses them; a 0-d number is no series, and a ragged list (rows of
    different lengths) no array: ``ValueError``.

    Examples
    --------
    >>> ewma([1.0, 1.0], beta=0.5).tolist()
    [0.5, 0.75]
    """
    theta = _checks.as_array("ewma", "series", series)
    if theta.dtype.kind not in "fiu":
        raise TypeError(f"ewma: series expected real numbers, got {theta.dtype} values")
    if theta.ndim == 0:
        raise ValueError(
            f"ewma: series expected an array of shape (T, ...), got a 0-d value {series!r}"
        )
    if theta.dtype.kind != "f":
        theta = theta.astype(np.float64)
    avg = EWMA(beta, bias_correction=bias_correction)
    out = np.empty_like(theta)
    for i, x in enumerate(theta):
        out[i] = avg.update(x)
    return out
