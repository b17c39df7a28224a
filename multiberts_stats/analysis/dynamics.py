"""Learning dynamics over intermediate checkpoints, for the procedure.

:func:`learning_curve` gives a metric per pretraining step with procedure-level bands, paired
step-to-step and step-vs-final comparisons with a multiple-comparison correction, and the step
from which a curve stays within ``eps`` of its final value.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from multiberts_stats.bootstrap import multiboot
from multiberts_stats.errors import InputError, SmallNbootWarning

from .common import (
    RngStream,
    WarningLog,
    check_alpha,
    check_nboot,
    check_table,
    common_examples,
    pvalue_of,
)
from .markdown import md_table, md_warnings
from .multiple_testing import adjust_pvalues
from .sides import SideRuns

__all__ = ["LearningCurve", "learning_curve"]


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
        out = [md_warnings(self.warnings)] if self.warnings else []
        out.append(f"Learning curve of {self.metric} ({1 - self.alpha:.0%} Multi-Bootstrap bands "
                   f"over seeds and examples, nboot={self.nboot}):\n\n" + md_table(self.curve))
        if len(self.comparisons):
            out.append(f"\nPaired step comparisons ({self.correction} correction across steps and "
                       "groups, per kind):\n\n" + md_table(self.comparisons))
        if self.within_eps is not None:
            out.append(f"\nFirst step within ε = {self.eps:g} of the final value, for the "
                       "procedure:\n\n" + md_table(self.within_eps))
        return "\n".join(out) + "\n"

    def plot(self, ax=None, **kw):
        from multiberts_stats.plotting import learning_curve_plot

        return learning_curve_plot(self, ax=ax, **kw)


def _default_groups(table: pd.DataFrame, step_col: str) -> list[str]:
    cands = ["family", "task", "split", "method", "layer", "hparams"]
    return [c for c in cands if c in table.columns and c != step_col
            and table[c].nunique(dropna=False) > 1]


def _check_args(table, step_col, seed_col, alpha, nboot, correction, compare, eps, func):
    check_table(table, "table", func, seed_col)
    if step_col not in table.columns:
        raise InputError(f"The `step_col` parameter of {func} must name a column of `table`. "
                         f"Got {step_col!r}; the columns are {list(table.columns)}.")
    alpha = check_alpha(alpha, func)
    nboot = check_nboot(nboot, func)
    adjust_pvalues([0.5], correction)  # validates the name
    compare = tuple(compare)
    bad = [c for c in compare if c not in ("previous", "final")]
    if bad:
        raise InputError(f"The `compare` parameter of {func} must hold 'previous' and/or "
                         f"'final'. Got {bad} instead.")
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, (int, float))
                            or eps <= 0):
        raise InputError(f"The `eps` parameter of {func} must be a positive number. "
                         f"Got {eps!r} instead.")
    if eps is not None and "final" not in compare:
        raise InputError(f"The `eps` parameter of {func} needs 'final' in `compare`. "
                         f"Got compare={compare} instead.")
    return alpha, nboot, compare


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
        As :func:`multiberts_stats.analysis.artifact_vs_procedure`.
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
    >>> import numpy as np, pandas as pd, warnings
    >>> rng = np.random.default_rng(0)
    >>> t = pd.DataFrame([dict(pretrain_seed=s, step=st, example_id=i, label=1,
    ...                        prediction=float(rng.random() < 0.5 + 0.1 * k))
    ...                   for s in range(4) for k, st in enumerate((0, 20, 200))
    ...                   for i in range(200)])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # four seeds: the few-seeds warning
    ...     lc = learning_curve(t, nboot=200, rng=0)
    >>> lc.curve["step"].tolist(), sorted(set(lc.comparisons["kind"]))
    ([0, 20, 200], ['final', 'previous'])
    """
    func = "learning_curve"
    alpha, nboot, compare = _check_args(table, step_col, seed_col, alpha, nboot, correction,
                                        compare, eps, func)
    if group_cols is None:
        group_cols = _default_groups(table, step_col)
    group_cols = list(group_cols)
    kw = dict(metric=metric, seed_col=seed_col, cluster_col=cluster_col, nboot=nboot,
              confidence_level=1 - alpha, **{"quiet": True, **kwargs})
    rngs = RngStream(rng)
    first = True
    groups = list(table.groupby(group_cols, dropna=False, sort=True)) if group_cols else [((), table)]
    curve_rows, comp_rows, eps_rows = [], [], []
    log = WarningLog()
    n_calls = sum(g[step_col].nunique() * (1 + len(compare)) for _, g in groups)
    bar = None
    if not quiet:
        from multiberts_stats._progress import tqdm

        bar = tqdm(total=n_calls, desc="learning curve", file=sys.stderr, leave=False)

    def call(b, e=None, design=None):
        nonlocal first
        r = multiboot(b, e, design=design, rng=rngs.first() if first else rngs.child(), **kw)
        first = False
        log.extend(r.warnings)
        if bar is not None:
            bar.update(1)
        return r

    with log.catch():
        for key, g in groups:
            key = key if isinstance(key, tuple) else (key,)
            keys = dict(zip(group_cols, key))
            steps = sorted(pd.unique(g[step_col]).tolist())
            by_step = {s: g[g[step_col] == s] for s in steps}
            runs = {s: SideRuns.parse(by_step[s], None, kw, caller=func).base for s in steps}
            ids = {s: frozenset(by_step[s]["example_id"]) for s in steps}
            for s in steps:
                r = call(runs[s])
                lo, hi = r.ci["base"]
                ns = r.n_seeds["base"] if isinstance(r.n_seeds, dict) else r.n_seeds
                curve_rows.append({**keys, step_col: s, "estimate": float(r.estimate["base"]),
                                   "low": float(lo), "high": float(hi), "n_seeds": int(ns)})
            final = steps[-1]
            todo = []
            if "previous" in compare:
                todo += [("previous", a, b) for a, b in itertools.pairwise(steps)]
            if "final" in compare:
                todo += [("final", s, final) for s in steps[:-1]]
            equiv = {}
            for kind, a, b in todo:
                if ids[a] == ids[b]:   # the usual case: the matrices parsed above
                    ra, rb = runs[a], runs[b]
                else:
                    ra, rb = common_examples(by_step[a], by_step[b], func, log)
                r = call(ra, rb, design="paired")
                lo, hi = r.ci["delta"]
                comp_rows.append({**keys, "kind": kind, "step_a": a, "step_b": b,
                                  "delta": float(r.estimate["delta"]), "low": float(lo),
                                  "high": float(hi), "p_value": pvalue_of(r, 0.0)})
                if kind == "final" and eps is not None:
                    d = np.asarray(r.delta_distribution, float)
                    q = np.quantile(d, [alpha, 1 - alpha])
                    equiv[a] = bool(q[0] > -eps and q[1] < eps)
            if eps is not None:
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
            log.add(f"With nboot={nboot} the smallest two-sided bootstrap p-value is about "
                    f"{2 / nboot:.3g}; after the {correction} correction over {m} '{kind}' "
                    f"comparisons none can reach alpha={alpha:g}. Increase nboot.",
                    SmallNbootWarning)
    log.issue()
    return LearningCurve(metric=metric if isinstance(metric, str) else str(metric),
                         group_cols=group_cols, curve=pd.DataFrame(curve_rows),
                         comparisons=comparisons,
                         within_eps=pd.DataFrame(eps_rows) if eps is not None else None,
                         correction=correction, alpha=alpha, eps=eps, nboot=nboot,
                         warnings=log.messages)
