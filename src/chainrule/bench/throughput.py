"""Training throughput: every system, every configuration, interleaved repetitions.

One step = forward, mean softmax cross-entropy, backward, Adam update (see
:mod:`chainrule.bench.systems`). After an untimed warm-up, repetition 1 of every system
runs, then repetition 2, and so on, each preceded by a short pause so that the worker
threads one library leaves spinning never steal the cores of the next, and the order of
the systems rotated by one place at each repetition (:func:`rotated`), so that no system
always runs in the same position; a repetition's
samples/s is ``steps * batch / wall time``, and the median over repetitions is reported.
The float32 matmul peak is probed once per repetition, interleaved with the systems.
"""

from __future__ import annotations

import os
import statistics
import time

from chainrule.bench import options


def _calibrate(trainer, warmup: int, seconds: float) -> int:
    """Run the warm-up; return the step count that lasts about ``seconds``."""
    trainer.run(warmup)  # first steps: JIT compilation, allocations, thread start-up
    start = time.perf_counter()
    trainer.run(warmup)
    per_step = (time.perf_counter() - start) / warmup
    return max(3, round(seconds / max(per_step, 1e-9)))


def rotated(names: list, rep: int) -> list:
    """The order of the systems in repetition ``rep`` (from 0): ``names`` rotated left by
    ``rep``, so that over as many repetitions as systems each runs once in every position,
    first after the matmul-peak probe included. Each still follows the same system (or the
    probe) every time: a rotation keeps the cyclic neighbours."""
    k = rep % len(names) if names else 0
    return names[k:] + names[:k]


def _time(trainer, steps: int) -> float:
    start = time.perf_counter()
    trainer.run(steps)
    return time.perf_counter() - start


def _load_systems(names: list) -> tuple[dict, dict, dict]:
    """The benchmark module of each system in ``names``, its version, and the
    :class:`~chainrule.bench.systems.MissingSystem` of each that cannot be loaded."""
    from chainrule.bench import systems

    modules, versions, missing = {}, {}, {}
    for name in names:
        try:
            modules[name] = systems.load(name)
            versions[name] = modules[name].VERSION
        except systems.MissingSystem as exc:
            missing[name] = exc
    return modules, versions, missing


def _measure_config(key: str, args, names: list, modules: dict, missing: dict, probe, peaks):
    """The results entry of the configuration ``key``: every system warmed up (and its
    step count calibrated unless ``args.steps``), then ``args.reps`` interleaved timed
    repetitions, the matmul peak probed after each (appended to ``peaks``)."""
    from chainrule.bench import systems
    from chainrule.bench.configs import CONFIGS, make_batches

    config = CONFIGS[key]
    batches = make_batches(config)
    entry = {"key": key, "label": config.label, "weights": config.weights, "systems": {}}
    trainers, steps = {}, {}
    for name in names:
        if name in missing:
            entry["systems"][name] = systems.missing_entry(name, missing[name])
            continue
        try:  # a peer that breaks must not stop the others; timed only once warmed up
            trainer = modules[name].make_trainer(config, batches)
            n_steps = args.steps or _calibrate(trainer, args.warmup, args.seconds)
            if args.steps:
                trainer.run(args.warmup)
        except Exception as exc:  # noqa: BLE001
            entry["systems"][name] = systems.failed_entry(exc)
            continue
        trainers[name], steps[name] = trainer, n_steps
    reps = {name: [] for name in trainers}
    for rep in range(args.reps):
        for name in rotated(list(trainers), rep):
            time.sleep(args.pause)
            try:
                seconds = _time(trainers[name], steps[name])
            except Exception as exc:  # noqa: BLE001 - dropped from the later rounds
                entry["systems"][name] = systems.failed_entry(exc)
                del trainers[name]
                continue
            reps[name].append(steps[name] * config.batch / seconds)
        peaks.append(probe.measure())
    for name, trainer in trainers.items():
        median = statistics.median(reps[name])
        try:
            final_loss = trainer.loss()
        except Exception as exc:  # noqa: BLE001
            entry["systems"][name] = systems.failed_entry(exc)
            continue
        entry["systems"][name] = {
            "samples_per_s": median,
            "reps": reps[name],
            "steps": steps[name],
            "gflops": 6.0 * config.weights * median / 1e9,
            "final_loss": final_loss,
        }
    return entry


def run(args, settings: dict) -> dict:
    """Measure what ``args`` (the parsed options) ask for; return the results as plain data.

    ``settings`` are the process settings already applied (threads, malloc), for the report.
    """
    from chainrule.bench import systems
    from chainrule.bench.memory import measure
    from chainrule.bench.peak import SgemmProbe

    names = options.systems(args)
    load_before = os.getloadavg()
    modules, versions, missing = _load_systems(names)
    probe = SgemmProbe(args.peak_n)
    peaks = [probe.measure()]
    results = {"systems": names, "configs": {}}
    for key in options.names(args.configs):
        # one configuration's trainers are gone before the next one's are made
        results["configs"][key] = _measure_config(key, args, names, modules, missing, probe, peaks)
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
        **systems.host(),
    }
    return results
