"""``chainrule train`` refuses, before any data is loaded and before its run directory is
made (exit 2, naming the key), the configs and output directories a run would only fail
on later: integers beyond int64, a schedule.params.name, a dangling symbolic link or a NUL
character in output.dir, a dropout or noise beyond what float32 holds, a warm-up of 1."""

import pytest

from chainrule.cli import main

INT64_OVER = str(2**64)


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if a run gets as far as loading data."""
    from chainrule.runs import datasets

    def load(*args, **kwargs):
        raise AssertionError("the data was loaded before the config was refused")

    monkeypatch.setattr(datasets, "load", load)


def _train(*sets: str) -> int:
    args = ["train", "moons.toml", "-q", "--no-report", "--set", "train.epochs=1"]
    return main([*args, *(a for s in sets for a in ("--set", s))])


@pytest.mark.parametrize(
    ("assignments", "message"),
    [
        # train.seed = 2**64 failed after the data loaded, in the first checkpoint's metadata
        (f"train.seed={INT64_OVER}", "train.seed: expected an integer within int64's range"),
        (f"train.epochs={INT64_OVER}", "train.epochs: expected an integer within int64's"),
        (f"train.batch_size={INT64_OVER}", "train.batch_size: expected an integer within"),
        (f"train.early_stopping={INT64_OVER}", "train.early_stopping: expected an integer"),
        (f"schedule.warmup={INT64_OVER}", "schedule.warmup: expected an integer within"),
        (
            f"optimizer.params={{beta1={INT64_OVER}}}",
            "optimizer.params.beta1: expected an integer within int64's",
        ),
        (
            f'model.init={{name="normal", std={INT64_OVER}}}',
            "model.init.std: expected an integer within int64's",
        ),
        # its name silently replaced schedule.name's
        (
            ("schedule.name=inverse_time", 'schedule.params={name="cosine", decay_rate=0.5}'),
            "schedule.params: name is not a schedule parameter; set schedule.name instead",
        ),
        # refused by the MLP, "MLP: keep_prob expected ...", without the key
        ("model.dropout=1e-8", "model.dropout: MLP: keep_prob expected a number >= 2**-24"),
        # make_moons: "expected points within the float32 range ... or dtype=float64"
        ("data.noise=1e38", "data.noise: expected a number <= 2.12676e+37, got 1e+38"),
        # min(1, t / 1) is 1 from t = 1, the first: a run alike to warmup = 0
        ("schedule.warmup=1", "schedule.warmup: has no effect: a warm-up of 1 is at the full"),
    ],
)
def test_a_config_a_run_would_fail_on_later_is_refused_by_key(
    capsys, no_data, tmp_path, assignments, message
):
    if isinstance(assignments, str):
        assignments = (assignments,)
    assert _train(*assignments, f"output.dir={tmp_path / 'run'}") == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_output_dir_under_a_dangling_link_is_refused(capsys, no_data, tmp_path):
    # mkdir(parents=True) failed after the data loaded: a bare FileExistsError, exit 1
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    for target in ("link", "link/run"):
        assert _train(f"output.dir={tmp_path / target}") == 2
        expected = f"{tmp_path / 'link'} is a symbolic link to a path that does not exist"
        assert expected in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_a_dangling_runs_link_is_refused_for_an_empty_output_dir(
    capsys, monkeypatch, no_data, tmp_path
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").symlink_to(tmp_path / "nowhere")
    assert _train("output.dir=") == 2
    assert "runs is a symbolic link to a path that does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_output_dir_with_a_nul_character_is_refused(capsys, monkeypatch, no_data, tmp_path):
    # "ValueError: embedded null byte" after the data loaded, exit 1
    monkeypatch.chdir(tmp_path)
    assert _train('output.dir="run\\u0000x"') == 2
    assert "output.dir: expected a path without NUL characters" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
