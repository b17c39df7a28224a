"""Artifact vs procedure: per-seed (artifact) and joint (procedure) answers to one question,
and the variance decomposition of the joint interval into its seed and example parts.

* :func:`artifact_vs_procedure` — one examples-only interval per pretraining seed (the
  *artifact* level), the joint seeds-and-examples interval (the *procedure* level), a verdict
  table, and a plain-words flag when a single-artifact study would have concluded differently
  from the procedure;
* :func:`variance_decomposition` — seeds-only and examples-only bootstrap variances beside the
  joint one, and the projected interval width with more seeds.

Each side's tidy table is turned into matrices once (:mod:`multiberts_stats.table`); the
per-seed analyses are slices of those matrices, not new parses of the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from multiberts_stats.bootstrap import multiboot
from multiberts_stats.errors import DataWarning, InputError

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
    pvalue_of,
    quantity_of,
    seed_values,
    verdict_of,
)
from .markdown import md_table, md_warnings
from .sides import SideRuns

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
        out = _decompose(sides.base, sides.expt, kw, joint, rngs)
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
        One row per artifact (per seed; per pair of seeds for an unpaired design): estimate,
        examples-only interval, two-sided p-value, verdict.
    artifact_results : dict
        The examples-only ``MultiBootstrapResult`` of each artifact, keyed like
        ``artifacts["artifact"]``.
    verdict : DataFrame
        Counts of artifacts significantly positive / negative / neither, and the procedure's.
    disagrees : bool
        True when at least one single-artifact analysis concludes differently from the procedure.
    flag : str
        The plain-words statement of that disagreement (or of agreement).
    decomposition : VarianceDecomposition
    warnings : list of str
        Carried from the bootstrap results (e.g. fewer seeds than where coverage held) and from
        this analysis; shown in every output.
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

    # -- numbers ---------------------------------------------------------------------------
    @property
    def procedure_estimate(self) -> float:
        return float(self.procedure.estimate[self.quantity])

    @property
    def procedure_ci(self) -> tuple[float, float]:
        lo, hi = self.procedure.ci[self.quantity]
        return float(lo), float(hi)

    @property
    def procedure_pvalue(self) -> float:
        return pvalue_of(self.procedure, self.null)

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
                        metric=self.metric, design=self.design, quantity=self.quantity)
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
        lines.append(f"Artifacts (examples only): {int(v.n_positive)} positive, "
                     f"{int(v.n_negative)} negative, {int(v.n_none)} not significant "
                     f"out of {int(v.n_artifacts)}")
        lines.append(self.flag)
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
        out.append(f"**{self.flag}**\n")
        out.append("Verdict:\n\n" + md_table(self.verdict) + "\n")
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


def _flag(artifacts: pd.DataFrame, pv: str, quantity: str, null: float, design) -> tuple:
    """(disagrees, the plain-words flag)."""
    n_art = len(artifacts)
    what = "effect" if quantity == "delta" else f"difference from {null:g}"
    unit = "artifact" if design != "unpaired" else "artifact pair"
    differ = artifacts[artifacts["verdict"] != pv]
    names = {"positive": "a significant positive " + what,
             "negative": "a significant negative " + what,
             "none": "no significant " + what}
    if len(differ) == 0:
        return False, (f"Consistent: every single-{unit} analysis ({n_art}) concludes as the "
                       f"procedure does ({names[pv]}).")
    parts = [f"{int((differ['verdict'] == k).sum())} of {n_art} would conclude {names[k]}"
             for k in ("positive", "negative", "none") if (differ["verdict"] == k).any()]
    examples = ", ".join(differ["artifact"].astype(str).head(5))
    if pv == "none":
        head = (f"Artifact-level finding only: the procedure-level interval includes "
                f"{null:g}, so the {what} is not established for the procedure, but ")
    else:
        head = f"Single-artifact analyses disagree with the procedure ({names[pv]}): "
    return True, head + "; ".join(parts) + f" (e.g. {examples})."


def artifact_vs_procedure(base, expt=None, *, design=None, metric="accuracy",
                          seed_col="pretrain_seed", cluster_col=None, nboot=1000, rng=None,
                          alpha=0.05, null=0.0, decompose=True, max_artifact_pairs=100,
                          labels=None, quiet=True, **kwargs) -> ArtifactProcedureReport:
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
        Intervals are at level ``1 - alpha``; a verdict is significant when its interval
        excludes ``null``.
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
    **kwargs
        Passed to every ``multiboot`` call (e.g. ``run_cols``, ``method``, ``batch``).

    Returns
    -------
    ArtifactProcedureReport
        ``.to_frame()``, ``.to_markdown()``, ``.plot(ax=None)``, ``.summary()``.

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
    with log.catch():
        procedure = multiboot(sides.base, sides.expt, rng=rngs.first(), **kw)
    log.extend(procedure.warnings)
    log.merge(mine)

    # artifact level: examples-only bootstraps of per-seed slices of the matrices --------------
    pairs = _artifact_pairs(design, sides.base_seeds,
                            None if expt is None else sides.expt_seeds, common,
                            max_artifact_pairs, log)
    rows, results = [], {}
    with WarningLog().catch():  # per-seed calls repeat the procedure's warnings
        for label, b, e in progress(pairs, len(pairs), "artifacts", quiet):
            bsub, esub = sides.seed_slice(b, e)
            r = multiboot(bsub, esub, sample_seeds=False, rng=rngs.child(), **kw)
            q = quantity_of(r)
            lo, hi = r.ci[q]
            rows.append({"artifact": label, "base_seed": b, "expt_seed": e,
                         "estimate": float(r.estimate[q]), "low": float(lo), "high": float(hi),
                         "p_value": pvalue_of(r, null), "verdict": verdict_of(lo, hi, null)})
            results[label] = r
    artifacts = pd.DataFrame(rows)
    if expt is None or design == "paired":
        artifacts = artifacts.drop(columns=["expt_seed"]).rename(columns={"base_seed": "seed"})
    elif design == "fixed_baseline":
        artifacts = artifacts.drop(columns=["base_seed"]).rename(columns={"expt_seed": "seed"})

    # verdict -------------------------------------------------------------------------------
    quantity = quantity_of(procedure)
    lo, hi = procedure.ci[quantity]
    pv = verdict_of(lo, hi, null)
    counts = artifacts["verdict"].value_counts()
    verdict = pd.DataFrame([{"n_artifacts": len(artifacts),
                             **{f"n_{k}": int(counts.get(k, 0))
                                for k in ("positive", "negative", "none")},
                             "procedure": pv, "procedure_low": float(lo),
                             "procedure_high": float(hi)}])
    disagrees, flag = _flag(artifacts, pv, quantity, null, design)
    decomposition = None
    if decompose:
        with WarningLog().catch():
            decomposition = _decompose(sides.base, sides.expt, kw, procedure, rngs)
        decomposition.warnings = log.messages
    log.issue()
    return ArtifactProcedureReport(
        design=design, metric=metric if isinstance(metric, str) else getattr(metric, "__name__",
                                                                               str(metric)),
        quantity=quantity, null=float(null), alpha=alpha, confidence_level=confidence_level,
        nboot=nboot, procedure=procedure, artifacts=artifacts, artifact_results=results,
        verdict=verdict, disagrees=disagrees, flag=flag, decomposition=decomposition,
        warnings=log.messages, labels=dict(labels or {}))
