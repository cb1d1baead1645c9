"""Where a chainrule training step spends its time, against the hand-written NumPy step.

``python -m benchmarks.profile_step [--configs a,b,c,d] [--threads 2] [--top 12]``, from the
repository root, prints per configuration the median time of the forward pass (with the
loss), the backward pass and the Adam update for chainrule's eager step (the graph built
and walked anew) and the hand-written NumPy step, the median time of chainrule's traced
step (``trace_backward`` replays forward and backward in one call, so it is timed whole),
then the top functions of a cProfile run of the traced step by own time; chainrule's
steps run inside ``chainrule.shared_threads()``, as in the bench. Unless its
environment already pins ``--threads``, it reruns itself in a child process that does
(NumPy loads with chainrule).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time

from chainrule.bench.options import CONFIG_KEYS, at_least, check_threads, names, subset_of
from chainrule.bench.threads import environment_pinned, pin_threads, run_pinned, usable_cpus

#: The docstring's first line, for --help (no docstring under python -OO).
_SUMMARY = (__doc__ or "").partition("\n")[0]


def _phases_chainrule(trainer, x, y, steps: int) -> dict[str, list[float]]:
    times = {"forward+loss": [], "backward": [], "update": []}
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = trainer.forward_loss(x, y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        trainer.update()
        t3 = time.perf_counter()
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            times[key].append(dt)
    return times


def _traced_steps(trainer, x, y, steps: int) -> dict[str, list[float]]:
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer.step(x, y)
        times.append(time.perf_counter() - t0)
    return {"step": times}


def _phases_numpy(trainer, x, y, steps: int) -> dict[str, list[float]]:
    times = {"forward+loss": [], "backward": [], "update": []}
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer._loss_grad(trainer._forward(x), y)
        t1 = time.perf_counter()
        trainer._backward(x)
        t2 = time.perf_counter()
        trainer.adam.step(trainer.grads)
        t3 = time.perf_counter()
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            times[key].append(dt)
    return times


def _steps_for(config) -> int:
    return {"a": 2000, "b": 2000, "c": 300, "d": 40}.get(config.key, 50)


def profile(key: str, top: int) -> str:
    from chainrule import shared_threads
    from chainrule.bench.configs import CONFIGS, make_batches
    from chainrule.bench.systems import chainrule_mlp, numpy_mlp

    config = CONFIGS[key]
    batches = make_batches(config, n_batches=1)
    ours = chainrule_mlp.make_trainer(config, batches)
    ref = numpy_mlp.make_trainer(config, batches)
    x, y = ours.batches[0]
    xn, yn = batches[0]
    steps = _steps_for(config)
    ours.run(5)
    ref.run(5)
    rows = []
    # Interleave the two systems in chunks so that both see the same machine load.
    chunks = {"chainrule": [], "numpy": []}
    traced = []
    for _ in range(5):
        # OpenBLAS's threads, woken by the NumPy products just run outside any block, spin
        # for about 0.1 s and slow a shared_threads() block opened meanwhile (BENCHMARKS.md,
        # Caveats): pause as the bench does between systems
        time.sleep(0.2)
        with shared_threads():  # as the bench's chainrule steps run (Trainer.run)
            chunks["chainrule"].append(_phases_chainrule(ours, x, y, steps // 5))
            traced.append(_traced_steps(ours, x, y, steps // 5))
        chunks["numpy"].append(_phases_numpy(ref, xn, yn, steps // 5))
    lines = [f"### {config.label}", ""]
    lines += ["| phase | chainrule (eager) ms | hand NumPy ms | ratio |"]
    lines.append("|---|---|---|---|")
    total = {"chainrule": 0.0, "numpy": 0.0}
    for phase in ("forward+loss", "backward", "update"):
        med = {}
        for name, parts in chunks.items():
            med[name] = statistics.median(t for part in parts for t in part[phase]) * 1e3
            total[name] += med[name]
        rows.append((phase, med))
        lines.append(
            f"| {phase} | {med['chainrule']:.3f} | {med['numpy']:.3f} | "
            f"{med['chainrule'] / med['numpy']:.2f} |"
        )
    lines.append(
        f"| step | {total['chainrule']:.3f} | {total['numpy']:.3f} | "
        f"{total['chainrule'] / total['numpy']:.2f} |"
    )
    step = statistics.median(t for part in traced for t in part["step"]) * 1e3
    lines.append(
        f"| step, traced | {step:.3f} | {total['numpy']:.3f} | {step / total['numpy']:.2f} |"
    )
    profiler = cProfile.Profile()
    profiler.enable()
    ours.run(steps // 2)
    profiler.disable()
    buf = io.StringIO()
    stats = pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    body = buf.getvalue()
    body = body[body.find("ncalls") :].rstrip()
    lines += ["", f"cProfile of {steps // 2} traced chainrule steps, top {top} by own time:", ""]
    lines += ["```", body, "```", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=_SUMMARY)
    # chainrule bench's checks (chainrule.bench.options), so that both accept the same values
    parser.add_argument(
        "--configs", type=subset_of(tuple(CONFIG_KEYS)), default=",".join(CONFIG_KEYS)
    )
    parser.add_argument("--threads", type=at_least(1, int), default=min(2, usable_cpus()))
    parser.add_argument("--top", type=at_least(1, int), default=12)
    args = parser.parse_args(argv)
    try:
        check_threads(args.threads)
    except ValueError as error:
        parser.error(str(error))
    if not environment_pinned(args.threads):
        return run_pinned("benchmarks.profile_step", argv, args.threads)
    pin_threads(args.threads)
    for key in names(args.configs):
        print(profile(key, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
