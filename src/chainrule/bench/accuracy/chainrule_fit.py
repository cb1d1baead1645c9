"""chainrule in the race: the main job's objects and training loop, ``Trainer.fit``.

Model, loss, optimizer (Adam with the config's schedule) and the shuffling seed are what
``chainrule train`` builds from the config; only its run directory, checkpoints, progress
bar and dev evaluation are left out.

Training clock: the ``time`` the ``Trainer`` logs for each epoch, i.e. its batch loop:
gathering each shuffled batch, forward, loss, backward, the Adam step, and the loop's
per-step bookkeeping that ``chainrule train`` pays too (the loss value, the gradient
norms and the predictions for the epoch's train accuracy). The end-of-epoch metrics and
the test evaluation fall outside it. The compiled kernels (the ``fast`` extra) load from
numba's cache on disk at their first use, inside the first epoch; with an empty cache
(once per machine and version) they are compiled there, inside the clock.
"""

from __future__ import annotations

import functools

import chainrule as cr
from chainrule.train import LambdaCallback, Trainer

VERSION = f"chainrule {cr.__version__}"


def train(recipe, after_epoch) -> None:
    """Train ``recipe`` for its epochs; after each, ``after_epoch(seconds, predict)``.
    Nothing is compiled before the first epoch: returns None."""
    model = recipe.model()

    def report(trainer, epoch, logs):
        after_epoch(logs["time"], functools.partial(cr.predict, model))

    trainer = Trainer(
        model,
        recipe.loss(),
        recipe.optimizer(model),
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        callbacks=[LambdaCallback(on_epoch_end=report)],
        seed=recipe.shuffle_seed,
        progress=False,
    )
    trainer.fit(*recipe.train)
