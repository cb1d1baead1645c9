"""Developer tools around the benchmark suite, run from the repository root.

The suite itself ships with the library as :mod:`chainrule.bench` (``chainrule bench``);
``python -m benchmarks.run`` is the same command. ``profile_step`` splits a chainrule step
into phases against the hand-written NumPy step; ``engine_overhead`` times the engine's
overhead per op. Never part of the test suite.
"""
