"""Compiled kernels cached on disk where numba finds a place to write the cache.

numba looks for one beside the module (its ``__pycache__``) and in the user's cache
folder; where the process may write in neither (a package installed by root, run by
another user whose home is ``/``), ``cache=True`` makes numba raise ``RuntimeError``
("cannot cache function ...: no locator available") when the module is imported, and
every compiled rule would fail. :func:`cached` compiles such a kernel without the cache
instead: the same code, compiled anew in each process.
"""

from __future__ import annotations


def cached(compile, *args, **options):
    """``compile(*args, cache=True, **options)`` (``numba.njit`` or ``numba.cfunc`` with
    their arguments), as a decorator that falls back to ``cache=False`` where numba has
    no place for the cache (see the module docstring)."""

    def decorate(fn):
        try:
            return compile(*args, cache=True, **options)(fn)
        except RuntimeError as exc:
            if "cannot cache function" not in str(exc):
                raise
            return compile(*args, **options)(fn)

    return decorate
