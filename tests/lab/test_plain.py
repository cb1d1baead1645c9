"""plain_data: experiment results as the plain data json.dumps would write."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from chainrule.lab.plain import plain_data


def test_plain_data_is_what_json_dumps_would_write():
    shared = [1, 2]  # one list in two places is not a cycle
    value = {
        "pair": (1, None),
        "a": np.arange(3),
        3: np.float64(0.5),
        True: Path("p"),
        None: "x",
        2.5: shared,
        float("inf"): shared,
    }
    plain = plain_data(value, "v", "owner")
    assert plain == {
        "pair": [1, None],
        "a": [0, 1, 2],
        "3": 0.5,
        "true": "p",
        "null": "x",
        "2.5": [1, 2],
        "Infinity": [1, 2],
    }
    assert json.dumps(plain) == json.dumps({**value, "a": [0, 1, 2], 3: 0.5, True: "p"})
    assert plain_data(np.float32(0.1), "v", "owner") == float(np.float32(0.1))


def test_plain_data_names_its_owner_and_where_a_value_is_refused():
    with pytest.raises(TypeError, match=r"^f: a results key expected .*got tuple \(1, 2\)$"):
        plain_data({"ok": [{(1, 2): 0}]}, "v", "f")
    loop: list = [1]
    loop.append({"k": loop})
    expected = "f: results expected data without circular references, got a list at v[1]['k']"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)} that contains itself$"):
        plain_data(loop, "v", "f")
