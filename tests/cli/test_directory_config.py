"""``chainrule train DIR``: a directory given as the config is refused naming the
config.toml in it and, for a run directory with checkpoints, ``--resume``; it was
"cannot read config DIR: Is a directory", with no hint."""

import pytest

from chainrule.cli import main


@pytest.mark.parametrize(
    ("files", "hint"),
    [
        ([], ""),
        (["config.toml"], "; the config in it: {d}/config.toml"),
        (
            ["config.toml", "checkpoints/checkpoint-00000000.safetensors"],
            "; the config in it: {d}/config.toml; to continue its run: chainrule train "
            "--resume {d}",
        ),
    ],
)
def test_a_directory_config_is_refused_with_its_config_and_resume(capsys, tmp_path, files, hint):
    directory = tmp_path / "run"
    for name in files:
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text("")
    directory.mkdir(exist_ok=True)
    assert main(["train", str(directory), "-q", "--no-report"]) == 2
    expected = f"config file {directory}: expected a TOML file, got a directory"
    assert capsys.readouterr().err == f"chainrule: error: {expected}{hint.format(d=directory)}\n"
