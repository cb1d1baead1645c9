"""The numba loops behind the engine's compiled rules (importing this imports numba).

Each loop performs the float operations of the NumPy rule it replaces, in the same order,
so both give the same values (up to the sign of a zero); they save passes over memory and
temporary arrays. ``error_model="numpy"`` and no ``fastmath``, as in the optimizer kernels.
"""

from __future__ import annotations

import numba


@numba.njit(error_model="numpy", cache=True)
def bias_relu(z, b):
    """In place on the (m, n) matmul output: z = max(z + b, 0) (NaN stays NaN)."""
    m, n = z.shape
    for i in range(m):
        for j in range(n):
            x = z[i, j] + b[j]
            z[i, j] = x if not x <= 0 else 0  # np.maximum(x, 0): NaN propagates
    return z


@numba.njit(error_model="numpy", cache=True)
def relu_backward(g, a, dz, db):
    """dz = g * [a > 0] and db = sum of dz over the rows (row by row, as NumPy sums)."""
    m, n = g.shape
    for j in range(n):
        db[j] = 0
    for i in range(m):
        for j in range(n):
            d = g[i, j] * (a[i, j] > 0)
            dz[i, j] = d
            db[j] += d
