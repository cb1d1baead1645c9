"""The scripts in benchmarks/ (run from a checkout): their math and their options."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.bench.threads import usable_cpus

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        f"_bench_script_{name}", ROOT / "benchmarks" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engine_overhead_times_the_same_math_on_both_sides():
    # the NumPy side returned the un-reduced (n, n) array: the engine's mean and sum were
    # charged to its overhead per op
    eo = _load("engine_overhead")
    rng = np.random.default_rng(1)
    xa = rng.standard_normal((4, 3)).astype(np.float32)
    wa = rng.standard_normal((3, 5)).astype(np.float32)
    ba = rng.standard_normal(5).astype(np.float32)
    w, b = cr.tensor(wa, requires_grad=True), cr.tensor(ba, requires_grad=True)
    value = eo.engine_forward(cr.tensor(xa), w, b).item()
    assert np.shape(eo.numpy_forward(xa, wa, ba)[0]) == ()
    np.testing.assert_allclose(eo.numpy_forward(xa, wa, ba)[0], value, rtol=1e-6)
    eo.engine_step(cr.tensor(xa), w, b)
    grad_w, grad_b = eo.numpy_step(xa, wa, ba)
    np.testing.assert_allclose(grad_w, w.grad, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grad_b, b.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("script", ["engine_overhead", "profile_step"])
def test_help_works_without_docstrings(script):
    # python -OO drops docstrings: --help raised AttributeError on __doc__.splitlines()
    done = subprocess.run(
        [sys.executable, "-OO", "-m", f"benchmarks.{script}", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--configs", "x"], "--configs: expected a comma-separated subset of a,b,c,d"),
        (["--configs", "a,a"], "--configs: expected a comma-separated subset of a,b,c,d"),
        (["--threads", "0"], "--threads: expected a finite value >= 1, got '0'"),
        (["--threads", "two"], "--threads: expected an integer, got 'two'"),
        (["--top", "0"], "--top: expected a finite value >= 1, got '0'"),
        (
            ["--threads", str(usable_cpus() + 1)],
            f"--threads: expected at most {usable_cpus()}, the CPUs this process may run on",
        ),
    ],
)
def test_profile_step_refuses_bad_options_before_profiling(argv, says, monkeypatch, capsys):
    # a bare KeyError / ValueError traceback, or more threads than chainrule bench allows
    profile_step = _load("profile_step")
    for name in ("run_pinned", "pin_threads", "profile"):
        monkeypatch.setattr(profile_step, name, lambda *a, name=name: pytest.fail(f"{name} ran"))
    with pytest.raises(SystemExit) as info:
        profile_step.main(argv)
    assert info.value.code == 2
    assert says in capsys.readouterr().err
