"""Checks of an optimizer checkpoint (``Optimizer.load_state_dict``), before anything is
restored."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

import numpy as np

from chainrule import _checks

#: The largest update count a checkpoint may hold (a parameter's ``t``, ``step_count``):
#: the next update's number, one more, is taken as a float (Adam's ``beta1**t``, a
#: schedule's rate at ``step_count + 1``), so it is kept at most the largest float, about
#: 1.8e308 (an int beyond float's range raised ``OverflowError`` at that update, long after
#: the load; ``beta1**t`` underflowing to 0 there is fine: a bias correction of 1).
MAX_COUNT = int(sys.float_info.max) - 1


def count(
    owner: str,
    name: str,
    value,
    *,
    low: int = 0,
    why: str = "the next update's number, one more, is taken as a float",
) -> int:
    """``value`` as an update count (or a number of updates or epochs, ``low=1``): a Python
    int in ``[low, MAX_COUNT]``; ``TypeError`` / ``ValueError`` naming ``owner`` and
    ``name`` otherwise, and ``why`` the count is bounded."""
    value = _checks.integer(owner, name, value, low=low)
    if value > MAX_COUNT:
        raise ValueError(
            f"{owner}: {name} expected an integer in [{low}, {MAX_COUNT:.4g}] ({why}), got "
            f"one of {value.bit_length()} bits"
        )
    return value


def expect_keys(owner: str, what: str, mapping, keys: Iterable[str]) -> None:
    """``mapping`` (``what``, in messages) with exactly the keys ``keys``: ``TypeError`` if
    it is no mapping, ``ValueError`` naming the missing and unknown keys."""
    if not isinstance(mapping, Mapping):  # a TypeError, as Module.load_state_dict's
        raise TypeError(f"{owner}: {what} expected a dict, got {type(mapping).__name__}")
    expected, got = set(keys), set(mapping)
    if expected != got:
        missing = sorted(expected - got)
        unknown = sorted(got - expected)
        raise ValueError(
            f"{owner}: {what} expected keys {sorted(expected)}; missing {missing}, "
            f"unknown {unknown}"
        )


def check_entry(
    owner: str,
    i: int,
    entry,
    name: str,
    shape: tuple,
    dtype: np.dtype,
    state_names,
    nonnegative=(),
) -> int:
    """Parameter ``i``'s entry in ``state_dict()["params"]`` checked against the parameter's
    ``name``, the ``shape`` and ``dtype`` its state arrays were built for and the names of
    those arrays, ``state_names``, all finite, except those in ``nonnegative`` (an EWMA of
    squares): >= 0, +inf included (where a square overflowed: the rule gives it), no NaN;
    returns its update count ``t``. ``TypeError`` / ``ValueError`` naming ``owner``
    and what differs."""
    expect_keys(owner, f"params[{i}]", entry, ("name", "shape", "dtype", "t", "state"))
    if entry["name"] != name:
        raise ValueError(f"{owner}: parameter {i} expected name {name!r}, got {entry['name']!r}")
    if not isinstance(entry["shape"], list | tuple):
        got = entry["shape"]
        raise ValueError(
            f"{owner}: parameter {name!r} expected shape {shape} as a list of ints, got "
            f"{type(got).__name__} {got!r}"
        )
    if tuple(entry["shape"]) != shape or entry["dtype"] != dtype.name:
        raise ValueError(
            f"{owner}: parameter {name!r} expected shape {shape} and dtype {dtype}, "
            f"got shape {tuple(entry['shape'])} and dtype {entry['dtype']}"
        )
    arrays = entry["state"]
    expect_keys(owner, f"state of parameter {name!r}", arrays, state_names)
    for s in state_names:
        a = arrays[s]
        if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype != dtype:
            got = (
                f"shape {a.shape} and dtype {a.dtype}"
                if isinstance(a, np.ndarray)
                else type(a).__name__
            )
            raise ValueError(
                f"{owner}: state {s!r} of parameter {name!r} expected an array of shape "
                f"{shape} and dtype {dtype}, got {got}"
            )
        if s not in nonnegative:
            bad = np.count_nonzero(~np.isfinite(a))
            if bad:
                raise ValueError(
                    f"{owner}: state {s!r} of parameter {name!r} expected finite values, got "
                    f"{bad} NaN or Inf of {a.size}"
                )
            continue
        # an average of squares is +inf where a square overflowed, which a step reaches
        bad = np.count_nonzero(np.isnan(a))
        if bad or (a < 0).any():
            got = f"{bad} NaN of {a.size}" if bad else f"min {float(a.min())!r}"
            raise ValueError(
                f"{owner}: state {s!r} of parameter {name!r} expected values >= 0 (an "
                f"average of squares; +inf where a square overflowed), got {got}"
            )
    return count(owner, f"t of parameter {name!r}", entry["t"])


__all__ = ["MAX_COUNT", "check_entry", "count", "expect_keys"]
