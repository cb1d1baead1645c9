"""Side-by-side training benchmarks: chainrule against PyTorch, JAX, scikit-learn and NumPy.

Run ``chainrule bench --help`` (peers from the ``bench`` extra). Never part of the test
suite (``tests/benchmarks`` only smoke-tests it with tiny step counts). Nothing in this
package imports a peer at import time: each loads only when its system runs, after the
thread counts are pinned.
"""
