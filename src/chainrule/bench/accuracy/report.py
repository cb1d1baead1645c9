"""Markdown tables from the race's results (a plain dict, also what ``--json`` writes)."""

from __future__ import annotations

from chainrule.bench.report import TITLES, status, table


def _seconds(s: float) -> str:
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


def _rate(lr) -> str:
    if not isinstance(lr, dict):
        return f"constant rate {lr:g}"
    return (
        f"{lr['name']} decay of the rate from {lr['alpha0']:g} to {lr['alpha_min']:g} over "
        f"{lr['duration']:,} updates (per {lr['unit']})"
    )


def _recipe(recipe: dict) -> str:
    adam = recipe["adam"]
    overrides = f" with {', '.join(recipe['overrides'])}" if recipe["overrides"] else ""
    return (
        f"Recipe: {recipe['config']}{overrides}: {recipe['data']} ({recipe['n_train']:,} "
        f"training / {recipe['n_test']:,} test samples), "
        f"{'-'.join(map(str, recipe['sizes']))} {recipe['activation']}, linear output, "
        f"mean softmax cross-entropy, Adam (betas {adam['beta1']:g}/{adam['beta2']:g}, eps "
        f"{adam['eps']:g}) with {_rate(recipe['learning_rate'])}, batch "
        f"{recipe['batch_size']}, {recipe['epochs']} epochs of {recipe['steps_per_epoch']:,} "
        f"steps, seed {recipe['seed']}; float32."
    )


def summary_table(results: dict) -> str:
    target = results["target"]
    base = results["systems"].get("chainrule", {}).get("reached")
    header = [
        "system",
        f"training time to {100 * target:.2f}%",
        "epochs",
        "time / chainrule's",
        "training time, all epochs",
        "final test accuracy",
        "evaluation time (not counted)",
        "set-up before epoch 1 (not counted)",
        "load average before / after",
    ]
    rows = []
    for name, entry in results["systems"].items():
        cell = status(entry)
        if cell:
            rows.append([TITLES[name], cell, *["-"] * (len(header) - 2)])
            continue
        reached = entry["reached"]
        ratio = f"{reached['train_s'] / base['train_s']:.2f}x" if reached and base else "-"
        rows.append(
            [
                TITLES[name],
                _seconds(reached["train_s"]) if reached else "not reached",
                str(reached["epoch"]) if reached else "-",
                ratio,
                _seconds(entry["train_s"]),
                f"{100 * entry['epochs'][-1]['test_accuracy']:.2f}%",
                _seconds(entry["eval_s"]),
                "-" if entry.get("setup_s") is None else _seconds(entry["setup_s"]),
                " / ".join(f"{x:.1f}" for x in entry["loadavg_before_after"]),
            ]
        )
    return table(header, rows)


def epochs_table(results: dict) -> str:
    ran = {n: e for n, e in results["systems"].items() if not status(e)}
    n_epochs = max((len(e["epochs"]) for e in ran.values()), default=0)
    rows = []
    for k in range(n_epochs):
        row = [str(k + 1)]
        for entry in ran.values():
            epoch = entry["epochs"][k] if k < len(entry["epochs"]) else None
            row.append(
                "-"
                if epoch is None
                else f"{100 * epoch['test_accuracy']:.2f}% ({_seconds(epoch['total_train_s'])})"
            )
        rows.append(row)
    return table(["epoch", *(TITLES[n] for n in ran)], rows)


def markdown(results: dict) -> str:
    meta = results["meta"]
    versions = [e["version"] for e in results["systems"].values() if "version" in e]
    problems = [e.get("missing") or e["error"] for e in results["systems"].values() if status(e)]
    parts = [
        f"Target: {100 * results['target']:.2f}% test accuracy. " + _recipe(results["recipe"]),
        f"Threads: {meta['threads']}; malloc: "
        f"{meta['thread_settings'].get('mallopt', 'glibc defaults')}; Python {meta['python']}, "
        f"NumPy {meta['numpy']} ({meta['machine']}).",
        "",
        "Training wall time until the test accuracy first reaches the target (after a whole "
        "epoch; evaluation and set-up before the first epoch not counted):",
        "",
        summary_table(results),
        "",
        "Test accuracy after each epoch (cumulative training time):",
        "",
        epochs_table(results),
        "",
        "Versions: " + "; ".join(versions),
    ]
    if problems:
        parts.append("Not run: " + "; ".join(problems))
    return "\n".join(parts)
