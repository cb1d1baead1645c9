"""TOML that the parser cannot take, an integer of more digits than Python converts (4300
by default) or arrays nested deeper than the parser recurses, is a ``ConfigError`` naming
the file or the ``--set``, as bad TOML is; both escaped as a bare ``ValueError`` or
``RecursionError`` (exit 1, nothing named), from a config file, a run's config.toml that
``--resume`` reads, and a ``--set``."""

import re
import sys

import pytest

from chainrule.cli import main
from chainrule.runs import config as cfg

BIG = "1" + "0" * sys.get_int_max_str_digits()
DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (BIG, "invalid TOML: Exceeds the limit"),
        (DEEP, "invalid TOML: arrays or tables nested deeper than Python's parser recurses"),
    ],
)
def test_a_config_file_the_parser_cannot_take_is_a_config_error_naming_it(tmp_path, value, detail):
    path = tmp_path / "c.toml"
    path.write_text(f'[model]\nsizes = {value}\n[data]\nname = "moons"\n', encoding="utf-8")
    with pytest.raises(cfg.ConfigError, match="^" + re.escape(f"{path}: {detail}")):
        cfg.read(path)


@pytest.mark.parametrize(
    ("assignment", "detail"),
    [
        (f"train.epochs={BIG}", "invalid TOML: Exceeds the limit"),
        (f"model.sizes={DEEP}", "invalid TOML: arrays or tables nested deeper than"),
    ],
)
def test_a_set_value_the_parser_cannot_take_is_a_config_error_naming_it(assignment, detail):
    """Not taken as a plain string either, as a value that is not TOML is."""
    document = {}
    with pytest.raises(cfg.ConfigError) as caught:
        cfg.apply_override(document, assignment)
    assert str(caught.value).startswith(f"--set '{assignment[:40]}")
    assert detail in str(caught.value)
    assert document == {}


def test_the_cli_refuses_both_with_exit_2(capsys, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(f'[model]\nsizes = [2, 2]\n[data]\nname = "moons"\n[train]\nepochs = {BIG}\n')
    assert main(["train", str(path), "-q", "--no-report"]) == 2
    assert f"chainrule: error: {path}: invalid TOML: Exceeds the limit" in capsys.readouterr().err
    assert main(["train", "moons.toml", "-q", "--no-report", "--set", f"model.sizes={DEEP}"]) == 2
    assert "nested deeper than Python's parser recurses" in capsys.readouterr().err
