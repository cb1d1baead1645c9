"""The benchmarked systems, one module each, loaded lazily by name.

Every module exposes ``VERSION`` (a string for the report) and
``make_trainer(config, batches, seed) -> trainer`` where ``trainer.run(n_steps)`` performs
``n_steps`` full training steps (forward, softmax cross-entropy, backward, Adam update)
cycling through ``batches`` and returns only when the work is done, and
``trainer.loss()`` gives the mean loss on the first batch (to check that it trains).
A module whose library wraps or copies the data may also expose
``prepare_batches(batches) -> batches``: the data as it trains on them, which
``make_trainer`` keeps as they are (the same list; see :func:`prepare`).
A module whose library is not installed fails to import: the runner reports it as missing.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from chainrule.autodiff.blas import openblas

MODULES = {
    "chainrule": "chainrule.bench.systems.chainrule_mlp",
    "chainrule-eager": "chainrule.bench.systems.chainrule_eager_mlp",
    "chainrule-numpy": "chainrule.bench.systems.chainrule_numpy_mlp",
    "torch": "chainrule.bench.systems.torch_mlp",
    "jax": "chainrule.bench.systems.jax_mlp",
    "sklearn": "chainrule.bench.systems.sklearn_mlp",
    "numpy": "chainrule.bench.systems.numpy_mlp",
}


class MissingSystem(Exception):
    """A system's library is not installed (or fails to import)."""


def load(name: str, modules: Mapping[str, str] = MODULES) -> ModuleType:
    """Import the module of system ``name`` (from ``modules``, name -> module path); raise
    :class:`MissingSystem` if it cannot."""
    if name not in modules:
        raise ValueError(f"unknown system {name!r}: expected one of {', '.join(modules)}")
    try:
        return importlib.import_module(modules[name])
    except ImportError as exc:
        raise MissingSystem(f"{name}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - e.g. jax and jaxlib of mismatched versions
        raise MissingSystem(f"{name}: broken install: {type(exc).__name__}: {exc}") from exc


def missing_entry(name: str, exc: MissingSystem) -> dict:
    """A system's result entry when :func:`load` could not import it: why, instead of numbers."""
    return {"missing": f"{name} missing ({exc.__cause__ or exc})"}


def failed_entry(exc: Exception) -> dict:
    """A system's result entry when it raised: the error instead of numbers."""
    return {"error": f"{type(exc).__name__}: {exc}"}


def host() -> dict[str, str]:
    """The ``python`` version and the ``machine`` (the CPU's name, architecture, CPU count,
    platform and NumPy's BLAS with the kernels it runs) for a report's meta."""
    return {
        "python": sys.version.split()[0],
        "machine": f"{cpu_name()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.platform()}, {blas_name()}",
    }


def cpu_name(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name, with its family and model numbers where Linux gives them
    (``cpuinfo``'s first processor); ``platform.processor()`` elsewhere."""
    fields = {}
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for line in Path(cpuinfo).read_text().split("\n\n")[0].splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or "unknown CPU"
    if fields.get("cpu family") and fields.get("model"):
        return f"{name} (family {fields['cpu family']}, model {fields['model']})"
    return name


def blas_name() -> str:
    """NumPy's BLAS: OpenBLAS's build configuration (its version and the CPU kernels it
    runs) where chainrule finds it, why not otherwise."""
    found = openblas()
    if isinstance(found, str):
        return found
    if found.config is None:
        return f"OpenBLAS ({found.path}) without a build configuration"
    return " ".join(found.config.split())


def prepare(module: ModuleType, batches: list) -> list:
    """``batches`` as system ``module`` trains on them: what its ``prepare_batches`` makes
    of them where it has one (JAX copies them into its own buffers, PyTorch and chainrule
    wrap them), the NumPy batches themselves otherwise.

    The memory probe prepares the data before it reads its baseline, so that a system's
    copy or wrappers of the data pool (for (a)'s 6,554 batches, 196 MiB: 263 MiB for
    JAX's copy, 7 MiB for PyTorch's 13,108 tensors) count as data, as the NumPy pool
    does, and not as memory of the training step.
    """
    hook = getattr(module, "prepare_batches", None)
    return batches if hook is None else hook(batches)
