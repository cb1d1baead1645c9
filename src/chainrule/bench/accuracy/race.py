"""The race: every system trains the recipe epoch by epoch; who reaches the target when.

The systems run one after another in this process, under the same thread settings (a
run lasts minutes: interleaving is not possible). Each starts from chainrule's initial
weights and sees the same mini-batches in the same order (:class:`.recipe.Recipe`), and
trains all the recipe's epochs. After every epoch, outside its training clock, the
system's test-set logits are scored by one NumPy function for all (:func:`score`).

Reported per system and epoch: the training seconds (the system's own clock around its
batch loop; see each system's module for what it covers), the time the evaluation took,
and the test accuracy and mean cross-entropy. Per system: the seconds of set-up before its
first epoch, outside the clock (what its ``train`` returns: JAX compiling its step,
chainrule's checks before training, where its compiled kernels load; None for a system
that does nothing ahead of training). The **time to the target** is the
sum of the training seconds up to the end of the first epoch whose test accuracy is at
least the target; "not reached" when none is. Also the 1-minute load average before and
after each system, since the machine may be shared.
"""

from __future__ import annotations

import os
import time

import numpy as np

from chainrule.bench import options, systems
from chainrule.bench.accuracy.recipe import Recipe, resolve

MODULES = {
    "chainrule": "chainrule.bench.accuracy.chainrule_fit",
    "torch": "chainrule.bench.accuracy.torch_fit",
    "jax": "chainrule.bench.accuracy.jax_fit",
}


def score(logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy (argmax = label) and mean softmax cross-entropy, in float64, of ``logits``."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    return {
        "accuracy": float(np.mean(z.argmax(axis=1) == y)),
        "loss": float(-log_p[rows, y].mean()),
    }


class EpochLog:
    """The ``after_epoch(seconds, predict)`` a system calls: scores and records the epoch."""

    def __init__(self, name: str, test: tuple[np.ndarray, np.ndarray], say):
        self.name, self.test, self.say = name, test, say
        self.epochs: list[dict] = []
        self.train_s = 0.0

    def __call__(self, seconds: float, predict) -> None:
        X, y = self.test
        start = time.perf_counter()
        result = score(np.asarray(predict(X)), y)
        self.train_s += seconds
        self.epochs.append(
            {
                "epoch": len(self.epochs) + 1,
                "train_s": seconds,
                "total_train_s": self.train_s,
                "eval_s": time.perf_counter() - start,
                "test_accuracy": result["accuracy"],
                "test_loss": result["loss"],
            }
        )
        self.say(
            f"{self.name}: epoch {len(self.epochs)}, {self.train_s:.1f} s of training, "
            f"test accuracy {100 * result['accuracy']:.2f}%"
        )

    def summary(self, target: float) -> dict:
        reached = next((e for e in self.epochs if e["test_accuracy"] >= target), None)
        return {
            "epochs": self.epochs,
            "reached": (
                None
                if reached is None
                else {"epoch": reached["epoch"], "train_s": reached["total_train_s"]}
            ),
            "train_s": self.train_s,
            "eval_s": sum(e["eval_s"] for e in self.epochs),
        }


def race(recipe: Recipe, names: list[str], target: float, say) -> dict:
    """Train ``recipe`` with each system in ``names``; per system, its results or why none."""
    results = {}
    for name in names:
        try:
            module = systems.load(name, MODULES)
        except systems.MissingSystem as exc:
            results[name] = systems.missing_entry(name, exc)
            continue
        log = EpochLog(name, recipe.test, say)
        load_before = os.getloadavg()[0]
        try:
            setup_s = module.train(recipe, log)
        except Exception as exc:  # a peer that breaks must not stop the others
            results[name] = systems.failed_entry(exc)
            continue
        results[name] = {
            **log.summary(target),
            "setup_s": setup_s,
            "version": module.VERSION,
            "loadavg_before_after": [load_before, os.getloadavg()[0]],
        }
    return results


def run(args, settings: dict, say) -> dict:
    """The race that ``args`` (the parsed options) ask for, as plain data.

    ``settings`` are the process settings already applied, for the report; ``say`` prints
    a progress line.
    """
    recipe = Recipe.load(resolve(args.config, args.overrides or []))
    target = args.to_accuracy
    return {
        "target": target,
        "recipe": {
            "config": args.config or "mnist.toml (packaged)",
            "overrides": args.overrides or [],
            **recipe.summary(),
        },
        "systems": race(recipe, options.systems(args), target, say),
        "meta": {
            "threads": args.threads,
            "thread_settings": settings,
            **systems.host(),
            "numpy": np.__version__,
        },
    }
