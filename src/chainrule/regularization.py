"""L1 and L2 penalties, added to the loss so that backprop (and gradient checking) sees them.

Seed 002::

    L2: J += lambda / (2m) * sum_l ||W[l]||^2     (so dW += (lambda / m) W)
    L1: J += lambda / m    * sum_l |W[l]|         (so dW += (lambda / m) sign(W))

with m the number of training examples. This is L2 in the loss, not decoupled weight
decay (they differ for adaptive optimizers such as Adam; the optimizers keep the latter).

Which parameters are weights: those with ``ndim >= 2`` (a ``Linear`` weight). 1-D
parameters (``Linear`` biases, ``BatchNorm1d``'s gamma and beta) are left out, as the notes
advise for b, unless ``include_bias=True``.
"""

from __future__ import annotations

import math
import reprlib

import numpy as np

from chainrule import _checks
from chainrule.autodiff.tensor import Tensor
from chainrule.params import named_tensors

__all__ = ["l1_penalty", "l2_penalty", "penalized_parameters"]


def penalized_parameters(params, include_bias: bool = False) -> list[tuple[str, Tensor]]:
    """The ``(name, tensor)`` pairs a penalty covers.

    ``params`` is a module (anything with ``named_parameters()``), a mapping name -> Tensor,
    or an iterable of ``(name, Tensor)`` pairs, read by
    :func:`chainrule.params.named_tensors` as the optimizers read it, except that bare
    Tensors (``model.parameters()``) are refused: a penalty's pairs must be named.

    Raises
    ------
    TypeError
        If ``params`` is none of these (a bare Tensor, or a list of unnamed Tensors such as
        ``model.parameters()``), a name is not a ``str``, a parameter not a Tensor, or
        ``include_bias`` is not a bool.
    """
    owner = "penalized_parameters"
    include_bias = _checks.boolean(owner, "include_bias", include_bias)
    chosen = []
    for name, p in named_tensors(owner, params):
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{owner}: parameter {name!r} expected a Tensor, got {type(p).__name__}"
            )
        if include_bias or p.ndim >= 2:
            chosen.append((name, p))
    return chosen


#: The largest training-set size ``m`` a penalty takes (int64's largest).
_M_MAX = 2**63 - 1


def _checked(owner: str, params, lam, m, include_bias, scale: int) -> tuple[list, float]:
    """The parameters a penalty covers and its coefficient ``lam / (scale m)``, after the
    checks: ``lam`` a finite float >= 0 and ``m`` an int in [1, 2**63 - 1] (``TypeError`` /
    ``ValueError``), at least one parameter to penalize, and a coefficient within the range
    of the parameters' dtype (a float32 model cannot hold ``1e300 / (2 m)``), each a
    ``ValueError`` naming ``owner``, what was expected and what was given."""
    lam = _checks.real(owner, "lam", lam, low=0.0)
    m = _checks.integer(owner, "m", m, low=1)
    if m > _M_MAX:  # beyond a float's range, lam / m would be an OverflowError
        raise ValueError(f"{owner}: m expected an integer in [1, 2**63 - 1], got {reprlib.repr(m)}")
    chosen = [p for _, p in penalized_parameters(params, include_bias)]
    if not chosen:
        expected = (
            "at least one parameter"
            if include_bias
            else "at least one weight (a parameter with ndim >= 2; 1-D ones count with "
            "include_bias=True)"
        )
        raise ValueError(f"{owner}: params expected {expected}, got none")
    coefficient = lam / (scale * m)
    dtype = np.result_type(*(p.dtype for p in chosen))
    largest = float(np.finfo(dtype).max) if dtype.kind == "f" else math.inf
    if coefficient > largest:
        formula = "lam / m" if scale == 1 else f"lam / ({scale} m)"
        raise ValueError(
            f"{owner}: lam expected a number in [0, {scale * m * largest:.6g}] (with m = {m}, "
            f"{formula} within the range of the parameters' dtype {dtype}, at most "
            f"{largest:.6g}), got {lam!r}"
        )
    return chosen, coefficient


def _total(terms: list):
    """The sum of ``terms`` (at least one), in the widest of their dtypes: a model whose
    parameters mix float32 and float64 has its float32 terms cast up (a cast of the
    term, not of the parameter, so each keeps its dtype and its gradient's)."""
    dtype = np.result_type(*(t.dtype for t in terms))
    total = None
    for t in terms:
        t = t if t.dtype == dtype else t.astype(dtype)
        total = t if total is None else total + t
    return total


def l2_penalty(params, lam: float, m: int, include_bias: bool = False):
    """``lam / (2 m) * sum ||W||^2`` over the weights of ``params`` (a scalar Tensor).

    Parameters
    ----------
    params : Module, dict or iterable of (name, Tensor)
        The model or its named parameters; see :func:`penalized_parameters`.
    lam : float
        The regularization strength lambda: finite and >= 0, with ``lam / (2 m)`` within
        the range of the parameters' dtype (float32: at most about ``m * 6.8e38``).
    m : int
        The number of training examples (the notes' m), not the batch size: >= 1.
    include_bias : bool
        Also penalize 1-D parameters (biases, batch-norm gamma/beta).

    Raises
    ------
    TypeError
        If ``lam`` is not a real number or ``m`` not an integer.
    ValueError
        If ``lam`` is negative, NaN or infinite, ``lam / (2 m)`` is beyond the range of the
        parameters' dtype, ``m`` < 1, or ``params`` holds no parameter to penalize.
    """
    chosen, coefficient = _checked("l2_penalty", params, lam, m, include_bias, 2)
    return _total([(p * p).sum() for p in chosen]) * coefficient


def l1_penalty(params, lam: float, m: int, include_bias: bool = False):
    """``lam / m * sum |W|`` over the weights of ``params`` (a scalar Tensor); arguments as
    in :func:`l2_penalty`, with ``lam / m`` within the range of the parameters' dtype
    (float32: at most about ``m * 3.4e38``). The subgradient at W = 0 is 0."""
    chosen, coefficient = _checked("l1_penalty", params, lam, m, include_bias, 1)
    return _total([p.abs().sum() for p in chosen]) * coefficient
