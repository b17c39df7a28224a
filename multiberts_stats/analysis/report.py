"""The report: one Markdown (or HTML) file with PNG figures for every task and method of a
tidy table (procedure estimates, artifact-vs-procedure comparisons with forest plots, variance
decompositions, learning curves, agreement between seeds)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

from multiberts_stats.errors import InputError

from .common import RngStream, progress
from .dynamics import learning_curve
from .instances import agreement
from .markdown import markdown_to_html, md_table, md_warnings
from .procedure import artifact_vs_procedure
from .selection import (
    check_metric_columns,
    pronoun_preference_table,
    task_cluster,
    task_metric,
)
from .sides import check_defined

__all__ = ["write_report"]


def _slug(*parts) -> str:
    s = "_".join(str(p) for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-") or "x"


def write_report(table: pd.DataFrame, out, *, fmt="md", nboot=1000, rng=0, alpha=0.05,
                 quiet=True, title="Multi-Bootstrap report", intro=None,
                 metric_for=None) -> Path:
    """Write ``report.md`` (or ``report.html``) and PNG figures into ``out``; return its path.

    For every (task, method) of ``table``: procedure-level estimates per step (and layer),
    the artifact-vs-procedure comparison of the last step against the first when there are
    several steps (otherwise of the best layer against layer 0 for probes, otherwise the score
    alone), its forest plot, the variance decomposition, learning curves when there are several
    steps, and agreement between seeds at the last step. Warnings carried by the results
    (e.g. fewer seeds than where coverage held) are written at the top and in each section
    (and not issued again as Python warnings).

    Parameters
    ----------
    table : DataFrame
        Tidy predictions (e.g. :func:`multiberts_stats.store.read_predictions`).
    out : path
        Output folder (created); figures go to ``out/figures``.
    fmt : {"md", "html"}
    nboot, rng, alpha
        As :func:`multiberts_stats.analysis.artifact_vs_procedure`.
    quiet : bool
        No progress bar.
    title, intro : str
        The report's title and an optional paragraph under it.
    metric_for : dict, optional
        task -> metric name, overriding the task's default metric.

    Returns
    -------
    Path
        ``out/report.md`` or ``out/report.html``.
    """
    if fmt not in ("md", "html"):
        raise InputError(f"The `fmt` parameter of write_report must be 'md' or 'html'. "
                         f"Got {fmt!r} instead.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every warning is written into the report itself
        return _write(table, Path(out), fmt=fmt, nboot=nboot, rng=rng, alpha=alpha,
                      quiet=quiet, title=title, intro=intro, metric_for=metric_for)


def _section_metric(task, g, metric_for):
    """(metric, cluster column, table, note, error text) of one (task, method) section."""
    metric = (metric_for or {}).get(task) or task_metric(task, g)
    try:
        check_metric_columns(metric, g, f"task {task!r}")
    except ValueError:
        metric = "accuracy"
    cluster = task_cluster(task, g, metric)
    note = ""
    if isinstance(metric, str) and metric.startswith("winogender"):
        try:
            check_defined(metric, g, "table", "pretrain_seed", "the report")
        except ValueError as e:
            if {"p_female", "p_male", "bls_pct_female"} <= set(g.columns):
                note = (f"*{metric} is undefined here* ({e}) *The section analyses the "
                        "masked-LM's pronoun preference instead: per sentence log p(she) − "
                        "log p(he), correlated (Pearson r, `pearson`) with the share of "
                        "women in the occupation.*\n")
                return "pearson", cluster, pronoun_preference_table(g), note, None
            return metric, cluster, g, note, str(e)
    return metric, cluster, g, note, None


def _write(table, out: Path, *, fmt, nboot, rng, alpha, quiet, title, intro, metric_for):
    from multiberts_stats import plotting

    out.mkdir(parents=True, exist_ok=True)
    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    rngs = RngStream(rng)
    md = [f"# {title}\n",
          (f"Multi-Bootstrap over pretraining seeds and examples (Sellam et al., 2022), "
           f"{1 - alpha:.0%} intervals, nboot={nboot}. *Artifact level*: one examples-only "
           "interval per pretraining seed. *Procedure level*: seeds and examples resampled "
           "jointly.\n")]
    if intro:
        md.insert(1, intro)
    all_warnings: list[str] = []

    def save(ax, name):
        p = fig_dir / name
        ax.figure.savefig(p, dpi=110, bbox_inches="tight")  # pyplot-free figures: no close
        return f"figures/{name}"

    if "task" not in table.columns:
        table = table.assign(task="task")
    if "method" not in table.columns:
        table = table.assign(method="method")
    groups = list(table.groupby(["task", "method"], sort=True))
    for (task, method), g in progress(groups, len(groups), "report", quiet):
        metric, cluster, g, note, error = _section_metric(task, g, metric_for)
        if error is not None:
            md.append(f"\n## {task} — {method} ({metric})\n\n{error}\n")
            continue
        md.append(f"\n## {task} — {method} ({metric})\n")
        where_fig = f"{task}, {method} ({metric})"   # every figure title names task and metric
        if note:
            md.append(note)
        has_layer = "layer" in g.columns and g["layer"].notna().any()
        steps = sorted(g["step"].unique().tolist()) if "step" in g.columns else [None]
        layers = sorted(g["layer"].dropna().unique().tolist()) if has_layer else [None]
        # procedure estimates at the last step (and per layer)
        last = g if steps == [None] else g[g["step"] == steps[-1]]
        rows = []
        for L in layers:
            sub = last if L is None else last[last["layer"] == L]
            rep = artifact_vs_procedure(sub, metric=metric, cluster_col=cluster, nboot=nboot,
                                        rng=rngs.child(), alpha=alpha, decompose=False)
            all_warnings += rep.warnings
            lo, hi = rep.procedure_ci
            rows.append({"layer": L, "estimate": rep.procedure_estimate, "low": lo, "high": hi,
                         "n_seeds": rep.procedure.n_seeds["base"] if isinstance(
                             rep.procedure.n_seeds, dict) else rep.procedure.n_seeds,
                         "artifacts_min": rep.artifacts["estimate"].min(),
                         "artifacts_max": rep.artifacts["estimate"].max()})
        est = pd.DataFrame(rows)
        if not has_layer:
            est = est.drop(columns="layer")
        step_txt = "" if steps == [None] else f" at step {steps[-1]}"
        md.append(f"### Procedure-level estimates{step_txt}\n\n" + md_table(est) + "\n")
        best_layer = None if not has_layer else int(est.loc[est["estimate"].idxmax(), "layer"])
        # the headline comparisons
        comps = []
        if len(steps) > 1:
            sel = g if best_layer is None else g[g["layer"] == best_layer]
            labels = {"base": f"step={steps[0]}", "expt": f"step={steps[-1]}"}
            if best_layer is not None:
                labels = {k: v + f", layer={best_layer}" for k, v in labels.items()}
            where = "" if best_layer is None else f" (layer {best_layer})"
            comps.append((f"Last step vs first step{where}",
                          sel[sel["step"] == steps[0]], sel[sel["step"] == steps[-1]], labels,
                          "steps"))
        if best_layer is not None and len(layers) > 1 and best_layer != layers[0]:
            labels = {"base": f"layer={layers[0]}", "expt": f"layer={best_layer}"}
            if steps != [None]:
                labels = {k: v + f", step={steps[-1]}" for k, v in labels.items()}
            comps.append((f"Best layer ({best_layer}) vs layer {layers[0]}{step_txt}",
                          last[last["layer"] == layers[0]], last[last["layer"] == best_layer],
                          labels, "layers"))
        if not comps:
            sel = last if best_layer is None else last[last["layer"] == best_layer]
            comps.append(("Score for the procedure", sel, None, {"base": "all"}, "score"))
        slug = _slug(task, method)
        for heading, b, e, labels, tag in comps:
            rep = artifact_vs_procedure(b, e, design="paired" if e is not None else None,
                                        metric=metric, cluster_col=cluster, nboot=nboot,
                                        rng=rngs.child(), alpha=alpha, labels=labels)
            all_warnings += rep.warnings
            ax = plotting.new_axes(plotting.forest_figsize(len(rep.artifacts)))
            f1 = save(rep.plot(ax=ax, title=f"{where_fig}: {heading}"), f"{slug}_{tag}_forest.png")
            md.append(f"### {heading}: artifact vs procedure\n\n" + rep.to_markdown(figure=f1))
            if rep.decomposition is not None:
                f2 = save(plotting.variance_bars(
                    rep.decomposition, ax=plotting.new_axes((5.0, 3.5)),
                    title=f"{where_fig}: where the uncertainty comes from\n({heading})"),
                          f"{slug}_{tag}_variance.png")
                md.append(f"![variance decomposition]({f2})\n")
            if rep.quantity == "delta":
                f3 = save(plotting.bootstrap_distribution_plot(
                    rep.procedure, ax=plotting.new_axes(),
                    title=f"{where_fig}: Multi-Bootstrap distribution\n({heading})"),
                          f"{slug}_{tag}_bootstrap.png")
                md.append(f"![bootstrap distribution of the difference]({f3})\n")
        # learning curves
        if len(steps) > 1:
            lc = learning_curve(g, metric=metric, group_cols=["layer"] if has_layer else [],
                                cluster_col=cluster, nboot=nboot, rng=rngs.child(), alpha=alpha,
                                compare=("previous", "final"),
                                eps=0.01 if metric in ("accuracy", "error") else None)
            all_warnings += lc.warnings
            f4 = save(lc.plot(ax=plotting.new_axes((7.0, 4.5)),
                              title=f"{where_fig}: learning curve (procedure-level bands)"),
                      f"{slug}_learning_curve.png")
            md.append("### Learning curve\n\n" + f"![learning curve]({f4})\n\n" + lc.to_markdown())
        # agreement at the last step (best layer)
        if ("label" in g.columns and "prediction" in g.columns
                and metric in ("accuracy", "error", "f1", "macro_f1", "mcc")):
            sel = last if best_layer is None else last[last["layer"] == best_layer]
            if sel["pretrain_seed"].nunique() >= 2:
                ag = agreement(sel)
                where = "" if best_layer is None else f" (layer {best_layer})"
                f5 = save(plotting.agreement_histogram(
                    ag, ax=plotting.new_axes(),
                    title=f"{where_fig}: agreement between seeds{step_txt}{where}"),
                          f"{slug}_agreement.png")
                md.append(f"### Agreement between seeds{step_txt}{where}\n\n"
                          f"![agreement]({f5})\n\n" + ag.to_markdown())
    ws = list(dict.fromkeys(all_warnings))
    if ws:
        md.insert(1, md_warnings(ws))
    text = "\n".join(md)
    if fmt == "html":
        path = out / "report.html"
        path.write_text(markdown_to_html(text, title), encoding="utf-8")
    else:
        path = out / "report.md"
        path.write_text(text, encoding="utf-8")
    return path
