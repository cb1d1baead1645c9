"""Smoke test of the benchmark runner: tiny step counts, chainrule and NumPy only.

It checks that the runner produces its tables and JSON, never how fast anything is.
"""

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    # The runner pins thread counts through the environment: restore it afterwards.
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "XLA_FLAGS",
    ):
        monkeypatch.delenv(var, raising=False)
    cpus = os.sched_getaffinity(0)  # pinning to fewer threads also narrows the CPU set
    from benchmarks import run, systems

    yield run, systems
    os.sched_setaffinity(0, cpus)


def test_runner_measures_chainrule_and_numpy(bench, tmp_path, capsys):
    run, _ = bench
    out = tmp_path / "bench.json"
    argv = ["--configs", "a", "--systems", "chainrule,numpy", "--steps", "2", "--reps", "2"]
    argv += ["--warmup", "1", "--pause", "0", "--peak-n", "64", "--json", str(out)]
    results = run.main(argv)
    table = capsys.readouterr().out
    assert "| (a) |" in table and "cr / hand NumPy" in table
    saved = json.loads(out.read_text())
    assert saved["configs"]["a"]["systems"].keys() == {"chainrule", "numpy"}
    for entry in saved["configs"]["a"]["systems"].values():
        assert entry["samples_per_s"] > 0 and len(entry["reps"]) == 2
        assert entry["memory"]["peak_mib"] >= 0
    assert results["peak_gflops"] > 0


def test_missing_system_is_reported_not_skipped(bench, monkeypatch, capsys):
    run, systems = bench
    monkeypatch.setitem(systems.MODULES, "torch", "benchmarks.systems.not_installed")
    argv = ["--configs", "a", "--systems", "numpy,torch", "--steps", "1", "--reps", "1"]
    results = run.main([*argv, "--warmup", "1", "--pause", "0", "--peak-n", "64", "--no-memory"])
    assert "missing" in results["configs"]["a"]["systems"]["torch"]
    assert "| missing |" in capsys.readouterr().out


def test_chainrule_step_matches_hand_numpy(bench):
    """Both systems start from the same weights and data, so their losses agree."""
    from benchmarks.configs import CONFIGS, make_batches
    from benchmarks.systems import chainrule_mlp, numpy_mlp

    for key in ("a", "c"):
        config = CONFIGS[key]
        batches = make_batches(config, n_batches=2)
        ours, ref = (
            chainrule_mlp.make_trainer(config, batches),
            numpy_mlp.make_trainer(config, batches),
        )
        ours.run(3)
        ref.run(3)
        assert ours.loss() == pytest.approx(ref.loss(), rel=1e-4)
