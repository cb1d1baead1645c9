"""An empty path argument is a usage error naming its option, as ``data fetch --cache-dir
""`` and ``train ""`` are: ``Path("")`` is the current directory, so ``predict -o ""``
wrote to the standard output (with ``--force``: "got no -o"), ``lab run --out ""`` wrote
into the current directory over its report.html, and ``train --resume ""`` resumed it."""

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.cli import main


def test_predict_refuses_an_empty_output(capsys, tmp_path):
    model = cr.save(nn.MLP([2, 2], seed=0), tmp_path / "m.safetensors")
    np.save(tmp_path / "x.npy", np.zeros((3, 2), np.float32))
    for force in ([], ["--force"]):
        assert main(["predict", str(model), str(tmp_path / "x.npy"), "-o", "", *force]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert "error: --output: expected a file path, got an empty path; leave out -o" in err


def test_lab_run_refuses_an_empty_out(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.html").write_text("my own report")
    assert main(["lab", "run", "graph", "--out", ""]) == 2
    err = capsys.readouterr().err
    assert "error: lab run: --out expected a directory, got an empty path" in err
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert (tmp_path / "report.html").read_text() == "my own report"


def test_train_refuses_an_empty_resume(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[data]\nname = "moons"\n[model]\nsizes = [2, 2]\n')
    assert main(["train", "--resume", ""]) == 2
    assert "error: --resume: expected a run directory, got an empty path\n" in (
        capsys.readouterr().err
    )
