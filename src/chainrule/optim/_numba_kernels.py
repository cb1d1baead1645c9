"""The numba loops behind :mod:`chainrule.optim.kernels` (importing this imports numba).

``error_model="numpy"``: a division by zero gives inf/nan as in NumPy instead of raising,
which also lets LLVM vectorize the loop. No ``fastmath``: the float operations stay the
ones written, in the order written. The ``_parts`` versions split an array into pieces,
one per thread, and run the one-thread loop on each: :mod:`chainrule.optim.kernels` calls
them only inside :func:`chainrule.shared_threads`, where OpenBLAS's products run on the
same threads. Beside OpenBLAS's own spinning workers the split lost more than it saved.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(error_model="numpy", cache=True)
def adam(p, g, v, s, coef):
    """One Adam step and write; see :func:`chainrule.optim.kernels.adam_step`."""
    beta1, gain1, beta2, square_gain = coef[0], coef[1], coef[2], coef[3]
    eps, scale, shrink, tiny = coef[4], coef[5], coef[6], coef[7]
    for i in range(p.size):
        gi = g[i] * gain1
        vi = v[i] * beta1 + gi
        si = s[i] * beta2 + (gi * gi) * square_gain
        vi = vi * (abs(vi) >= tiny)  # times 1 or 0: exact, branch-free (vectorizes)
        si = si * (si >= tiny)
        v[i] = vi
        s[i] = si
        p[i] = p[i] * shrink - vi / (np.sqrt(si) + eps) * scale


@numba.njit(error_model="numpy", cache=True)
def finite(a):
    """Whether every entry of the 1-D array ``a`` is finite; see ``kernels.all_finite``."""
    ok = True
    for i in range(a.size):
        ok &= (a[i] - a[i]) == 0  # x - x is 0 for finite x, NaN for NaN and +-inf
    return ok


@numba.njit(cache=True)
def _edge(n, k, parts):
    """Where piece k of ``parts`` starts (k = parts: the end), on a 16-entry boundary so
    that two threads never write one 64-byte cache line."""
    return n if k == parts else n * k // parts // 16 * 16


@numba.njit(error_model="numpy", parallel=True, cache=True)
def adam_parts(p, g, v, s, coef, parts):
    """:func:`adam` on ``parts`` pieces of the arrays, one per thread (the same values)."""
    n = p.size
    for k in numba.prange(parts):
        lo, hi = _edge(n, k, parts), _edge(n, k + 1, parts)
        adam(p[lo:hi], g[lo:hi], v[lo:hi], s[lo:hi], coef)


@numba.njit(error_model="numpy", parallel=True, cache=True)
def finite_parts(a, parts):
    """:func:`finite` on ``parts`` pieces of ``a``, one per thread."""
    n = a.size
    bad = 0
    for k in numba.prange(parts):
        bad += 0 if finite(a[_edge(n, k, parts) : _edge(n, k + 1, parts)]) else 1
    return bad == 0
