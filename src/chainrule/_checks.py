"""Argument checks shared across the library: numbers, flags, ordered collections, choices,
callables, paths, random generators, rectangular arrays.

Each returns the value normalized (numbers to Python scalars, so that NumPy's weak-scalar
rules keep float32 arithmetic in float32; paths to ``Path``) or raises before any work is
done, saying what was expected and what was received.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import os
import reprlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def real(
    owner: str,
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    infinite: bool = False,
) -> float:
    """``value`` as a finite float inside the interval, else ``TypeError`` / ``ValueError``;
    with ``infinite=True`` also inf or -inf where the interval holds it (an integer beyond
    float64's range counts as that infinity). NaN is always refused."""
    # a plain float skips the abstract-class test; the interval is spelt out only to raise
    if type(value) is not float and (
        isinstance(value, bool) or not isinstance(value, numbers.Real)
    ):
        interval = _range(low, high, low_open, high_open, infinite)
        raise TypeError(
            f"{owner}: {name} expected a real number {interval}, got {type(value).__name__} "
            f"{value!r}"
        )
    try:
        x = float(value)
    except OverflowError:  # an integer beyond float64's range
        x = math.inf if value > 0 else -math.inf
    ok = math.isfinite(x) or (infinite and not math.isnan(x))
    if ok and low is not None:
        ok = x > low if low_open else x >= low
    if ok and high is not None:
        ok = x < high if high_open else x <= high
    if not ok:
        kind = "number" if infinite else "finite number"
        interval = _range(low, high, low_open, high_open, infinite)
        raise ValueError(f"{owner}: {name} expected a {kind} {interval}, got {value!r}")
    return x


def optional_positive(owner: str, name: str, value) -> float | None:
    """``None`` (feature off) or a finite float > 0."""
    if value is None:
        return None
    return real(owner, name, value, low=0.0, low_open=True)


def integer(owner: str, name: str, value, *, low: int, none: bool = False) -> int | None:
    """``value`` as a Python int >= ``low``; with ``none=True`` also ``None`` (returned as
    it is, and named in the message)."""
    if none and value is None:
        return None
    expected = f"an integer >= {low}" + (" or None" if none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{owner}: {name} expected {expected}, got {type(value).__name__} {value!r}"
        )
    if value < low:
        raise ValueError(f"{owner}: {name} expected {expected}, got {value!r}")
    return int(value)


def boolean(owner: str, name: str, value) -> bool:
    """``value`` as a Python bool (NumPy's bools too), else ``TypeError``."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{owner}: {name} expected True or False, got {value!r}")
    return bool(value)


def ordered(owner: str, name: str, value, expected: str):
    """``value`` as it is, unless ``isinstance(value, Iterable)`` takes it wrongly for a
    list of items: a 0-d array (iterating it raises), a ``set`` or ``frozenset`` (it
    iterates in an order that changes between processes, with the hash seed, where each
    item's position counts) or a mapping (it iterates over its keys), which are
    ``TypeError`` saying ``expected`` and asking for a list or tuple. Whether ``value`` is
    iterable at all, and what a ``str`` is taken for, is the caller's check."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        got = f"ndarray {value!r:.80}, a 0-d array, which holds no items"
    elif isinstance(value, set | frozenset):
        got = (
            f"a {type(value).__name__} of length {len(value)}, whose order is arbitrary (it "
            "changes between processes)"
        )
    elif isinstance(value, Mapping):
        got = f"a {type(value).__name__} of length {len(value)}, which iterates over its keys"
    else:
        return value
    raise TypeError(f"{owner}: {name} expected {expected}, got {got}; pass a list or tuple")


def did_you_mean(words, options, prefix: str = "") -> str:
    """The hint of an error naming unknown ``words`` (one word, or a list of them):
    ``"; did you mean '<prefix>x'?"`` for the closest of ``options`` to the word, with
    several words ``"; did you mean 'x' for 'w', ...?"`` for each that has one; ``""`` when
    none is close (difflib's ratio of at least 0.5), or the word is no ``str``."""
    several = isinstance(words, list | tuple)
    hints = {
        word: prefix + match[0]
        for word in (words if several else [words])
        if isinstance(word, str)
        and (match := difflib.get_close_matches(word, list(options), n=1, cutoff=0.5))
    }
    if not hints:
        return ""
    if not several or len(words) == 1:
        return f"; did you mean {next(iter(hints.values()))!r}?"
    return "; did you mean " + ", ".join(f"{m!r} for {w!r}" for w, m in hints.items()) + "?"


def choice(owner: str, name: str, value, options: tuple[str, ...]) -> str:
    """``value`` when it is one of the strings ``options``, else ``ValueError`` (an array
    is refused, not compared element by element)."""
    if not isinstance(value, str) or value not in options:
        expected = " or ".join(repr(o) for o in options)
        raise ValueError(f"{owner}: {name} expected {expected}, got {value!r}")
    return value


def function(owner: str, name: str, value, signature: str = "", *, args: int | None = None):
    """``value`` when it is callable, else ``TypeError``; ``signature`` (say
    ``"(model, n_train) -> Tensor"``) is added to what the message says was expected.

    With ``args``, also ``TypeError`` (naming the callable's own signature) unless it can be
    called with that many positional arguments and nothing else (``*args`` and defaults
    count; a required keyword-only argument does not). A callable whose signature cannot
    be read (some builtins) is taken as it is."""
    expected = f"a callable {signature}".rstrip()
    if not callable(value):
        raise TypeError(
            f"{owner}: {name} expected {expected}, got {type(value).__name__} {value!r:.80}"
        )
    if args is None:
        return value
    try:
        parameters = inspect.signature(value)
    except (TypeError, ValueError):  # no signature to read: the call will tell
        return value
    try:
        parameters.bind(*range(args))
    except TypeError:
        called = getattr(value, "__name__", type(value).__name__)
        raise TypeError(f"{owner}: {name} expected {expected}, got {called}{parameters}") from None
    return value


def path(owner: str, name: str, value, *, file: bool = False) -> Path:
    """``value`` (a ``str`` or an ``os.PathLike`` naming a ``str`` path) as a ``Path``, else
    ``TypeError`` naming the argument, where ``Path`` itself would not say which it was.

    An empty path is ``ValueError``: ``Path("")`` is the current directory, which no one
    means by it. With ``file=True`` (the path of a file to write), also ``ValueError`` for
    one ending in a path separator (``"models/"``, see :func:`trailing_separator`): it
    names a directory, and ``Path`` would drop the separator and so name a file."""
    if isinstance(value, str | os.PathLike):
        try:
            result = Path(value)
        except TypeError:  # a PathLike whose __fspath__ gives bytes
            pass
        else:
            if os.fspath(value) == "":
                raise ValueError(
                    f"{owner}: {name} expected a path, got an empty one (which Path would "
                    "take for the current directory)"
                )
            separator = trailing_separator(value) if file else None
            if separator is not None:
                raise ValueError(
                    f"{owner}: {name} expected a file path, got {value!r:.200}, which ends "
                    f"with {separator!r} and so names a directory"
                )
            return result
    raise TypeError(
        f"{owner}: {name} expected a path (str or os.PathLike), got {type(value).__name__} "
        f"{value!r:.80}"
    )


def trailing_separator(value) -> str | None:
    """The path separator (``os.sep`` or ``os.altsep``) that the ``str`` path ``value``, or
    the ``str`` an ``os.PathLike`` gives, ends with; None for any other value. Such a path
    names a directory (``open`` refuses it), but ``Path`` drops the separator."""
    text = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if not isinstance(text, str):
        return None
    return next((s for s in (os.sep, os.altsep) if s and text.endswith(s)), None)


def generator(owner: str, name: str, value, *, allow_none: bool = True) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a generator (returned as is), a seed, or None.

    A seed is an int >= 0 (``ValueError`` for a negative one); ``None`` gives a generator
    seeded from the operating system (not reproducible). With ``allow_none=False`` (data
    splits and synthetic sets, which must be reproducible) None is refused like any other
    non-seed, with ``TypeError``.
    """
    if isinstance(value, np.random.Generator):
        return value
    seed = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if seed and value < 0:
        raise ValueError(f"{owner}: {name} expected a seed >= 0, got {value}")
    if seed or (value is None and allow_none):
        return np.random.default_rng(value)
    accepted = ", an int seed or None" if allow_none else " or an int seed"
    raise TypeError(
        f"{owner}: {name} expected a numpy.random.Generator{accepted}, got "
        f"{type(value).__name__} {value!r:.80}"
    )


def eps(owner: str, value, dtype, guards: str, factor: float = 1.0, why: str = "") -> float:
    """An ``eps`` > 0 that guards a division: ``value * factor``, the smallest term it
    adds (``why`` says where the factor comes from), must not round to 0 in ``dtype``,
    where it would leave ``guards`` (what the division is of) 0 / 0, nor ``value`` exceed
    its range, where it would be inf and every quotient 0 (``ValueError``)."""
    value = real(owner, "eps", value, low=0.0, low_open=True)
    dtype = np.dtype(dtype)
    largest = float(np.finfo(dtype).max)
    if value > largest:
        raise ValueError(
            f"{owner}: eps={value} is beyond {dtype}'s range (inf there, every quotient it "
            f"guards would be 0); expected eps <= {largest:.3g}"
        )
    if dtype.type(value * factor) == 0:
        least = float(np.finfo(dtype).smallest_subnormal) / factor
        raise ValueError(
            f"{owner}: eps={value}{why} rounds to 0 in {dtype}, which leaves {guards} 0 / 0; "
            f"expected eps >= {least:.3g}"
        )
    return value


def beta(owner: str, name: str, value) -> float:
    """A decay rate of an exponentially weighted average: in [0, 1)."""
    return real(owner, name, value, low=0.0, high=1.0, high_open=True)


def _range(low, high, low_open, high_open, infinite: bool) -> str:
    """``_interval``, naming the infinities that ``infinite`` lets in (those it holds)."""
    interval = _interval(low, high, low_open, high_open)
    ends = [end for end, bound in (("-inf", low), ("inf", high)) if infinite and bound is None]
    return f"{interval}, {' and '.join(ends)} included" if ends else interval


def _interval(low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return "(any finite value)"
    if high is None:
        return f"> {low:g}" if low_open else f">= {low:g}"
    if low is None:
        return f"< {high:g}" if high_open else f"<= {high:g}"
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    return f"in {left}{low:g}, {high:g}{right}"


def ragged(data) -> bool:
    """Whether nested lists (or arrays) ``data`` have rows of different lengths."""
    try:
        cells = np.asarray(data, dtype=object)
    except ValueError:  # arrays that do not stack even as objects
        return True
    return any(isinstance(c, list | tuple | np.ndarray) for c in cells.flat)


def as_array(owner: str, name: str | None, value) -> np.ndarray:
    """``numpy.asarray(value)``; a ragged list (rows of different lengths) is a ValueError
    naming ``owner`` and its argument ``name`` (when given), not NumPy's."""
    try:
        return np.asarray(value)
    except ValueError:
        if not ragged(value):
            raise
        what = f"{owner}: {name}" if name else f"{owner}:"
        raise ValueError(
            f"{what} expected a rectangular array, got a ragged {type(value).__name__} "
            f"{reprlib.repr(value)}"
        ) from None
