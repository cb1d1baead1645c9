"""chainrule in the race: the main job's objects and training loop, ``Trainer.fit``.

Model, loss, optimizer (Adam with the config's schedule) and the shuffling seed are what
``chainrule train`` builds from the config; only its run directory, checkpoints, progress
bar and dev evaluation are left out.

Training clock: the ``time`` the ``Trainer`` logs for each epoch, i.e. its batch loop:
gathering each shuffled batch, forward, loss, backward, the Adam step, and the loop's
per-step bookkeeping that ``chainrule train`` pays too (the loss value, the gradient
norms and the predictions for the epoch's train accuracy). The end-of-epoch metrics and
the test evaluation fall outside it.

Set-up, reported apart (as JAX's compiling is): the seconds from the call of ``fit`` to
its first epoch, its checks of the data and of the model on single samples before
training. That check is the first use of the compiled kernels (the ``fast`` extra), which
load there from numba's cache on disk, or with an empty cache (once per machine and
version) are compiled there.
"""

from __future__ import annotations

import functools
import time

import chainrule as cr
from chainrule.train import LambdaCallback, Trainer

VERSION = f"chainrule {cr.__version__}"


def train(recipe, after_epoch) -> float:
    """Train ``recipe`` for its epochs; after each, ``after_epoch(seconds, predict)``.
    Returns the seconds of set-up before the first epoch (see the module docstring)."""
    model = recipe.model()
    began = []

    def report(trainer, epoch, logs):
        after_epoch(logs["time"], functools.partial(cr.predict, model))

    trainer = Trainer(
        model,
        recipe.loss(),
        recipe.optimizer(model),
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        callbacks=[
            LambdaCallback(
                on_train_begin=lambda trainer: began.append(time.perf_counter()),
                on_epoch_end=report,
            )
        ],
        seed=recipe.shuffle_seed,
        progress=False,
    )
    start = time.perf_counter()
    trainer.fit(*recipe.train)
    return began[0] - start
