"""Run the training benchmarks and print markdown tables (optionally JSON).

From the repository root: ``python -m benchmarks.run`` (or ``python benchmarks/run.py``).
Every system runs in this one process under the same thread settings, pinned before any
numerical library is imported. Repetitions are interleaved: repetition 1 of every system,
then repetition 2, and so on, each preceded by a short pause so that the worker threads
one library leaves spinning never steal the cores of the next; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

if __package__ in (None, ""):  # ``python benchmarks/run.py``
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.threads import keep_freed_memory, pin_threads  # noqa: E402  (after path fix)

SYSTEM_NAMES = ("chainrule", "torch", "jax", "sklearn", "numpy")


def _csv(choices):
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        unknown = [t for t in items if t not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {','.join(choices)}, got {text!r}"
            )
        return items

    return parse


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", type=_csv("abcd"), default=list("abcd"))
    p.add_argument("--systems", type=_csv(SYSTEM_NAMES), default=list(SYSTEM_NAMES))
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="training steps per repetition (default: calibrated to --seconds)",
    )
    p.add_argument("--seconds", type=float, default=0.5, help="target time per repetition")
    p.add_argument("--reps", type=int, default=5, help="interleaved repetitions")
    p.add_argument("--warmup", type=int, default=5, help="warm-up steps, never timed")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pause", type=float, default=0.2, help="seconds between timed blocks")
    p.add_argument("--peak-n", type=int, default=2048, help="size of the sgemm peak probe")
    p.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="mallopt: keep freed memory mapped (no page faults on fresh arrays), all systems",
    )
    p.add_argument("--no-memory", dest="memory", action="store_false")
    p.add_argument("--memory-steps", type=int, default=5)
    p.add_argument("--json", metavar="OUT", default=None)
    args = p.parse_args(argv)
    if args.reps < 1 or (args.steps is not None and args.steps < 1) or args.warmup < 1:
        p.error("--reps, --steps and --warmup must be >= 1")
    return args


def _calibrate(trainer, warmup: int, seconds: float) -> int:
    """Run the warm-up; return the step count that lasts about ``seconds``."""
    trainer.run(warmup)  # first steps: JIT compilation, allocations, thread start-up
    start = time.perf_counter()
    trainer.run(warmup)
    per_step = (time.perf_counter() - start) / warmup
    return max(3, round(seconds / max(per_step, 1e-9)))


def _time(trainer, steps: int) -> float:
    start = time.perf_counter()
    trainer.run(steps)
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> dict:
    settings = pin_threads(args.threads)
    if args.keep_freed_memory:
        settings["mallopt"] = "kept" if keep_freed_memory() else "unavailable"
    from benchmarks import systems
    from benchmarks.configs import CONFIGS, make_batches
    from benchmarks.memory import measure
    from benchmarks.peak import SgemmProbe

    load_before = os.getloadavg()
    modules, versions, missing = {}, {}, {}
    for name in args.systems:
        try:
            modules[name] = systems.load(name)
            versions[name] = modules[name].VERSION
        except systems.MissingSystem as exc:
            missing[name] = f"{name} missing ({exc.__cause__ or exc})"
    probe = SgemmProbe(args.peak_n)
    peaks = [probe.measure()]
    results = {"systems": list(args.systems), "configs": {}}
    for key in args.configs:
        config = CONFIGS[key]
        batches = make_batches(config)
        entry = {"key": key, "label": config.label, "weights": config.weights, "systems": {}}
        trainers, steps = {}, {}
        for name in args.systems:
            if name in missing:
                entry["systems"][name] = {"missing": missing[name]}
                continue
            try:
                trainers[name] = modules[name].make_trainer(config, batches)
                steps[name] = args.steps or _calibrate(trainers[name], args.warmup, args.seconds)
                if args.steps:
                    trainers[name].run(args.warmup)
            except Exception as exc:  # a peer that breaks must not stop the others
                entry["systems"][name] = {"error": f"{type(exc).__name__}: {exc}"}
        reps = {name: [] for name in trainers}
        for _ in range(args.reps):
            for name, trainer in trainers.items():
                time.sleep(args.pause)
                reps[name].append(steps[name] * config.batch / _time(trainer, steps[name]))
            peaks.append(probe.measure())
        for name, trainer in trainers.items():
            median = statistics.median(reps[name])
            entry["systems"][name] = {
                "samples_per_s": median,
                "reps": reps[name],
                "steps": steps[name],
                "gflops": 6.0 * config.weights * median / 1e9,
                "final_loss": trainer.loss(),
            }
        del trainers
        results["configs"][key] = entry
    peak = max(peaks)
    results["peak_gflops"] = peak
    for entry in results["configs"].values():
        for key, res in entry["systems"].items():
            if "gflops" in res:
                res["pct_peak"] = 100.0 * res["gflops"] / peak
            if args.memory and "samples_per_s" in res:
                res["memory"] = measure(
                    key, entry["key"], args.threads, args.memory_steps, args.keep_freed_memory
                )
    results["meta"] = {
        "threads": args.threads,
        "reps": args.reps,
        "peak_n": args.peak_n,
        "peak_reps": peaks,
        "memory": args.memory,
        "loadavg_before_after": [load_before[0], os.getloadavg()[0]],
        "thread_settings": settings,
        "versions": versions,
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
    }
    return results


def main(argv=None) -> dict:
    args = parse_args(argv)
    results = run(args)
    from benchmarks.report import markdown

    print(markdown(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
