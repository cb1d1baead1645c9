"""The benchmarked networks and their MNIST-shaped random data."""

from __future__ import annotations

from dataclasses import dataclass

N_FEATURES = 784
N_CLASSES = 10
LEARNING_RATE = 1e-3


@dataclass(frozen=True)
class Config:
    """One MLP training setup: layer sizes, hidden activation and batch size."""

    key: str
    sizes: tuple[int, ...]
    activation: str  # "sigmoid" or "relu", for every hidden layer
    batch: int

    @property
    def weights(self) -> int:
        """Number of weights (biases excluded): one step costs about 6 x this FLOPs/sample."""
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def label(self) -> str:
        return (
            f"({self.key}) {'-'.join(map(str, self.sizes))} {self.activation}, batch {self.batch}"
        )


CONFIGS = {
    c.key: c
    for c in (
        Config("a", (N_FEATURES, 30, N_CLASSES), "sigmoid", 10),
        Config("b", (N_FEATURES, 100, N_CLASSES), "sigmoid", 10),
        Config("c", (N_FEATURES, 256, 256, N_CLASSES), "relu", 128),
        Config("d", (N_FEATURES, 1024, 1024, N_CLASSES), "relu", 512),
    )
}


POOL_SAMPLES = 65536


def make_batches(config: Config, n_batches: int | None = None, seed: int = 0) -> list:
    """Float32 batches shaped like MNIST: pixels in [0, 1), labels in 0..9.

    Every system cycles through the same batches, so data generation and loading never
    enter the timings. The default pool holds about ``POOL_SAMPLES`` samples: a pool of a
    few batches gets memorized within a benchmark, the softmax outputs then underflow to
    subnormal floats, and subnormal arithmetic is many times slower on x86 (XLA flushes
    them to zero, NumPy and PyTorch do not), which would skew the comparison. 8,192 was
    not enough for (c) once it ran at ~100k samples/s: the OpenBLAS systems fell from
    ~90k to ~21k samples/s after the second repetition (2026-11-21 runs); 65,536 random
    samples (205 MB) are not memorized within a run.
    """
    import numpy as np

    if n_batches is None:
        n_batches = max(4, -(-POOL_SAMPLES // config.batch))
    rng = np.random.default_rng(seed)
    return [
        (
            rng.random((config.batch, N_FEATURES), dtype=np.float32),
            rng.integers(0, N_CLASSES, size=config.batch).astype(np.int64),
        )
        for _ in range(n_batches)
    ]


def init_params(config: Config, seed: int = 0) -> list:
    """Float32 (W, b) pairs, W of shape (n_in, n_out) drawn from N(0, 1/n_in), b = 0."""
    import numpy as np

    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(config.sizes[:-1], config.sizes[1:], strict=True):
        w = rng.standard_normal((n_in, n_out), dtype=np.float32) / np.float32(np.sqrt(n_in))
        params.append((w, np.zeros(n_out, dtype=np.float32)))
    return params
