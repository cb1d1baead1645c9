"""A numba that cannot be imported (one too old for the NumPy installed, or none) leaves
the NumPy rules in charge: checked in a fresh process, whose numba import is faked."""

import json
import os
import subprocess
import sys

import numpy as np

import chainrule as cr

_CHILD = """
import json, sys, warnings
{prelude}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numpy as np
    import chainrule as cr
    x = cr.tensor(np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], np.float32))
    w = cr.tensor(np.array([[0.5, -1.0], [1.0, 0.25], [-0.5, 2.0]], np.float32), requires_grad=True)
    b = cr.tensor(np.array([0.1, -0.2], np.float32), requires_grad=True)
    loss = cr.losses.cross_entropy(cr.linear(x, w, b, "relu"), [0, 1])
    loss.backward()
    opt = cr.optim.Adam([w, b], lr=0.1)
    opt.step()
    cr.losses.cross_entropy(cr.linear(x, w, b, "relu"), [1, 0])  # a second use: no new warning
    try:
        cr.optim.AdamW([w], fused=True)
        refused = None
    except ImportError as error:
        refused = str(error)
    from chainrule import threads
    shared = threads.unavailable()
print(json.dumps({{
    "loss": float(loss.data), "w": w.data.tolist(), "b": b.data.tolist(), "fused": opt.fused,
    "refused": refused, "threads": shared,
    "warnings": [(m.category.__name__, str(m.message)) for m in caught],
}}))
"""


def _child(prelude: str, tmp_path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    code = _CHILD.format(prelude=prelude)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _numpy_rules() -> dict:
    x = cr.tensor(np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], np.float32))
    w = cr.tensor(np.array([[0.5, -1.0], [1.0, 0.25], [-0.5, 2.0]], np.float32), requires_grad=True)
    b = cr.tensor(np.array([0.1, -0.2], np.float32), requires_grad=True)
    with cr.numpy_rules():
        loss = cr.losses.cross_entropy(cr.linear(x, w, b, "relu"), [0, 1])
        loss.backward()
    cr.optim.Adam([w, b], lr=0.1, fused=False).step()
    return {"loss": float(loss.data), "w": w.data.tolist(), "b": b.data.tolist()}


def _assert_numpy_rules(got: dict) -> None:
    want = _numpy_rules()
    assert (got["loss"], got["w"], got["b"]) == (want["loss"], want["w"], want["b"])
    assert got["fused"] is False


def test_a_numba_that_fails_to_import_falls_back_with_one_warning(tmp_path):
    # an older numba after a NumPy upgrade raises this from its __init__
    (tmp_path / "numba").mkdir()
    (tmp_path / "numba" / "__init__.py").write_text(
        'raise ImportError("Numba needs NumPy 2.2 or less. Got NumPy 9.9.")\n'
    )
    got = _child("", tmp_path)
    _assert_numpy_rules(got)
    assert len(got["warnings"]) == 1
    category, message = got["warnings"][0]
    assert category == "RuntimeWarning"
    assert message.startswith(
        "numba is installed but cannot be imported (ImportError: Numba needs NumPy 2.2 or "
        "less. Got NumPy 9.9.); chainrule uses its NumPy rules instead of the compiled ones."
    )
    assert message.endswith(
        f"Install a numba that supports NumPy {np.__version__}, or uninstall numba"
    )
    assert got["refused"].startswith(
        "AdamW(fused=True) needs numba, which is installed but cannot be imported "
        "(ImportError: Numba needs NumPy 2.2 or less. Got NumPy 9.9.)"
    )
    # shared_threads said numba was not installed
    assert got["threads"] == (
        "numba cannot be imported (ImportError: Numba needs NumPy 2.2 or less. Got NumPy 9.9.)"
    )


def test_a_missing_numba_falls_back_silently(tmp_path):
    got = _child("sys.modules['numba'] = None  # import numba: ModuleNotFoundError", tmp_path)
    _assert_numpy_rules(got)
    assert got["warnings"] == []
    assert got["refused"].startswith("AdamW(fused=True) needs numba: pip install 'chainrule[fast]'")
    assert got["threads"] == "numba is not installed (pip install 'chainrule[fast]')"
