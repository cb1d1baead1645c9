"""NumPy's OpenBLAS, found once: the library whose entry points chainrule calls beside
NumPy (the threads callback of :mod:`chainrule.threads`)."""

from __future__ import annotations

import contextlib
import ctypes
import functools
from pathlib import Path

import numpy as np

#: (prefix, suffix) of OpenBLAS's exported names: NumPy's wheels (64-bit integers, then
#: 32-bit) and system builds.
_NAMINGS = (
    ("scipy_openblas_", "64_"),
    ("scipy_openblas_", ""),
    ("openblas_", "64_"),
    ("openblas_", ""),
)


class OpenBLAS:
    """The entry points chainrule uses from one loaded OpenBLAS library."""

    def __init__(self, path: str, lib: ctypes.CDLL, prefix: str, suffix: str):
        self.path = path
        self.set_callback = getattr(lib, f"{prefix}set_threads_callback_function{suffix}")
        self.set_callback.argtypes, self.set_callback.restype = [ctypes.c_void_p], None
        self.get_threads = getattr(lib, f"{prefix}get_num_threads{suffix}")
        self.get_threads.argtypes, self.get_threads.restype = [], ctypes.c_int


def _candidate_paths() -> list[str]:
    """NumPy's bundled libraries first, then every loaded library named like OpenBLAS."""
    bundled = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    paths = sorted(str(p) for p in bundled.glob("*openblas*"))
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/maps").read_text().splitlines():
            fields = line.split(maxsplit=5)
            path = fields[5] if len(fields) == 6 else ""
            if "openblas" in Path(path).name and path not in paths:
                paths.append(path)
    return paths


def _numpy_blas_name() -> str:
    try:
        config = np.show_config(mode="dicts")
        return str(config["Build Dependencies"]["blas"]["name"])
    except (TypeError, KeyError, AttributeError):
        return "unknown"


@functools.cache
def openblas() -> OpenBLAS | str:
    """NumPy's OpenBLAS with the threads callback, or why there is none."""
    name = _numpy_blas_name()
    if "openblas" not in name.lower():
        return f"NumPy's BLAS is {name}, not OpenBLAS"
    for path in _candidate_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in _NAMINGS:
            with contextlib.suppress(AttributeError):
                return OpenBLAS(path, lib, prefix, suffix)
    return "NumPy's OpenBLAS has no threads callback (it needs OpenBLAS 0.3.27 or later)"
