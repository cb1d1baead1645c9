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


def test_output_dir_in_a_loop_of_links_is_named_a_loop(capsys, no_data, tmp_path):
    # it was called "a symbolic link to a path that does not exist"
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for target in ("a", "a/run"):
        assert _train(f"output.dir={tmp_path / target}") == 2
        err = capsys.readouterr().err
        assert f"{tmp_path / 'a'} leads into a loop of symbolic links" in err, err


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


def test_a_tilde_in_output_dir_and_resume_is_the_home_folder(capsys, monkeypatch, tmp_path):
    # it made a folder named "~" in the current directory, and printed "model: ~/...",
    # which reads as the home folder: a cleanup of that path would have missed the run
    from chainrule.cli import train

    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    assert _train("output.dir=~/runs/moons") == 0
    assert f"model: {home / 'runs' / 'moons' / 'model.safetensors'}" in capsys.readouterr().out
    assert (home / "runs" / "moons" / "model.safetensors").is_file()
    assert list(work.iterdir()) == []
    assert _train("output.dir=~/runs/moons") == 2  # the run's own folder, now taken
    assert f"got {home / 'runs' / 'moons'}, which holds files" in capsys.readouterr().err
    assert main(["train", "--resume", "~/runs/none", "-q", "--no-report"]) == 2
    assert f"--resume {home / 'runs' / 'none'}: no config.toml there" in capsys.readouterr().err


def test_a_tilde_of_an_unknown_user_in_output_dir_is_refused(
    capsys, monkeypatch, no_data, tmp_path
):
    monkeypatch.chdir(tmp_path)
    assert _train("output.dir=~no-such-user-of-chainrule/run") == 2
    assert (
        "output.dir: expected a path whose ~ names a home folder, got "
        "'~no-such-user-of-chainrule/run'"
    ) in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_output_dir_too_long_for_the_filesystem_is_refused(capsys, no_data, tmp_path):
    # ENAMETOOLONG: "OSError: [Errno 36] File name too long", exit 1
    name = "x" * 300
    assert _train(f"output.dir={tmp_path / name / 'run'}") == 2
    err = capsys.readouterr().err
    assert f"output.dir {tmp_path / name / 'run'}: expected a path where a directory " in err
    assert "its name xxxxxxxxxxxxxxxxxxxx... is 300 bytes long, more than the 255" in err
    deep = tmp_path.joinpath(*["y" * 200] * 21)
    assert _train(f"output.dir={deep}") == 2
    assert f"but it is {len(str(deep))} bytes long, more than the 4095" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_default_run_directory_too_long_for_the_filesystem_is_refused(
    capsys, monkeypatch, no_data, tmp_path
):
    # a config file name of 250 bytes and the timestamp: a run folder name of 266 bytes
    from chainrule.runs.build import packaged_config

    config = tmp_path / ("m" * 245 + ".toml")
    config.write_bytes(packaged_config("moons.toml").read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["train", config.name, "-q", "--no-report", "--set", "output.dir="]) == 2
    err = capsys.readouterr().err
    assert f"run directory runs/{'m' * 245}-2" in err
    assert "(the default, as output.dir is empty): expected a path where a directory" in err
    assert "is 261 bytes long, more than the 255 the filesystem allows; set output.dir" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [config.name]


def test_a_resume_path_too_long_for_the_filesystem_is_no_run_directory(capsys, no_data, tmp_path):
    run = tmp_path / ("x" * 300)
    assert main(["train", "--resume", str(run), "-q", "--no-report"]) == 2
    assert f"--resume {run}: no config.toml there" in capsys.readouterr().err
