"""``chainrule predict`` recognizes an IDX input by its content, as ``read_idx`` does: one
that ``write_idx`` wrote to a name without "idx" or "ubyte" in it (``pts.gz``, ``pts.bin``)
was refused as an unknown input format."""

import gzip

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main
from chainrule.data import write_idx

POINTS = np.array([[0.1, 0.2], [1.0, -0.5], [-0.7, 0.3]], np.float32)


@pytest.fixture
def model(tmp_path):
    return cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors", labels=["a", "b"])


def _predictions(capsys, model, path) -> list[str]:
    assert main(["predict", str(model), str(path)]) == 0, capsys.readouterr().err
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(("name", "compress"), [("pts.gz", True), ("pts.bin", False)])
def test_an_idx_file_named_neither_idx_nor_ubyte_is_read(capsys, model, tmp_path, name, compress):
    np.save(tmp_path / "pts.npy", POINTS)
    expected = _predictions(capsys, model, tmp_path / "pts.npy")
    write_idx(tmp_path / name, POINTS, compress=compress)
    predictions = _predictions(capsys, model, tmp_path / name)
    assert predictions == expected and len(predictions) == 1 + len(POINTS)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("pts.bin", b"junkjunkjunk"),
        ("pts.bin", b""),
        ("pts.bin", b"\x00\x00\x0d"),  # an IDX magic number cut short
        ("pts.bin", b"\x00\x00\x07\x01\x00\x00\x00\x01\x00"),  # no IDX type code 0x07
        ("pts.bin", b"\x00\x00\x0d\x00"),  # zero dimensions
        ("pts.gz", gzip.compress(b"0.1,0.2\n1.0,-0.5\n")),  # gzip, but no IDX inside
        ("pts.gz", b"\x1f\x8bjunk"),  # a damaged gzip header
    ],
)
def test_a_file_that_is_no_idx_by_name_or_content_is_refused(
    capsys, model, tmp_path, name, content
):
    (tmp_path / name).write_bytes(content)
    assert main(["predict", str(model), str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / name}: unknown input format; expected .npy, .csv or an IDX file" in err
    assert "Traceback" not in err


def test_a_damaged_idx_file_recognized_by_content_names_the_damage(capsys, model, tmp_path):
    write_idx(tmp_path / "pts.bin", POINTS)
    data = (tmp_path / "pts.bin").read_bytes()
    (tmp_path / "pts.bin").write_bytes(data[:-3])
    assert main(["predict", str(model), str(tmp_path / "pts.bin")]) == 2
    assert f"{tmp_path / 'pts.bin'}: truncated data" in capsys.readouterr().err
