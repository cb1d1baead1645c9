"""``chainrule bench`` refuses, before anything is measured, options that would have no
effect: those of the other measurement, and a throughput option another one makes idle
(``--seconds`` with ``--steps``, ``--memory-steps`` with ``--no-memory``). Options are
checked by :func:`chainrule.bench.options.check` itself, or through the command with the
measurement replaced by a failure: no benchmark runs here."""

import argparse

import pytest

from chainrule.bench import options, threads
from chainrule.cli import main


def _check(*argv: str) -> None:
    parser = argparse.ArgumentParser()
    options.add_arguments(parser)
    options.check(parser.parse_args(argv))


@pytest.fixture
def no_measurement(monkeypatch):
    """Fail the test if the command gets as far as measuring."""

    def run_pinned(*args, **kwargs):
        raise AssertionError("the options were not refused: the measurement started")

    monkeypatch.setattr(threads, "run_pinned", run_pinned)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # throughput.py took --steps and ignored --seconds
        (
            ["--steps", "10", "--seconds", "30"],
            "--seconds: has no effect with --steps, which sets the steps --seconds would "
            "calibrate; drop one of them",
        ),
        # and skipped the memory probes, ignoring --memory-steps
        (
            ["--memory-steps", "50", "--no-memory"],
            "--memory-steps: has no effect with --no-memory, which skips the memory probes "
            "whose steps it sets; drop one of them",
        ),
    ],
)
def test_an_option_another_makes_idle_is_refused(no_measurement, capsys, argv, message):
    with pytest.raises(ValueError) as info:
        _check(*argv)
    assert str(info.value) == message
    assert main(["bench", *argv]) == 2
    assert f"chainrule: error: bench: {message}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--steps", "10"],
        ["--seconds", "30"],
        ["--no-memory"],
        ["--memory-steps", "50"],
        ["--steps", "10", "--memory-steps", "50"],
        # at their defaults, the options count as left out
        ["--steps", "10", "--seconds", "0.5"],
        ["--no-memory", "--memory-steps", "5"],
    ],
)
def test_options_that_take_effect_together_are_accepted(argv):
    _check(*argv)


def test_with_to_accuracy_throughput_options_are_refused_as_such():
    with pytest.raises(ValueError, match=r"^--steps, --seconds: options of the throughput"):
        _check("--to-accuracy", "--steps", "10", "--seconds", "30")


def test_an_empty_config_of_the_race_is_a_missing_file(no_measurement, capsys):
    # the race took "" for a left-out --config: the packaged mnist.toml
    assert main(["bench", "--to-accuracy", "--config", ""]) == 2
    assert "chainrule: error: config file not found: '' (the packaged configs" in (
        capsys.readouterr().err
    )


def test_more_threads_than_usable_cpus_are_refused(no_measurement, capsys, monkeypatch):
    # JAX's pool is sized from the CPUs the process may run on, the others' from --threads:
    # "Threads: 4" was reported while JAX ran on 2
    monkeypatch.setattr(options, "usable_cpus", lambda: 2)
    _check("--threads", "2")
    message = (
        "--threads: expected at most 2, the CPUs this process may run on, got 3: XLA sizes "
        "JAX's pool from those CPUs, so JAX would run on fewer threads than the other systems"
    )
    for argv in (["--threads", "3"], ["--to-accuracy", "--threads", "3"]):
        with pytest.raises(ValueError) as info:
            _check(*argv)
        assert str(info.value) == message
    assert main(["bench", "--threads", "3"]) == 2
    assert f"chainrule: error: bench: {message}" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["chainrule.bench.run", "chainrule.bench.memory"])
def test_help_works_without_docstrings(module):
    # python -OO drops docstrings: --help raised AttributeError on __doc__.splitlines()
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-OO", "-m", module, "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ")
