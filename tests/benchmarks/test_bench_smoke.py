"""Smoke tests of the benchmark suite: tiny step counts, chainrule and NumPy only.

They check that the runner produces its tables and JSON, never how fast anything is.
"""

import json
import subprocess
import sys

import pytest

from chainrule.bench import systems
from chainrule.cli import main as cli_main

TINY = ["--configs", "a", "--steps", "2", "--warmup", "1", "--pause", "0", "--peak-n", "64"]


def test_runner_measures_chainrule_and_numpy(bench, tmp_path, capsys):
    out = tmp_path / "bench.json"
    results = bench.main([*TINY, "--systems", "chainrule,numpy", "--reps", "2", "--json", str(out)])
    table = capsys.readouterr().out
    assert "| (a) |" in table and "cr / hand NumPy" in table
    assert "| (a) | hand NumPy |" in table  # chainrule / fastest peer, rep by rep
    saved = json.loads(out.read_text())
    assert saved["configs"]["a"]["systems"].keys() == {"chainrule", "numpy"}
    for entry in saved["configs"]["a"]["systems"].values():
        assert entry["samples_per_s"] > 0 and len(entry["reps"]) == 2
        assert entry["memory"]["peak_mib"] >= 0
    assert results["peak_gflops"] > 0


def test_repetitions_rotate_the_order_of_the_systems(bench, monkeypatch):
    from chainrule.bench import throughput

    timed = []

    def fake_time(trainer, steps):
        timed.append(type(trainer).__module__.rpartition(".")[2])
        return 1.0

    monkeypatch.setattr(throughput, "_time", fake_time)
    names = "chainrule,chainrule-eager,numpy"
    bench.main([*TINY, "--systems", names, "--reps", "4", "--no-memory"])
    eager, hand = "chainrule_eager_mlp", "numpy_mlp"
    assert timed == [
        *("chainrule_mlp", eager, hand),
        *(eager, hand, "chainrule_mlp"),
        *(hand, "chainrule_mlp", eager),
        *("chainrule_mlp", eager, hand),
    ]


def test_missing_system_is_reported_not_skipped(bench, monkeypatch, capsys):
    monkeypatch.setitem(systems.MODULES, "torch", "chainrule.bench.systems.not_installed")
    results = bench.main([*TINY, "--systems", "numpy,torch", "--reps", "1", "--no-memory"])
    entry = results["configs"]["a"]["systems"]["torch"]
    assert entry.keys() == {"missing"} and entry["missing"].startswith("torch missing (")
    assert "| missing |" in capsys.readouterr().out
    assert results["meta"].keys() >= {"python", "machine"}


@pytest.mark.parametrize("peer", ["numpy", "torch", "jax"])
@pytest.mark.parametrize("key", ["a", "c"])
def test_chainrule_and_its_peers_reach_the_same_loss_after_the_same_steps(peer, key):
    """Every system starts from the same weights and data (BENCHMARKS.md: "chainrule,
    NumPy, PyTorch and JAX reach the same loss after the same steps")."""
    from chainrule.bench.configs import CONFIGS, make_batches

    theirs = pytest.importorskip(systems.MODULES[peer])
    ours = systems.load("chainrule")
    config = CONFIGS[key]
    batches = make_batches(config, n_batches=2)
    losses = []
    for module in (ours, theirs):
        trainer = module.make_trainer(config, systems.prepare(module, batches))
        trainer.run(3)
        losses.append(trainer.loss())
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)


def test_chainrule_bench_command_measures_in_a_pinned_child(tmp_path):
    out = tmp_path / "bench.json"
    argv = [*TINY, "--systems", "chainrule,numpy", "--reps", "1", "--no-memory"]
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "bench", *argv, "--threads", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "| (a) |" in done.stdout
    settings = json.loads(out.read_text())["meta"]["thread_settings"]
    assert settings["pinned_at_start"] is True
    assert settings["OPENBLAS_NUM_THREADS"] == "1"


def test_chainrule_bench_rejects_bad_options_before_measuring(capsys):
    assert cli_main(["bench", "--configs", "a,e"]) == 2
    assert "expected a comma-separated subset of a,b,c,d, each at most once, got 'a,e'" in (
        capsys.readouterr().err
    )
    assert cli_main(["bench", "--reps", "0"]) == 2
    assert "expected a finite value >= 1, got '0'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--systems", "numpy,numpy"], "each at most once, got 'numpy,numpy'"),
        (["--configs", "a,a"], "each at most once, got 'a,a'"),
        (["--seconds", "nan"], "--seconds: expected a finite value >= 0.0, got 'nan'"),
        (["--pause", "inf"], "--pause: expected a finite value >= 0.0, got 'inf'"),
    ],
)
def test_repeated_names_and_non_finite_times_are_usage_errors(argv, says, capsys):
    assert cli_main(["bench", *argv]) == 2
    assert says in capsys.readouterr().err


def test_an_unwritable_json_path_is_refused_before_measuring(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    for path, kind in [(tmp_path, "a directory"), (tmp_path / "file" / "out.json", "a file")]:
        assert cli_main(["bench", *TINY, "--systems", "numpy", "--json", str(path)]) == 2
        assert f"is {kind}; nothing was measured" in capsys.readouterr().err


def test_an_existing_json_file_is_replaced_only_with_force(tmp_path, capsys, monkeypatch):
    # a run of minutes wrote over the results of an earlier one without a word
    from chainrule.bench import threads

    out = tmp_path / "results.json"
    out.write_text('{"earlier": "results"}')
    runs = []
    monkeypatch.setattr(threads, "run_pinned", lambda module, argv, n: runs.append(argv) or 0)
    assert cli_main(["bench", *TINY, "--systems", "numpy", "--json", str(out)]) == 2
    assert (
        f"bench: --json {out}: expected a new file, but {out} exists; pass --force to replace "
        "it, or choose another FILE; nothing was measured"
    ) in capsys.readouterr().err
    assert cli_main(["bench", *TINY, "--systems", "numpy", "--force"]) == 2
    assert "--force: expected with --json OUT, which it lets replace a file, got no --json" in (
        capsys.readouterr().err
    )
    assert runs == [] and out.read_text() == '{"earlier": "results"}'
    assert cli_main(["bench", *TINY, "--systems", "numpy", "--json", str(out), "--force"]) == 0
    assert len(runs) == 1 and "--force" in runs[0]


@pytest.mark.parametrize("fails_at", [1, 2], ids=["in its warm-up", "in a timed repetition"])
def test_a_system_that_fails_is_reported_with_its_error_and_the_others_measured(
    bench, monkeypatch, capsys, fails_at
):
    from chainrule.bench.systems import numpy_mlp

    calls = []

    def breaks(self, n_steps):
        calls.append(n_steps)
        if len(calls) >= fails_at:
            raise MemoryError("cannot allocate 2 GiB")

    monkeypatch.setattr(numpy_mlp.Trainer, "run", breaks)
    results = bench.main([*TINY, "--systems", "chainrule,numpy", "--reps", "2", "--no-memory"])
    entries = results["configs"]["a"]["systems"]
    assert entries["numpy"] == {"error": "MemoryError: cannot allocate 2 GiB"}
    assert entries["chainrule"]["samples_per_s"] > 0 and len(entries["chainrule"]["reps"]) == 2
    assert "Errors: numpy (a): MemoryError: cannot allocate 2 GiB" in capsys.readouterr().out


def test_a_peer_that_fails_to_import_with_another_error_is_reported_missing(tmp_path):
    (tmp_path / "raises_on_import.py").write_text("raise RuntimeError('jaxlib does not match')")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(systems.MissingSystem, match="broken install: RuntimeError: jaxlib"):
            systems.load("jax", {"jax": "raises_on_import"})
    finally:
        sys.path.remove(str(tmp_path))


def test_options_round_trip_through_the_child_command_line():
    from chainrule.bench import options
    from chainrule.bench.run import parse_args

    common = ["--configs", "c,d", "--systems", "torch,chainrule", "--reps", "2", "--warmup", "2"]
    common += ["--pause", "0.0", "--peak-n", "128", "--threads", "1", "--keep-freed-memory"]
    common += ["--json", "out.json"]
    # --steps makes --seconds idle, --no-memory --memory-steps: a pair of them is refused
    for argv in (["--seconds", "0.25", "--memory-steps", "4"], ["--steps", "3", "--no-memory"]):
        args = parse_args([*common, *argv])
        assert parse_args(options.to_argv(args)) == args
    assert options.to_argv(parse_args([])) == []


def test_option_values_starting_with_a_dash_reach_the_child_as_they_were():
    # "--json=-out.json" was passed on as "--json -out.json", which the child refused
    from chainrule.bench import options
    from chainrule.bench.run import parse_args

    args = parse_args(["--json=-out.json", "--configs=a"])
    assert parse_args(options.to_argv(args)) == args
    race = parse_args(["--to-accuracy", "--set=-x=1", "--json=-race.json"])
    assert parse_args(options.to_argv(race)) == race
