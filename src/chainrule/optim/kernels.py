"""Compiled one-pass update rules: optional, with the ``fast`` extra (numba).

NumPy runs the Adam rule of :mod:`chainrule.optim.adam` as 11 passes over the gradient and
state arrays plus one over the parameters, each a separate call that reads and writes
memory. With numba installed, the rule and the write are one loop, compiled on first use
(and cached on disk). The loop performs the same IEEE float operations in the same order
as the NumPy rule (no fast-math reassociation, no fused multiply-add), so both paths give
bit-identical parameters and state: a run does not depend on whether numba is installed,
and the NumPy rule stays the reference the tests compare against.

One deliberate difference: moments that fall below the smallest normal float (``tiny``,
1.2e-38 in float32) are flushed to zero, as XLA does for all its arithmetic. A parameter
whose gradient stays 0 (a dead ReLU unit) sees its first moment decay by beta1 each step
and reach the subnormal range within ~800 steps; x86 computes on subnormals in microcode,
10-100x slower, and the 784-256-256-10 benchmark slowed 4x once most of its first layer
had died. A flushed s (below tiny) changes the denominator ``sqrt(s) + eps`` of the loop
below by less than ``sqrt(tiny)``, a flushed v the step by less than ``tiny / eps *
scale``. With ``eps`` (the loop's eps term, ``eps * sqrt(1 - beta2**t)`` with bias
correction, smallest at t = 1) at least :func:`flush_floor`, ``sqrt(tiny) / u`` (u the
unit roundoff, 2**-24 in float32), the first is less than one rounding of the denominator
and the second is below ``u * sqrt(tiny) * scale``: runs that reach the subnormal range
then differ from the NumPy rule in the moments, by a few units in the last place of a
step, and in weights below about ``sqrt(tiny) * scale``. A smaller eps term could make a
step many times too large (float32, eps = 1e-25, dW = 1e-19: a step of 1000, against
1e-3 with s kept), so :class:`~chainrule.optim.Adam` takes its NumPy rule there.

Measured on the benchmark machine (float32, one Adam step and write, arrays in cache):
23,820 parameters 53 -> 13 us, 268,800: 610 -> 175 us, 1,861,632: 6.3 -> 1.3 ms.
"""

from __future__ import annotations

import functools
import math
from types import ModuleType

import numpy as np

from chainrule import threads
from chainrule.autodiff.backend import broken_numba, compiled


def _numba_module() -> ModuleType | None:
    return compiled("chainrule.optim._numba_kernels")


def available() -> bool:
    """Whether the compiled kernels can run (numba is importable)."""
    return _numba_module() is not None


def resolve(owner: str, fused) -> bool:
    """The ``fused=`` argument of an optimizer: None (use numba if it can be imported),
    True, False.

    Raises
    ------
    TypeError
        If ``fused`` is not None or a bool.
    ImportError
        If ``fused=True`` and numba is not installed or cannot be imported (naming the
        import's error).
    """
    if fused is not None and not isinstance(fused, bool):
        raise TypeError(f"{owner}: expected fused to be None, True or False, got {fused!r}")
    if fused is False:
        return False
    if available():
        return True
    if fused:
        error = broken_numba()
        if error is not None:
            raise ImportError(
                f"{owner}(fused=True) needs numba, which is installed but cannot be imported "
                f"({type(error).__name__}: {error}): install a numba that supports NumPy "
                f"{np.__version__} (or pass fused=None to fall back to NumPy)"
            ) from error
        raise ImportError(
            f"{owner}(fused=True) needs numba: pip install 'chainrule[fast]' "
            "(or pass fused=None to fall back to NumPy)"
        )
    return False


def adam_step(params, grads, states, coef) -> None:
    """One Adam step and write per parameter, in place, on 1-D contiguous arrays of one
    float dtype: ``params[j]``, ``grads[j]`` and the pair ``states[j] = (v, s)``.

    ``coef`` holds, in the arrays' dtype, ``beta1, gain1 = 1 - beta1, beta2, root_gain =
    sqrt(1 - beta2) / gain1, eps, scale, decay, tiny`` (``tiny``: the dtype's smallest
    normal number, see :func:`tiny`). For each i::

        gi = g[i] * gain1
        v[i] = v[i] * beta1 + gi                (0 if |v[i]| < tiny)
        gs = gi * root_gain
        s[i] = s[i] * beta2 + gs * gs           (0 if s[i] < tiny)
        p[i] = p[i] - (p[i] * decay + v[i] / (sqrt(s[i]) + eps) * scale)

    (``p[i] - v[i] / (sqrt(s[i]) + eps) * scale`` when ``decay`` is 0), the operation order
    of :meth:`chainrule.optim.Adam.update` followed by the write.
    Inside :func:`chainrule.shared_threads`, arrays of at least ``PARALLEL_MIN`` entries
    are split over the pool's threads (the same values).
    """
    module, parts = _numba_module(), threads.parts()
    adam = module.adam
    for p, g, (v, s) in zip(params, grads, states, strict=True):
        if parts > 1 and p.size >= threads.PARALLEL_MIN:
            module.adam_parts(p, g, v, s, coef, parts)
        else:
            adam(p, g, v, s, coef)


@functools.cache
def tiny(dtype) -> float:
    """The smallest normal number of the float ``dtype`` (``np.finfo(dtype).tiny``)."""
    return float(np.finfo(dtype).tiny)


@functools.cache
def flush_floor(dtype) -> float:
    """The least eps term of :func:`adam_step` at which flushing the moments below
    :func:`tiny` changes the loop's denominator by less than one rounding: ``sqrt(tiny) /
    u``, u the unit roundoff (``np.finfo(dtype).eps / 2``): 2**-39 = 1.8e-12 in float32,
    2**-458 = 1.3e-138 in float64 (see the module's docstring)."""
    return math.sqrt(tiny(dtype)) / (float(np.finfo(dtype).eps) / 2)


def all_finite(arrays) -> bool:
    """Whether every entry of every 1-D array is finite (no NaN, no +-inf).

    One read pass per array, stopping at the first array that fails; unlike a sum of
    squares it cannot overflow, so finite gradients never take the slow path. Split over
    the threads of :func:`chainrule.shared_threads` like :func:`adam_step`.
    """
    module, parts = _numba_module(), threads.parts()
    finite = module.finite
    for a in arrays:
        if parts > 1 and a.size >= threads.PARALLEL_MIN:
            if not module.finite_parts(a, parts):
                return False
        elif not finite(a):
            return False
    return True
