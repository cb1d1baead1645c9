"""A resumed run whose history file was edited since (a spreadsheet re-saved it, numbers
rounded): HistoryLogger refuses to replace it, saying the file may be this run's history
edited, not only another run's, and that the resume writes a moved-away file anew;
:meth:`HistoryLogger.continues` is the rule, as ``chainrule train --resume`` asks it."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import CheckpointDir, HistoryLogger, fit
from chainrule.train.history import History


def _fit(tmp_path, epochs, path, resume=False):
    X, y = cr.data.make_moons(64, noise=0.1, seed=0)
    model = nn.MLP([2, 8, 2], activation="relu", seed=0)
    return fit(
        model,
        "cross_entropy",
        optim.SGD(model.named_parameters(), lr=0.1),
        X,
        y.astype(np.int64),
        epochs=epochs,
        batch_size=16,
        checkpoint_dir=tmp_path / "ckpt",
        resume_from=tmp_path / "ckpt" if resume else None,
        callbacks=[HistoryLogger(path)],
        progress=False,
    )


def _rounded(text: str) -> str:
    header, *rows = text.splitlines()
    rows = [",".join(f"{float(v):.4g}" for v in row.split(",")) for row in rows]
    return "\n".join([header, *rows]) + "\n"


def test_a_resume_refuses_its_edited_history_saying_so(tmp_path):
    path = tmp_path / "history.csv"
    _fit(tmp_path, 2, path)
    edited = _rounded(path.read_text())
    path.write_text(edited)
    says = (
        rf"^HistoryLogger: {re.escape(str(path))} holds the history of another run, or of "
        r"this one edited since: not the resumed run's history up to its checkpoint .*move "
        r"it away \(the resume then writes it anew from the checkpoint's history\)"
    )
    with pytest.raises(ValueError, match=says):
        _fit(tmp_path, 3, path, resume=True)
    assert path.read_text() == edited
    path.unlink()
    history = _fit(tmp_path, 3, path, resume=True)
    assert len(path.read_text().splitlines()) == 1 + len(history.epochs) == 1 + 3


def test_continues_is_the_rule_of_a_resume(tmp_path):
    path = tmp_path / "history.csv"
    _fit(tmp_path, 2, path)
    _, state = CheckpointDir(tmp_path / "ckpt").load_latest()
    history = History.from_dict({**state["history"], "step_losses": []})
    logger = HistoryLogger(path)
    keys = list(history.epochs[0])
    assert logger.continues(history, keys) and logger.continues(history, ())
    assert not logger.continues(History(), keys)  # a file with epochs: not a run without
    path.write_text(_rounded(path.read_text()))
    assert not logger.continues(history, keys)
    with pytest.raises(TypeError, match="keys expected a list of log keys"):
        logger.continues(history, "epoch")
