"""``--set section.key.name=value`` sets ``name`` in the key's table, as a TOML dotted key
does: the errors' suggestions name such keys (``did you mean
'optimizer.params.beta1'?``), and ``--set 'optimizer.params.beta1=0.8'`` was refused as
not ``section.key=value``, though ``params.beta1 = 0.8`` in the file works."""

from pathlib import Path

import pytest

from chainrule.runs import build
from chainrule.runs import config as cfg

MOONS = str(build.packaged_config("moons.toml"))


def test_a_dotted_key_sets_a_name_in_the_keys_table_and_keeps_the_others():
    doc = {"optimizer": {"params": {"beta2": 0.99}}}
    assert cfg.apply_override(doc, "optimizer.params.beta1=0.8") == "optimizer.params.beta1"
    assert cfg.apply_override(doc, "model.init.name='normal'") == "model.init.name"
    assert doc == {
        "optimizer": {"params": {"beta2": 0.99, "beta1": 0.8}},
        "model": {"init": {"name": "normal"}},
    }


def test_the_key_a_suggestion_names_can_be_set():
    with pytest.raises(cfg.ConfigError, match=r"did you mean 'optimizer\.params\.beta1'\?"):
        build.load_config(MOONS, ["optimizer.params.beta_1=0.8"])
    config, _ = build.load_config(MOONS, ["optimizer.params.beta1=0.8"])
    assert config["optimizer"]["params"] == {"beta1": 0.8}
    file_config, _ = build.load_config(MOONS, ["optimizer.params={beta1 = 0.8}"])
    assert config == file_config


def test_an_error_of_a_dotted_key_names_its_set():
    with pytest.raises(cfg.ConfigError) as info:
        build.load_config(MOONS, ["optimizer.params.beta_1=0.8"])
    assert str(info.value).startswith("--set 'optimizer.params.beta_1=0.8': unknown key ")


def test_an_error_in_a_table_several_set_names_them_all_and_the_file(tmp_path):
    # the last override into the table was named, one that set a valid name
    sets = ["optimizer.params.bta1=0.8", "optimizer.params.beta2=0.9"]
    with pytest.raises(cfg.ConfigError) as info:
        build.load_config(MOONS, sets)
    assert str(info.value).startswith(
        "--set 'optimizer.params.bta1=0.8' --set 'optimizer.params.beta2=0.9': unknown key "
    )
    # the file gave the table and its bad key: it was blamed on the override
    text = Path(MOONS).read_text().replace("lr = 0.01", "lr = 0.01\nparams = { bta1 = 0.8 }", 1)
    (tmp_path / "m.toml").write_text(text)
    with pytest.raises(cfg.ConfigError) as info:
        build.load_config(str(tmp_path / "m.toml"), ["optimizer.params.beta2=0.9"])
    assert str(info.value).startswith(
        f"{tmp_path / 'm.toml'} with --set 'optimizer.params.beta2=0.9': unknown key "
    )
    # a table an override replaced whole is that override's
    with pytest.raises(cfg.ConfigError) as info:
        build.load_config(str(tmp_path / "m.toml"), ["optimizer.params={bta2 = 0.9}"])
    assert str(info.value).startswith("--set 'optimizer.params={bta2 = 0.9}': unknown key ")


def test_a_key_on_the_way_that_is_not_a_table_is_refused():
    doc = {"optimizer": {"lr": 0.01}}
    with pytest.raises(
        cfg.ConfigError, match=r"^--set 'optimizer\.lr\.x=1': optimizer\.lr is not a table, "
    ):
        cfg.apply_override(doc, "optimizer.lr.x=1")
    assert doc == {"optimizer": {"lr": 0.01}}


@pytest.mark.parametrize("assignment", ["epochs=3", "train..epochs=3", "train.epochs.=3"])
def test_a_key_without_a_section_or_with_an_empty_part_is_refused(assignment):
    with pytest.raises(cfg.ConfigError, match=r"expected section\.key=value"):
        cfg.apply_override({}, assignment)
