"""Undo NumPy broadcasting in the backward pass: the one helper every binary rule uses."""

from __future__ import annotations


def unbroadcast(grad, shape: tuple[int, ...]):
    """Sum ``grad`` down to ``shape``, the shape of the operand before broadcasting.

    Broadcasting (a) prepends size-1 axes and (b) stretches size-1 axes. The adjoint of
    stretching is summing, so leading extra axes are summed away and every axis where the
    operand had size 1 is summed with ``keepdims``.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad
