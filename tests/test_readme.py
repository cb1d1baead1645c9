"""The README's ```python examples run as written, each in a new working directory.

A ``print(...)`` line whose comment shows values must print them. None of the examples
needs MNIST or the network; one that loads MNIST would read ``CHAINRULE_MNIST_DIR`` from
the environment, which the tests leave as it is.
"""

import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_SHOWN = re.compile(r"^print\(.*\)\s+#\s*(.+?)\s*$", re.MULTILINE)


def _blocks() -> list[str]:
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def _run(code: str, name: str) -> dict:
    namespace = {"__name__": "__readme__"}
    exec(compile(code, f"README.md ({name})", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_a_readme_example_runs_and_prints_what_its_comments_show(
    index, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    code = _blocks()[index]
    _run(code, f"example {index + 1}")
    printed = capsys.readouterr().out.splitlines()
    for shown in _SHOWN.findall(code):
        assert shown in printed


def test_the_engine_example_prints_the_notes_gradients(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (engine,) = [code for code in _blocks() if "J.backward()" in code]
    namespace = _run(engine, "the engine")
    assert capsys.readouterr().out == "33.0 3.0 6.0 9.0\n"
    assert [namespace[v].grad for v in "abc"] == [3.0, 6.0, 9.0]


def test_the_training_example_saves_a_model_that_loads_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (training,) = [code for code in _blocks() if "cr.fit(" in code]
    namespace = _run(training, "training")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moons.safetensors"]
    model, Xd = namespace["model"], namespace["Xd"]
    assert len(namespace["history"].epochs) == 30
    loaded = cr.load(tmp_path / "moons.safetensors")
    np.testing.assert_array_equal(cr.predict(loaded, Xd), cr.predict(model, Xd))
