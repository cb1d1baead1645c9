"""A checkpoint file whose tree holds what save_checkpoint never writes (a lone surrogate
from a JSON escape, dicts and lists nested deeper than a file's trees) is damage: a
FormatError naming the file, and a resume from the directory falls back to the previous
checkpoint, as it does for a truncated newest file."""

import json
import struct

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.files import FormatError
from chainrule.files.tree import MAX_DEPTH
from chainrule.train import CheckpointDir, fit
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
Y = np.arange(20) % 3


def _run(tmp_path, epochs, resume=None):
    model = nn.MLP([4, 5, 3], seed=0)
    return fit(model, "cross_entropy", optim.Adam(model.parameters()), X, Y, epochs=epochs,
               batch_size=8, progress=False, checkpoint_dir=tmp_path / "ckpt",
               resume_from=resume)  # fmt: skip


def _metadata_as(path, text):
    """Rewrite the file's tree JSON so that its ``metadata`` is the JSON ``text`` (what no
    writer of chainrule makes: the tensors are left as they are)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    tree = header["__metadata__"]["chainrule.tree"]
    assert tree.count('"metadata":{}') == 1
    header["__metadata__"]["chainrule.tree"] = tree.replace('"metadata":{}', f'"metadata":{text}')
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + n :])


DAMAGE = [
    ('{"x":"\\udc80"}', r"cannot store the string at metadata\.x: expected text UTF-8 can encode"),
    ('{"\\ud800":1}', r"cannot store the key at metadata: expected text UTF-8 can encode"),
    ('{"x":' + "[" * 150 + "]" * 150 + "}",
     f"cannot store dicts and lists nested more than {MAX_DEPTH} deep"),
]  # fmt: skip


@pytest.mark.parametrize(("metadata", "says"), DAMAGE)
def test_a_tree_save_checkpoint_never_writes_is_a_format_error_naming_the_file(
    tmp_path, metadata, says
):
    """It was a plain ValueError in the writer's words ("cannot store the string ..."),
    naming no file, which a resume did not fall back from."""
    _run(tmp_path, 1)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    _metadata_as(path, metadata)
    with pytest.raises(FormatError, match=says) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: expected what save_checkpoint writes, got what its ")
    assert message.endswith(": the file is damaged")


@pytest.mark.parametrize(("metadata", "says"), DAMAGE)
def test_a_resume_falls_back_from_such_a_newest_checkpoint_with_a_warning(tmp_path, metadata, says):
    _run(tmp_path, 2)
    older, newest = CheckpointDir(tmp_path / "ckpt").files()
    _metadata_as(newest, metadata)
    with pytest.warns(RuntimeWarning) as caught:
        path, _ = CheckpointDir(tmp_path / "ckpt").load_latest()
    assert path == older
    with pytest.warns(RuntimeWarning) as caught_by_fit:
        history = _run(tmp_path, 2, resume=tmp_path / "ckpt")
    assert len(history.epochs) == 2  # epoch 2 was redone from the epoch-1 checkpoint
    for warned in (caught, caught_by_fit):
        (warning,) = warned
        assert str(warning.message).startswith(f"checkpoint {newest} is unreadable ({newest}: ")
        assert str(warning.message).endswith("; falling back to the previous one")


def test_metadata_nested_as_deep_as_a_file_holds_loads_back(tmp_path):
    """The reader's bound is the writer's: the deepest tree save_checkpoint writes loads."""
    _run(tmp_path, 1)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    deepest = []
    for _ in range(MAX_DEPTH - 3):  # MAX_DEPTH - 2 lists, in the metadata dict, in the root
        deepest = [deepest]
    state["metadata"] = {"x": deepest}
    save_checkpoint(path, state)
    assert load_checkpoint(path)["metadata"] == {"x": deepest}
    with pytest.raises(ValueError, match=f"nested more than {MAX_DEPTH} deep"):
        save_checkpoint(path, {**state, "metadata": {"x": [deepest]}})
