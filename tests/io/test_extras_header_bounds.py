"""``check_extras`` (and so ``Trainer(save_extras=...)``) applies the bounds the writer
puts on a file's header: metadata that ``save`` refuses as a header of too many marks or
bytes was accepted, and a run failed at its first model checkpoint, after an epoch. The
bounds are lowered here, as the check is the writer's own: a list of 2**21 numbers takes
seconds to build and check."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.files import safetensors
from chainrule.train import ModelCheckpoint, Trainer


@pytest.fixture
def model():
    return nn.MLP([3, 2], seed=1)


def test_metadata_of_too_many_marks_is_refused_by_check_extras(monkeypatch, model):
    monkeypatch.setattr(safetensors, "MAX_MARKS", 100)
    cr.io.check_extras(model, metadata={"losses": [0.5] * 10})
    says = r"^save: metadata expected what a file.s header holds, but cannot "
    with pytest.raises(ValueError, match=says):
        cr.io.check_extras(model, metadata={"losses": [0.5] * 200})


def test_metadata_of_too_many_bytes_is_refused_by_check_extras(monkeypatch, model):
    monkeypatch.setattr(safetensors, "_MAX_HEADER", 256)
    cr.io.check_extras(model, metadata={"note": "x" * 10})
    with pytest.raises(ValueError, match=r"cannot store a header of \d+ bytes: expected at most"):
        cr.io.check_extras(model, metadata={"note": "x" * 300})


def test_a_trainer_refuses_such_extras_before_training(monkeypatch, model, tmp_path):
    monkeypatch.setattr(safetensors, "MAX_MARKS", 100)
    says = r"^Trainer: save_extras: metadata expected what a file.s header holds"
    with pytest.raises(ValueError, match=says):
        Trainer(
            model,
            "cross_entropy",
            optim.Adam(model.parameters()),
            progress=False,
            save_extras={"metadata": {"losses": [0.5] * 200}},
            callbacks=[ModelCheckpoint(tmp_path / "models", monitor="train_loss")],
        )
    assert not (tmp_path / "models").exists()


def test_metadata_arrays_are_checked_as_the_writer_stores_them(model):
    # still refused by the storable check, which the writer runs first
    with pytest.raises(TypeError, match=r"cannot store tensor 'metadata\.x' of dtype uint32"):
        cr.io.check_extras(model, metadata={"x": np.zeros(3, np.uint32)})
