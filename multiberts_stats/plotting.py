"""Figures for the artifact-vs-procedure analyses (matplotlib; ``ax=None`` in, ``Axes`` out).

Colours are the Okabe-Ito colour-blind-safe palette (:data:`OKABE_ITO`); many curves use
``viridis``. Nothing here calls ``plt.show()``; warnings carried by a result (e.g. fewer seeds
than where interval coverage was shown to hold) are written on the figure itself unless
``show_warnings=False`` (the report does that: its warnings are in one banner at the top).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from multiberts_stats.errors import InputError

__all__ = [
    "OKABE_ITO",
    "agreement_histogram",
    "bootstrap_distribution_plot",
    "forest_plot",
    "learning_curve_plot",
    "new_axes",
    "variance_bars",
]

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#000000"]
VERDICT_COLOURS = {"positive": "#0072B2", "negative": "#D55E00", "none": "#999999"}
PROCEDURE_COLOUR = "#000000"


def _ax(ax, figsize=(6.0, 4.0)):
    """The given Axes, or a new pyplot figure's (so notebooks display it, as seaborn does)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def new_axes(figsize=(6.0, 4.0)):
    """Axes on a pyplot-free Figure (Agg canvas): for scripts and reports that save and forget.

    Examples
    --------
    >>> ax = new_axes()
    >>> ax.figure.savefig(__import__("io").BytesIO(), format="png")
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig.add_subplot(111)


def _warn(ax, warnings: Sequence[str] | None):
    """Write warnings in red under the axes (gid ``"warning"``, so tests and users can find it)."""
    if not warnings:
        return None
    text = "\n".join(f"Warning: {w}" for w in warnings)
    import textwrap

    text = "\n".join(textwrap.fill(line, 90) for line in text.splitlines())
    # below the tick labels and the axis label, whatever the figure's size
    return ax.annotate(text, xy=(0.0, 0.0), xycoords="axes fraction", xytext=(0, -42),
                       textcoords="offset points", ha="left", va="top", fontsize=7,
                       color="#B00000", gid="warning", annotation_clip=False)


def _warnings_of(obj) -> list:
    w = getattr(obj, "warnings", None)
    if w is None and isinstance(obj, pd.DataFrame):
        w = obj.attrs.get("warnings")
    return list(w or [])


def forest_figsize(n_artifacts: int) -> tuple[float, float]:
    """A figure size that fits ``n_artifacts`` rows and the procedure row."""
    return (6.0, 1.6 + 0.28 * (n_artifacts + 1))


def forest_plot(report, ax=None, *, title=None, xlabel=None, show_warnings=True):
    """Per-artifact examples-only intervals and the procedure-level interval.

    Parameters
    ----------
    report : ArtifactProcedureReport or DataFrame
        A report from :func:`multiberts_stats.analysis.artifact_vs_procedure`, or its
        ``to_frame()`` (columns ``level``, ``artifact``, ``estimate``, ``low``, ``high``,
        ``verdict``; with ``verdict_adjusted``, the artifacts are coloured by their verdict
        after the report's multiplicity correction, as the report's counts and category are).
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
        One error bar per artifact (coloured by verdict), then one for the procedure (black,
        bottom row, with its interval shaded across the plot); a dotted line at the null value.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(dict(level=["artifact", "artifact", "procedure"],
    ...                        artifact=["seed 0", "seed 1", "procedure"],
    ...                        estimate=[0.1, -0.05, 0.02], low=[0.05, -0.1, -0.03],
    ...                        high=[0.15, 0.0, 0.07], verdict=["positive", "none", "none"]))
    >>> ax = forest_plot(df)
    >>> len(ax.containers)
    3
    """
    if isinstance(report, pd.DataFrame):
        df = report
        null = float(df.attrs.get("null", 0.0))
        metric = df.attrs.get("metric", "")
        quantity = df.attrs.get("quantity", "delta")
    else:
        df = report.to_frame()
        null, metric, quantity = report.null, report.metric, report.quantity
    correction = df.attrs.get("correction", getattr(report, "correction", None))
    missing = {"level", "artifact", "estimate", "low", "high"} - set(df.columns)
    if missing:
        raise InputError("The `report` parameter of forest_plot must be an "
                         "ArtifactProcedureReport or a frame with columns level, artifact, "
                         f"estimate, low, high. Missing {sorted(missing)}.")
    art = df[df["level"] == "artifact"]
    proc = df[df["level"] == "procedure"]
    vcol = "verdict_adjusted" if "verdict_adjusted" in art.columns and art["verdict_adjusted"].notna().all() \
        else "verdict"
    tag = f" ({correction}-adjusted)" if vcol == "verdict_adjusted" and correction else ""
    n = len(art)
    ax = _ax(ax, figsize=forest_figsize(n))
    ys = np.arange(n + len(proc))[::-1]
    for y, (_, r) in zip(ys[:n], art.iterrows()):
        c = VERDICT_COLOURS.get(r.get(vcol, "none"), OKABE_ITO[1])
        ax.errorbar([r["estimate"]], [y], xerr=[[r["estimate"] - r["low"]],
                                                [r["high"] - r["estimate"]]],
                    fmt="o", color=c, ecolor=c, capsize=3, ms=4, label="_artifact")
    for y, (_, r) in zip(ys[n:], proc.iterrows()):
        ax.axvspan(r["low"], r["high"], color=OKABE_ITO[0], alpha=0.2, lw=0,
                   gid="procedure_band")
        ax.errorbar([r["estimate"]], [y], xerr=[[r["estimate"] - r["low"]],
                                                [r["high"] - r["estimate"]]],
                    fmt="D", color=PROCEDURE_COLOUR, ecolor=PROCEDURE_COLOUR, capsize=4, ms=6,
                    lw=2.2, label="procedure (seeds and examples)")
    ax.axvline(null, color="#555555", ls=":", lw=1, gid="null")
    ax.set_yticks(ys)
    ax.set_yticklabels(list(art["artifact"].astype(str)) + ["procedure"] * len(proc))
    ax.set_ylim(-0.7, len(ys) - 0.3)
    what = "difference (expt − base)" if quantity == "delta" else "score"
    ax.set_xlabel(xlabel or f"{metric} {what}".strip())
    ax.set_title(title or "Artifact level (examples only) vs procedure level")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, marker="o", ls="", label=f"artifact{tag}: {k}")
               for k, c in VERDICT_COLOURS.items() if (art.get(vcol) == k).any()]
    handles.append(Line2D([], [], color=PROCEDURE_COLOUR, marker="D", ls="",
                          label="procedure"))
    # outside the axes: inside, "best" can still sit on an interval
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)
    if show_warnings:
        _warn(ax, _warnings_of(report))
    return ax


def learning_curve_plot(curve, ax=None, *, groups=None, step_col="step", title=None,
                        ylabel=None, log_x=False, mark_within_eps=True, show_warnings=True):
    """Metric per step with procedure-level bands, one curve per group (e.g. per layer).

    Parameters
    ----------
    curve : LearningCurve or DataFrame
        From :func:`multiberts_stats.analysis.learning_curve` (or its ``curve`` frame with
        ``step``, ``estimate``, ``low``, ``high`` and the group columns).
    groups : list, optional
        Subset of group labels to draw.

    Returns
    -------
    Axes
        One line and one shaded band per group.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(dict(layer=[0, 0, 1, 1], step=[0, 20, 0, 20],
    ...                        estimate=[.5, .6, .5, .7], low=[.45, .55, .45, .65],
    ...                        high=[.55, .65, .55, .75]))
    >>> len(learning_curve_plot(df).lines)
    2
    """
    within = None
    if isinstance(curve, pd.DataFrame):
        df = curve
        group_cols = [c for c in df.columns if c not in
                      (step_col, "estimate", "low", "high", "n_seeds")]
        metric = df.attrs.get("metric", "")
        warnings = _warnings_of(df)
    else:
        df = curve.curve
        group_cols = list(curve.group_cols)
        metric = curve.metric
        warnings = list(curve.warnings)
        within = curve.within_eps
    ax = _ax(ax)
    if group_cols:
        keys = [k if isinstance(k, tuple) else (k,)
                for k, _ in df.groupby(group_cols, dropna=False, sort=True)]
    else:
        keys = [None]
    if groups is not None:
        keys = [k for k in keys if k in groups or k[0] in groups]
    if len(keys) <= len(OKABE_ITO):
        colours = OKABE_ITO[: len(keys)]
    else:
        import matplotlib

        cmap = matplotlib.colormaps["viridis"]
        colours = [cmap(i / max(1, len(keys) - 1)) for i in range(len(keys))]
    for k, c in zip(keys, colours):
        if k is None:
            sub, label = df, (metric or "procedure")
        else:
            kt = k if isinstance(k, tuple) else (k,)
            m = np.ones(len(df), bool)
            for col, v in zip(group_cols, kt):
                m &= (df[col].isna().to_numpy() if pd.isna(v) else (df[col] == v).to_numpy())
            sub = df[m]
            label = ", ".join(f"{col}={v}" for col, v in zip(group_cols, kt))
        sub = sub.sort_values(step_col)
        x = sub[step_col].to_numpy(float)
        ax.fill_between(x, sub["low"].to_numpy(float), sub["high"].to_numpy(float), color=c,
                        alpha=0.2, lw=0)
        ax.plot(x, sub["estimate"].to_numpy(float), "-o", color=c, ms=3, label=label)
        if mark_within_eps and within is not None and k is not None:
            w = within
            for col, v in zip(group_cols, k if isinstance(k, tuple) else (k,)):
                w = w[w[col] == v]
            if len(w):
                s = float(w["step_within_eps"].iloc[0])
                y = float(sub.loc[sub[step_col] == s, "estimate"].iloc[0])
                ax.scatter([s], [y], marker="*", s=70, color=c, edgecolor="black", zorder=5,
                           gid="within_eps")
    if log_x:
        ax.set_xscale("symlog")
    ax.set_xlabel("pretraining step" if step_col == "step" else step_col)
    ax.set_ylabel(ylabel or metric or "score")
    ax.set_title(title or "Learning curve (procedure-level bands over seeds and examples)")
    handles, _ = ax.get_legend_handles_labels()
    if any(c.get_gid() == "within_eps" for c in ax.collections):
        from matplotlib.lines import Line2D

        eps = getattr(curve, "eps", None)
        what = f"ε = {eps:g}" if eps is not None else "ε"
        handles.append(Line2D([], [], marker="*", ls="", color="white", markeredgecolor="black",
                              markersize=9, label=f"first step within {what} of the final\n"
                                                  "value (equivalence test)"))
    if handles and (len(keys) > 1 or keys != [None] or len(handles) > len(keys)):
        # outside the axes, right of the plot: the legend never covers a band
        ax.legend(handles=handles, fontsize=7, ncol=2 if len(keys) > 12 else 1,
                  loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    if show_warnings:
        _warn(ax, warnings)
    return ax


def bootstrap_distribution_plot(result, ax=None, *, quantity=None, bins=40, title=None,
                                show_warnings=True):
    """Histogram of a bootstrap distribution (the difference by default) with its interval.

    Parameters
    ----------
    result : MultiBootstrapResult, ArtifactProcedureReport or array
        An array is drawn as it is (no interval lines unless it has ``ci``).
    quantity : {"delta", "base", "expt"}, optional
        Default ``"delta"`` when the result has one, else ``"base"``.

    Returns
    -------
    Axes
        ``bins`` bars; dashed lines at the interval bounds (gid ``"ci"``), a solid line at
        the estimate, a dotted line at 0 for a difference.

    Examples
    --------
    >>> import numpy as np
    >>> ax = bootstrap_distribution_plot(np.random.default_rng(0).normal(size=500), bins=20)
    >>> len(ax.patches)
    20
    """
    if hasattr(result, "procedure") and hasattr(result, "artifacts"):
        result = result.procedure
    ci = est = None
    warnings = []
    if isinstance(result, (np.ndarray, list, tuple)):
        d = np.asarray(result, float).ravel()
        quantity = quantity or "value"
    else:
        has_delta = getattr(result, "delta_distribution", None) is not None
        quantity = quantity or ("delta" if has_delta else "base")
        if quantity == "delta":
            d = np.asarray(result.delta_distribution, float)
        else:
            d = np.asarray(result.distribution, float)[:, 0 if quantity == "base" else 1]
        ci = result.ci.get(quantity)
        est = result.estimate.get(quantity)
        warnings = list(getattr(result, "warnings", []) or [])
    ax = _ax(ax)
    ax.hist(d, bins=bins, color=OKABE_ITO[1], edgecolor="white", lw=0.3)
    if ci is not None:
        level = getattr(result, "confidence_level", None)
        name = f"{level:.0%} interval" if isinstance(level, float) else "interval"
        for k, v in enumerate(ci):
            ax.axvline(float(v), color=OKABE_ITO[5], ls="--", lw=1.2, gid="ci",
                       label=name if k == 0 else None)
    if est is not None:
        ax.axvline(float(est), color="black", lw=1.5, gid="estimate", label="estimate")
    if quantity == "delta":
        ax.axvline(0.0, color="#555555", ls=":", lw=1, gid="null", label="no difference")
    if ci is not None or est is not None:
        ax.legend(loc="best", fontsize=8, frameon=True)
    ax.set_xlabel({"delta": "difference (expt − base)"}.get(quantity, quantity))
    ax.set_ylabel("bootstrap replicates")
    ax.set_title(title or "Multi-Bootstrap distribution")
    if show_warnings:
        _warn(ax, warnings)
    return ax


def agreement_histogram(agreement, ax=None, *, title=None, show_warnings=True):
    """Histogram of the share of seeds that get each example right.

    Parameters
    ----------
    agreement : Agreement or DataFrame
        From :func:`multiberts_stats.analysis.agreement` (or its ``per_example`` frame).

    Returns
    -------
    Axes
        One bar per possible share (0, 1/n, ..., 1 for n seeds) when every example has the same
        number of seeds; bars strictly inside (0, 1) are the seed-sensitive examples.

    Examples
    --------
    >>> import pandas as pd
    >>> per = pd.DataFrame(dict(share_seeds_correct=[0, .5, 1, 1], n_seeds=[2, 2, 2, 2]))
    >>> len(agreement_histogram(per).patches)
    3
    """
    per = agreement if isinstance(agreement, pd.DataFrame) else agreement.per_example
    warnings = _warnings_of(agreement)
    s = per["share_seeds_correct"].to_numpy(float)
    ax = _ax(ax)
    ns = per["n_seeds"].unique() if "n_seeds" in per.columns else []
    if len(ns) == 1 and int(ns[0]) <= 60:
        n = int(ns[0])
        vals = np.arange(n + 1) / n
        counts = np.array([np.sum(np.isclose(s, v)) for v in vals])
        colours = [VERDICT_COLOURS["negative"] if v == 0 else VERDICT_COLOURS["positive"]
                   if v == 1 else OKABE_ITO[0] for v in vals]
        ax.bar(vals, counts, width=0.8 / n, color=colours, edgecolor="black", lw=0.3)
        # one tick under each bar, labelled as the count of seeds
        every = max(1, int(np.ceil((n + 1) / 13)))
        ax.set_xticks(vals[::every], [f"{k}/{n}" for k in range(0, n + 1, every)])
    else:
        ax.hist(s, bins=20, range=(0, 1), color=OKABE_ITO[0], edgecolor="white")
    ax.set_xlabel("share of seeds that get the example right")
    ax.set_ylabel("examples")
    if not isinstance(agreement, pd.DataFrame):
        sub = (f"{agreement.n_flipping} of {agreement.n_examples} examples flip between seeds; "
               f"mean Cohen's κ {agreement.mean_kappa:.2f}")
        ax.set_title(f"{title or 'Instance-level agreement'}\n{sub}", fontsize=10)
    else:
        ax.set_title(title or "Instance-level agreement")
    if show_warnings:
        _warn(ax, warnings)
    return ax


def variance_bars(decomposition, ax=None, *, scale="sd", title=None, show_warnings=True):
    """Bars of the bootstrap spread with seeds only, examples only, and both resampled.

    Parameters
    ----------
    decomposition : VarianceDecomposition or ArtifactProcedureReport
    scale : {"sd", "variance"}

    Returns
    -------
    Axes
        Three bars: joint, seeds only, examples only.

    Examples
    --------
    >>> from multiberts_stats.analysis import VarianceDecomposition
    >>> ax = variance_bars(VarianceDecomposition("delta", 2.0, 1.0, 1.0, 5, 0.95))
    >>> [round(float(p.get_height()), 3) for p in ax.patches]
    [1.414, 1.0, 1.0]
    """
    if hasattr(decomposition, "decomposition"):
        decomposition = decomposition.decomposition
    if decomposition is None:
        raise InputError("The `decomposition` parameter of variance_bars must be a "
                         "VarianceDecomposition (run artifact_vs_procedure with decompose=True). "
                         "Got None instead.")
    if scale not in ("sd", "variance"):
        raise InputError("The `scale` parameter of variance_bars must be 'sd' or 'variance'. "
                         f"Got {scale!r} instead.")
    v = np.array([decomposition.joint, decomposition.seeds, decomposition.examples], float)
    h = np.sqrt(v) if scale == "sd" else v
    ax = _ax(ax, figsize=(5.0, 3.5))
    labels = ["seeds and examples", "seeds only", "examples only"]
    ax.bar(labels, h, color=[OKABE_ITO[7], OKABE_ITO[0], OKABE_ITO[1]])
    for i, val in enumerate(h):
        ax.text(i, val, f"{val:.3g}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("bootstrap SD" if scale == "sd" else "bootstrap variance")
    ax.set_title(title or f"Where the uncertainty of the {decomposition.quantity} comes from")
    if show_warnings:
        _warn(ax, list(decomposition.warnings))
    return ax
