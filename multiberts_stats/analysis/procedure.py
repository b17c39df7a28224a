"""Artifact vs procedure: per-seed (artifact) and joint (procedure) answers to one question,
and the variance decomposition of the joint interval into its seed and example parts.

* :func:`artifact_vs_procedure` — one examples-only interval per pretraining seed (the
  *artifact* level, adjusted for multiplicity across the artifacts), the joint
  seeds-and-examples interval (the *procedure* level), a heterogeneity test of the artifacts
  with the between-artifact sd tau, and a calibrated category with its plain-words flag
  (:mod:`~multiberts_stats.analysis.verdict`);
* :func:`variance_decomposition` — seeds-only and examples-only bootstrap variances beside the
  joint one, and the projected interval width with more seeds.

Each side's tidy table is turned into matrices once (:mod:`multiberts_stats.table`); the
per-seed analyses are slices of those matrices, not new parses of the table.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from multiberts_stats.bootstrap import multiboot
from multiberts_stats.errors import DataWarning, InputError, SmallNbootWarning

from .common import (
    DESIGNS,
    RngStream,
    WarningLog,
    check_alpha,
    check_nboot,
    check_table,
    common_examples,
    distribution_of,
    progress,
    quantity_of,
    seed_values,
    verdict_of,
)
from .heterogeneity import Heterogeneity, artifact_heterogeneity
from .markdown import md_table, md_warnings
from .multiple_testing import adjust_pvalues
from .sides import SideRuns
from .verdict import CATEGORIES, check_correction, decide, flag_text, pvalue_agreeing

__all__ = ["ArtifactProcedureReport", "VarianceDecomposition", "artifact_vs_procedure",
           "variance_decomposition"]


# --------------------------------------------------------------------------------------------
# variance decomposition
# --------------------------------------------------------------------------------------------

@dataclass
class VarianceDecomposition:
    """Bootstrap variance of one quantity with seeds only, examples only, and both resampled.

    ``joint``, ``seeds``, ``examples`` are variances of the bootstrap distribution of the
    quantity (``delta`` for a comparison, the score for one procedure). ``n_seeds`` is the number
    of seeds per side the seed component was measured on. The projection assumes the seed
    component, and the part of the joint variance beyond seeds + examples (seed-by-example noise),
    shrink as 1/seeds while the example component stays as it is (conservative: the per-run noise
    inside it also shrinks with more seeds); widths use a normal approximation, so at the current
    number of seeds the projected width is 2 z sqrt(joint).
    """

    quantity: str
    joint: float
    seeds: float
    examples: float
    n_seeds: int
    confidence_level: float
    results: dict = field(default_factory=dict, repr=False)
    warnings: list = field(default_factory=list)

    def projected_width(self, n_seeds) -> np.ndarray:
        """Projected width of the ``confidence_level`` interval with ``n_seeds`` seeds per side.

        Examples
        --------
        >>> d = VarianceDecomposition("delta", 2.0, 1.0, 1.0, 5, 0.95)
        >>> float(d.projected_width(5).round(3)), float(d.projected_width(500).round(3))
        (5.544, 3.939)
        """
        from scipy.stats import norm

        m = np.asarray(n_seeds, float)
        if np.any(m < 1):
            raise InputError("The `n_seeds` parameter of projected_width must be >= 1. "
                             f"Got {n_seeds!r} instead.")
        z = norm.ppf(0.5 + self.confidence_level / 2)
        # the part of the joint variance beyond seeds + examples is seed-by-example (per-run)
        # noise, which averages out over seeds like the seed component
        residual = max(self.joint - self.seeds - self.examples, 0.0)
        seed_part = (self.seeds + residual) * self.n_seeds / m
        return 2 * z * np.sqrt(seed_part + self.examples)

    def projection(self, n_seeds: Sequence[int] | None = None) -> pd.DataFrame:
        """Table of projected interval widths for several numbers of seeds."""
        if n_seeds is None:
            base = [self.n_seeds, 2 * self.n_seeds, 5, 10, 25, 50, 100]
            n_seeds = sorted({int(n) for n in base if n >= 1})
        w = self.projected_width(n_seeds)
        now = float(self.projected_width(self.n_seeds))
        return pd.DataFrame({"n_seeds": list(n_seeds), "projected_width": w,
                             "relative_to_now": w / now if now > 0 else np.nan})

    def to_frame(self) -> pd.DataFrame:
        tot = self.joint if self.joint > 0 else np.nan
        df = pd.DataFrame({
            "component": ["joint (seeds and examples)", "seeds only", "examples only"],
            "variance": [self.joint, self.seeds, self.examples],
            "sd": np.sqrt([self.joint, self.seeds, self.examples]),
            "share_of_joint": [1.0, self.seeds / tot, self.examples / tot],
        })
        df.attrs["warnings"] = list(self.warnings)
        return df

    def to_markdown(self) -> str:
        return (md_warnings(self.warnings) + md_table(self.to_frame()) + "\n\nProjected "
                f"{self.confidence_level:.0%} interval width with more seeds:\n\n"
                + md_table(self.projection()) + "\n")

    def plot(self, ax=None):
        from multiberts_stats.plotting import variance_bars

        return variance_bars(self, ax=ax)


def _decompose(base, expt, kwargs, joint, rngs: RngStream) -> VarianceDecomposition:
    """The seeds-only and examples-only bootstraps beside the ``joint`` one."""
    seeds_only = multiboot(base, expt, sample_examples=False, rng=rngs.child(), **kwargs)
    examples_only = multiboot(base, expt, sample_seeds=False, rng=rngs.child(), **kwargs)
    q = quantity_of(joint)
    n = joint.n_seeds
    if isinstance(n, dict):
        side = "expt" if q == "delta" and kwargs.get("design") == "fixed_baseline" else None
        n = n[side] if side else min(n.values())
    return VarianceDecomposition(
        quantity=q,
        joint=float(np.var(distribution_of(joint), ddof=1)),
        seeds=float(np.var(distribution_of(seeds_only), ddof=1)),
        examples=float(np.var(distribution_of(examples_only), ddof=1)),
        n_seeds=int(n), confidence_level=float(joint.confidence_level),
        results={"joint": joint, "seeds": seeds_only, "examples": examples_only},
    )


def variance_decomposition(base, expt=None, *, design=None, metric="accuracy",
                           seed_col="pretrain_seed", cluster_col=None, nboot=1000,
                           confidence_level=0.95, rng=None, **kwargs) -> VarianceDecomposition:
    """How much of the uncertainty comes from seeds and how much from examples.

    Runs the Multi-Bootstrap three times on the same data: jointly, seeds only
    (``sample_examples=False``) and examples only (``sample_seeds=False``), and keeps the
    variances of the bootstrap distribution of the quantity (the difference for a comparison).

    Parameters
    ----------
    base, expt : DataFrame
        Tidy tables (``expt=None`` for one procedure alone).
    design, metric, seed_col, cluster_col, nboot, confidence_level, rng, **kwargs
        Passed to :func:`multiberts_stats.bootstrap.multiboot`; the joint call receives ``rng``
        itself, so its distribution equals a direct ``multiboot`` call with the same ``rng``.

    Returns
    -------
    VarianceDecomposition
        ``.to_frame()``, ``.projection()`` (projected widths with more seeds), ``.plot()``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, warnings
    >>> rng = np.random.default_rng(0)
    >>> t = pd.DataFrame([dict(pretrain_seed=s, example_id=i, label=1,
    ...                        prediction=float(rng.random() < 0.7))
    ...                   for s in range(5) for i in range(100)])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # five seeds: the few-seeds warning
    ...     d = variance_decomposition(t, nboot=200, rng=0)
    >>> d.to_frame()["component"].tolist()
    ['joint (seeds and examples)', 'seeds only', 'examples only']
    """
    func = "variance_decomposition"
    check_table(base, "base", func, seed_col)
    if expt is not None:
        check_table(expt, "expt", func, seed_col)
    mine = WarningLog()
    if expt is not None:
        base, expt = common_examples(base, expt, func, mine)
    kw = dict(design=design, metric=metric, seed_col=seed_col, cluster_col=cluster_col,
              nboot=check_nboot(nboot, func), confidence_level=confidence_level,
              **{"quiet": True, **kwargs})
    sides = SideRuns.parse(base, expt, kw, caller=func)
    rngs = RngStream(rng)
    log = WarningLog()
    with log.catch():
        joint = multiboot(sides.base, sides.expt, rng=rngs.first(), **kw)
    log.extend(joint.warnings)
    log.merge(mine)
    with WarningLog().catch():  # the same warnings again, for the one-axis calls
        out = _decompose(sides.base, sides.expt, {**kw, "method": "percentile"}, joint, rngs)
    out.warnings = log.messages
    log.issue()
    return out


# --------------------------------------------------------------------------------------------
# artifact vs procedure
# --------------------------------------------------------------------------------------------

@dataclass
class ArtifactProcedureReport:
    """The answer to "does this hold for the procedure, or only for one artifact?".

    Attributes
    ----------
    design : str or None
        ``None`` (one procedure), ``"paired"``, ``"unpaired"``, ``"fixed_baseline"``.
    metric : str
    quantity : str
        ``"delta"`` (expt - base) for a comparison, ``"base"`` (the score) for one procedure.
    null : float
        The value a verdict compares against (0 for a difference).
    alpha, confidence_level : float
    procedure : MultiBootstrapResult
        The joint seeds-and-examples Multi-Bootstrap (identical to a direct ``multiboot`` call
        with the same arguments and ``rng``).
    artifacts : DataFrame
        One row per artifact (per seed; per pair of seeds for an unpaired design): ``estimate``,
        examples-only interval ``low``/``high``, two-sided ``p_value`` (agreeing with the
        interval method), ``verdict`` (the interval: "positive", "negative", "none"),
        ``p_adjusted`` (across the artifacts of this report, by ``correction``) and
        ``verdict_adjusted`` (significant when ``p_adjusted <= alpha``).
    artifact_results : dict
        The examples-only ``MultiBootstrapResult`` of each artifact, keyed like
        ``artifacts["artifact"]``. Every artifact uses the same example draws.
    verdict : DataFrame
        One row: ``n_artifacts``; raw counts ``n_positive`` / ``n_negative`` / ``n_none`` and
        adjusted ones ``n_positive_adjusted`` / ``n_negative_adjusted`` / ``n_none_adjusted``;
        ``correction``; the procedure's verdict and interval (``procedure``,
        ``procedure_low``, ``procedure_high``); ``heterogeneity_p``, ``tau``, ``tau_low``,
        ``tau_high``; ``category``. :meth:`counts_table` shows raw beside adjusted.
    disagrees : bool
        Set by the calibrated rule (:func:`~multiberts_stats.analysis.verdict.decide`): True for
        the category ``"artifact_only"`` (the artifacts differ beyond example noise while the
        procedure-level interval includes ``null``), and when an artifact is significant after
        adjustment in the direction opposite to a procedure-level effect. Never from a count of
        unadjusted per-artifact rejections.
    flag : str
        The plain-words statement of the category; it starts with the category's words
        ("Artifact-level finding only", "Consistent across artifacts", "Procedure-level
        effect, artifacts heterogeneous", "No evidence either way", ...).
    decomposition : VarianceDecomposition
    warnings : list of str
        Carried from the bootstrap results (e.g. fewer seeds than where coverage held) and from
        this analysis; shown in every output.
    labels : dict
        Text describing the sides.
    correction : {"holm", "bh", None}
        The multiplicity adjustment of the per-artifact p-values.
    category : str
        A key of :data:`~multiberts_stats.analysis.verdict.CATEGORIES`:
        ``"procedure_consistent"``, ``"procedure_heterogeneous"``, ``"artifact_only"``,
        ``"no_evidence"`` or ``"procedure_untested"`` (a procedure-level effect with the
        heterogeneity test undefined, e.g. one artifact). ``category_label`` gives the words.
    heterogeneity : Heterogeneity
        The test of H0 "every artifact has the same effect" (``.pvalue``, ``.statistic``,
        ``.df``, ``.tau``, ``.tau_ci``, ``.defined``, ``.reason`` when undefined, ``.notes``).
    tau, tau_ci : float, tuple (properties)
        The between-artifact sd of the effect (metric units) and its ``confidence_level``
        Q-profile interval; NaN when the heterogeneity test is undefined.
    notes : list of str
        What the report did that a reader should know (e.g. the per-artifact intervals fell
        back from ``method="corrected"`` to ``"percentile"``; heterogeneity undefined and
        why); shown in every output.
    """

    design: Any
    metric: str
    quantity: str
    null: float
    alpha: float
    confidence_level: float
    nboot: int
    procedure: Any
    artifacts: pd.DataFrame
    artifact_results: dict
    verdict: pd.DataFrame
    disagrees: bool
    flag: str
    decomposition: VarianceDecomposition | None
    warnings: list = field(default_factory=list)
    labels: dict = field(default_factory=dict)
    correction: str | None = "holm"
    category: str = ""
    heterogeneity: Heterogeneity | None = None
    notes: list = field(default_factory=list)

    # -- numbers ---------------------------------------------------------------------------
    @property
    def category_label(self) -> str:
        """The category in plain words."""
        return CATEGORIES.get(self.category, self.category)

    @property
    def tau(self) -> float:
        """Between-artifact sd of the effect (NaN when heterogeneity is undefined)."""
        return float("nan") if self.heterogeneity is None else float(self.heterogeneity.tau)

    @property
    def tau_ci(self) -> tuple[float, float]:
        """The ``confidence_level`` Q-profile interval of :attr:`tau`."""
        if self.heterogeneity is None:
            return float("nan"), float("nan")
        lo, hi = self.heterogeneity.tau_ci
        return float(lo), float(hi)

    def counts_table(self) -> pd.DataFrame:
        """Artifacts significantly positive / negative / neither: raw beside adjusted."""
        v = self.verdict.iloc[0]
        adj = "not adjusted" if self.correction is None else self.correction
        return pd.DataFrame({
            "artifact tests": ["raw (examples-only intervals)", f"adjusted ({adj})"],
            "positive": [int(v.n_positive), int(v.n_positive_adjusted)],
            "negative": [int(v.n_negative), int(v.n_negative_adjusted)],
            "not significant": [int(v.n_none), int(v.n_none_adjusted)],
            "of": [int(v.n_artifacts)] * 2})

    def _heterogeneity_text(self) -> str:
        h = self.heterogeneity
        if h is None or not h.defined:
            return ("Heterogeneity (do the artifacts differ?): undefined"
                    + (f": {h.reason}." if h is not None else "."))
        how = (f"F({h.df[0]:g}, {h.df[1]:.4g}) p = {h.pvalue:.3g}"
               if h.pvalue_method.startswith("Hotelling") else
               f"p = {h.pvalue:.3g} from a parametric bootstrap of the null (fine-tuning runs)")
        return (f"Heterogeneity (H0: every artifact has the same effect): Q = {h.statistic:.4g}, "
                f"{how}; between-artifact sd tau = "
                f"{h.tau:.3g} [{h.tau_ci[0]:.3g}, {h.tau_ci[1]:.3g}] "
                f"({h.confidence_level:.0%} Q-profile interval).")

    @property
    def procedure_estimate(self) -> float:
        return float(self.procedure.estimate[self.quantity])

    @property
    def procedure_ci(self) -> tuple[float, float]:
        lo, hi = self.procedure.ci[self.quantity]
        return float(lo), float(hi)

    @property
    def procedure_pvalue(self) -> float:
        """Two-sided p-value of ``null``, agreeing with the procedure's interval method."""
        return pvalue_agreeing(self.procedure, self.null)

    @property
    def procedure_verdict(self) -> str:
        return verdict_of(*self.procedure_ci, self.null)

    # -- outputs ---------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per artifact (level ``artifact``) and one for the procedure."""
        art = self.artifacts.assign(level="artifact")
        lo, hi = self.procedure_ci
        proc = pd.DataFrame([{"level": "procedure", "artifact": "procedure (seeds and examples)",
                              "estimate": self.procedure_estimate, "low": lo, "high": hi,
                              "p_value": self.procedure_pvalue,
                              "verdict": self.procedure_verdict}])
        df = pd.concat([art, proc], ignore_index=True)
        cols = ["level", "artifact"] + [c for c in df.columns if c not in ("level", "artifact")]
        df = df[cols]
        df.attrs.update(warnings=list(self.warnings), flag=self.flag, disagrees=self.disagrees,
                        metric=self.metric, design=self.design, quantity=self.quantity,
                        category=self.category, correction=self.correction,
                        heterogeneity_p=None if self.heterogeneity is None
                        else self.heterogeneity.pvalue, tau=self.tau, tau_ci=self.tau_ci,
                        notes=list(self.notes))
        return df

    def to_dict(self) -> dict:
        """JSON-ready summary (used by ``multiberts-stats compare --format json``)."""
        def clean(v):
            if isinstance(v, (np.floating, float)):
                return None if not np.isfinite(v) else float(v)
            if isinstance(v, np.integer):
                return int(v)
            return v

        lo, hi = self.procedure_ci
        return {
            "design": self.design, "metric": self.metric, "quantity": self.quantity,
            "null": self.null, "alpha": self.alpha, "confidence_level": self.confidence_level,
            "nboot": self.nboot, "labels": self.labels,
            "procedure": {"estimate": clean(self.procedure_estimate), "low": clean(lo),
                          "high": clean(hi), "p_value": clean(self.procedure_pvalue),
                          "verdict": self.procedure_verdict,
                          "n_seeds": {k: clean(v) for k, v in dict(self.procedure.n_seeds).items()}
                          if isinstance(self.procedure.n_seeds, dict) else self.procedure.n_seeds,
                          "n_examples": clean(self.procedure.n_examples)},
            "artifacts": [{k: clean(v) for k, v in r.items()}
                          for r in self.artifacts.to_dict(orient="records")],
            "verdict": [{k: clean(v) for k, v in r.items()}
                        for r in self.verdict.to_dict(orient="records")],
            "disagrees": self.disagrees, "flag": self.flag,
            "category": self.category, "category_label": self.category_label,
            "correction": self.correction,
            "heterogeneity": None if self.heterogeneity is None else self.heterogeneity.to_dict(),
            "notes": list(self.notes),
            "decomposition": None if self.decomposition is None else {
                "joint": self.decomposition.joint, "seeds": self.decomposition.seeds,
                "examples": self.decomposition.examples,
                "projection": self.decomposition.projection().to_dict(orient="records")},
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        lo, hi = self.procedure_ci
        what = {"delta": "difference (expt - base)", "base": "score"}[self.quantity]
        lines = []
        for w in self.warnings:
            lines.append(f"WARNING: {w}")
        if self.labels:
            lines.append("base: " + self.labels.get("base", "") +
                         (("\nexpt: " + self.labels["expt"]) if "expt" in self.labels else ""))
        lines.append(f"{self.metric} {what}, design={self.design}, "
                     f"{self.confidence_level:.0%} intervals, nboot={self.nboot}")
        lines.append(f"Procedure (seeds and examples): {self.procedure_estimate:.4g} "
                     f"[{lo:.4g}, {hi:.4g}], p={self.procedure_pvalue:.3g} -> "
                     f"{self.procedure_verdict}")
        v = self.verdict.iloc[0]
        adj = "no adjustment" if self.correction is None else f"{self.correction}-adjusted"
        lines.append(f"Artifacts (examples only): {int(v.n_positive)} positive, "
                     f"{int(v.n_negative)} negative, {int(v.n_none)} not significant "
                     f"out of {int(v.n_artifacts)}; {adj}: {int(v.n_positive_adjusted)} "
                     f"positive, {int(v.n_negative_adjusted)} negative")
        lines.append(self._heterogeneity_text())
        lines.append(f"Category: {self.category_label}")
        lines.append(self.flag)
        for note in self.notes:
            lines.append(f"Note: {note}")
        if self.decomposition is not None:
            d = self.decomposition
            lines.append(f"Variance: joint {d.joint:.3g}, seeds only {d.seeds:.3g}, "
                         f"examples only {d.examples:.3g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_markdown(self, figure: str | None = None) -> str:
        """Markdown section: warnings, procedure result, verdict, per-artifact table,
        variance decomposition and projection. ``figure``: a path to embed as an image."""
        lo, hi = self.procedure_ci
        out = [md_warnings(self.warnings)] if self.warnings else []
        if self.labels:
            out.append("".join(f"- **{k}**: `{v}`\n" for k, v in self.labels.items()))
        what = {"delta": "difference (expt − base)", "base": "score"}[self.quantity]
        out.append(f"**Procedure level** ({what}, {self.metric}, design `{self.design}`, "
                   f"{self.confidence_level:.0%} Multi-Bootstrap interval over seeds and "
                   f"examples, nboot={self.nboot}): **{self.procedure_estimate:.4g}** "
                   f"[{lo:.4g}, {hi:.4g}], two-sided p = {self.procedure_pvalue:.3g} — "
                   f"**{self.procedure_verdict}**.\n")
        out.append(f"**Category: {self.category_label}.** {self.flag}\n")
        out.append(self._heterogeneity_text() + "\n")
        out.append("Artifact tests (significant at alpha = "
                   f"{self.alpha:g}):\n\n" + md_table(self.counts_table()) + "\n")
        if self.notes:
            out.append("".join(f"> **Note:** {n}\n>\n" for n in self.notes).rstrip(">\n")
                       + "\n")
        if figure:
            out.append(f"![forest plot]({figure})\n")
        out.append("Artifact level (examples-only interval per seed):\n\n"
                   + md_table(self.artifacts) + "\n")
        if self.decomposition is not None:
            out.append("Uncertainty decomposition (bootstrap variance of the "
                       f"{self.quantity}):\n\n" + self.decomposition.to_markdown())
        return "\n".join(out)

    def plot(self, ax=None, **kw):
        """Forest plot: per-artifact intervals and the procedure interval."""
        from multiberts_stats.plotting import forest_plot

        return forest_plot(self, ax=ax, **kw)


def _artifact_pairs(design, base_seeds, expt_seeds, common, max_pairs, log) -> list:
    """(label, base seed or None, expt seed or None) of every single-artifact analysis."""
    if expt_seeds is None:
        return [(f"seed {s}", s, None) for s in base_seeds]
    if design == "paired":
        return [(f"seed {s}", s, s) for s in common]
    if design == "fixed_baseline":
        return [(f"seed {s} vs baseline", None, s) for s in expt_seeds]
    if len(base_seeds) * len(expt_seeds) <= max_pairs:
        return [(f"base {b} vs expt {e}", b, e) for b in base_seeds for e in expt_seeds]
    log.add(f"Unpaired design with {len(base_seeds)} x {len(expt_seeds)} seeds: more than "
            f"max_artifact_pairs={max_pairs} artifact pairs, so the i-th base seed is compared "
            "with the i-th expt seed only.", DataWarning)
    return [(f"base {b} vs expt {e}", b, e) for b, e in zip(base_seeds, expt_seeds)]


def _one_axis_kwargs(kw: dict) -> dict:
    """``multiboot`` arguments for a call resampling one axis: ``method="corrected"``
    (which corrects joint resampling) becomes ``"percentile"``."""
    if kw.get("method") == "corrected":
        return {**kw, "method": "percentile"}
    return kw


def _artifact_kwargs(kw: dict, notes: list) -> dict:
    """The per-artifact (examples-only) calls' arguments, and what the report says of them."""
    out = _one_axis_kwargs(kw)
    if out is not kw:
        notes.append("method='corrected' corrects joint resampling of seeds and examples, so "
                     "it gives the procedure-level interval; the per-artifact (examples-only) "
                     "intervals and p-values use method='percentile'.")
    return out


def artifact_vs_procedure(base, expt=None, *, design=None, metric="accuracy",
                          seed_col="pretrain_seed", cluster_col=None, nboot=1000, rng=None,
                          alpha=0.05, null=0.0, decompose=True, max_artifact_pairs=100,
                          labels=None, quiet=True, correction="holm",
                          **kwargs) -> ArtifactProcedureReport:
    """Artifact-level and procedure-level answers to the same question, side by side.

    Parameters
    ----------
    base : DataFrame
        Tidy predictions of the baseline (or of the only procedure).
    expt : DataFrame, optional
        Tidy predictions of the experiment. ``None``: one procedure alone; the quantity is its
        score and verdicts compare it to ``null``.
    design : {None, "paired", "unpaired", "fixed_baseline"}
        As :func:`multiberts_stats.bootstrap.multiboot`. Default: ``"paired"`` when ``expt`` is
        given and the sides share a seed, ``"unpaired"`` when they share none, ``None`` alone.
    metric : str or callable
        A name from :data:`multiberts_stats.metrics.METRICS` or ``callable(y_true, y_pred)``.
    seed_col : str
        The column identifying a pretraining seed (artifact); runs inside a seed (fine-tuning
        seeds) are averaged first.
    cluster_col : str, optional
        Resample clusters of examples (e.g. ``"occupation"`` for Winogender).
    nboot : int
        Replicates of every bootstrap.
    rng : None, int, Generator or RandomState
        The procedure-level call receives it unchanged (so it equals a direct ``multiboot`` call
        with the same ``rng``); the other calls use independent children of it.
    alpha : float
        In (0, 1). Intervals are at level ``1 - alpha``; a verdict is significant when its
        interval excludes ``null``; the adjusted per-artifact tests and the heterogeneity test
        are at ``alpha``.
    null : float
        Reference value of the quantity (0 for a difference; e.g. 0 for a bias correlation).
    decompose : bool
        Also compute the seeds-only / examples-only variance decomposition (two more bootstraps).
    max_artifact_pairs : int
        Unpaired design: every (base seed, expt seed) pair is one single-artifact analysis, up to
        this many; beyond it the i-th base seed is matched with the i-th expt seed.
    labels : dict, optional
        Text describing the sides (``{"base": "step=0", "expt": "step=2000"}``) for the outputs.
    quiet : bool
        No progress bar.
    correction : {"holm", "bh", None}
        Adjustment of the per-artifact p-values across the artifacts of this report: Holm
        (family-wise error, the default), Benjamini-Hochberg (false discovery rate) or none.
    **kwargs
        Passed to every ``multiboot`` call (e.g. ``run_cols``, ``method``, ``batch``).
        ``method="corrected"`` applies to the procedure level (seeds and examples resampled);
        the per-artifact (examples-only) intervals then use ``"percentile"``, and the report's
        ``notes`` say so.

    Returns
    -------
    ArtifactProcedureReport
        ``.category``, ``.heterogeneity``, ``.tau``, ``.disagrees``, ``.flag``;
        ``.to_frame()``, ``.to_markdown()``, ``.plot(ax=None)``, ``.summary()``.

    Notes
    -----
    The decision (docs/statistics.md, "The artifact-vs-procedure verdict: calibration"):
    the procedure-level interval and the heterogeneity test (H0: every artifact has the same
    effect; Hotelling's T^2 over the examples shared by the artifacts, with the fine-tuning-run
    variance when seeds have several runs) give the category; the per-artifact tests, adjusted
    by ``correction``, name the artifacts behind it. In simulation the report claims an
    artifact-level finding under a global null in about ``alpha`` of experiments, at 5 and at
    25 seeds.

    Warns
    -----
    FewSeedsWarning, DataWarning, ...
        The engine's warnings (with their classes) and this analysis' own, once each; they are
        also in ``.warnings`` and in every output.

    Examples
    --------
    >>> import numpy as np, pandas as pd, warnings
    >>> rng = np.random.default_rng(0)
    >>> rows = [dict(pretrain_seed=s, step=st, example_id=str(i), label=1,
    ...              prediction=float(rng.random() < 0.6 + 0.2 * (st > 0)))
    ...         for s in range(5) for st in (0, 1) for i in range(300)]
    >>> t = pd.DataFrame(rows)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # five seeds: the few-seeds warning
    ...     rep = artifact_vs_procedure(t[t.step == 0], t[t.step == 1], design="paired",
    ...                                 nboot=200, rng=1)
    >>> rep.procedure_verdict, len(rep.artifacts)
    ('positive', 5)
    """
    func = "artifact_vs_procedure"
    check_table(base, "base", func, seed_col)
    if expt is not None:
        check_table(expt, "expt", func, seed_col)
    if design not in DESIGNS:
        raise InputError(f"The `design` parameter of {func} must be one of {list(DESIGNS)}. "
                         f"Got {design!r} instead.")
    alpha = check_alpha(alpha, func)
    nboot = check_nboot(nboot, func)
    correction = check_correction(correction, func)
    if expt is None and design is not None:
        raise InputError(f"The `design` parameter of {func} must be None when `expt` is None "
                         f"(one procedure alone). Got {design!r} instead.")
    mine = WarningLog()   # this analysis' own warnings, after the engine's
    common: list = []
    if expt is not None:
        base, expt = common_examples(base, expt, func, mine)
        b_seeds, e_seeds = seed_values(base, seed_col), seed_values(expt, seed_col)
        common = sorted(set(b_seeds) & set(e_seeds))
        if design is None:
            design = "paired" if common else "unpaired"
        if design == "paired" and not common:
            raise InputError(f"The `design` parameter of {func} is 'paired', which needs seeds "
                             f"present on both sides. Got base seeds {b_seeds} and expt seeds "
                             f"{e_seeds} instead.")
        if design == "paired":
            only = sorted(set(b_seeds) ^ set(e_seeds))
            if only:
                mine.add(f"Paired design: seeds {only} are present on one side only and are "
                        "left out of the paired analysis.", DataWarning)
    confidence_level = 1.0 - alpha
    kw = dict(design=design, metric=metric, seed_col=seed_col, cluster_col=cluster_col,
              nboot=nboot, confidence_level=confidence_level, quiet=True, **kwargs)
    sides = SideRuns.parse(base, expt, kw, caller=func)   # the one tidy -> matrix conversion per side
    if isinstance(metric, str):
        sides.check_defined(metric, func)
    rngs = RngStream(rng)
    log = WarningLog()
    notes: list[str] = []
    proc_kw = kw
    if kw.get("method") == "bca":
        # BCa needs one resampled axis: the per-artifact (examples-only) intervals use it, the
        # joint seeds-and-examples interval cannot
        proc_kw = {**kw, "method": "percentile"}
        notes.append("method='bca' needs a single resampled axis, so the per-artifact "
                     "(examples-only) intervals use it and the procedure-level interval "
                     "(seeds and examples) uses method='percentile'.")
    with log.catch():
        procedure = multiboot(sides.base, sides.expt, rng=rngs.first(), **proc_kw)
    notes.extend(getattr(procedure, "notes", None) or [])
    log.extend(procedure.warnings)
    log.merge(mine)

    # artifact level: examples-only bootstraps of per-seed slices of the matrices --------------
    pairs = _artifact_pairs(design, sides.base_seeds,
                            None if expt is None else sides.expt_seeds, common,
                            max_artifact_pairs, log)
    art_kw = _artifact_kwargs(kw, notes)
    # the engine warns (SmallNbootWarning) when its p-value floor 2/(nboot+1) cannot reach the
    # per-comparison level alpha/m of the adjustment
    art_kw["n_comparisons"] = max(1, len(pairs)) if correction is not None else 1
    # one example draw shared by every artifact: the per-artifact replicates are then paired,
    # which is what the heterogeneity test of metrics that do not decompose needs
    art_seed = int(rngs.child().integers(0, 2**63 - 1))
    rows, results = [], {}
    with warnings.catch_warnings(record=True) as art_caught:
        warnings.simplefilter("always")  # per-seed calls repeat the procedure's warnings: only
        for label, b, e in progress(pairs, len(pairs), "artifacts", quiet):  # the floor is kept
            bsub, esub = sides.seed_slice(b, e)
            r = multiboot(bsub, esub, sample_seeds=False, rng=np.random.default_rng(art_seed),
                          **art_kw)
            q = quantity_of(r)
            lo, hi = r.ci[q]
            rows.append({"artifact": label, "base_seed": b, "expt_seed": e,
                         "estimate": float(r.estimate[q]), "low": float(lo), "high": float(hi),
                         "p_value": pvalue_agreeing(r, null),
                         "verdict": verdict_of(lo, hi, null)})
            results[label] = r
    for w in art_caught:
        if issubclass(w.category, SmallNbootWarning):
            log.add(w.message, SmallNbootWarning)
    artifacts = pd.DataFrame(rows)
    p = artifacts["p_value"].to_numpy(float)
    artifacts["p_adjusted"] = p if correction is None else adjust_pvalues(p, correction)
    sign = np.where(artifacts["estimate"].to_numpy(float) > null, "positive", "negative")
    artifacts["verdict_adjusted"] = np.where(artifacts["p_adjusted"].to_numpy() <= alpha,
                                             sign, "none")
    if expt is None or design == "paired":
        artifacts = artifacts.drop(columns=["expt_seed"]).rename(columns={"base_seed": "seed"})
    elif design == "fixed_baseline":
        artifacts = artifacts.drop(columns=["base_seed"]).rename(columns={"expt_seed": "seed"})

    # verdict -------------------------------------------------------------------------------
    quantity = quantity_of(procedure)
    lo, hi = procedure.ci[quantity]
    pv = verdict_of(lo, hi, null)
    het = artifact_heterogeneity(sides, design, pairs, metric=metric, seed_col=seed_col,
                                 cluster_col=cluster_col, confidence_level=confidence_level,
                                 results=results, quantity=quantity)
    if not het.defined:
        notes.append(f"Heterogeneity undefined ({het.reason}): whether the artifacts differ "
                     "is not tested, and no artifact-level finding is claimed.")
    notes.extend(het.notes)
    category, disagrees = decide(pv, het, alpha, artifacts["verdict_adjusted"])
    counts = artifacts["verdict"].value_counts()
    counts_adj = artifacts["verdict_adjusted"].value_counts()
    verdict = pd.DataFrame([{"n_artifacts": len(artifacts),
                             **{f"n_{k}": int(counts.get(k, 0))
                                for k in ("positive", "negative", "none")},
                             **{f"n_{k}_adjusted": int(counts_adj.get(k, 0))
                                for k in ("positive", "negative", "none")},
                             "correction": correction,
                             "procedure": pv, "procedure_low": float(lo),
                             "procedure_high": float(hi), "heterogeneity_p": het.pvalue,
                             "tau": het.tau, "tau_low": het.tau_ci[0],
                             "tau_high": het.tau_ci[1], "category": category}])
    flag = flag_text(category, artifacts=artifacts, procedure_verdict=pv, het=het,
                     quantity=quantity, null=null, design=design, correction=correction,
                     alpha=alpha)
    decomposition = None
    if decompose:
        with WarningLog().catch():
            # variances of the distributions: the interval method does not matter
            decomposition = _decompose(sides.base, sides.expt, {**kw, "method": "percentile"},
                                       procedure, rngs)
        decomposition.warnings = log.messages
    log.issue()
    return ArtifactProcedureReport(
        design=design, metric=metric if isinstance(metric, str) else getattr(metric, "__name__",
                                                                               str(metric)),
        quantity=quantity, null=float(null), alpha=alpha, confidence_level=confidence_level,
        nboot=nboot, procedure=procedure, artifacts=artifacts, artifact_results=results,
        verdict=verdict, disagrees=disagrees, flag=flag, decomposition=decomposition,
        warnings=log.messages, labels=dict(labels or {}), correction=correction,
        category=category, heterogeneity=het, notes=list(dict.fromkeys(notes)))
