"""The timed loop shared by the systems whose step is a plain method call."""

from __future__ import annotations


class BatchCycler:
    """Runs ``self.step(x, y)`` over ``self.batches`` in a cycle, resuming at ``self.i``.

    One loop for every system that subclasses it, so each pays the same dispatch cost.
    """

    i = 0

    def run(self, n_steps: int) -> None:
        batches, n = self.batches, len(self.batches)
        for _ in range(n_steps):
            x, y = batches[self.i % n]
            self.i += 1
            self.step(x, y)
