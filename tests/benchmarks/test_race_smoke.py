"""Smoke tests of the race to a test accuracy (``chainrule bench --to-accuracy``).

A tiny recipe (two moons, a 2-16-2 net, a few epochs) stands in for MNIST; the tests
check the tables, the JSON and that the peers follow chainrule step for step, never how
fast anything is.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.bench.accuracy.recipe import Recipe, resolve
from chainrule.cli import main as cli_main

MOONS = ["data.name=moons", "data.n_samples=400", "model.sizes=[2,16,2]", "train.epochs=3"]
MOONS += ["train.batch_size=32", "optimizer.lr=0.05"]
SETS = [part for item in MOONS for part in ("--set", item)]


@pytest.fixture(scope="module")
def recipe():
    return Recipe.load(resolve(None, MOONS))


def _epoch_logits(module, recipe):
    """The test-set logits after each epoch of ``module.train``."""
    seen = []
    module.train(recipe, lambda seconds, predict: seen.append(np.asarray(predict(recipe.test[0]))))
    return seen


def test_chainrule_bench_to_accuracy_prints_and_saves_the_race(tmp_path):
    out = tmp_path / "race.json"
    argv = ["--to-accuracy", "0.6", *SETS, "--systems", "chainrule", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "bench", *argv, "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "| chainrule |" in done.stdout and "Test accuracy after each epoch" in done.stdout
    assert "chainrule: epoch 3" in done.stderr  # progress lines
    saved = json.loads(out.read_text())
    assert saved["meta"]["thread_settings"]["pinned_at_start"] is True
    entry = saved["systems"]["chainrule"]
    # its checks before the first epoch, where numba's kernels load: reported apart, as
    # seconds (never compared with other seconds: how long anything takes is the machine's)
    assert isinstance(entry["setup_s"], float) and 0 <= entry["setup_s"] < math.inf
    assert [e["epoch"] for e in entry["epochs"]] == [1, 2, 3]
    assert all(0 <= e["train_s"] < math.inf for e in entry["epochs"])
    assert entry["train_s"] == pytest.approx(sum(e["train_s"] for e in entry["epochs"]))
    assert entry["train_s"] == pytest.approx(entry["epochs"][-1]["total_train_s"])
    first = next(e for e in entry["epochs"] if e["test_accuracy"] >= 0.6)
    assert entry["reached"] == {"epoch": first["epoch"], "train_s": first["total_train_s"]}


def test_an_unreachable_target_is_reported_not_reached(bench, capsys):
    results = bench.main(["--to-accuracy", "1.0", *SETS, "--systems", "chainrule", "-q"])
    assert results["systems"]["chainrule"]["reached"] is None
    assert "| chainrule | not reached |" in capsys.readouterr().out


def test_a_missing_peer_is_reported_not_skipped(bench, monkeypatch, capsys):
    from chainrule.bench.accuracy import race

    monkeypatch.setitem(race.MODULES, "torch", "chainrule.bench.accuracy.not_installed")
    results = bench.main(["--to-accuracy", *SETS, "--systems", "chainrule,torch", "-q"])
    entry = results["systems"]["torch"]
    assert entry.keys() == {"missing"} and entry["missing"].startswith("torch missing (")
    assert "| PyTorch eager | missing |" in capsys.readouterr().out
    assert results["meta"].keys() >= {"python", "machine", "numpy"}


def test_chainrule_system_trains_on_the_recipes_batch_order(recipe):
    """The Trainer's batches are the recipe's ``epoch_batches``: an explicit loop over them
    with the same objects gives bit-identical outputs after every epoch."""
    from chainrule.bench.accuracy import chainrule_fit

    model = recipe.model()
    optimizer, loss = recipe.optimizer(model), recipe.loss()
    expected = []
    for batches in recipe.epoch_batches():
        for xb, yb in batches:
            optimizer.zero_grad()
            loss(model(cr.tensor(xb)), yb).backward()
            optimizer.step()
        expected.append(cr.predict(model, recipe.test[0]))
    got = _epoch_logits(chainrule_fit, recipe)
    assert len(got) == recipe.epochs
    for ours, loop in zip(got, expected, strict=True):
        np.testing.assert_array_equal(ours, loop)


@pytest.mark.parametrize("peer", ["torch", "jax"])
def test_peers_follow_chainrule_epoch_by_epoch(recipe, peer):
    """Same initial weights, batches, schedule and Adam: the same outputs, up to float32."""
    from chainrule.bench.accuracy import chainrule_fit, race

    module = pytest.importorskip(race.MODULES[peer])
    for ours, theirs in zip(
        _epoch_logits(chainrule_fit, recipe), _epoch_logits(module, recipe), strict=True
    ):
        np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-4)


def test_jax_compiles_its_step_for_every_batch_shape_before_the_clock(recipe):
    jax_fit = pytest.importorskip("chainrule.bench.accuracy.jax_fit")
    assert jax_fit.batch_sizes(400, 32) == [16, 32]
    assert jax_fit.batch_sizes(384, 32) == [32]
    assert jax_fit.batch_sizes(20, 32) == [20]
    epochs = []
    compile_s = jax_fit.train(recipe, lambda seconds, predict: epochs.append(seconds))
    assert compile_s > 0 and len(epochs) == recipe.epochs
    # 320 samples in batches of 48: two shapes, both compiled before any epoch's batch
    uneven = Recipe.load(resolve(None, [*MOONS, "train.batch_size=48"]))
    opt = jax_fit.optax.adam(1e-3)
    params = [tuple(map(jax_fit.jnp.asarray, pair)) for pair in uneven.initial_params()]
    state = opt.init(params)
    step, _ = jax_fit.make_step(jax_fit.ACTIVATIONS[uneven.activation], opt)
    jax_fit.compile_step(step, params, state, uneven.train, uneven.batch_size)
    assert step._cache_size() == 2
    for xb, yb in next(uneven.epoch_batches()):
        params, state, _ = step(params, state, xb, yb)
    assert step._cache_size() == 2  # the epoch compiled nothing more


def test_peer_schedules_match_chainrules_cosine():
    schedule = cr.optim.CosineDecay(alpha0=1e-3, duration=50, alpha_min=1e-5)
    expected = [schedule(t) for t in range(1, 54)]  # past the end: it stays at alpha_min
    torch_fit = pytest.importorskip("chainrule.bench.accuracy.torch_fit")
    factor = torch_fit.lr_factor(schedule)
    assert [schedule.alpha0 * factor(i) for i in range(53)] == pytest.approx(expected, rel=1e-12)
    jax_fit = pytest.importorskip("chainrule.bench.accuracy.jax_fit")
    rate = jax_fit.learning_rate(schedule)
    assert [float(rate(i)) for i in range(53)] == pytest.approx(expected, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--to-accuracy", "98"], "expected a test accuracy as a fraction in (0, 1]"),
        (["--to-accuracy", "--reps", "3"], "--reps: options of the throughput measurement"),
        (["--set", "train.epochs=1"], "--set: options of the race to a test accuracy"),
        (["--to-accuracy", "--systems", "sklearn"], "expected --systems among chainrule,torch"),
        (
            ["--to-accuracy", "--set", "model.dropout=0.5"],
            "model.dropout: expected 1.0, got 0.5",
        ),
        (["--to-accuracy", "--set", "schedule.name=exponential"], "schedule.name: expected one"),
        (["--to-accuracy", "--set", "schedule.warmup=100"], "schedule.warmup: expected 0, got 100"),
        (["--to-accuracy", "--set", "train.epoch=1"], "did you mean 'train.epochs'?"),
    ],
)
def test_bad_race_options_are_usage_errors(argv, message, capsys):
    assert cli_main(["bench", *argv]) == 2
    assert message in capsys.readouterr().err


def test_race_options_round_trip_through_the_child_command_line():
    from chainrule.bench import options
    from chainrule.bench.run import parse_args

    argv = ["--to-accuracy", "0.9", "--config", "my.toml", "--set", "train.epochs=2"]
    argv += ["--set", "data.n_train=600", "--systems", "jax,chainrule", "--threads", "1"]
    args = parse_args(argv)
    assert parse_args(options.to_argv(args)) == args
    assert parse_args(["--to-accuracy"]).to_accuracy == options.DEFAULT_TARGET


@pytest.mark.skipif(not os.environ.get("CHAINRULE_MNIST_DIR"), reason="needs real MNIST")
def test_the_default_recipe_is_the_main_job():
    config = resolve(None, ["data.n_train=600", "data.n_test=100", "train.epochs=1"])
    recipe = Recipe.load(config)
    summary = recipe.summary()
    assert summary["sizes"] == [784, 512, 256, 10] and summary["batch_size"] == 128
    assert (summary["n_train"], summary["n_test"]) == (550, 100)
    assert summary["learning_rate"]["name"] == "cosine"
    assert summary["epochs"] == 1
    assert summary["learning_rate"]["duration"] == summary["steps_per_epoch"] + 1
    assert recipe.train[0].dtype == np.float32 and recipe.train[0].max() <= 1.0


def test_the_summary_shows_set_up_apart_from_training():
    from chainrule.bench.accuracy.report import summary_table

    def entry(train_s, setup_s):
        epochs = [{"test_accuracy": 0.985, "total_train_s": train_s}]
        return {
            "reached": {"epoch": 1, "train_s": train_s},
            "epochs": epochs,
            "train_s": train_s,
            "eval_s": 0.25,
            "setup_s": setup_s,
            "loadavg_before_after": [0.5, 0.7],
        }

    systems = {"chainrule": entry(4.0, 0.4), "torch": entry(5.0, None), "jax": entry(3.0, 1.5)}
    rows = summary_table({"target": 0.98, "systems": systems}).splitlines()
    assert "set-up before epoch 1 (not counted)" in rows[0]
    assert rows[2].startswith("| chainrule | 4.00 s | 1 | 1.00x |") and "| 0.40 s |" in rows[2]
    assert rows[3].startswith("| PyTorch eager | 5.00 s | 1 | 1.25x |") and "| - |" in rows[3]
    assert rows[4].startswith("| JAX jit | 3.00 s | 1 | 0.75x |") and "| 1.50 s |" in rows[4]
