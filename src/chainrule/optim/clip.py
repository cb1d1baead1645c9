"""Gradient clipping: by global norm and by value.

Both are plain functions over a list of arrays, usable on their own (say, to log the
gradient norm) and applied by every optimizer before its update rule when it is built with
``clip_value=`` and/or ``clip_norm=`` (value first, then norm, so that the norm bound holds
for what the rule finally sees). Neither writes into its inputs unless handed them as
``out``. Gradients are floating-point NumPy arrays: :func:`global_norm` and the clipping
functions refuse others (``TypeError`` naming the position and the type or dtype) before any
work, since integer squares would overflow silently and integer arrays cannot hold clipped
values. ``arrays`` is any iterable of them (a generator too), but not a single array.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from chainrule import _checks


def sum_of_squares(arrays: Iterable[np.ndarray]) -> float:
    """``sum_i ||a_i||^2``: per array in the arrays' dtype, across arrays in a Python float
    (inf if an array's own sum overflows; NaN or Inf entries give NaN or Inf)."""
    total = 0.0
    for a in arrays:
        total += float(np.vdot(a, a))
    return total


def global_norm(arrays: Iterable[np.ndarray]) -> float:
    """The Euclidean norm of all entries of all arrays together, ``sqrt(sum_i ||a_i||^2)``.

    Sums of squares are accumulated per array in the arrays' dtype and across arrays in
    Python floats; if they overflow, or fall below float32's smallest normal number (where
    float32 squares underflow), the norm is recomputed in float64 after scaling by the
    largest magnitude. It is inf only where the norm itself exceeds float64's range. NaN or
    Inf entries give a NaN or Inf norm.

    Raises
    ------
    TypeError
        If ``arrays`` is a single array or no iterable, or one of them is no
        ``numpy.ndarray`` of float32 or float64.
    """
    arrays = _check_floating(arrays, "global_norm")
    peak, rest = _norm_factors(arrays)
    return peak * rest


#: Below this sum of squares, float32 squares may have underflowed (to subnormals or 0).
_SMALLEST_SUM = float(np.finfo(np.float32).tiny)


def _norm_factors(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    """The global norm as ``peak * rest``: ``(1, norm)`` when the sum of squares is a normal
    float32 number, else ``peak`` the largest magnitude and ``rest`` the norm of the arrays
    divided by it, in float64 (their product may overflow where ``rest`` cannot)."""
    total = sum_of_squares(arrays)
    if _SMALLEST_SUM <= total < math.inf or math.isnan(total):
        return 1.0, math.sqrt(total)
    peak = max((float(np.abs(a).max()) for a in arrays if a.size), default=0.0)
    if peak == 0.0 or not math.isfinite(peak):
        return 1.0, peak
    return peak, math.sqrt(sum_of_squares(a.astype(np.float64) / peak for a in arrays))


def clip_by_global_norm(
    arrays: Iterable[np.ndarray], max_norm: float, out: Sequence[np.ndarray] | None = None
) -> tuple[list[np.ndarray], float]:
    """Scale all arrays by ``max_norm / norm`` when their global norm exceeds ``max_norm``.

    The direction of the whole gradient is kept; only its length is capped. Returns the
    clipped arrays (``out`` if given, else new arrays) and the norm before clipping.
    An array whose dtype cannot hold the scale as a normal number (float32, when its norm
    overflows float32: found in float64, see :func:`global_norm`) is multiplied in float64
    and rounded once. A norm beyond float64's range is returned as inf, and the scale is
    still found from the scaled norm, so the arrays keep their direction.

    Raises
    ------
    TypeError
        If ``arrays`` is a single array or no iterable, one of them is no ``numpy.ndarray``
        of float32 or float64, ``out`` is no sequence (a list or tuple) or one of its
        outputs is no ``numpy.ndarray``.
    ValueError
        If ``max_norm`` is not a finite number > 0, or an output is read-only or of another
        shape or dtype than its array.
    """
    max_norm = _checks.real("clip_by_global_norm", "max_norm", max_norm, low=0.0, low_open=True)
    arrays = _check_floating(arrays, "clip_by_global_norm")
    out = _outputs(arrays, out, "clip_by_global_norm")
    peak, rest = _norm_factors(arrays)
    norm = peak * rest
    scale = max_norm / peak / rest if norm > max_norm else 1.0
    for a, o in zip(arrays, out, strict=True):
        if scale != 1.0:
            wide = scale < np.finfo(a.dtype).tiny  # subnormal or 0 in a's dtype
            np.multiply(a, scale, out=o, dtype=np.float64 if wide else None)
        elif o is not a:
            o[...] = a
    return list(out), norm


def clip_by_value(
    arrays: Iterable[np.ndarray], limit: float, out: Sequence[np.ndarray] | None = None
) -> list[np.ndarray]:
    """Clamp every entry into ``[-limit, limit]`` (the direction may change).

    Raises
    ------
    TypeError
        If ``arrays`` is a single array or no iterable, one of them is no ``numpy.ndarray``
        of float32 or float64, ``out`` is no sequence (a list or tuple) or one of its
        outputs is no ``numpy.ndarray``.
    ValueError
        If ``limit`` is not a finite number > 0, or an output is read-only or of another
        shape or dtype than its array.
    """
    limit = _checks.real("clip_by_value", "limit", limit, low=0.0, low_open=True)
    arrays = _check_floating(arrays, "clip_by_value")
    out = _outputs(arrays, out, "clip_by_value")
    for a, o in zip(arrays, out, strict=True):
        np.clip(a, -limit, limit, out=o)
    return list(out)


def _check_floating(arrays, owner: str) -> list[np.ndarray]:
    """``arrays`` as a list (read once: it may be a generator), each checked to be a
    ``numpy.ndarray`` (or a subclass) of float32 or float64, the dtypes of tensors
    (float16's sums of squares fall below the bound that sends them to float64)."""
    if isinstance(arrays, np.ndarray) or not isinstance(arrays, Iterable):
        got = "a single numpy.ndarray" if isinstance(arrays, np.ndarray) else type(arrays).__name__
        raise TypeError(
            f"{owner}: arrays expected a sequence of numpy.ndarray, got {got} "
            "(wrap one array in a list)"
        )
    arrays = list(arrays)
    for i, a in enumerate(arrays):
        if not isinstance(a, np.ndarray):
            raise TypeError(
                f"{owner}: array {i} expected a floating-point numpy.ndarray (a gradient), "
                f"got {type(a).__name__}"
            )
        if a.dtype != np.float32 and a.dtype != np.float64:  # float16's sums lose more
            raise TypeError(
                f"{owner}: array {i} expected float32 or float64 (a gradient), got {a.dtype}"
            )
    return arrays


def _outputs(arrays, out, owner: str):
    if out is None:
        return [np.empty_like(a) for a in arrays]
    if not isinstance(out, Sequence):  # a generator, an int, a single numpy.ndarray
        raise TypeError(
            f"{owner}: out expected a sequence (a list or tuple) of {len(arrays)} "
            f"numpy.ndarray, one per array, got {type(out).__name__}"
        )
    if len(out) != len(arrays):
        raise ValueError(f"{owner}: expected {len(arrays)} output arrays, got {len(out)}")
    for i, (a, o) in enumerate(zip(arrays, out, strict=True)):
        if not isinstance(o, np.ndarray):
            raise TypeError(
                f"{owner}: output {i} expected a numpy.ndarray of shape {a.shape} and dtype "
                f"{a.dtype}, got {type(o).__name__}"
            )
        if not o.flags.writeable:
            raise ValueError(f"{owner}: output {i} expected a writable array, got a read-only one")
        if o.shape != a.shape or o.dtype != a.dtype:
            raise ValueError(
                f"{owner}: output {i} expected shape {a.shape} and dtype {a.dtype}, "
                f"got shape {o.shape} and dtype {o.dtype}"
            )
    return out
