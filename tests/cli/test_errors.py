"""Exit statuses: 2 for usage and config errors (with the promised messages), 1 at run time."""

import pytest

from chainrule.cli import main

MOONS = "configs/moons.toml"


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[2])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "train.epochs=-3"], "train.epochs: expected an integer >= 1, got -3"),
        (["--set", "train.epoch=3"], "unknown key train.epoch; did you mean 'train.epochs'?"),
        (["--set", "optimizer.lr=fast"], "optimizer.lr: expected a number (float), got string"),
        (["--set", "model.sizes=[3, 8, 2]"], "the data (moons) has 2, model.sizes[0] is 3"),
    ],
)
def test_bad_config_exits_2_naming_the_key(capsys, args, message):
    assert main(["train", MOONS, *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_config_in_a_subprocess(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nsizes = [2, 4, 2]\n[data]\nname = "moons"\nnoize = 0.1\n')
    proc = cli("train", bad)
    assert proc.returncode == 2
    assert "unknown key data.noize; did you mean 'data.noise'?" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["train", "missing.toml"],
        ["info", "missing.safetensors"],
        ["evaluate", "missing.safetensors"],
        ["predict", "missing.safetensors", "x.npy"],
    ],
)
def test_missing_files_exit_2(capsys, args):
    assert main(args) == 2
    assert "not found" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["frobnicate"]) == 2
    assert main(["train", "--no-such-flag"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_runtime_failure_exits_1_with_one_line(capsys, tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model file at all")
    assert main(["info", str(junk)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--debug" in err
    with pytest.raises(Exception):  # noqa: B017 - any exception: --debug re-raises it
        main(["--debug", "info", str(junk)])


def test_help_on_every_subcommand(capsys):
    for args in (
        ["train"],
        ["evaluate"],
        ["predict"],
        ["info"],
        ["data", "fetch"],
        ["lab"],
        ["lab", "list"],
        ["lab", "run"],
        [],
    ):
        with pytest.raises(SystemExit) as info:
            main([*args, "--help"])
        assert info.value.code == 0
    assert "model.sizes" in capsys.readouterr().out  # train --help lists the config keys


def test_lab_list(capsys):
    assert main(["lab", "list"]) == 0
    assert capsys.readouterr().out.strip().endswith("experiments")


def test_shipped_configs_are_identical_to_the_packaged_ones():
    from pathlib import Path

    root = Path("configs")
    packaged = Path("src/chainrule/configs")
    names = sorted(p.name for p in root.glob("*.toml"))
    assert names == ["mnist.toml", "moons.toml", "nielsen-ch1.toml", "nielsen-ch3.toml"]
    assert names == sorted(p.name for p in packaged.glob("*.toml"))
    for name in names:
        assert (root / name).read_bytes() == (packaged / name).read_bytes(), name
