"""Markdown tables from the runner's results (a plain dict, also what ``--json`` writes)."""

from __future__ import annotations

import statistics

from chainrule.bench.memory import RESET

PEERS = ("torch", "jax", "sklearn", "numpy")
TITLES = {
    "chainrule": "chainrule",
    "chainrule-eager": "chainrule (eager)",
    "chainrule-numpy": "chainrule (NumPy only)",
    "torch": "PyTorch eager",
    "jax": "JAX jit",
    "sklearn": "sklearn",
    "numpy": "hand NumPy",
}


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(x: float) -> str:
    """``x`` as a ratio cell, ``"1.07x"``; with more decimals, up to six, where two would
    round it to 1.00x from either side (``"0.995x"``, ``"0.9996x"``), so that the goal's
    side of 1.0x stays visible."""
    digits = 2
    while digits < 6 and x != 1 and float(f"{x:.{digits}f}") == 1:
        digits += 1
    return f"{x:.{digits}f}x"


def status(entry: dict) -> str | None:
    """The cell of an entry without numbers: ``"missing"`` (its library is not installed),
    ``"error"`` (it raised); None for an entry with numbers."""
    if "missing" in entry:
        return "missing"
    if "error" in entry:
        return "error"
    return None


def _cell(entry: dict, key: str, fmt: str) -> str:
    value = entry.get(key)
    return status(entry) or ("-" if value is None else format(value, fmt))


def throughput_table(results: dict) -> str:
    systems = results["systems"]
    peers = [s for s in PEERS if s in systems and "chainrule" in systems]
    header = ["config", *(TITLES[s] for s in systems)]
    header += [f"cr / {TITLES[p]}" for p in peers]
    if peers:
        header.append("cr / fastest peer")
    rows = []
    for key, entry in results["configs"].items():
        per = entry["systems"]
        row = [f"({key})", *(_cell(per[s], "samples_per_s", ",.0f") for s in systems)]
        ours = per.get("chainrule", {}).get("samples_per_s")
        speeds = {p: per[p].get("samples_per_s") for p in peers}
        row += [ratio(ours / v) if ours and v else "-" for v in speeds.values()]
        if peers:
            fastest = fastest_peer(entry, peers)
            row.append(ratio(ours / speeds[fastest]) if ours and fastest else "-")
        rows.append(row)
    return table(header, rows)


def flops_table(results: dict) -> str:
    systems = results["systems"]
    header = ["config", "weights", *(TITLES[s] for s in systems)]
    rows = []
    for key, entry in results["configs"].items():
        per = entry["systems"]
        row = [f"({key})", f"{entry['weights']:,}"]
        for s in systems:
            if "gflops" in per[s]:
                row.append(f"{per[s]['gflops']:.1f} ({per[s]['pct_peak']:.0f}%)")
            else:
                row.append(_cell(per[s], "gflops", ".1f"))
        rows.append(row)
    return table(header, rows)


def _per_system_table(results: dict, cell) -> str:
    """One row per configuration, one column per system: ``cell(system's entry)``."""
    systems = results["systems"]
    header = ["config", *(TITLES[s] for s in systems)]
    rows = [
        [f"({key})", *(cell(entry["systems"][s]) for s in systems)]
        for key, entry in results["configs"].items()
    ]
    return table(header, rows)


def _not_reset(mem: dict) -> bool:
    """Whether a memory probe's peak is the process's whole high-water mark (an upper
    bound, marked ``*``): its ``method`` is not :data:`~chainrule.bench.memory.RESET`."""
    return mem.get("method", RESET) != RESET


def _memory_cell(entry: dict) -> str:
    mem = entry.get("memory")
    if mem is None:  # not probed: --no-memory, or the system did not run
        return status(entry) or "-"
    mark = "*" if _not_reset(mem) else ""
    return status(mem) or f"{mem['peak_mib']:.1f}{mark} ({mem['state_mib']:.1f})"


def _spread_cell(entry: dict) -> str:
    reps = entry.get("reps")
    return f"{min(reps):,.0f} - {max(reps):,.0f}" if reps else "-"


def fastest_peer(entry: dict, peers: list[str]) -> str | None:
    """The peer with the highest median samples/s in one configuration's ``entry``."""
    known = {p: entry["systems"][p].get("samples_per_s") for p in peers}
    known = {p: v for p, v in known.items() if v}
    return max(known, key=known.get) if known else None


def paired_table(results: dict) -> str:
    """chainrule / fastest peer repetition by repetition: repetition i of both ran in the
    same round of the interleaved loop, seconds apart, so a host that speeds up or slows
    down between rounds moves both."""
    systems = results["systems"]
    peers = [s for s in PEERS if s in systems]
    header = ["config", "fastest peer", "median", "min - max", "repetitions >= 1.0x"]
    rows = []
    for key, entry in results["configs"].items():
        peer = fastest_peer(entry, peers)
        ours = entry["systems"].get("chainrule", {}).get("reps")
        if peer is None or not ours:
            rows.append([f"({key})", TITLES[peer] if peer else "-", "-", "-", "-"])
            continue
        ratios = [a / b for a, b in zip(ours, entry["systems"][peer]["reps"], strict=True)]
        rows.append(
            [
                f"({key})",
                TITLES[peer],
                ratio(statistics.median(ratios)),
                f"{ratio(min(ratios))} - {ratio(max(ratios))}",
                f"{sum(r >= 1.0 for r in ratios)} of {len(ratios)}",
            ]
        )
    return table(header, rows)


def memory_table(results: dict) -> str:
    return _per_system_table(results, _memory_cell)


def spread_table(results: dict) -> str:
    return _per_system_table(results, _spread_cell)


def markdown(results: dict) -> str:
    meta = results["meta"]
    parts = [
        f"Threads: {meta['threads']}; malloc: "
        f"{meta['thread_settings'].get('mallopt', 'glibc defaults')}; float32; "
        f"medians of {meta['reps']} interleaved "
        f"repetitions; matmul peak (best sgemm {meta['peak_n']}^3 over the run): "
        f"{results['peak_gflops']:.0f} GFLOP/s. 1-minute load average before / after: "
        + " / ".join(f"{x:.1f}" for x in meta["loadavg_before_after"])
        + f" ({meta['machine']}).",
        "",
        "Training throughput, samples/s (median), and chainrule / peer:",
        "",
        throughput_table(results),
        "",
        "Achieved GFLOP/s = 6 x weights x samples/s (share of the matmul peak):",
        "",
        flops_table(results),
        "",
        "Spread of samples/s over repetitions (min - max):",
        "",
        spread_table(results),
    ]
    if "chainrule" in results["systems"] and any(p in results["systems"] for p in PEERS):
        parts += [
            "",
            "chainrule / fastest peer (highest median) repetition by repetition, each "
            "pair measured in the same round:",
            "",
            paired_table(results),
        ]
    if meta.get("memory"):
        parts += [
            "",
            "Peak memory of training steps, MiB over the baseline after imports and data "
            "(in parentheses: resident after warm-up, i.e. parameters, optimizer state, "
            "caches); one fresh process per cell:",
            "",
            memory_table(results),
        ]
        if any(
            _not_reset(e["memory"])
            for entry in results["configs"].values()
            for e in entry["systems"].values()
            if "peak_mib" in e.get("memory", {})
        ):
            parts += [
                "",
                "Peaks marked `*`: the high-water mark could not be reset after the warm-up "
                "(/proc/self/clear_refs not writable); the process's high-water mark since it "
                "started minus the baseline, an upper bound that includes the warm-up.",
            ]
    missing = {
        s: e["missing"]
        for entry in results["configs"].values()
        for s, e in entry["systems"].items()
        if "missing" in e
    }
    errors = [
        f"{s} ({entry['key']}): {e['error']}"
        for entry in results["configs"].values()
        for s, e in entry["systems"].items()
        if "error" in e
    ]
    memory_errors = [
        f"{s} ({entry['key']}): {e['memory']['error']}"
        for entry in results["configs"].values()
        for s, e in entry["systems"].items()
        if "error" in e.get("memory", {})
    ]
    parts += ["", "Versions: " + "; ".join(meta["versions"].values())]
    if missing:
        parts += ["Missing: " + "; ".join(missing.values())]
    if errors:
        parts += ["Errors: " + "; ".join(errors)]
    if memory_errors:
        parts += ["Memory errors: " + "; ".join(memory_errors)]
    return "\n".join(parts)
