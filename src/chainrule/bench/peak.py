"""The machine's float32 matrix-product peak, measured with NumPy's BLAS (sgemm)."""

from __future__ import annotations

import time


class SgemmProbe:
    """Times ``C = A @ B`` for square float32 matrices of size ``n`` (2 n^3 FLOPs a call).

    The runner calls :meth:`measure` once per repetition, interleaved with the systems,
    and takes the best as the peak: the peak is what the hardware can do, and the best
    repetition is the one least disturbed by other processes.
    """

    def __init__(self, n: int = 2048, calls: int = 3, seed: int = 0):
        import numpy as np

        rng = np.random.default_rng(seed)
        self.n, self.calls = n, calls
        self.a = rng.standard_normal((n, n), dtype=np.float32)
        self.b = rng.standard_normal((n, n), dtype=np.float32)
        self.c = np.empty((n, n), dtype=np.float32)
        np.matmul(self.a, self.b, out=self.c)  # warm-up: threads started, pages touched

    def measure(self) -> float:
        """GFLOP/s of the fastest of ``calls`` products."""
        import numpy as np

        best = float("inf")
        for _ in range(self.calls):
            start = time.perf_counter()
            np.matmul(self.a, self.b, out=self.c)
            best = min(best, time.perf_counter() - start)
        return 2.0 * self.n**3 / best / 1e9
