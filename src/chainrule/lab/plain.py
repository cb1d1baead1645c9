"""Experiment results as plain JSON data, as ``json.dumps`` would write them.

An experiment's numbers may hold NumPy scalars and arrays, tuples and non-str keys; the
runner checks them with :func:`plain_data` when the experiment returns, so that a Result
the report cannot write becomes that experiment's error, and the report converts them
again before writing ``results.json`` with :func:`chainrule.files.json_text`.
"""

from __future__ import annotations

import json


def plain_data(value, where: str, owner: str):
    """``value`` as plain data for :func:`chainrule.files.json_text`, as ``json.dumps``
    would write it: dicts and lists rebuilt, tuples as lists, dict keys as strings (``3``
    as ``"3"``, ``True`` as ``"true"``, ``None`` as ``"null"``, ``2.5`` as ``"2.5"``, an
    infinite float as ``"Infinity"``), str, int, float, bool and None as they are,
    anything with a ``tolist`` method (NumPy scalars and arrays) as what that returns,
    converted in turn, and anything else as its ``str``.

    ``where`` names ``value`` in messages (``"name['numbers']"``; an item inside it is
    named ``name['numbers']['curve'][0]``) and ``owner`` the function that refuses it, at
    the start of the message.

    Raises
    ------
    TypeError
        A dict key that is not a str, int, float, bool or None.
    ValueError
        A dict or list inside itself, which ``json.dumps`` refuses as a circular reference
        (one object in two places that do not nest is fine).
    """
    return _plain(value, where, owner, set())


def _plain(value, where: str, owner: str, enclosing: set[int]):
    """:func:`plain_data` of ``value``, inside the dicts and lists whose ids are
    ``enclosing``."""
    if isinstance(value, dict | list | tuple):
        if id(value) in enclosing:
            raise ValueError(
                f"{owner}: results expected data without circular references, got a "
                f"{type(value).__name__} at {where} that contains itself"
            )
        enclosing.add(id(value))
        try:
            if isinstance(value, dict):
                return {
                    _key(k, owner): _plain(v, f"{where}[{k!r}]", owner, enclosing)
                    for k, v in value.items()
                }
            return [_plain(v, f"{where}[{i}]", owner, enclosing) for i, v in enumerate(value)]
        finally:
            enclosing.discard(id(value))
    if value is None or isinstance(value, str | int | float):
        return value
    if hasattr(value, "tolist"):
        return _plain(value.tolist(), where, owner, enclosing)
    return str(value)


def _key(key, owner: str) -> str:
    """A dict key as ``json.dumps`` writes it; ``TypeError`` naming ``owner`` for a key it
    refuses."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, int | float):  # "null", "true", "3", "2.5", "Infinity"
        return json.dumps(key)
    raise TypeError(
        f"{owner}: a results key expected str, int, float, bool or None, got "
        f"{type(key).__name__} {key!r}"
    )
