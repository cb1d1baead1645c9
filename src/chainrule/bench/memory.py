"""Peak memory of training steps, one system and configuration per fresh process.

Method (Linux): in a fresh interpreter with the runner's thread settings,
1. import the system's library, train a tiny network (784-8-10, batch 2) for two steps so
   that lazily loaded kernels and thread pools are resident, drop it, and make the data
   batches and what the system makes of them (JAX's copy, PyTorch's and chainrule's
   wrappers; the NumPy pool stays alive, as in the timed runs); read the resident set
   size (``VmRSS``): the baseline;
2. build the model and optimizer, run a few warm-up steps (JIT compilation, allocator
   and thread-pool warm-up happen here);
3. reset the high-water mark (write ``5`` to ``/proc/self/clear_refs``), run the measured
   steps and read the high-water mark (``VmHWM``).
Reported: ``peak`` = high-water mark during the measured steps minus the baseline, i.e.
parameters, optimizer state, cached buffers and the step's transient arrays, without the
library itself or compile-time spikes; ``state`` = RSS after warm-up minus the baseline.
Where the high-water mark cannot be reset, ``peak`` falls back to the process's high-water
mark since it started minus the baseline: an upper bound, which includes the warm-up and
anything before it (``VmHWM`` not reset, the larger of its readings after the warm-up and
after the measured steps: the kernel updates it lazily, so a later reading can be lower);
``method`` says which (:data:`RESET`, :data:`NOT_RESET`). Every reading comes from
``/proc/self/status``, whose ``VmHWM`` is never below its ``VmRSS`` (``ru_maxrss``,
counted otherwise, can be).

Run as ``python -m chainrule.bench.memory SYSTEM CONFIG [--threads N] [--steps K]`` with
the thread settings already in the environment (:func:`measure` passes its own on): it
prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from chainrule.bench.threads import pin_threads
from chainrule.malloc import keep_freed_memory

MIB = 1024.0 * 1024.0
#: The ``method`` of a probe whose high-water mark was reset after the warm-up.
RESET = "VmHWM reset after warm-up"
#: The ``method`` where it could not be reset: the process's high-water mark, an upper bound.
NOT_RESET = "VmHWM not reset (since the process started)"
_FIELDS = ("VmRSS", "VmHWM")

#: The docstring's first line, for --help (no docstring under python -OO).
_SUMMARY = (__doc__ or "").partition("\n")[0]


def _status_kib() -> dict[str, int]:
    """``VmRSS`` and ``VmHWM``, KiB, from one read of ``/proc/self/status``."""
    found = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in _FIELDS:
                found[name] = int(value.split()[0])
    missing = [field for field in _FIELDS if field not in found]
    if missing:
        raise RuntimeError(f"/proc/self/status has no {', '.join(missing)}")
    return found


def _reset_high_water_mark() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def probe(system: str, config_key: str, steps: int, warmup: int = 3) -> dict:
    """Measure in this process (which must be fresh); see the module docstring."""
    from chainrule.bench import systems
    from chainrule.bench.configs import CONFIGS, Config, make_batches

    module = systems.load(system)
    config = CONFIGS[config_key]
    tiny = Config("tiny", (config.sizes[0], 8, config.sizes[-1]), config.activation, 2)
    module.make_trainer(tiny, make_batches(tiny, n_batches=1)).run(2)
    # The pool stays alive, as in the timed runs: freed, its pages would be room in the
    # heap that the step reuses without raising the high-water mark.
    pool = make_batches(config)
    batches = systems.prepare(module, pool)
    base = _status_kib()["VmRSS"]
    trainer = module.make_trainer(config, batches)
    trainer.run(warmup)
    warm = _status_kib()
    state = warm["VmRSS"] - base
    if _reset_high_water_mark():
        trainer.run(steps)
        peak, method = _status_kib()["VmHWM"] - base, RESET
    else:
        trainer.run(steps)
        peak, method = max(warm["VmHWM"], _status_kib()["VmHWM"]) - base, NOT_RESET
    return {"peak_mib": peak * 1024 / MIB, "state_mib": state * 1024 / MIB, "method": method}


def measure(
    system: str, config_key: str, threads: int, steps: int = 5, keep_freed: bool = False
) -> dict:
    """Run :func:`probe` in a fresh interpreter; return its result or ``{"error": ...}``.

    The child inherits this process's environment, so thread counts pinned here hold there
    from the start (NumPy loads with ``chainrule``, before the child's own pinning runs).
    """
    cmd = [sys.executable, "-m", "chainrule.bench.memory", system, config_key]
    cmd += ["--threads", str(threads), "--steps", str(steps)]
    if keep_freed:
        cmd.append("--keep-freed-memory")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr.strip() or "no output").splitlines()
        return {"error": lines[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=_SUMMARY)
    parser.add_argument("system")
    parser.add_argument("config")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--keep-freed-memory", action="store_true")
    args = parser.parse_args(argv)
    pin_threads(args.threads)
    if args.keep_freed_memory:
        keep_freed_memory()
    print(json.dumps(probe(args.system, args.config, args.steps)))


if __name__ == "__main__":
    main()
