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

from chainrule._numba_cache import cached


@numba.njit(error_model="numpy", inline="always")
def _moments(gi, vi, si, beta1, gain1, beta2, root_gain, tiny):
    """The new (v, s) of one entry: inlined into both loops of :func:`adam`."""
    gi = gi * gain1
    vi = vi * beta1 + gi
    gs = gi * root_gain
    si = si * beta2 + gs * gs
    # times 1 or 0: exact, branch-free (vectorizes)
    return vi * (abs(vi) >= tiny), si * (si >= tiny)


@cached(numba.njit, error_model="numpy")
def adam(p, g, v, s, coef):
    """One Adam step and write; see :func:`chainrule.optim.kernels.adam_step`."""
    beta1, gain1, beta2, root_gain = coef[0], coef[1], coef[2], coef[3]
    eps, scale, decay, tiny = coef[4], coef[5], coef[6], coef[7]
    if decay == 0:  # Adam: the NumPy write's p - step (p * 0 would make an inf p NaN)
        for i in range(p.size):
            vi, si = _moments(g[i], v[i], s[i], beta1, gain1, beta2, root_gain, tiny)
            v[i] = vi
            s[i] = si
            p[i] = p[i] - vi / (np.sqrt(si) + eps) * scale
    else:
        for i in range(p.size):
            vi, si = _moments(g[i], v[i], s[i], beta1, gain1, beta2, root_gain, tiny)
            v[i] = vi
            s[i] = si
            pi = p[i]
            p[i] = pi - (pi * decay + vi / (np.sqrt(si) + eps) * scale)


@cached(numba.njit, error_model="numpy")
def finite(a):
    """Whether every entry of the 1-D array ``a`` is finite; see ``kernels.all_finite``."""
    ok = True
    for i in range(a.size):
        ok &= (a[i] - a[i]) == 0  # x - x is 0 for finite x, NaN for NaN and +-inf
    return ok


@cached(numba.njit)
def _edge(n, k, parts):
    """Where piece k of ``parts`` starts (k = parts: the end), on a 16-entry boundary so
    that two threads never write one 64-byte cache line."""
    return n if k == parts else n * k // parts // 16 * 16


@cached(numba.njit, error_model="numpy", parallel=True)
def adam_parts(p, g, v, s, coef, parts):
    """:func:`adam` on ``parts`` pieces of the arrays, one per thread (the same values)."""
    n = p.size
    for k in numba.prange(parts):
        lo, hi = _edge(n, k, parts), _edge(n, k + 1, parts)
        adam(p[lo:hi], g[lo:hi], v[lo:hi], s[lo:hi], coef)


@cached(numba.njit, error_model="numpy", parallel=True)
def finite_parts(a, parts):
    """:func:`finite` on ``parts`` pieces of ``a``, one per thread."""
    n = a.size
    bad = 0
    for k in numba.prange(parts):
        bad += 0 if finite(a[_edge(n, k, parts) : _edge(n, k + 1, parts)]) else 1
    return bad == 0
