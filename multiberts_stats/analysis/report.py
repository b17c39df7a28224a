"""The report: one Markdown (or HTML) file with PNG figures for every task and method of a
tidy table (procedure estimates, artifact-vs-procedure comparisons with forest plots, variance
decompositions, learning curves, agreement between seeds)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
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


_CLASSIFICATION = ("accuracy", "error", "f1", "macro_f1", "mcc")


def _majority(g: pd.DataFrame, metric: str):
    """The majority-class baseline of a classification section (share of the most frequent gold
    label among its evaluation examples), or None where it does not apply."""
    if metric != "accuracy" or "label" not in g.columns or "example_id" not in g.columns:
        return None
    one = g.drop_duplicates("example_id")["label"].dropna()
    return float(one.value_counts(normalize=True).max()) if len(one) else None


def _category(rep) -> tuple[str, str]:
    """(category key, words) of a report's calibrated verdict; the plain flag before the
    calibrated fields exist."""
    key = getattr(rep, "category", None)
    words = getattr(rep, "category_label", None)
    if key is not None:
        return str(key), str(words or key).replace("_", " ")
    first = str(rep.flag).split(":")[0].split(".")[0].strip()
    v = rep.procedure_verdict
    return ("procedure_" + v if v != "none" else "no_evidence"), first or v


def _n_disagree(rep) -> tuple[int, int]:
    """(artifacts whose own conclusion differs from the procedure's, artifacts): adjusted
    verdicts when the report has them, else the per-artifact interval verdicts."""
    art = rep.artifacts
    col = "verdict_adjusted" if "verdict_adjusted" in art.columns else "verdict"
    if col not in art.columns or not len(art):
        return 0, len(art)
    return int((art[col].astype(str) != rep.procedure_verdict).sum()), len(art)


def _n(x):
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else x


def _design_words(rep) -> str:
    return {None: "one procedure", "paired": "paired over seeds", "unpaired": "unpaired",
            "fixed_baseline": "fixed baseline"}.get(rep.design, str(rep.design))


def _comparison_md(rep, heading: str, figure: str, extra_figs: list[str]) -> str:
    """One artifact-vs-procedure section: what is compared, the procedure-level result, the
    calibrated verdict, the counts, the forest plot and the per-artifact table (no warnings:
    they are in the banner)."""
    lo, hi = rep.procedure_ci
    what = {"delta": "difference (expt − base)", "base": "score"}[rep.quantity]
    out = [f"### {heading}\n"]
    if rep.labels:
        out.append("".join(f"- **{k}**: `{v}`\n" for k, v in rep.labels.items()))
    out.append(f"**Procedure level** ({what}, {rep.metric}, {_design_words(rep)}, "
               f"{rep.confidence_level:.0%} Multi-Bootstrap interval over seeds and examples, "
               f"nboot={rep.nboot}): **{rep.procedure_estimate:.4g}** [{lo:.4g}, {hi:.4g}], "
               f"two-sided p = {rep.procedure_pvalue:.3g}.\n")
    out.append(f"**Verdict:** {rep.flag}\n")
    het = getattr(rep, "heterogeneity", None)
    tau = getattr(rep, "tau", None)
    if het is not None and getattr(het, "defined", False):
        tci = getattr(rep, "tau_ci", (np.nan, np.nan))
        out.append(f"Heterogeneity (H0: every artifact has the same effect): p = "
                   f"{het.pvalue:.3g}; between-artifact sd of the effect τ = {tau:.3g} "
                   f"[{tci[0]:.3g}, {tci[1]:.3g}].\n")
    elif het is not None:
        out.append(f"Heterogeneity test undefined: {getattr(het, 'reason', '')}\n")
    for note in getattr(rep, "notes", []) or []:
        out.append(f"*Note: {note}*\n")
    out.append("Counts of artifacts (raw and, where present, adjusted for multiplicity):\n\n"
               + md_table(rep.verdict) + "\n")
    out.append(f"![forest plot]({figure})\n")
    out.append("Artifact level (examples-only interval per seed):\n\n"
               + md_table(rep.artifacts) + "\n")
    if rep.decomposition is not None:
        out.append("Where the uncertainty comes from (bootstrap variance of the "
                   f"{rep.quantity}):\n\n" + md_table(rep.decomposition.to_frame()) + "\n")
    out += [f"{f}\n" for f in extra_figs]
    return "\n".join(out)


def _learning_md(lc, figure: str) -> str:
    out = [f"![learning curve]({figure})\n",
           f"Learning curve of {lc.metric}: procedure-level estimate per step with its "
           f"{1 - lc.alpha:.0%} Multi-Bootstrap interval over seeds and examples "
           f"(nboot={lc.nboot}):\n\n" + md_table(lc.curve) + "\n"]
    if len(lc.comparisons):
        out.append(f"Paired step comparisons (two-sided p, {lc.correction} adjustment across "
                   "the steps and groups of each kind; `previous`: step against the one "
                   "before, `final`: step against the final step):\n\n"
                   + md_table(lc.comparisons) + "\n")
    if lc.within_eps is not None:
        out.append(f"First step within ε = {lc.eps:g} of the final value — an **equivalence "
                   f"test** at level {lc.alpha:g}: the step's {1 - 2 * lc.alpha:.0%} interval "
                   f"of (step − final) lies inside [−{lc.eps:g}, +{lc.eps:g}] at that step and "
                   "every later one; the final step itself when no earlier step passes. The "
                   "stars on the figure mark it.\n\n" + md_table(lc.within_eps) + "\n")
    return "\n".join(out)


def _write(table, out: Path, *, fmt, nboot, rng, alpha, quiet, title, intro, metric_for):
    from multiberts_stats import plotting

    from .multiple_testing import adjust_pvalues

    out.mkdir(parents=True, exist_ok=True)
    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    tab_dir = out / "tables"
    tab_dir.mkdir(exist_ok=True)
    rngs = RngStream(rng)
    body: list[str] = []
    findings: list[dict] = []
    all_warnings: list[str] = []
    tables_written: list[str] = []

    def save(ax, name):
        p = fig_dir / name
        ax.figure.savefig(p, dpi=110, bbox_inches="tight")  # pyplot-free figures: no close
        return f"figures/{name}"

    def csv(df, name):
        df.to_csv(tab_dir / f"{name}.csv", index=False)
        tables_written.append(f"tables/{name}.csv")

    if "task" not in table.columns:
        table = table.assign(task="task")
    if "method" not in table.columns:
        table = table.assign(method="method")
    groups = list(table.groupby(["task", "method"], sort=True))
    for (task, method), g in progress(groups, len(groups), "report", quiet):
        metric, cluster, g, note, error = _section_metric(task, g, metric_for)
        if error is not None:
            body.append(f"\n## {task} — {method} ({metric})\n\n{error}\n")
            continue
        body.append(f"\n## {task} — {method} ({metric})\n")
        where_fig = f"{task}, {method}, {metric}"   # every figure title names task and metric
        if note:
            body.append(note)
        slug = _slug(task, method)
        has_layer = "layer" in g.columns and g["layer"].notna().any()
        steps = sorted(g["step"].unique().tolist()) if "step" in g.columns else [None]
        layers = sorted(g["layer"].dropna().unique().tolist()) if has_layer else [None]
        majority = _majority(g, metric)
        last = g if steps == [None] else g[g["step"] == steps[-1]]
        lc = None
        if len(steps) > 1:
            lc = learning_curve(g, metric=metric, group_cols=["layer"] if has_layer else [],
                                cluster_col=cluster, nboot=nboot, rng=rngs.child(), alpha=alpha,
                                compare=("previous", "final"),
                                eps=0.01 if metric in ("accuracy", "error") else None)
            all_warnings += lc.warnings
        # procedure estimates at the last step (and per layer), baselines beside them
        rows = []
        for L in layers:
            sub = last if L is None else last[last["layer"] == L]
            rep = artifact_vs_procedure(sub, metric=metric, cluster_col=cluster, nboot=nboot,
                                        rng=rngs.child(), alpha=alpha, decompose=False)
            all_warnings += rep.warnings
            lo, hi = rep.procedure_ci
            row = {"layer": L, "estimate": rep.procedure_estimate, "low": lo, "high": hi,
                   "n_seeds": rep.procedure.n_seeds["base"] if isinstance(
                       rep.procedure.n_seeds, dict) else rep.procedure.n_seeds,
                   "artifacts_min": rep.artifacts["estimate"].min(),
                   "artifacts_max": rep.artifacts["estimate"].max()}
            if lc is not None:
                c0 = lc.curve[lc.curve["step"] == steps[0]]
                if L is not None:
                    c0 = c0[c0["layer"] == L]
                row[f"step_{steps[0]}_baseline"] = float(c0["estimate"].iloc[0])
            if majority is not None:
                row["majority_baseline"] = majority
            rows.append(row)
        est = pd.DataFrame(rows)
        if not has_layer:
            est = est.drop(columns="layer")
        csv(est, f"{slug}_estimates")
        step_txt = "" if steps == [None] else f" at step {steps[-1]}"
        base_txt = []
        if lc is not None:
            base_txt.append(f"`step_{steps[0]}_baseline`: the same probe on the step-{steps[0]} "
                            "checkpoints (the random initialisation for a pretraining run)")
        if majority is not None:
            base_txt.append("`majority_baseline`: always predicting the most frequent class")
        body.append(f"### Procedure-level estimates{step_txt}\n\n"
                    + (("Baselines: " + "; ".join(base_txt) + ".\n\n") if base_txt else "")
                    + md_table(est) + "\n")
        best_layer = None if not has_layer else int(est.loc[est["estimate"].idxmax(), "layer"])
        best = est.loc[est["estimate"].idxmax()]
        if majority is not None:
            findings.append({
                "comparison": (f"score{step_txt}" + ("" if best_layer is None
                                                     else f", best layer ({best_layer})")
                               + " vs majority class"),
                "task": task, "method": method, "metric": metric,
                "estimate": float(best["estimate"]), "low": float(best["low"]),
                "high": float(best["high"]), "p_value": None,
                "verdict": ("above the majority baseline" if best["low"] > majority else
                            "below the majority baseline" if best["high"] < majority else
                            "not distinguishable from the majority baseline"),
                "category": None, "artifacts_disagree": None, "n_artifacts": int(best["n_seeds"]),
                "baseline": majority, "baseline_kind": "majority class",
                "margin_over_baseline": float(best["estimate"]) - majority})
        # the comparisons: artifact vs procedure
        comps = []
        if len(steps) > 1:
            sel = g if best_layer is None else g[g["layer"] == best_layer]
            lay = "" if best_layer is None else f", layer={best_layer}"
            comps.append((f"step {steps[-1]} vs step {steps[0]}"
                          + ("" if best_layer is None else f" (best layer, {best_layer})"),
                          sel[sel["step"] == steps[0]], sel[sel["step"] == steps[-1]],
                          {"base": f"step={steps[0]}{lay}", "expt": f"step={steps[-1]}{lay}"},
                          "steps", "step-0 models"))
            if len(steps) > 2:
                comps.append((f"step {steps[-1]} vs step {steps[-2]}"
                              + ("" if best_layer is None else f" (layer {best_layer})"),
                              sel[sel["step"] == steps[-2]], sel[sel["step"] == steps[-1]],
                              {"base": f"step={steps[-2]}{lay}",
                               "expt": f"step={steps[-1]}{lay}"}, "late_steps",
                              f"step-{steps[-2]} models"))
        if has_layer and len(layers) > 1:
            at = "" if steps == [None] else f", step={steps[-1]}"
            top = int(layers[-1])
            for other in dict.fromkeys([top, best_layer]):
                if other == layers[0]:
                    continue
                comps.append((f"layer {other} vs layer {int(layers[0])}{step_txt}",
                              last[last["layer"] == layers[0]], last[last["layer"] == other],
                              {"base": f"layer={int(layers[0])}{at}",
                               "expt": f"layer={other}{at}"}, f"layer{other}",
                              f"layer {int(layers[0])}"))
        if not comps:
            sel = last if best_layer is None else last[last["layer"] == best_layer]
            comps.append((f"score{step_txt}", sel, None, {"base": "all checkpoints"}, "score",
                          None))
        for heading, b, e, labels, tag, base_kind in comps:
            rep = artifact_vs_procedure(b, e, design="paired" if e is not None else None,
                                        metric=metric, cluster_col=cluster, nboot=nboot,
                                        rng=rngs.child(), alpha=alpha, labels=labels)
            all_warnings += rep.warnings
            title_fig = f"{where_fig}: {heading}"
            ax = plotting.new_axes(plotting.forest_figsize(len(rep.artifacts)))
            f1 = save(rep.plot(ax=ax, title=title_fig, show_warnings=False),
                      f"{slug}_{tag}_forest.png")
            extra = []
            if rep.decomposition is not None:
                f2 = save(plotting.variance_bars(
                    rep.decomposition, ax=plotting.new_axes((5.0, 3.5)),
                    title=f"{where_fig}\nwhere the uncertainty comes from ({heading})",
                    show_warnings=False), f"{slug}_{tag}_variance.png")
                extra.append(f"![variance decomposition]({f2})")
            if rep.quantity == "delta":
                f3 = save(plotting.bootstrap_distribution_plot(
                    rep.procedure, ax=plotting.new_axes(),
                    title=f"{where_fig}\nMulti-Bootstrap distribution of {heading}",
                    show_warnings=False), f"{slug}_{tag}_bootstrap.png")
                extra.append(f"![bootstrap distribution of the difference]({f3})")
            body.append(_comparison_md(rep, f"{heading}: artifact vs procedure", f1, extra))
            csv(rep.artifacts, f"{slug}_{tag}_artifacts")
            csv(rep.verdict, f"{slug}_{tag}_counts")
            key, words = _category(rep)
            nd, na = _n_disagree(rep)
            lo, hi = rep.procedure_ci
            baseline = None
            if rep.quantity == "delta":
                baseline = float(rep.procedure.estimate["base"])
            findings.append({
                "comparison": heading, "task": task, "method": method, "metric": metric,
                "estimate": rep.procedure_estimate, "low": lo, "high": hi,
                "p_value": rep.procedure_pvalue, "verdict": words, "category": key,
                "artifacts_disagree": nd, "n_artifacts": na, "baseline": baseline,
                "baseline_kind": (f"{base_kind} ({rep.metric})" if base_kind else None),
                "heterogeneity_p": getattr(getattr(rep, "heterogeneity", None), "pvalue",
                                           None),
                "tau": getattr(rep, "tau", None)})
        if lc is not None:
            f4 = save(lc.plot(ax=plotting.new_axes((7.5, 4.5)),
                              title=f"{where_fig}: learning curve\n(procedure-level bands over "
                                    "seeds and examples)", show_warnings=False),
                      f"{slug}_learning_curve.png")
            body.append("### Learning curve\n\n" + _learning_md(lc, f4))
            csv(lc.curve, f"{slug}_learning_curve")
            if len(lc.comparisons):
                csv(lc.comparisons, f"{slug}_step_comparisons")
            if lc.within_eps is not None:
                csv(lc.within_eps, f"{slug}_within_eps")
        # agreement at the last step (best layer)
        if "label" in g.columns and "prediction" in g.columns and metric in _CLASSIFICATION:
            sel = last if best_layer is None else last[last["layer"] == best_layer]
            if sel["pretrain_seed"].nunique() >= 2:
                ag = agreement(sel)
                where = "" if best_layer is None else f" (layer {best_layer})"
                f5 = save(plotting.agreement_histogram(
                    ag, ax=plotting.new_axes(),
                    title=f"{where_fig}: agreement between seeds{step_txt}{where}",
                    show_warnings=False), f"{slug}_agreement.png")
                body.append(f"### Agreement between seeds{step_txt}{where}\n\n"
                            f"![agreement]({f5})\n\n" + ag.to_markdown())
                csv(ag.to_frame() if hasattr(ag, "to_frame") else ag.per_example,
                    f"{slug}_agreement")
    # the findings table: procedure-level p-values adjusted (Holm) over the report's tests
    fr = pd.DataFrame(findings, columns=[
        "comparison", "task", "method", "metric", "estimate", "low", "high", "p_value",
        "verdict", "category", "artifacts_disagree", "n_artifacts", "baseline", "baseline_kind",
        "margin_over_baseline", "heterogeneity_p", "tau"])
    tested = fr["p_value"].notna()
    fr["p_adjusted"] = np.nan
    if tested.any():
        fr.loc[tested, "p_adjusted"] = adjust_pvalues(fr.loc[tested, "p_value"].astype(float)
                                                      .to_numpy(), "holm")
    fr.to_csv(out / "findings.csv", index=False)
    records = []
    for r in fr.to_dict(orient="records"):
        records.append({k: (None if isinstance(v, float) and not np.isfinite(v) else
                            (v.item() if hasattr(v, "item") else v)) for k, v in r.items()})
    (out / "findings.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
    head = [f"# {title}\n"]
    if intro:
        head.append(intro)
    ws = list(dict.fromkeys(all_warnings))
    if ws:
        head.append(f"> **Read the intervals with these warnings in mind** ({len(ws)}; shown "
                    "once here, they apply to every interval below):\n>\n"
                    + md_warnings(ws))
    head.append("## Findings\n")
    show = pd.DataFrame({
        "comparison": fr["comparison"], "task": fr["task"], "metric": fr["metric"],
        "estimate": fr["estimate"],
        "interval": [f"[{lo:.4g}, {hi:.4g}]" for lo, hi in zip(fr["low"], fr["high"])],
        "adjusted p": [_n(x) if pd.isna(x) else f"{x:.3g}" for x in fr["p_adjusted"]],
        "verdict": fr["verdict"],
        "artifacts disagreeing": ["—" if pd.isna(d) else f"{int(d)} of {int(n)}"
                                  for d, n in zip(fr["artifacts_disagree"], fr["n_artifacts"])],
        "baseline": ["—" if pd.isna(b) else f"{b:.4g} ({k})"
                     for b, k in zip(fr["baseline"], fr["baseline_kind"])]})
    head.append(
        f"One row per question the report answers. *estimate* and *interval*: procedure level "
        f"({1 - alpha:.0%} Multi-Bootstrap over pretraining seeds and examples, nboot={nboot}); "
        "for a comparison the estimate is the difference (expt − base) and the baseline is "
        "the base side's score. *adjusted p*: two-sided, Holm-adjusted over the "
        f"{int(tested.sum())} comparisons of this report. *verdict*: the calibrated "
        "artifact-vs-procedure category. *artifacts disagreeing*: pretraining seeds whose own "
        "(examples-only) conclusion differs from the procedure's. Also in `findings.csv` and "
        "`findings.json`; every other table is in `tables/`.\n\n" + md_table(show) + "\n")
    head.append(f"Multi-Bootstrap over pretraining seeds and examples (Sellam et al., 2022), "
                f"{1 - alpha:.0%} intervals, nboot={nboot}. *Artifact level*: one examples-only "
                "interval per pretraining seed. *Procedure level*: seeds and examples "
                "resampled jointly.\n")
    text = "\n".join(head + body)
    if fmt == "html":
        path = out / "report.html"
        path.write_text(markdown_to_html(text, title), encoding="utf-8")
    else:
        path = out / "report.md"
        path.write_text(text, encoding="utf-8")
    return path

