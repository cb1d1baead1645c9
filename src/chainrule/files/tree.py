"""Trees of JSON data and arrays, stored as one safetensors file.

A tree is nested dicts (of ``str`` keys) and lists of ``str``, ``int`` (of at most 4300
digits, the most Python's JSON parser reads), ``float``, ``bool``, None, NumPy scalars and
NumPy arrays (not masked ones), the dicts and lists nested at most :data:`MAX_DEPTH` (100)
deep (so a dict or list that holds itself, nesting without end, is refused); tuples are
written as lists and NumPy scalars as the Python numbers they hold. :func:`split_tree`
replaces every array by a reference ``{"__tensor__": name}``, ``name`` being the path of
keys and indices to it joined by dots (``"state.layers.0.weight"``; ``#2``, ``#3``, ...
appended where that name is taken), and every non-finite float, which JSON cannot hold (a
best score still at inf, a dev loss gone NaN), by ``{"__float__": "inf"}``, ``"-inf"`` or
``"nan"``. :func:`write_tree` takes a tree whose root is a dict; it stores the arrays as
the tensors of a safetensors file (see :mod:`chainrule.files.safetensors`) and the rest, as
compact strict JSON, in the file's metadata under the key ``"chainrule.tree"`` (other
entries of that metadata, which safetensors leaves free for any tool to add, are ignored
on reading). :func:`read_tree` reads that back through :func:`join_tree`, and refuses a
file holding a tensor that nothing in the tree refers to, or that two places refer to
(:func:`split_tree` names each array it meets, the same array met twice included, on its
own). A dict whose only key is ``__tensor__`` or ``__float__`` is refused on writing: it
would read back as what it marks; so is a key or string that UTF-8 cannot encode (see
:func:`~chainrule.files.check_text`).
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter

import numpy as np

from chainrule import _checks
from chainrule.files.atomic import atomic_write, special_file
from chainrule.files.safetensors import (
    FormatError,
    check_text,
    decode_header,
    decode_tensors,
    encode_header,
    encode_safetensors,
    parse_json,
)

_TREE_KEY = "chainrule.tree"
_FLOAT_KEY = "__float__"
_NON_FINITE = ("inf", "-inf", "nan")
_MARKERS = ("__tensor__", _FLOAT_KEY)
#: How deep the dicts and lists of a tree may nest (the root counting one): far more than
#: a model, checkpoint or metadata needs, well within what reading a file back recurses
#: through, and a bound on a dict or list that holds itself.
MAX_DEPTH = 100
_DIGITS = 4300  # Python's default limit (sys.int_info.default_max_str_digits) on int <-> str
_INT_BOUND = 10**_DIGITS


def split_tree(tree) -> tuple[object, dict[str, np.ndarray]]:
    """Replace every array in a nested dict/list by a reference; return (skeleton, arrays).

    An array is named by its path of keys and indices joined by dots; where that name is
    taken (``{"a.b": x, "a": {"b": y}}``), ``#2``, ``#3``, ... is appended, so that no
    array replaces another (the same array met twice is named twice). ``TypeError`` for
    what is not pure data (see the module's docstring) and for dicts whose only key is one
    of the markers the skeleton uses (``__tensor__``, ``__float__``): they would read back
    as something else. ``ValueError`` for dicts and lists nested more than
    :data:`MAX_DEPTH` deep (one that holds itself included), for an integer of more than
    4300 digits, which a file could not be read back with, and for a key or string that
    UTF-8 cannot encode (see :func:`~chainrule.files.check_text`). Each error names the
    path of keys to the value.
    """
    arrays: dict[str, np.ndarray] = {}

    def name(path):
        taken, n = path, 1
        while taken in arrays:
            n += 1
            taken = f"{path}#{n}"
        return taken

    def walk(node, path, depth):
        if isinstance(node, np.ndarray):
            path = name(path)
            arrays[path] = node
            return {"__tensor__": path}
        if isinstance(node, dict | list | tuple) and depth == MAX_DEPTH:
            raise ValueError(
                f"cannot store dicts and lists nested more than {MAX_DEPTH} deep (the root "
                f"counting one) at {path}: expected fewer levels (a dict or list that holds "
                "itself has no end)"
            )
        if isinstance(node, dict):
            for key in node:
                if not isinstance(key, str):
                    raise TypeError(f"keys must be strings, got {key!r} at {path or 'root'}")
                check_text(key, f"the key at {path or 'root'}")
            if len(node) == 1 and next(iter(node)) in _MARKERS:
                raise TypeError(
                    f"cannot store a dict whose only key is {next(iter(node))!r} at "
                    f"{path or 'root'}: the file uses it as a marker"
                )
            return {k: walk(v, f"{path}.{k}" if path else k, depth + 1) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v, f"{path}.{i}", depth + 1) for i, v in enumerate(node)]
        return _leaf(node, path)

    return walk(tree, "", 0), arrays


def is_leaf(node) -> bool:
    """Whether a file's tree holds ``node`` as a leaf of its skeleton (see :func:`_leaf`):
    not an array, nor anything else the writer refuses."""
    try:
        _leaf(node, "")
    except (TypeError, ValueError):
        return False
    return True


def _leaf(node, path: str):
    """``node``, neither array nor container, as the skeleton holds it (see
    :func:`split_tree`): a NumPy scalar as the Python number it holds, a non-finite float
    as its marker; ``TypeError`` / ``ValueError`` for what a file cannot hold."""
    if isinstance(node, np.generic):
        node = node.item()
    if isinstance(node, float) and not math.isfinite(node):
        return {_FLOAT_KEY: repr(node)}  # 'inf', '-inf' or 'nan'
    if isinstance(node, int) and not -_INT_BOUND < node < _INT_BOUND:
        raise ValueError(
            f"cannot store an integer of more than {_DIGITS} digits at {path or 'root'}: "
            "expected one Python's JSON parser reads back"
        )
    if isinstance(node, str):
        check_text(node, f"the string at {path or 'root'}")
    if node is None or isinstance(node, str | bool | int | float):
        return node
    raise TypeError(f"cannot store {type(node).__name__} at {path or 'root'}: not pure data")


def json_text(tree, indent: int | None = 1) -> str:
    """Strict JSON of a tree of plain data (no arrays), as the file header writes it: NumPy
    scalars as Python numbers, a non-finite float as ``{"__float__": "inf"}`` (``"-inf"``,
    ``"nan"``) instead of the ``Infinity`` and ``NaN`` that JSON parsers other than
    Python's refuse. ``TypeError`` for anything else, ``ValueError`` for what
    :func:`split_tree` refuses as too deep or too long, or as text UTF-8 cannot encode (a
    lone surrogate, which ``json.dumps`` would write as an escape strict parsers refuse)."""
    skeleton, arrays = split_tree(tree)
    if arrays:
        raise TypeError(f"json_text: expected plain data, got arrays at {sorted(arrays)}")
    return json.dumps(skeleton, indent=indent, allow_nan=False)


def join_tree(skeleton, arrays: dict[str, np.ndarray], source: str = "file"):
    """Inverse of :func:`split_tree`; every reference must name an array of the file."""

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"__tensor__"}:
                name = node["__tensor__"]
                if not isinstance(name, str) or name not in arrays:
                    raise FormatError(f"{source}: reference to missing tensor {name!r}")
                return arrays[name]
            if set(node) == {_FLOAT_KEY}:
                value = node[_FLOAT_KEY]
                if value not in _NON_FINITE:
                    raise FormatError(
                        f"{source}: expected a non-finite float 'inf', '-inf' or 'nan', "
                        f"got {value!r:.40}"
                    )
                return float(value)
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(skeleton)


def write_tree(path: str | os.PathLike, tree: dict) -> None:
    """Atomically write a tree of JSON data and arrays as one safetensors file.

    Refused before anything is written, as :func:`read_tree` would refuse the file:
    ``TypeError`` for a ``path`` that is not a ``str`` or ``os.PathLike``, a ``tree`` that
    is not a dict or one that holds something that is not pure data (see
    :func:`split_tree`) or an array the file cannot store (see
    :func:`~chainrule.files.check_storable`); ``ValueError`` for a ``str`` path ending in
    a path separator, a tree nested too deep or holding too long an integer (see
    :func:`split_tree`), an array at the key ``"__metadata__"`` of the root (the
    safetensors header's own entry) or a header of more than 100 MiB (see
    :func:`~chainrule.files.encode_safetensors`); then what :func:`atomic_write` raises
    for a path it cannot write."""
    path = _checks.path("write_tree", "path", path, file=True)
    if not isinstance(tree, dict):
        raise TypeError(f"write_tree: tree expected a dict, got {type(tree).__name__} {tree!r:.80}")
    skeleton, arrays = split_tree(tree)
    atomic_write(path, encode_safetensors(arrays, _skeleton_metadata(skeleton)))


def check_tree_header(skeleton: dict, arrays: dict[str, np.ndarray]) -> None:
    """Raise what the header of the file :func:`write_tree` writes refuses for the tree
    that :func:`split_tree` split into ``skeleton`` and ``arrays`` (arrays the file can
    store): a header of more than 100 MiB or :data:`~chainrule.files.safetensors.MAX_MARKS`
    of the characters ``{``, ``[`` and ``,`` (see
    :func:`~chainrule.files.safetensors.encode_header`), without encoding the arrays'
    data. Checking a part of a tree with it (the metadata of a model file, say) applies
    the writer's own bounds to that part."""
    encode_header(arrays, _skeleton_metadata(skeleton))


def _skeleton_metadata(skeleton: dict) -> dict[str, str]:
    """The safetensors metadata a tree's file holds its ``skeleton`` in: compact strict JSON."""
    return {_TREE_KEY: json.dumps(skeleton, allow_nan=False, separators=(",", ":"))}


def read_tree(path: str | os.PathLike) -> dict:
    """Read a file written by :func:`write_tree`.

    :class:`FormatError` if it is invalid, a file holding a tensor that nothing in its tree
    refers to, or that more than one place refers to, included (refused before any tensor
    is read), and if ``path`` is a special file (a FIFO, which reading would wait on, a
    device, a socket: see :func:`~chainrule.files.atomic.special_file`);
    ``IsADirectoryError`` when ``path`` is a directory, ``FileNotFoundError``
    when no file is there, ``TypeError`` when ``path`` is not a ``str`` or
    ``os.PathLike``. The header is read and checked first (see
    :func:`~chainrule.files.decode_header`), then each tensor is read into its array: a
    file costs the memory of its header, the JSON it parses into and its tensors."""
    path = _checks.path("read_tree", "path", path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: expected a file, got a directory")
    if not path.is_file():
        special = special_file(path)
        if special is not None:
            raise FormatError(f"{path}: expected a regular file, got {special}")
        raise FileNotFoundError(f"no such file: {path}")
    with open(path, "rb") as f:
        layout, metadata = decode_header(f, source=str(path))
        skeleton = _skeleton(path, metadata)
        references = _references(skeleton)
        unreferenced = sorted(set(layout) - set(references))
        if unreferenced:
            raise FormatError(
                f"{path}: expected every tensor to be referred to by the chainrule tree, got "
                f"{len(unreferenced)} that are not: {unreferenced!r:.300}"
            )
        repeated = sorted(name for name, count in references.items() if count > 1)
        if repeated:
            raise FormatError(
                f"{path}: expected each tensor to be referred to once by the chainrule tree, "
                f"got {len(repeated)} referred to more than once: {repeated!r:.300}"
            )
        tensors = decode_tensors(f, layout, source=str(path))
    try:
        return join_tree(skeleton, tensors, source=str(path))
    except RecursionError as exc:
        raise FormatError(f"{path}: malformed JSON in the chainrule metadata ({exc!r})") from None


def _skeleton(path, metadata: dict) -> dict:
    """The skeleton a file's ``metadata`` holds under :data:`_TREE_KEY`; FormatError if it
    has none or it is not a JSON object (see :func:`~chainrule.files.safetensors.parse_json`
    for what else)."""
    if _TREE_KEY not in metadata:
        raise FormatError(f"{path}: a safetensors file, but not one written by chainrule")
    skeleton = parse_json(metadata[_TREE_KEY], str(path), "the chainrule metadata")
    if not isinstance(skeleton, dict):
        raise FormatError(f"{path}: expected a JSON object, got {type(skeleton).__name__}")
    return skeleton


def _references(skeleton) -> Counter:
    """How many times each tensor name is held by the references ``{"__tensor__": name}``
    in ``skeleton`` (walked with a stack, not recursion: a file's JSON may nest deeply)."""
    names, stack = Counter(), [skeleton]
    while stack:
        node = stack.pop()
        if isinstance(node, dict) and set(node) == {"__tensor__"}:
            if isinstance(node["__tensor__"], str):
                names[node["__tensor__"]] += 1
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names
