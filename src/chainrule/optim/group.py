"""The optimizers' flat-buffer layout: parameters of one dtype share flat arrays.

A :class:`Group` holds, for the parameters of one dtype, one flat array for the copied
gradients, one per state array and one per work array, and each parameter's views of
them (shaped like the parameter, or 1-D for the compiled rules), so that an update rule
can run once over the whole group, or per parameter on its views; see
:mod:`chainrule.optim.base`.
"""

from __future__ import annotations

import numpy as np

from chainrule.autodiff import Tensor


class Group:
    """Parameters of one dtype: flat gradient/state/scratch arrays and per-parameter views."""

    __slots__ = (
        "index",
        "params",
        "grad",
        "grads",
        "state",
        "states",
        "scratch",
        "scratches",
        "flat_states",
        "t",
        "synced",
    )

    def __init__(self, index: list[int], params: list[Tensor], n_state: int, n_scratch: int):
        dtype = params[0].dtype
        total = sum(p.size for p in params)
        self.index = index
        self.params = params
        self.grad = np.zeros(total, dtype=dtype)
        self.state = tuple(np.zeros(total, dtype=dtype) for _ in range(n_state))
        self.grads = _views(self.grad, params)
        self.states = _per_parameter(self.state, params)
        self.flat_states = _per_parameter(self.state, params, flat=True)
        self.allocate_scratch(n_scratch)
        self.t = [0] * len(params)
        self.synced = True

    def allocate_scratch(self, n_scratch: int) -> None:
        """``n_scratch`` work arrays (no state: their values never outlive an update)."""
        total = self.grad.size
        self.scratch = tuple(np.zeros(total, dtype=self.grad.dtype) for _ in range(n_scratch))
        self.scratches = _per_parameter(self.scratch, self.params)


def _per_parameter(buffers, params, flat: bool = False) -> list[tuple[np.ndarray, ...]]:
    """For each parameter, a tuple of its views of ``buffers`` (see :func:`_views`)."""
    views = [_views(b, params, flat) for b in buffers]
    return [tuple(v[j] for v in views) for j in range(len(params))]


def _views(buffer: np.ndarray, params, flat: bool = False) -> list[np.ndarray]:
    """One view of ``buffer`` per parameter, shaped like it (or 1-D with ``flat``)."""
    views, start = [], 0
    for p in params:
        view = buffer[start : start + p.size]
        views.append(view if flat else view.reshape(p.shape))
        start += p.size
    return views


__all__ = ["Group"]
