"""The results table that ends ``multiberts-stats run``: per task x method x step x layer, the
mean over pretraining seeds of the task's metric, its Multi-Bootstrap interval (seeds and
examples resampled jointly, one side alone) and how many seeds it rests on."""

from __future__ import annotations

import sys
import warnings

import pandas as pd

__all__ = ["results_table", "format_results", "print_run_results", "GROUP_COLUMNS"]

#: the condition columns a results row is one value of (checkpoint and revision vary with the seed)
GROUP_COLUMNS = ("family", "task", "split", "method", "step", "layer")


PRONOUN_NOTE = ("pearson (Winogender): the bias correlation needs coreference decisions, undefined for a "
                "zero-shot masked LM; shown instead is its pronoun preference, log p(she) - log p(he) per "
                "sentence, correlated (Pearson r) with the share of women in the occupation.")


def _metric_for(task: str, g: pd.DataFrame):
    """(metric, cluster column, rows) the task calls for; the pronoun-preference recast when the
    Winogender bias correlation is undefined (zero-shot masked LMs), as the report does."""
    from multiberts_stats.analysis.selection import (
        check_metric_columns,
        pronoun_preference_table,
        task_cluster,
        task_metric,
    )

    metric = task_metric(task, g)
    try:
        check_metric_columns(metric, g, f"task {task!r}")
    except ValueError:
        metric = "accuracy"
    if metric.startswith("winogender") and {"p_female", "p_male", "bls_pct_female"} <= set(g.columns):
        from multiberts_stats.analysis.sides import check_defined

        try:
            check_defined(metric, g, "table", "pretrain_seed", "the results table")
        except ValueError:
            return "pearson", task_cluster(task, g, metric), pronoun_preference_table(g), PRONOUN_NOTE
    return metric, task_cluster(task, g, metric), g, ""


def _majority(g: pd.DataFrame) -> float:
    """Accuracy of always answering the most frequent gold label (one vote per example)."""
    if "label" not in g.columns or "example_id" not in g.columns:
        return float("nan")
    labels = g.drop_duplicates("example_id")["label"].dropna()
    return float(labels.value_counts(normalize=True).iloc[0]) if len(labels) else float("nan")


def results_table(table: pd.DataFrame, *, nboot: int = 1000, confidence_level: float = 0.95,
                  seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """One row per condition (task, method, step, layer, ...) of a tidy table.

    Returns
    -------
    (DataFrame, list of str)
        Columns: the condition columns that vary (task, method, step and layer always), ``metric``,
        ``mean`` (over seeds), ``low``, ``high``, ``seeds``, ``examples``, ``majority`` (the
        accuracy of always answering the most frequent label; NaN for other metrics), ``error`` (empty
        unless that condition could not be estimated), with ``attrs["notes"]`` saying how to read
        a metric that stands in for the task's own; and the distinct warnings raised.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = pd.DataFrame({"pretrain_seed": np.repeat([0, 1, 2], 50), "task": "sst2",
    ...                   "method": "probe", "step": 0, "layer": 1,
    ...                   "example_id": np.tile(np.arange(50).astype(str), 3),
    ...                   "label": np.tile(np.arange(50) % 2, 3).astype(float)})
    >>> t["prediction"] = np.where(rng.random(150) < 0.8, t["label"], 1 - t["label"])
    >>> res, warned = results_table(t, nboot=200)
    >>> res[["task", "metric", "seeds", "examples"]].to_dict("records")
    [{'task': 'sst2', 'metric': 'accuracy', 'seeds': 3, 'examples': 50}]
    >>> bool(res["low"][0] < res["mean"][0] < res["high"][0])
    True
    """
    from multiberts_stats.bootstrap import multiboot

    by = [c for c in GROUP_COLUMNS if c in table.columns]
    shown = [c for c in by if c in ("task", "method", "step", "layer") or table[c].nunique(dropna=False) > 1]
    rows, seen, notes = [], [], []
    for i, (key, g) in enumerate(table.groupby(by, sort=True, dropna=False)):
        cond = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row = {c: cond[c] for c in shown}
        metric, cluster, data, note = _metric_for(str(cond.get("task", "")), g)
        if note and note not in notes:
            notes.append(note)
        row.update(metric=metric, mean=float("nan"), low=float("nan"), high=float("nan"),
                   seeds=int(g["pretrain_seed"].nunique()) if "pretrain_seed" in g else 0,
                   examples=int(g["example_id"].nunique()) if "example_id" in g else 0,
                   majority=_majority(data) if metric == "accuracy" else float("nan"), error="")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = multiboot(data, metric=metric, cluster_col=cluster, nboot=nboot,
                                confidence_level=confidence_level, rng=seed + i, quiet=True)
                lo, hi = res.ci["base"]
                row.update(mean=float(res.estimate["base"]), low=float(lo), high=float(hi),
                           seeds=int(res.n_seeds["base"]))
            except (ValueError, TypeError, KeyError) as e:
                row["error"] = str(e)
        for w in caught:
            msg = str(w.message)
            if msg not in seen:
                seen.append(msg)
        rows.append(row)
    out = pd.DataFrame(rows)
    if "layer" in out.columns and out["layer"].isna().all():
        out["layer"] = "-"
    out.attrs["notes"] = notes
    return out, seen


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if v != v else f"{v:.4f}"
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "-"
    return str(v)


def format_results(res: pd.DataFrame, confidence_level: float = 0.95) -> str:
    """The table as Markdown (pipes), one line per condition; failed conditions say why below."""
    if res.empty:
        return "(no results: no job of this run has rows in the store)"
    ci = f"{confidence_level:.0%} interval"
    cols = [c for c in res.columns if c not in ("low", "high", "error")]
    head = cols[: cols.index("mean") + 1] + [ci] + cols[cols.index("mean") + 1:]
    lines = []
    for _, r in res.iterrows():
        cells = [("-" if c == "majority" and r[c] != r[c] else _fmt(r[c])) for c in cols]
        interval = "-" if r["error"] else f"[{_fmt(r['low'])}, {_fmt(r['high'])}]"
        if r["error"]:
            cells[cols.index("mean")] = "error*"
        cells.insert(cols.index("mean") + 1, interval)
        lines.append(cells)
    width = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]
    numeric = {"step", "layer", "mean", ci, "seeds", "examples", "majority"}

    def line(cells):
        return "| " + " | ".join(f"{c:>{w}}" if h in numeric else f"{c:<{w}}"
                                 for c, w, h in zip(cells, width, head)) + " |"

    out = [line(head), "|" + "|".join(("-" * (w + 1) + ":") if h in numeric else ("-" * (w + 2))
                                      for w, h in zip(width, head)) + "|"]
    out += [line(c) for c in lines]
    errors = res[res["error"] != ""]
    for _, r in errors.iterrows():
        what = ", ".join(f"{c}={_fmt(r[c])}" for c in cols[: cols.index("metric")])
        out.append(f"* {what}: {r['error']}")
    out += [f"* {n}" for n in res.attrs.get("notes", [])]
    return "\n".join(out)


def print_run_results(exp, a, prog: str = "multiberts-stats run") -> None:
    """The results table of this run's jobs that are in the store (nothing else of the store)."""
    import pandas as pd

    from multiberts_stats.errors import MultibertsStatsError
    from multiberts_stats.store import Store, read_predictions

    from ._common import confidence_level

    level = confidence_level(a, prog)
    try:
        store = Store(exp.store, create=False)
        keys = sorted({j.key for j in exp.jobs(device=a.device, dtype=a.dtype)} & store.done_keys())
        if not keys:
            print("(no results: no job of this run has finished)")
            return
        table = pd.concat([read_predictions(store.part_path(k)) for k in keys], ignore_index=True)
        res, warned = results_table(table, nboot=a.nboot, confidence_level=level, seed=a.seed)
    except (MultibertsStatsError, ValueError, OSError) as e:
        print(f"{prog}: the results table could not be computed: {e}", file=sys.stderr)
        return
    print(f"\nResults of {exp.name} (mean over pretraining seeds; Multi-Bootstrap over seeds and "
          f"examples, nboot={a.nboot}):\n")
    print(format_results(res, level))
    for w in warned:
        print(f"WARNING: {w}", file=sys.stderr)
    print()
