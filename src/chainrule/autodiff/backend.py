"""The array module behind a tensor: NumPy now, CuPy (or any NumPy-compatible module) later.

Gradient rules (each kernel, its VJP and the target checks it calls) take their array
functions from :func:`array_module`, the module that owns their inputs, so a GPU array
flows through the same rules unchanged. The exception is the compiled passes
(:func:`engine_kernels`), which take NumPy arrays only: a rule chooses one after checking
that its input is a ``numpy.ndarray``, and then calls NumPy directly around it.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from types import ModuleType

import numpy as np

from chainrule.autodiff.mode import MODE

_ndarray = np.ndarray


def array_module(x: object) -> ModuleType:
    """Return the array module that owns ``x`` (``numpy`` for NumPy arrays and scalars)."""
    if type(x) is _ndarray:
        return np
    root = type(x).__module__.partition(".")[0]
    if root in ("numpy", "builtins"):
        return np
    return importlib.import_module(root)


@functools.cache
def numba_error() -> ImportError | None:
    """Why numba cannot be imported, or None when it can (imported once per process).

    A numba that is not installed (``ModuleNotFoundError`` naming it) is the NumPy-only
    core, chosen silently. One that is installed but fails to import (an older numba that
    refuses a newer NumPy, a missing llvmlite) gives one ``RuntimeWarning`` naming the
    error: chainrule then runs its NumPy rules, as without numba.
    """
    try:
        importlib.import_module("numba")
    except ImportError as error:
        if not _not_installed(error):
            warnings.warn(
                f"numba is installed but cannot be imported ({type(error).__name__}: {error}); "
                "chainrule uses its NumPy rules instead of the compiled ones. Install a numba "
                f"that supports NumPy {np.__version__}, or uninstall numba",
                RuntimeWarning,
                stacklevel=2,
            )
        return error
    return None


def broken_numba() -> ImportError | None:
    """The error of a numba that is installed but cannot be imported (see
    :func:`numba_error`), or None: numba imports, or is not installed."""
    error = numba_error()
    return None if error is None or _not_installed(error) else error


def _not_installed(error: ImportError) -> bool:
    return isinstance(error, ModuleNotFoundError) and error.name == "numba"


@functools.cache
def compiled(module: str) -> ModuleType | None:
    """The numba kernels of ``module``, or None when numba (the ``fast`` extra) is missing
    or cannot be imported (see :func:`numba_error`).

    Imported on first use, not with chainrule: importing numba takes a while.
    """
    if numba_error() is not None:
        return None
    return importlib.import_module(module)


def engine_kernels() -> ModuleType | None:
    """The engine's compiled rules (``chainrule.autodiff._numba_kernels``), or None when
    numba is missing or :class:`~chainrule.autodiff.mode.numpy_rules` is on."""
    return compiled("chainrule.autodiff._numba_kernels") if MODE.compiled else None
