"""Side-by-side training benchmarks: chainrule against PyTorch, JAX, scikit-learn and NumPy.

Never part of the test suite (``tests/benchmarks`` only smoke-tests the runner). Run
``python -m benchmarks.run --help`` from the repository root. Nothing in this package
imports NumPy at import time, so the runner can pin thread counts before any BLAS loads.
"""
