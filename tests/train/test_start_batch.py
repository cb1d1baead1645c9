"""``trainer.start_batch``: where the epoch that ``on_epoch_begin`` opens starts, so that a
callback can tell an epoch resumed part-way (whose on_epoch_begin runs again) from a
fresh one."""

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.data import make_moons
from chainrule.train import LambdaCallback, TrainingInterrupted, fit


def _run(ckpt, interrupt=False, resume=None):
    """3 epochs of 10 batches whose on_epoch_begin decays the rate by 0.9 unless the
    epoch resumes part-way; a Ctrl-C after batch 5 of the second epoch."""
    seen = []

    def decay(trainer, epoch):
        seen.append((epoch, trainer.start_batch))
        if trainer.start_batch == 0:
            trainer.optimizer.lr = trainer.optimizer.lr * 0.9

    def stop(trainer, batch, value):
        if interrupt and trainer.epoch == 1 and batch == 4:
            trainer._interrupt = True  # what the first Ctrl-C does

    X, y = make_moons(160, noise=0.2, seed=1)
    model = nn.MLP([2, 8, 2], seed=3)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    callbacks = [LambdaCallback(on_epoch_begin=decay, on_batch_end=stop)]
    history = fit(model, "cross_entropy", opt, X, y.astype(np.int64), epochs=3, batch_size=16,
                  checkpoint_dir=ckpt, resume_from=resume, progress=False,
                  callbacks=callbacks)  # fmt: skip
    return history, opt, seen


def test_start_batch_tells_an_epoch_resumed_part_way(tmp_path):
    # on_epoch_begin ran again for the interrupted epoch: a decay there was applied twice
    straight, opt, seen = _run(tmp_path / "a")
    assert seen == [(0, 0), (1, 0), (2, 0)]
    with pytest.raises(TrainingInterrupted):
        _run(tmp_path / "b", interrupt=True)
    resumed, resumed_opt, seen = _run(tmp_path / "b", resume=tmp_path / "b")
    assert seen == [(1, 5), (2, 0)]
    assert resumed.column("lr") == straight.column("lr")
    assert resumed.step_losses == straight.step_losses and resumed_opt.lr == opt.lr
