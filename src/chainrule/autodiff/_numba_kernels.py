"""The numba loops behind the engine's compiled rules (importing this imports numba).

Each loop performs the float operations of the NumPy rule it replaces, in the same order
and in the arrays' dtype, so both give the same values (up to the sign of a zero); they
save passes over memory, temporary arrays and calls. ``error_model="numpy"`` and no
``fastmath``, as in the optimizer kernels. Constants come in ``unit``, a 1-element array
of the arrays' dtype holding 1: a literal 1 would be typed as an integer and promote the
float32 arithmetic to float64. The transcendental functions (exp, log) stay with NumPy,
whose vectorized versions are faster than the scalar ones a loop calls and whose values
the NumPy rules define.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from chainrule._numba_cache import cached

#: ``kind`` codes of :func:`activation_backward`, by activation name.
ACTIVATION_CODES = {"relu": 0, "sigmoid": 1, "tanh": 2}


@functools.cache
def unit(dtype) -> np.ndarray:
    """The ``unit`` argument for arrays of ``dtype`` (read-only, shared)."""
    one = np.ones(1, dtype)
    one.flags.writeable = False
    return one


@cached(numba.njit, error_model="numpy")
def bias_relu(z, b):
    """In place on the (m, n) matmul output: z = max(z + b, 0) (NaN stays NaN)."""
    m, n = z.shape
    for i in range(m):
        for j in range(n):
            x = z[i, j] + b[j]
            z[i, j] = x if not x <= 0 else 0  # np.maximum(x, 0): NaN propagates
    return z


@cached(numba.njit, error_model="numpy")
def bias_negate(z, b):
    """In place on the (m, n) matmul output: z = -(z + b), the argument of sigmoid's exp."""
    m, n = z.shape
    for i in range(m):
        for j in range(n):
            z[i, j] = -(z[i, j] + b[j])
    return z


@cached(numba.njit, error_model="numpy")
def reciprocal_one_plus(e, unit):
    """In place on the (m, n) array e = exp(-z): e = 1 / (e + 1), sigmoid's last steps."""
    one = unit[0]
    m, n = e.shape
    for i in range(m):
        for j in range(n):
            e[i, j] = one / (e[i, j] + one)
    return e


@cached(numba.njit, error_model="numpy")
def activation_backward(kind, g, a, unit, dz, db):
    """dz = g * act'(z), read from a = act(z), and db = sum of dz over the rows.

    ``kind`` (see :data:`ACTIVATION_CODES`): 0 relu, g * [a > 0]; 1 sigmoid,
    (g * a) * (1 - a); 2 tanh, (1 - a * a) * g. The rows are summed one after another,
    as NumPy sums a C-ordered array over axis 0.
    """
    m, n = g.shape
    one = unit[0]
    for j in range(n):
        db[j] = 0
    for i in range(m):
        for j in range(n):
            x = a[i, j]
            if kind == 0:
                d = g[i, j] * (x > 0)
            elif kind == 1:
                d = g[i, j] * x * (one - x)
            else:
                d = (one - x * x) * g[i, j]
            dz[i, j] = d
            db[j] += d


@cached(numba.njit, error_model="numpy")
def shift_rows(z, s):
    """s = z - max(z) along each row of the (m, k) array z (a NaN in a row: all NaN)."""
    m, k = z.shape
    for i in range(m):
        top = z[i, 0]
        for j in range(1, k):
            x = z[i, j]
            if x > top or x != x:  # np.max: a NaN wins
                top = x
        for j in range(k):
            s[i, j] = z[i, j] - top


@cached(numba.njit, error_model="numpy")
def first_bad_label(labels, k):
    """The position of the first label outside [0, k), or -1 if there is none."""
    for i in range(labels.shape[0]):
        if labels[i] < 0 or labels[i] >= k:
            return i
    return -1


@cached(numba.njit, error_model="numpy")
def softmax_xent_rows(s, e, total, log_total, labels, per):
    """Per row i: per[i] = -(s[i, label] - log_total[i]) (= -log p[label], with the NumPy
    rule's sign of a zero) and, in place, e[i] /= total[i] (exp of the shifted logits ->
    softmax probabilities)."""
    m, k = s.shape
    for i in range(m):
        per[i] = -(s[i, labels[i]] - log_total[i])
        for j in range(k):
            e[i, j] /= total[i]


@cached(numba.njit, error_model="numpy")
def softmax_xent_backward(p, labels, scale, unit, d):
    """d = (p - onehot(labels)) * scale[i] row by row: the labels' cross-entropy VJP."""
    m, k = p.shape
    one = unit[0]
    for i in range(m):
        for j in range(k):
            d[i, j] = p[i, j] * scale[i]
        label = labels[i]
        d[i, label] = (p[i, label] - one) * scale[i]
