"""Artifact vs procedure: the analyses a researcher reads and shows.

Every function here takes the tidy predictions table (one row per run and example, see
``docs/ARCHITECTURE.md``) and calls the Multi-Bootstrap engine
(:func:`multiberts_stats.bootstrap.multiboot`) on it:

* :func:`artifact_vs_procedure` — for a comparison (or one procedure alone): one examples-only
  interval per pretraining seed (the *artifact* level), the joint seeds-and-examples interval (the
  *procedure* level), a verdict table, and a plain-words flag when a single-artifact study would
  have concluded differently from the procedure;
* :func:`variance_decomposition` — seeds-only and examples-only bootstrap variances beside the
  joint one, and the projected interval width with more seeds;
* :func:`learning_curve` — a metric per pretraining step with procedure-level bands, paired
  step-to-step and step-vs-final comparisons with a multiple-comparison correction, and the step
  from which a curve stays within ``eps`` of its final value;
* :func:`agreement` — instance-level agreement between seeds;
* :func:`adjust_pvalues` — Holm / Benjamini-Hochberg (and Bonferroni / Benjamini-Yekutieli).

``cli_compare`` and ``cli_report`` are the ``multiberts-stats compare`` / ``report`` commands.
numpy, pandas and the bootstrap only: importing this module never imports torch.
"""

from __future__ import annotations

import json
import math
import sys
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "ArtifactProcedureReport",
    "VarianceDecomposition",
    "LearningCurve",
    "Agreement",
    "artifact_vs_procedure",
    "variance_decomposition",
    "learning_curve",
    "agreement",
    "adjust_pvalues",
    "parse_filter",
    "select",
    "write_report",
    "pronoun_preference_table",
    "cli_compare",
    "cli_report",
]

#: Columns that identify a run in the tidy table (docs/ARCHITECTURE.md).
RUN_COLS = ["family", "checkpoint", "pretrain_seed", "step", "task", "split", "method", "layer",
            "finetune_seed", "hparams"]
#: Columns that define one experimental condition (a "curve point").
CONDITION_COLS = ["family", "task", "split", "method", "layer", "step", "hparams"]
_DESIGNS = (None, "paired", "unpaired", "fixed_baseline")


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

def _multiboot():
    """The engine's ``multiboot``, silenced (no progress bar per call) when it takes ``quiet``."""
    import functools
    import inspect

    from multiberts_stats.bootstrap import multiboot

    try:
        takes_quiet = "quiet" in inspect.signature(multiboot).parameters
    except (TypeError, ValueError):  # pragma: no cover
        takes_quiet = False
    return functools.partial(multiboot, quiet=True) if takes_quiet else multiboot


def _common_examples(base, expt, func: str, mine: list) -> tuple:
    """Restrict both sides to their shared examples (the bootstrap draws one set for both)."""
    b_ids, e_ids = set(base["example_id"]), set(expt["example_id"])
    shared = b_ids & e_ids
    if not shared:
        raise ValueError(
            f"The `base` and `expt` tables of {func} must share examples (the bootstrap "
            "draws one set of examples for both sides). Got no common `example_id`: base has "
            f"{len(b_ids)} examples (e.g. {sorted(map(str, b_ids))[:3]}), expt has {len(e_ids)} "
            f"(e.g. {sorted(map(str, e_ids))[:3]}).")
    if len(shared) < len(b_ids) or len(shared) < len(e_ids):
        mine.append(f"Only the {len(shared)} examples present on both sides are compared "
                    f"({len(b_ids - shared)} base-only and {len(e_ids - shared)} expt-only "
                    "examples left out).")
        base = base[base["example_id"].isin(shared)]
        expt = expt[expt["example_id"].isin(shared)]
    return base, expt


def _check_table(df, name: str, func: str, seed_col: str | None = None) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"The `{name}` parameter of {func} must be a tidy pandas DataFrame "
                        f"(one row per run and example). Got {type(df).__name__} instead.")
    if len(df) == 0:
        raise ValueError(f"The `{name}` parameter of {func} must have at least one row. "
                         "Got an empty table instead (check the filter that selected it).")
    needed = ["example_id"] + ([seed_col] if seed_col else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"The `{name}` table of {func} must have the column(s) {missing}. "
                         f"Got columns {list(df.columns)} instead.")
    return df


def _check_alpha(alpha, func: str) -> float:
    if not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"The `alpha` parameter of {func} must be a number in (0, 1). "
                         f"Got {alpha!r} instead.")
    return float(alpha)


def _check_nboot(nboot, func: str) -> int:
    if isinstance(nboot, bool) or not isinstance(nboot, (int, np.integer)) or nboot < 1:
        raise ValueError(f"The `nboot` parameter of {func} must be a positive integer. "
                         f"Got {nboot!r} instead.")
    return int(nboot)


class _RngStream:
    """Hands out the user's ``rng`` first (so the procedure-level call reproduces a direct
    ``multiboot`` call with the same ``rng``), then independent child generators."""

    def __init__(self, rng):
        self._first = rng
        self._used_first = False
        if isinstance(rng, np.random.Generator):
            self._gen = rng
            self._ss = None
        elif isinstance(rng, np.random.RandomState):
            self._gen = None
            self._ss = np.random.SeedSequence(int(rng.randint(0, 2**31 - 1)))
        else:
            if rng is not None and not isinstance(rng, (int, np.integer)):
                raise TypeError("The `rng` parameter must be None, an int, a numpy Generator or a "
                                f"RandomState. Got {type(rng).__name__} instead.")
            self._gen = None
            self._ss = np.random.SeedSequence(None if rng is None else int(rng))

    def first(self):
        self._used_first = True
        return self._first

    def child(self) -> np.random.Generator:
        if self._gen is not None:
            return self._gen.spawn(1)[0]
        return np.random.default_rng(self._ss.spawn(1)[0])


def _dedupe(msgs: Iterable[str]) -> list[str]:
    out: list[str] = []
    for m in msgs:
        m = str(m)
        if m not in out:
            out.append(m)
    return out


def _quantity(res) -> str:
    return "delta" if getattr(res, "delta_distribution", None) is not None else "base"


def _dist(res) -> np.ndarray:
    if _quantity(res) == "delta":
        return np.asarray(res.delta_distribution, float)
    return np.asarray(res.distribution, float)[:, 0]


def _two_sided_p(d: np.ndarray, null: float) -> float:
    n = len(d)
    p = 2 * min(np.mean(d <= null), np.mean(d >= null))
    return float(min(1.0, max(p, 1.0 / n)))


def _pvalue(res, null: float) -> float:
    q = _quantity(res)
    if q == "delta" and null == 0 and getattr(res, "pvalue_two_sided", None) is not None:
        return float(res.pvalue_two_sided)
    return _two_sided_p(_dist(res), null)


def _verdict(low: float, high: float, null: float) -> str:
    if low > null:
        return "positive"
    if high < null:
        return "negative"
    return "none"


def _fmt(x, digits: int = 4) -> str:
    if x is None:
        return ""
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            return str(x)
        return f"{x:.{digits}g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"
    return str(x)


def _md_table(df: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub Markdown table (no `tabulate` dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(_fmt(v, digits).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def _md_warnings(ws: Sequence[str]) -> str:
    if not ws:
        return ""
    return "\n>\n".join(f"> **Warning:** {w}" for w in ws) + "\n\n"


def _progress(iterable, total: int, desc: str, quiet: bool):
    if quiet:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False)


# --------------------------------------------------------------------------------------------
# multiple comparisons
# --------------------------------------------------------------------------------------------

def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons.

    Parameters
    ----------
    p : array_like, shape (m,)
        Raw p-values in [0, 1] (NaN entries are kept as NaN and do not count as tests).
    method : {"holm", "bh", "bonferroni", "by"}
        ``"holm"`` controls the family-wise error rate (Holm's step-down); ``"bh"`` the false
        discovery rate (Benjamini-Hochberg step-up); ``"by"`` is Benjamini-Yekutieli (FDR under
        any dependence). ``"fdr_bh"`` and ``"fdr_by"`` are accepted as aliases.

    Returns
    -------
    ndarray, shape (m,)
        Adjusted p-values, equal to ``statsmodels.stats.multitest.multipletests(p,
        method=...)[1]``; reject where ``adjusted <= alpha``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    methods = {"holm": "holm", "bh": "bh", "fdr_bh": "bh", "bonferroni": "bonferroni",
               "by": "by", "fdr_by": "by"}
    if method not in methods:
        raise ValueError("The `method` parameter of adjust_pvalues must be one of "
                         f"{sorted(methods)}. Got {method!r} instead.")
    method = methods[method]
    arr = np.asarray(p, dtype=float)
    if arr.ndim != 1:
        raise ValueError("The `p` parameter of adjust_pvalues must be a 1-D array of p-values. "
                         f"Got shape {arr.shape} instead.")
    ok = ~np.isnan(arr)
    if np.any((arr[ok] < 0) | (arr[ok] > 1)):
        raise ValueError("The `p` parameter of adjust_pvalues must hold p-values in [0, 1]. "
                         f"Got values from {arr[ok].min()} to {arr[ok].max()} instead.")
    out = np.full(arr.shape, np.nan)
    q = arr[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="mergesort")
    s = q[order]
    if method == "bonferroni":
        adj = np.minimum(1.0, s * m)
    elif method == "holm":
        adj = np.minimum(1.0, np.maximum.accumulate(s * (m - np.arange(m))))
    else:
        c = 1.0 if method == "bh" else np.sum(1.0 / np.arange(1, m + 1))
        raw = s * m * c / np.arange(1, m + 1)
        adj = np.minimum(1.0, np.minimum.accumulate(raw[::-1])[::-1])
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


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
            raise ValueError("The `n_seeds` parameter of projected_width must be >= 1. "
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
        return (_md_warnings(self.warnings) + _md_table(self.to_frame()) + "\n\nProjected "
                f"{self.confidence_level:.0%} interval width with more seeds:\n\n"
                + _md_table(self.projection()) + "\n")

    def plot(self, ax=None):
        from multiberts_stats.plotting import variance_bars

        return variance_bars(self, ax=ax)


def _decompose(multiboot, base, expt, kwargs, joint, rngs: _RngStream) -> VarianceDecomposition:
    seeds_only = multiboot(base, expt, sample_examples=False, rng=rngs.child(), **kwargs)
    examples_only = multiboot(base, expt, sample_seeds=False, rng=rngs.child(), **kwargs)
    q = _quantity(joint)
    n = joint.n_seeds
    if isinstance(n, dict):
        side = "expt" if q == "delta" and kwargs.get("design") == "fixed_baseline" else None
        n = n[side] if side else min(n.values())
    return VarianceDecomposition(
        quantity=q,
        joint=float(np.var(_dist(joint), ddof=1)),
        seeds=float(np.var(_dist(seeds_only), ddof=1)),
        examples=float(np.var(_dist(examples_only), ddof=1)),
        n_seeds=int(n), confidence_level=float(joint.confidence_level),
        results={"joint": joint, "seeds": seeds_only, "examples": examples_only},
        warnings=_dedupe(joint.warnings),
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
    >>> from multiberts_stats.testing_tables import synthetic_table  # doctest: +SKIP
    >>> variance_decomposition(synthetic_table(), nboot=200, rng=0).to_frame()  # doctest: +SKIP
    """
    func = "variance_decomposition"
    _check_table(base, "base", func, seed_col)
    if expt is not None:
        _check_table(expt, "expt", func, seed_col)
    mine: list[str] = []
    if expt is not None:
        base, expt = _common_examples(base, expt, func, mine)
    multiboot = _multiboot()
    kw = dict(design=design, metric=metric, seed_col=seed_col, cluster_col=cluster_col,
              nboot=_check_nboot(nboot, func), confidence_level=confidence_level, **kwargs)
    rngs = _RngStream(rng)
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        joint = multiboot(base, expt, rng=rngs.first(), **kw)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")  # the same warnings again, for the one-axis calls
        out = _decompose(multiboot, base, expt, kw, joint, rngs)
    out.warnings = _dedupe(list(out.warnings) + [str(w.message) for w in caught] + mine)
    for w in out.warnings:
        _warnings.warn(w, UserWarning, stacklevel=2)
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
        return _pvalue(self.procedure, self.null)

    @property
    def procedure_verdict(self) -> str:
        return _verdict(*self.procedure_ci, self.null)

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
        out = [_md_warnings(self.warnings)] if self.warnings else []
        if self.labels:
            out.append("".join(f"- **{k}**: `{v}`\n" for k, v in self.labels.items()))
        what = {"delta": "difference (expt − base)", "base": "score"}[self.quantity]
        out.append(f"**Procedure level** ({what}, {self.metric}, design `{self.design}`, "
                   f"{self.confidence_level:.0%} Multi-Bootstrap interval over seeds and "
                   f"examples, nboot={self.nboot}): **{self.procedure_estimate:.4g}** "
                   f"[{lo:.4g}, {hi:.4g}], two-sided p = {self.procedure_pvalue:.3g} — "
                   f"**{self.procedure_verdict}**.\n")
        out.append(f"**{self.flag}**\n")
        out.append("Verdict:\n\n" + _md_table(self.verdict) + "\n")
        if figure:
            out.append(f"![forest plot]({figure})\n")
        out.append("Artifact level (examples-only interval per seed):\n\n"
                   + _md_table(self.artifacts) + "\n")
        if self.decomposition is not None:
            out.append("Uncertainty decomposition (bootstrap variance of the "
                       f"{self.quantity}):\n\n" + self.decomposition.to_markdown())
        return "\n".join(out)

    def plot(self, ax=None, **kw):
        """Forest plot: per-artifact intervals and the procedure interval."""
        from multiberts_stats.plotting import forest_plot

        return forest_plot(self, ax=ax, **kw)


def _check_defined(metric: str, table: pd.DataFrame, side: str, seed_col: str, func: str):
    """A clear error when the metric is undefined (NaN) on a seed's full data."""
    from multiberts_stats.metrics import compute_metric, get_metric

    spec = get_metric(metric)
    missing = [c for c in spec.columns if c not in table.columns]
    if missing:
        raise ValueError(f"The metric {metric!r} of {func} needs the column(s) {missing}; the "
                         f"`{side}` table has {list(table.columns)}.")
    bad = {}
    for seed, g in table.groupby(seed_col, sort=True):
        runs = [c for c in RUN_COLS if c in g.columns and c != seed_col]
        groups = g.groupby(runs, dropna=False) if runs else [((), g)]
        vals = [compute_metric(metric, r) for _, r in groups]
        if any(not np.isfinite(v) for v in vals):
            bad[seed] = vals
    if bad:
        raise ValueError(
            f"The metric {metric!r} of {func} is undefined (NaN) on the full data of seed(s) "
            f"{sorted(bad)} of the `{side}` table, e.g. a correlation of constant values "
            "(for winogender_bias_r: the predictions do not depend on the pronoun's gender, so "
            "every occupation's bias is the same). Pick a metric defined on every seed.")


def _seed_values(df: pd.DataFrame, seed_col: str) -> list:
    return sorted(pd.unique(df[seed_col]).tolist())


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

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [dict(pretrain_seed=s, step=st, example_id=str(i), label=1,
    ...              prediction=float(rng.random() < 0.6 + 0.1 * (st > 0)))
    ...         for s in range(5) for st in (0, 1) for i in range(300)]
    >>> t = pd.DataFrame(rows)
    >>> rep = artifact_vs_procedure(t[t.step == 0], t[t.step == 1], design="paired",
    ...                             nboot=200, rng=1)  # doctest: +SKIP
    >>> rep.procedure_verdict  # doctest: +SKIP
    'positive'
    """
    func = "artifact_vs_procedure"
    _check_table(base, "base", func, seed_col)
    if expt is not None:
        _check_table(expt, "expt", func, seed_col)
    if design not in _DESIGNS:
        raise ValueError(f"The `design` parameter of {func} must be one of {list(_DESIGNS)}. "
                         f"Got {design!r} instead.")
    alpha = _check_alpha(alpha, func)
    nboot = _check_nboot(nboot, func)
    if expt is None and design is not None:
        raise ValueError(f"The `design` parameter of {func} must be None when `expt` is None "
                         f"(one procedure alone). Got {design!r} instead.")
    mine: list[str] = []
    if expt is not None:
        base, expt = _common_examples(base, expt, func, mine)
        common_seeds = sorted(set(_seed_values(base, seed_col)) & set(_seed_values(expt, seed_col)))
        if design is None:
            design = "paired" if common_seeds else "unpaired"
        if design == "paired" and not common_seeds:
            raise ValueError(f"The `design` parameter of {func} is 'paired', which needs seeds "
                             f"present on both sides. Got base seeds {_seed_values(base, seed_col)} "
                             f"and expt seeds {_seed_values(expt, seed_col)} instead.")
        if design == "paired":
            only = sorted(set(_seed_values(base, seed_col)) ^ set(_seed_values(expt, seed_col)))
            if only:
                mine.append(f"Paired design: seeds {only} are present on one side only and are "
                            "left out of the paired analysis.")
    confidence_level = 1.0 - alpha
    if isinstance(metric, str):
        _check_defined(metric, base, "base", seed_col, func)
        if expt is not None:
            _check_defined(metric, expt, "expt", seed_col, func)
    multiboot = _multiboot()
    kw = dict(design=design, metric=metric, seed_col=seed_col, cluster_col=cluster_col,
              nboot=nboot, confidence_level=confidence_level, **kwargs)
    rngs = _RngStream(rng)
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        procedure = multiboot(base, expt, rng=rngs.first(), **kw)
    proc_warnings = _dedupe(list(getattr(procedure, "warnings", []) or [])
                            + [str(w.message) for w in caught])

    # artifact level -------------------------------------------------------------------------
    pairs: list[tuple[str, Any, Any]] = []   # (label, base seed or None, expt seed or None)
    if expt is None:
        pairs = [(f"seed {s}", s, None) for s in _seed_values(base, seed_col)]
    elif design == "paired":
        pairs = [(f"seed {s}", s, s) for s in common_seeds]
    elif design == "fixed_baseline":
        pairs = [(f"seed {s} vs baseline", None, s) for s in _seed_values(expt, seed_col)]
    else:
        bs, es = _seed_values(base, seed_col), _seed_values(expt, seed_col)
        if len(bs) * len(es) <= max_artifact_pairs:
            pairs = [(f"base {b} vs expt {e}", b, e) for b in bs for e in es]
        else:
            pairs = [(f"base {b} vs expt {e}", b, e) for b, e in zip(bs, es)]
            mine.append(f"Unpaired design with {len(bs)} x {len(es)} seeds: more than "
                        f"max_artifact_pairs={max_artifact_pairs} artifact pairs, so the i-th "
                        "base seed is compared with the i-th expt seed only.")
    art_kw = dict(kw)
    art_kw["design"] = {None: None, "paired": "paired", "unpaired": "unpaired",
                        "fixed_baseline": "fixed_baseline"}[design]
    rows, results = [], {}
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        for label, b, e in _progress(pairs, len(pairs), "artifacts", quiet):
            bsub = base if b is None else base[base[seed_col] == b]
            esub = None if expt is None else (expt if e is None else expt[expt[seed_col] == e])
            r = multiboot(bsub, esub, sample_seeds=False, rng=rngs.child(), **art_kw)
            q = _quantity(r)
            lo, hi = r.ci[q]
            rows.append({"artifact": label, "base_seed": b, "expt_seed": e,
                         "estimate": float(r.estimate[q]), "low": float(lo), "high": float(hi),
                         "p_value": _pvalue(r, null), "verdict": _verdict(lo, hi, null)})
            results[label] = r
    artifacts = pd.DataFrame(rows)
    if expt is None:
        artifacts = artifacts.drop(columns=["expt_seed"]).rename(columns={"base_seed": "seed"})
    elif design == "paired":
        artifacts = artifacts.drop(columns=["expt_seed"]).rename(columns={"base_seed": "seed"})
    elif design == "fixed_baseline":
        artifacts = artifacts.drop(columns=["base_seed"]).rename(columns={"expt_seed": "seed"})

    # verdict -----------------------------------------------------------------------------------
    quantity = _quantity(procedure)
    lo, hi = procedure.ci[quantity]
    pv = _verdict(lo, hi, null)
    counts = artifacts["verdict"].value_counts()
    n_pos, n_neg, n_none = (int(counts.get(k, 0)) for k in ("positive", "negative", "none"))
    n_art = len(artifacts)
    verdict = pd.DataFrame([{"n_artifacts": n_art, "n_positive": n_pos, "n_negative": n_neg,
                             "n_none": n_none, "procedure": pv,
                             "procedure_low": float(lo), "procedure_high": float(hi)}])
    what = "effect" if quantity == "delta" else f"difference from {null:g}"
    unit = "artifact" if design != "unpaired" else "artifact pair"
    differ = artifacts[artifacts["verdict"] != pv]
    disagrees = len(differ) > 0
    names = {"positive": "a significant positive " + what,
             "negative": "a significant negative " + what,
             "none": "no significant " + what}
    if not disagrees:
        flag = (f"Consistent: every single-{unit} analysis ({n_art}) concludes as the procedure "
                f"does ({names[pv]}).")
    else:
        parts = [f"{int((differ['verdict'] == k).sum())} of {n_art} would conclude {names[k]}"
                 for k in ("positive", "negative", "none") if (differ["verdict"] == k).any()]
        examples = ", ".join(differ["artifact"].astype(str).head(5))
        if pv == "none":
            head = (f"Artifact-level finding only: the procedure-level interval includes "
                    f"{null:g}, so the {what} is not established for the procedure, but ")
        else:
            head = (f"Single-artifact analyses disagree with the procedure ({names[pv]}): ")
        flag = head + "; ".join(parts) + f" (e.g. {examples})."
    decomposition = None
    if decompose:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            decomposition = _decompose(multiboot, base, expt, kw, procedure, rngs)
    all_warnings = _dedupe(proc_warnings + mine)
    if decomposition is not None:
        decomposition.warnings = list(all_warnings)
    for w in all_warnings:
        _warnings.warn(w, UserWarning, stacklevel=2)
    return ArtifactProcedureReport(
        design=design, metric=metric if isinstance(metric, str) else getattr(metric, "__name__",
                                                                               str(metric)),
        quantity=quantity, null=float(null), alpha=alpha, confidence_level=confidence_level,
        nboot=nboot, procedure=procedure, artifacts=artifacts, artifact_results=results,
        verdict=verdict, disagrees=disagrees, flag=flag, decomposition=decomposition,
        warnings=all_warnings, labels=dict(labels or {}))


# --------------------------------------------------------------------------------------------
# learning curves
# --------------------------------------------------------------------------------------------

@dataclass
class LearningCurve:
    """A metric per pretraining step with procedure-level bands and corrected comparisons.

    Attributes
    ----------
    curve : DataFrame
        One row per group and step: ``estimate``, ``low``, ``high`` (Multi-Bootstrap over seeds
        and examples), ``n_seeds``.
    comparisons : DataFrame
        Paired comparisons (``kind`` = ``previous`` for step-to-step, ``final`` for step vs the
        final step): ``delta``, ``low``, ``high``, ``p_value`` (two-sided), ``p_adjusted``
        (corrected across every comparison of that kind, over steps and groups), ``significant``.
    within_eps : DataFrame or None
        Per group, ``step_within_eps``: the first step from which the procedure-level interval of
        (step - final) lies inside [-eps, eps] at this and every later step (an equivalence test
        at level ``alpha`` with the ``1 - 2 alpha`` interval, intersection-union over steps).
    """

    metric: str
    group_cols: list
    curve: pd.DataFrame
    comparisons: pd.DataFrame
    within_eps: pd.DataFrame | None
    correction: str
    alpha: float
    eps: float | None
    nboot: int
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        df = self.curve.copy()
        df.attrs["warnings"] = list(self.warnings)
        return df

    def to_markdown(self) -> str:
        out = [_md_warnings(self.warnings)] if self.warnings else []
        out.append(f"Learning curve of {self.metric} ({1 - self.alpha:.0%} Multi-Bootstrap bands "
                   f"over seeds and examples, nboot={self.nboot}):\n\n" + _md_table(self.curve))
        if len(self.comparisons):
            out.append(f"\nPaired step comparisons ({self.correction} correction across steps and "
                       "groups, per kind):\n\n" + _md_table(self.comparisons))
        if self.within_eps is not None:
            out.append(f"\nFirst step within ε = {self.eps:g} of the final value, for the "
                       "procedure:\n\n" + _md_table(self.within_eps))
        return "\n".join(out) + "\n"

    def plot(self, ax=None, **kw):
        from multiberts_stats.plotting import learning_curve_plot

        return learning_curve_plot(self, ax=ax, **kw)


def _default_groups(table: pd.DataFrame, step_col: str) -> list[str]:
    cands = ["family", "task", "split", "method", "layer", "hparams"]
    return [c for c in cands if c in table.columns and c != step_col
            and table[c].nunique(dropna=False) > 1]


def _group_label(keys: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in keys.items()) or "all"


def learning_curve(table, *, metric="accuracy", step_col="step", group_cols=None,
                   seed_col="pretrain_seed", cluster_col=None, nboot=1000, rng=None, alpha=0.05,
                   correction="holm", compare=("previous", "final"), eps=None, quiet=True,
                   **kwargs) -> LearningCurve:
    """Learning dynamics over intermediate checkpoints, for the procedure.

    Parameters
    ----------
    table : DataFrame
        Tidy predictions over several steps (e.g. the MultiBERTs seeds 0-4 at steps 0-2000k).
    metric : str or callable
    step_col : str
        Column of the pretraining step.
    group_cols : list of str, optional
        One curve per value of these columns (e.g. ``["task", "layer"]``). Default: those of
        family, task, split, method, layer, hparams that vary in ``table``.
    seed_col, cluster_col, nboot, rng
        As :func:`artifact_vs_procedure`.
    alpha : float
        Level of the bands (``1 - alpha``) and of the tests.
    correction : {"holm", "bh", "bonferroni", "by"}
        Applied to all comparisons of one kind across steps and groups.
    compare : sequence of {"previous", "final"}
        Paired step-to-step and/or step-vs-final comparisons (same seeds at both steps).
    eps : float, optional
        Tolerance for "from which step is the curve within eps of its final value".
    quiet : bool

    Returns
    -------
    LearningCurve

    Examples
    --------
    >>> lc = learning_curve(table, metric="accuracy", group_cols=["layer"], nboot=500,
    ...                     eps=0.01, rng=0)  # doctest: +SKIP
    >>> lc.within_eps  # doctest: +SKIP
    """
    func = "learning_curve"
    _check_table(table, "table", func, seed_col)
    if step_col not in table.columns:
        raise ValueError(f"The `step_col` parameter of {func} must name a column of `table`. "
                         f"Got {step_col!r}; the columns are {list(table.columns)}.")
    alpha = _check_alpha(alpha, func)
    nboot = _check_nboot(nboot, func)
    adjust_pvalues([0.5], correction)  # validates the name
    compare = tuple(compare)
    bad = [c for c in compare if c not in ("previous", "final")]
    if bad:
        raise ValueError(f"The `compare` parameter of {func} must hold 'previous' and/or 'final'. "
                         f"Got {bad} instead.")
    if eps is not None and not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"The `eps` parameter of {func} must be a positive number. "
                         f"Got {eps!r} instead.")
    if group_cols is None:
        group_cols = _default_groups(table, step_col)
    group_cols = list(group_cols)
    multiboot = _multiboot()
    kw = dict(metric=metric, seed_col=seed_col, cluster_col=cluster_col, nboot=nboot,
              confidence_level=1 - alpha, **kwargs)
    rngs = _RngStream(rng)
    first = True
    groups = list(table.groupby(group_cols, dropna=False, sort=True)) if group_cols else [((), table)]
    curve_rows, comp_rows, eps_rows, warns = [], [], [], []
    n_calls = sum(g[step_col].nunique() * (1 + len(compare)) for _, g in groups)
    bar = None
    if not quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_calls, desc="learning curve", file=sys.stderr, leave=False)

    def call(b, e=None, design=None):
        nonlocal first
        r = multiboot(b, e, design=design, rng=rngs.first() if first else rngs.child(), **kw)
        first = False
        warns.extend(getattr(r, "warnings", []) or [])
        if bar is not None:
            bar.update(1)
        return r

    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        for key, g in groups:
            key = key if isinstance(key, tuple) else (key,)
            keys = dict(zip(group_cols, key))
            steps = sorted(pd.unique(g[step_col]).tolist())
            by_step = {s: g[g[step_col] == s] for s in steps}
            for s in steps:
                r = call(by_step[s])
                lo, hi = r.ci["base"]
                ns = r.n_seeds["base"] if isinstance(r.n_seeds, dict) else r.n_seeds
                curve_rows.append({**keys, step_col: s, "estimate": float(r.estimate["base"]),
                                   "low": float(lo), "high": float(hi), "n_seeds": int(ns)})
            final = steps[-1]
            todo = []
            if "previous" in compare:
                todo += [("previous", a, b) for a, b in zip(steps[:-1], steps[1:])]
            if "final" in compare:
                todo += [("final", s, final) for s in steps[:-1]]
            equiv = {}
            for kind, a, b in todo:
                ba, bb = _common_examples(by_step[a], by_step[b], func, warns)
                r = call(ba, bb, design="paired")
                lo, hi = r.ci["delta"]
                comp_rows.append({**keys, "kind": kind, "step_a": a, "step_b": b,
                                  "delta": float(r.estimate["delta"]), "low": float(lo),
                                  "high": float(hi), "p_value": _pvalue(r, 0.0)})
                if kind == "final" and eps is not None:
                    d = np.asarray(r.delta_distribution, float)
                    q = np.quantile(d, [alpha, 1 - alpha])
                    equiv[a] = bool(q[0] > -eps and q[1] < eps)
            if eps is not None:
                if "final" not in compare:
                    raise ValueError(f"The `eps` parameter of {func} needs 'final' in `compare`. "
                                     f"Got compare={compare} instead.")
                within = final
                for s in reversed(steps[:-1]):
                    if equiv.get(s):
                        within = s
                    else:
                        break
                eps_rows.append({**keys, "final_step": final, "step_within_eps": within,
                                 "eps": float(eps)})
    if bar is not None:
        bar.close()
    warns.extend(str(w.message) for w in caught)
    comparisons = pd.DataFrame(comp_rows, columns=list(group_cols) + [
        "kind", "step_a", "step_b", "delta", "low", "high", "p_value"])
    comparisons["p_adjusted"] = np.nan
    for kind in comparisons["kind"].unique():
        m = comparisons["kind"] == kind
        comparisons.loc[m, "p_adjusted"] = adjust_pvalues(comparisons.loc[m, "p_value"].to_numpy(),
                                                          correction)
    comparisons["significant"] = comparisons["p_adjusted"] <= alpha
    for kind in comparisons["kind"].unique():
        m = int((comparisons["kind"] == kind).sum())
        floor = float(adjust_pvalues(np.full(m, 2.0 / nboot).clip(max=1.0), correction).min())
        if floor > alpha:
            warns.append(f"With nboot={nboot} the smallest two-sided bootstrap p-value is about "
                         f"{2 / nboot:.3g}; after the {correction} correction over {m} '{kind}' "
                         f"comparisons none can reach alpha={alpha:g}. Increase nboot.")
    for w in _dedupe(warns):
        _warnings.warn(w, UserWarning, stacklevel=2)
    return LearningCurve(metric=metric if isinstance(metric, str) else str(metric),
                         group_cols=group_cols, curve=pd.DataFrame(curve_rows),
                         comparisons=comparisons,
                         within_eps=pd.DataFrame(eps_rows) if eps is not None else None,
                         correction=correction, alpha=alpha, eps=eps, nboot=nboot,
                         warnings=_dedupe(warns))


# --------------------------------------------------------------------------------------------
# agreement
# --------------------------------------------------------------------------------------------

def cohen_kappa(a, b) -> float:
    """Cohen's kappa between two label vectors (as ``sklearn.metrics.cohen_kappa_score``).

    Examples
    --------
    >>> round(cohen_kappa([0, 1, 1, 0], [0, 1, 0, 0]), 3)
    0.5
    """
    a, b = np.asarray(a), np.asarray(b)
    classes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    k, n = len(classes), len(a)
    cm = np.zeros((k, k))
    np.add.at(cm, (inv[:n], inv[n:]), 1)
    po = np.trace(cm) / n
    pe = (cm.sum(0) @ cm.sum(1)) / n**2
    return float((po - pe) / (1 - pe)) if pe < 1 else 1.0


@dataclass
class Agreement:
    """Instance-level agreement between seeds (and runs).

    Attributes
    ----------
    per_example : DataFrame
        ``example_id``, ``label``, ``share_seeds_correct`` (mean over seeds of the share of the
        seed's runs that are right), ``share_runs_correct``, ``n_seeds``, ``n_runs``, ``flips``
        (the seeds' predictions are not all equal).
    n_examples, n_flipping : int
    kappa : DataFrame
        Pairwise Cohen's kappa between the seeds' predictions (seeds x seeds).
    seed_sensitive : DataFrame
        Examples some seeds get right and others wrong, most contested first.
    """

    per_example: pd.DataFrame
    kappa: pd.DataFrame
    n_examples: int
    n_flipping: int
    seed_sensitive: pd.DataFrame
    warnings: list = field(default_factory=list)

    @property
    def share_flipping(self) -> float:
        return self.n_flipping / self.n_examples if self.n_examples else float("nan")

    @property
    def mean_kappa(self) -> float:
        k = self.kappa.to_numpy()
        off = k[~np.eye(len(k), dtype=bool)]
        return float(np.mean(off)) if off.size else float("nan")

    def to_frame(self) -> pd.DataFrame:
        df = self.per_example.copy()
        df.attrs["warnings"] = list(self.warnings)
        return df

    def to_markdown(self, top: int = 10) -> str:
        out = [_md_warnings(self.warnings)] if self.warnings else []
        out.append(f"{self.n_flipping} of {self.n_examples} examples "
                   f"({self.share_flipping:.1%}) get different predictions from different seeds; "
                   f"mean pairwise Cohen's kappa between seeds {self.mean_kappa:.3f}.\n")
        s = self.per_example["share_seeds_correct"]
        out.append(f"Examples every seed gets right: {int((s == 1).sum())}; none: "
                   f"{int((s == 0).sum())}; seed-sensitive: {len(self.seed_sensitive)}.\n")
        if len(self.seed_sensitive):
            out.append(f"Most seed-sensitive examples (top {top}):\n\n"
                       + _md_table(self.seed_sensitive.head(top)) + "\n")
        return "\n".join(out)

    def plot(self, ax=None):
        from multiberts_stats.plotting import agreement_histogram

        return agreement_histogram(self, ax=ax)


def agreement(table, *, seed_col="pretrain_seed", run_cols=None, extra_cols=None) -> Agreement:
    """Per-example agreement between seeds: who gets what right, flips, Cohen's kappa.

    Parameters
    ----------
    table : DataFrame
        Tidy predictions of one condition (one task, method, layer, step): several seeds,
        possibly several runs (fine-tuning seeds) per seed, the same examples.
    seed_col : str
    run_cols : list of str, optional
        Columns identifying a run inside a seed; default the run columns present.
    extra_cols : list of str, optional
        Per-example columns to carry into ``per_example`` (e.g. ``["sentence"]``).

    Returns
    -------
    Agreement

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame(dict(pretrain_seed=[0, 0, 1, 1], example_id=["a", "b", "a", "b"],
    ...                       label=[1, 0, 1, 0], prediction=[1, 0, 1, 1]))
    >>> a = agreement(t)
    >>> a.n_flipping, a.per_example.share_seeds_correct.tolist()
    (1, [1.0, 0.5])
    """
    func = "agreement"
    _check_table(table, "table", func, seed_col)
    for c in ("label", "prediction"):
        if c not in table.columns:
            raise ValueError(f"The `table` of {func} must have a {c!r} column. "
                             f"Got columns {list(table.columns)} instead.")
    for c in ("task", "method", "layer", "step", "split"):
        if c in table.columns and table[c].nunique(dropna=False) > 1:
            raise ValueError(f"The `table` of {func} must hold one condition; select one {c} "
                             f"first. Got {c} values {sorted(map(str, table[c].unique()))}.")
    if run_cols is None:
        run_cols = [c for c in RUN_COLS if c in table.columns and c != seed_col]
    t = table.assign(_correct=(table["prediction"] == table["label"]).astype(float))
    seeds = sorted(pd.unique(t[seed_col]).tolist())
    if len(seeds) < 2:
        raise ValueError(f"agreement needs at least two seeds in column {seed_col!r}. "
                         f"Got {seeds} instead.")
    per_seed = t.groupby([seed_col, "example_id"], sort=True)["_correct"].mean().unstack(seed_col)
    counts = t.groupby("example_id").agg(
        label=("label", "first"), share_runs_correct=("_correct", "mean"),
        n_runs=("_correct", "size"))
    # seed-level prediction: the most frequent prediction among the seed's runs (ties: smallest)
    mode = (t.groupby([seed_col, "example_id", "prediction"]).size().rename("n").reset_index()
            .sort_values(["n", "prediction"], ascending=[False, True])
            .drop_duplicates([seed_col, "example_id"])
            .pivot(index="example_id", columns=seed_col, values="prediction"))
    missing = int(mode.isna().sum().sum())
    warns = []
    if missing:
        warns.append(f"{missing} (seed, example) cells have no prediction; kappa uses the "
                     "examples every pair of seeds shares.")
    per = pd.DataFrame({
        "example_id": per_seed.index,
        "label": counts.loc[per_seed.index, "label"].to_numpy(),
        "share_seeds_correct": per_seed.mean(axis=1).to_numpy(),
        "share_runs_correct": counts.loc[per_seed.index, "share_runs_correct"].to_numpy(),
        "n_seeds": per_seed.notna().sum(axis=1).to_numpy(),
        "n_runs": counts.loc[per_seed.index, "n_runs"].to_numpy(),
        "flips": (mode.loc[per_seed.index].nunique(axis=1) > 1).to_numpy(),
    })
    if extra_cols:
        ex = table.drop_duplicates("example_id").set_index("example_id")[list(extra_cols)]
        per = per.join(ex, on="example_id")
    kap = np.ones((len(seeds), len(seeds)))
    for i, a in enumerate(seeds):
        for j in range(i + 1, len(seeds)):
            b = seeds[j]
            both = mode[[a, b]].dropna()
            kap[i, j] = kap[j, i] = cohen_kappa(both[a].to_numpy(), both[b].to_numpy())
    kappa = pd.DataFrame(kap, index=pd.Index(seeds, name=seed_col),
                         columns=pd.Index(seeds, name=seed_col))
    s = per["share_seeds_correct"]
    sens = per[(s > 0) & (s < 1)].assign(_d=(s - 0.5).abs()).sort_values(
        ["_d", "example_id"]).drop(columns="_d").reset_index(drop=True)
    return Agreement(per_example=per, kappa=kappa, n_examples=len(per),
                     n_flipping=int(per["flips"].sum()), seed_sensitive=sens, warnings=warns)


# --------------------------------------------------------------------------------------------
# filters and the CLI
# --------------------------------------------------------------------------------------------

def parse_filter(text: str, param: str = "--base") -> dict:
    """Parse ``"step=2000,task=sst2"`` into ``{"step": "2000", "task": "sst2"}``.

    A value may list alternatives with ``|``: ``layer=3|4``.

    Examples
    --------
    >>> parse_filter("step=2000,task=sst2")
    {'step': '2000', 'task': 'sst2'}
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"The `{param}` filter must look like 'column=value[,column=value...]'. "
                         f"Got {text!r} instead.")
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise ValueError(f"The `{param}` filter must look like 'column=value[,column=value...]'."
                             f" Got the part {part!r} in {text!r} instead.")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _coerce(series: pd.Series, value: str):
    if pd.api.types.is_numeric_dtype(series.dtype):
        try:
            f = float(value)
            return int(f) if f.is_integer() else f
        except ValueError:
            raise ValueError(f"Column {series.name!r} is numeric; the filter value {value!r} is "
                             "not a number.") from None
    return value


def select(table: pd.DataFrame, filt: dict, param: str = "--base") -> pd.DataFrame:
    """Rows of ``table`` whose columns equal the filter's values; errors say what exists."""
    mask = pd.Series(True, index=table.index)
    for k, v in filt.items():
        if k not in table.columns:
            raise ValueError(f"The `{param}` filter names column {k!r}, which the table does not "
                             f"have. Columns: {list(table.columns)}.")
        alts = [_coerce(table[k], x) for x in str(v).split("|")]
        if str(v).lower() in ("null", "none", "nan"):
            mask &= table[k].isna()
        else:
            mask &= table[k].isin(alts)
        if not mask.any():
            found = sorted(map(str, table.loc[table.index, k].dropna().unique()))[:20]
            raise ValueError(f"The `{param}` filter {k}={v} selects no rows. Values of {k!r} in "
                             f"the store: {found}.")
    return table[mask]


def _read_store(path) -> pd.DataFrame:
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"The STORE argument must be an existing store folder. Got "
                                f"{str(p)!r}, which does not exist.")
    from multiberts_stats.store import read_predictions

    table = read_predictions(p)
    if table is None or len(table) == 0:
        found = "no Parquet files"
        try:
            from multiberts_stats.store import Store

            st = Store(p, create=False).status()
            found = (f"{len(st['done'])} done, {len(st['failed'])} failed, "
                     f"{len(st['running'])} running and {len(st['pending'])} pending jobs")
            if st.get("errors"):
                k, e = next(iter(st["errors"].items()))
                found += f"; e.g. job {k} failed with: {str(e)[:200]}"
        except Exception:
            pass
        raise ValueError(f"The store {str(p)!r} has no finished jobs (no prediction rows): found "
                         f"{found}. Run the experiment (`multiberts-stats run`) or see "
                         "`multiberts-stats status STORE`.")
    return table


def task_metric(task: str, table: pd.DataFrame | None = None) -> str:
    """The metric a report uses for a task.

    The registry's Winogender bias correlation when the task has it (the MultiBERTs measure),
    otherwise the task's primary metric; a guess from the columns for unregistered tasks.
    """
    try:
        from multiberts_stats.tasks import get_task

        ms = list(getattr(get_task(task), "metrics", ()) or ())
        if "winogender_bias_r" in ms:
            return "winogender_bias_r"
        if ms:
            return ms[0]
    except Exception:
        pass
    if table is not None and {"gender", "occupation", "bls_pct_female"} <= set(table.columns):
        return "winogender_bias_r"
    return "accuracy"


def pronoun_preference_table(table: pd.DataFrame) -> pd.DataFrame:
    """Winogender rows recast for the ``pearson`` metric: ``label`` = share of women in the
    occupation (BLS / 100), ``prediction`` = log p(she) − log p(he) in the pronoun slot.

    A gender-association measure defined for any masked LM (the paper's ``winogender_bias_r``
    needs coreference decisions that depend on the pronoun's gender).
    """
    missing = [c for c in ("p_female", "p_male", "bls_pct_female") if c not in table.columns]
    if missing:
        raise ValueError(f"pronoun_preference_table needs the column(s) {missing} (zero-shot "
                         "Winogender scored with pronoun preferences). Got columns "
                         f"{list(table.columns)}.")
    out = table.copy()
    out["label"] = out["bls_pct_female"].astype(float) / 100.0
    with np.errstate(divide="ignore"):
        out["prediction"] = np.log(out["p_female"].astype(float)) - np.log(
            out["p_male"].astype(float))
    return out


def task_cluster(task: str, table: pd.DataFrame | None, metric: str) -> str | None:
    """The resampling cluster column: the tidy ``cluster`` column when it groups examples
    (Winogender occupations, the sentences of POS tokens), else the task's unit column."""
    if table is not None and "cluster" in table.columns and "example_id" in table.columns:
        c = table["cluster"].astype(str)
        if c.notna().all() and (c != table["example_id"].astype(str)).any():
            return "cluster"
    col = None
    try:
        from multiberts_stats.tasks import get_task

        col = getattr(get_task(task), "cluster_column", None)
    except Exception:
        pass
    if col is None and isinstance(metric, str) and metric.startswith("winogender"):
        col = "occupation"
    if col is not None and table is not None and col not in table.columns:
        return None
    return col


def _check_metric_columns(metric: str, table: pd.DataFrame, where: str):
    from multiberts_stats.metrics import get_metric

    spec = get_metric(metric)
    missing = [c for c in spec.columns if c not in table.columns or table[c].isna().all()]
    if missing:
        tasks = sorted(map(str, table["task"].unique())) if "task" in table.columns else []
        raise ValueError(f"The metric {metric!r} needs the column(s) {missing}, which the {where} "
                         f"rows (task {tasks}) do not have. Pick a metric this task has, e.g. "
                         f"{task_metric(tasks[0], table) if tasks else 'accuracy'!r}.")


def cli_compare(argv: list[str]) -> int:
    """``multiberts-stats compare STORE --base FILTER --expt FILTER ...``."""
    import argparse

    ap = argparse.ArgumentParser(
        prog="multiberts-stats compare",
        description="Artifact-vs-procedure comparison of two selections of a store (or one "
                    "selection alone). Filters select rows by column values, e.g. "
                    "'step=2000,task=sst2' or 'checkpoint=google/multiberts-seed_0'; "
                    "'layer=3|4' lists alternatives.")
    ap.add_argument("store")
    ap.add_argument("--base", required=True, help="filter selecting the baseline rows")
    ap.add_argument("--expt", help="filter selecting the experiment rows (omit: one procedure)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--paired", dest="design", action="store_const", const="paired")
    g.add_argument("--unpaired", dest="design", action="store_const", const="unpaired")
    g.add_argument("--fixed-baseline", dest="design", action="store_const", const="fixed_baseline")
    ap.add_argument("--metric", help="metric name (default: the task's)")
    ap.add_argument("--nboot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--seed-col", default="pretrain_seed")
    ap.add_argument("--cluster-col", default=None)
    ap.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    ap.add_argument("--plot", help="also write the forest plot to this PNG file")
    args = ap.parse_args(argv)
    try:
        table = _read_store(args.store)
        base = select(table, parse_filter(args.base, "--base"), "--base")
        expt = None
        if args.expt:
            expt = select(table, parse_filter(args.expt, "--expt"), "--expt")
        tasks = sorted(map(str, base["task"].unique())) if "task" in base.columns else []
        metric = args.metric or task_metric(tasks[0] if tasks else "", base)
        _check_metric_columns(metric, base, "--base")
        if expt is not None:
            _check_metric_columns(metric, expt, "--expt")
        cluster = args.cluster_col
        if cluster is None:
            cluster = task_cluster(tasks[0] if tasks else "", base, metric)
        design = args.design if expt is not None else None
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")  # printed below from the report
            rep = artifact_vs_procedure(base, expt, design=design, metric=metric,
                                        seed_col=args.seed_col, cluster_col=cluster,
                                        nboot=args.nboot, rng=args.seed, alpha=args.alpha,
                                        labels={"base": args.base, **({"expt": args.expt}
                                                                      if args.expt else {})})
    except (ValueError, TypeError, FileNotFoundError, KeyError) as e:
        print(f"multiberts-stats compare: error: {e}", file=sys.stderr)
        return 2
    for w in rep.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(rep.to_dict(), indent=2, default=str))
    elif args.format == "markdown":
        print(rep.to_markdown())
    else:
        print(rep.summary())
        print()
        print(rep.artifacts.to_string(index=False))
    if args.plot:
        from multiberts_stats.plotting import forest_figsize, new_axes

        ax = rep.plot(ax=new_axes(forest_figsize(len(rep.artifacts))))
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
    return 0


def cli_report(argv: list[str]) -> int:
    """``multiberts-stats report STORE -o DIR [--format md|html]``."""
    import argparse

    ap = argparse.ArgumentParser(
        prog="multiberts-stats report",
        description="Write a Markdown (or HTML) report with PNG figures for every task and "
                    "method in a store: procedure estimates, per-seed forest plots, learning "
                    "curves when there are several steps, and instance-level agreement.")
    ap.add_argument("store")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--format", choices=["md", "html"], default="md")
    ap.add_argument("--nboot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    try:
        table = _read_store(args.store)
        path = write_report(table, args.out, fmt=args.format, nboot=args.nboot, rng=args.seed,
                            alpha=args.alpha, quiet=args.quiet, title=f"Store {args.store}")
    except (ValueError, TypeError, FileNotFoundError, KeyError) as e:
        print(f"multiberts-stats report: error: {e}", file=sys.stderr)
        return 2
    print(f"Report written to {path}")
    return 0


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------

def _slug(*parts) -> str:
    import re

    s = "_".join(str(p) for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-") or "x"


def write_report(table: pd.DataFrame, out, *, fmt="md", nboot=1000, rng=0, alpha=0.05,
                  quiet=True, title="Multi-Bootstrap report", intro=None,
                  metric_for=None) -> "Path":
    """Write ``report.md`` (or ``report.html``) and PNG figures into ``out``; return its path.

    For every (task, method) of ``table``: procedure-level estimates per step (and layer),
    the artifact-vs-procedure comparison of the last step against the first when there are
    several steps (otherwise of the best layer against layer 0 for probes, otherwise the score
    alone), its forest plot, the variance decomposition, learning curves when there are several
    steps, and agreement between seeds at the last step. Warnings carried by the results
    (e.g. fewer seeds than where coverage held) are written at the top and in each section.
    """
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")  # every warning is written into the report itself
        return _write_report_impl(table, out, fmt=fmt, nboot=nboot, rng=rng, alpha=alpha,
                                  quiet=quiet, title=title, intro=intro, metric_for=metric_for)


def _write_report_impl(table, out, *, fmt, nboot, rng, alpha, quiet, title, intro, metric_for):
    from pathlib import Path

    from multiberts_stats import plotting

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    rngs = _RngStream(rng)
    md = [f"# {title}\n",
          f"Multi-Bootstrap over pretraining seeds and examples (Sellam et al., 2022), "
          f"{1 - alpha:.0%} intervals, nboot={nboot}. *Artifact level*: one examples-only "
          "interval per pretraining seed. *Procedure level*: seeds and examples resampled "
          "jointly.\n"]
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
    for (task, method), g in _progress(groups, len(groups), "report", quiet):
        metric = (metric_for or {}).get(task) or task_metric(task, g)
        try:
            _check_metric_columns(metric, g, f"task {task!r}")
        except ValueError:
            metric = "accuracy"
        cluster = task_cluster(task, g, metric)
        note = ""
        if isinstance(metric, str) and metric.startswith("winogender"):
            try:
                _check_defined(metric, g, "table", "pretrain_seed", "the report")
            except ValueError as e:
                if {"p_female", "p_male", "bls_pct_female"} <= set(g.columns):
                    note = (f"*{metric} is undefined here* ({e}) *The section analyses the "
                            "masked-LM's pronoun preference instead: per sentence log p(she) − "
                            "log p(he), correlated (Pearson r, `pearson`) with the share of "
                            "women in the occupation.*\n")
                    g = pronoun_preference_table(g)
                    metric = "pearson"
                else:
                    md.append(f"\n## {task} — {method} ({metric})\n\n{e}\n")
                    continue
        md.append(f"\n## {task} — {method} ({metric})\n")
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
        md.append(f"### Procedure-level estimates{step_txt}\n\n" + _md_table(est) + "\n")
        best_layer = None if not has_layer else int(est.loc[est["estimate"].idxmax(), "layer"])
        # the headline comparisons
        comps = []
        if len(steps) > 1:
            sel = g if best_layer is None else g[g["layer"] == best_layer]
            labels = {"base": f"step={steps[0]}", "expt": f"step={steps[-1]}"}
            if best_layer is not None:
                labels = {k: v + f", layer={best_layer}" for k, v in labels.items()}
            comps.append((f"Last step vs first step"
                          f"{'' if best_layer is None else f' (layer {best_layer})'}",
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
            f1 = save(rep.plot(ax=ax, title=heading), f"{slug}_{tag}_forest.png")
            md.append(f"### {heading}: artifact vs procedure\n\n" + rep.to_markdown(figure=f1))
            if rep.decomposition is not None:
                f2 = save(rep.decomposition.plot(ax=plotting.new_axes((5.0, 3.5))), f"{slug}_{tag}_variance.png")
                md.append(f"![variance decomposition]({f2})\n")
            if rep.quantity == "delta":
                f3 = save(plotting.bootstrap_distribution_plot(rep.procedure, ax=plotting.new_axes()),
                          f"{slug}_{tag}_bootstrap.png")
                md.append(f"![bootstrap distribution of the difference]({f3})\n")
        # learning curves
        if len(steps) > 1:
            lc = learning_curve(g, metric=metric, group_cols=["layer"] if has_layer else [],
                                cluster_col=cluster, nboot=nboot, rng=rngs.child(), alpha=alpha,
                                compare=("previous", "final"),
                                eps=0.01 if metric in ("accuracy", "error") else None)
            all_warnings += lc.warnings
            f4 = save(lc.plot(ax=plotting.new_axes((7.0, 4.5))), f"{slug}_learning_curve.png")
            md.append("### Learning curve\n\n" + f"![learning curve]({f4})\n\n" + lc.to_markdown())
        # agreement at the last step (best layer)
        if ("label" in g.columns and "prediction" in g.columns
                and metric in ("accuracy", "error", "f1", "macro_f1", "mcc")):
            sel = last if best_layer is None else last[last["layer"] == best_layer]
            if sel["pretrain_seed"].nunique() >= 2:
                ag = agreement(sel)
                f5 = save(ag.plot(ax=plotting.new_axes()), f"{slug}_agreement.png")
                where = "" if best_layer is None else f" (layer {best_layer})"
                md.append(f"### Agreement between seeds{step_txt}{where}\n\n"
                          f"![agreement]({f5})\n\n" + ag.to_markdown())
    ws = _dedupe(all_warnings)
    if ws:
        md.insert(1, _md_warnings(ws))
    text = "\n".join(md)
    if fmt == "html":
        path = out / "report.html"
        path.write_text(_markdown_to_html(text, title), encoding="utf-8")
    else:
        path = out / "report.md"
        path.write_text(text, encoding="utf-8")
    return path


def _markdown_to_html(text: str, title: str) -> str:
    """A small Markdown-to-HTML converter for the report (headings, tables, images, quotes)."""
    import html
    import re

    def inline(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", r'<img alt="\1" src="\2" style="max-width:100%">', s)
        s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", s)
        s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
        return s

    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            head = [c.strip() for c in ln.strip("|").split(" | ")]
            out.append("<table><thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head)
                       + "</tr></thead><tbody>")
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip("|").split(" | ")]
                out.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells) + "</tr>")
                i += 1
            out.append("</tbody></table>")
            continue
        m = re.match(r"^(#{1,6}) (.*)", ln)
        if m:
            n = len(m.group(1))
            out.append(f"<h{n}>{inline(m.group(2))}</h{n}>")
        elif ln.startswith(">"):
            body = ln.lstrip("> ").strip()
            if body:
                out.append(f'<p style="color:#a00;border-left:4px solid #a00;padding-left:8px">'
                           f"{inline(body)}</p>")
        elif ln.startswith("- "):
            out.append(f"<li>{inline(ln[2:])}</li>")
        elif ln.strip():
            out.append(f"<p>{inline(ln)}</p>")
        i += 1
    style = ("body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:"
             "collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")


_write_report = write_report
