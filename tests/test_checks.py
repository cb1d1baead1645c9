"""The shared argument checks: typed errors that say what was expected and what came."""

import re
from pathlib import Path

import numpy as np
import pytest

from chainrule import _checks
from chainrule.data import load_mnist, make_moons


def test_an_integer_too_large_for_a_float_is_a_value_error():
    # float(10**400) raised an untyped OverflowError
    with pytest.raises(ValueError, match=r"make_moons: noise expected a finite number >= 0"):
        make_moons(100, noise=10**400)
    with pytest.raises(ValueError, match=r"f: x expected a finite number in \[0, 1\], got 1000"):
        _checks.real("f", "x", 10**400, low=0.0, high=1.0)


@pytest.mark.parametrize("value", [np.array(["train"]), np.array(["train", "test"]), b"train"])
def test_a_choice_is_a_str_among_the_options(value):
    # an array compared equal element by element: one name passed the check (and failed
    # later as unhashable), two raised NumPy's "truth value ... is ambiguous"
    with pytest.raises(ValueError, match=r"load_mnist: split expected 'train' or 'test', got "):
        load_mnist(value)


def test_function_returns_a_callable_and_names_what_it_refuses():
    assert _checks.function("f", "hook", len) is len
    with pytest.raises(TypeError, match=r"^f: hook expected a callable, got int 5$"):
        _checks.function("f", "hook", 5)
    with pytest.raises(TypeError, match=r"^f: g expected a callable \(x\) -> y, got str 'a'$"):
        _checks.function("f", "g", "a", "(x) -> y")


def _three(a, b, c=0, *, d=1): ...


class _Hook:
    def __call__(self, trainer): ...


def test_function_with_args_binds_that_many_positional_arguments():
    takes = (_three, lambda *args: None, lambda a, *rest: None, lambda a, b, c, d=1: None, max)
    for value in takes:  # max: a builtin without a signature to read, taken as it is
        assert _checks.function("f", "g", value, "(x, y, z)", args=3) is value
    assert _checks.function("f", "g", _Hook(), "(trainer)", args=1)
    for value, got in [
        (lambda logs: None, "<lambda>(logs)"),
        (lambda a, b, c, d: None, "<lambda>(a, b, c, d)"),
        (lambda a, b, c, *, d: None, "<lambda>(a, b, c, *, d)"),
        (_Hook(), "_Hook(trainer)"),
    ]:
        says = rf"^f: g expected a callable \(x, y, z\), got {re.escape(got)}$"
        with pytest.raises(TypeError, match=says):
            _checks.function("f", "g", value, "(x, y, z)", args=3)
    with pytest.raises(TypeError, match=r"^f: g expected a callable \(x\), got int 5$"):
        _checks.function("f", "g", 5, "(x)", args=1)


class _BytesPath:
    def __fspath__(self):
        return b"/tmp/x"


def test_path_takes_str_and_pathlike_and_names_what_it_refuses(tmp_path):
    assert _checks.path("f", "out", "a/b") == Path("a/b")
    assert _checks.path("f", "out", tmp_path) == tmp_path
    for value, shown in [(5, "int 5"), (b"a", "bytes b'a'"), (None, "NoneType None")]:
        with pytest.raises(
            TypeError, match=rf"^f: out expected a path \(str or os.PathLike\), got {shown}$"
        ):
            _checks.path("f", "out", value)
    with pytest.raises(
        TypeError, match=r"^f: out expected a path \(str or os.PathLike\), got _BytesPath"
    ):
        _checks.path("f", "out", _BytesPath())


def test_integer_with_none_takes_none_and_says_so():
    assert _checks.integer("f", "n", None, low=1, none=True) is None
    assert _checks.integer("f", "n", np.int64(3), low=1, none=True) == 3
    with pytest.raises(TypeError, match=r"^f: n expected an integer >= 1, got NoneType None$"):
        _checks.integer("f", "n", None, low=1)
    with pytest.raises(ValueError, match=r"^f: n expected an integer >= 1 or None, got 0$"):
        _checks.integer("f", "n", 0, low=1, none=True)


class _StrPath:
    def __fspath__(self):
        return "models/"


def test_a_file_path_ending_in_a_separator_is_refused_as_naming_a_directory():
    # Path("models/") is Path("models"): save wrote a file named models
    assert _checks.path("f", "out", "models/") == Path("models")  # a directory may end so
    assert _checks.path("f", "out", "models", file=True) == Path("models")
    for value in ("models/", _StrPath()):
        with pytest.raises(
            ValueError,
            match=r"^f: out expected a file path, got .*, which ends with '/' and so names "
            r"a directory$",
        ):
            _checks.path("f", "out", value, file=True)
    assert _checks.trailing_separator("a/b/") == "/"
    assert _checks.trailing_separator(Path("a/b")) is None


class _EmptyPath:
    def __fspath__(self):
        return ""


@pytest.mark.parametrize("value", ["", _EmptyPath()], ids=["str", "pathlike"])
@pytest.mark.parametrize("file", [False, True])
def test_an_empty_path_is_refused_not_taken_for_the_current_directory(value, file):
    # Path("") is Path("."): fetch_mnist(cache_dir="") cached into the working directory
    with pytest.raises(
        ValueError,
        match=r"^f: out expected a path, got an empty one \(which Path would take for the "
        r"current directory\)$",
    ):
        _checks.path("f", "out", value, file=file)


def test_generator_takes_a_generator_a_seed_or_none_and_names_what_it_refuses():
    rng = np.random.default_rng(0)
    assert _checks.generator("f", "rng", rng) is rng
    for seed in (3, np.int64(3)):
        drawn = _checks.generator("f", "rng", seed).random()
        assert drawn == np.random.default_rng(3).random()
    assert isinstance(_checks.generator("f", "rng", None), np.random.Generator)
    with pytest.raises(ValueError, match=r"^f: rng expected a seed >= 0, got -1$"):
        _checks.generator("f", "rng", -1)
    with pytest.raises(
        TypeError, match=r"^f: rng expected a numpy.random.Generator, an int seed or None, got bool"
    ):
        _checks.generator("f", "rng", True)
    with pytest.raises(
        TypeError, match=r"^g: seed expected a numpy.random.Generator or an int seed, got NoneType"
    ):
        _checks.generator("g", "seed", None, allow_none=False)


@pytest.mark.parametrize(
    ("value", "got"),
    [
        (np.array(0.5), r"ndarray array\(0.5\), a 0-d array, which holds no items"),
        ({0.7, 0.3}, r"a set of length 2, whose order is arbitrary \(it changes between .*\)"),
        (frozenset({1}), r"a frozenset of length 1, whose order is arbitrary \(.*\)"),
        ({"a": 1}, r"a dict of length 1, which iterates over its keys"),
    ],
    ids=["0-d array", "set", "frozenset", "dict"],
)
def test_ordered_refuses_what_iterable_takes_wrongly_for_a_list(value, got):
    # each passed isinstance(value, Iterable): the 0-d array then raised "iteration over a
    # 0-d array", the set gave its items in an order that changes between processes
    with pytest.raises(TypeError, match=rf"^f: xs expected a list of x, got {got}; pass a list "):
        _checks.ordered("f", "xs", value, "a list of x")


def test_ordered_returns_an_ordered_iterable_as_it_is():
    items = (i for i in range(3))
    values = [[1, 2], (1,), np.arange(3), items, {"a": 1}.keys(), {"a": 1}.items(), "ab", 5]
    for value in values:
        assert _checks.ordered("f", "xs", value, "a list of x") is value
