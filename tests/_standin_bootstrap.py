"""TEMPORARY private stand-in for ``multiberts_stats.bootstrap.multiboot`` (issue 2).

Used by the analysis tests only while the real engine has not landed on main; a plain loop
following the documented semantics of docs/ARCHITECTURE.md. Remove once the real one lands.
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from multiberts_stats.metrics import get_metric

RUN_COLS = ["family", "checkpoint", "pretrain_seed", "step", "task", "split", "method", "layer",
            "finetune_seed", "hparams"]


@dataclass
class MultiBootstrapResult:
    design: object
    metric: str
    nboot: int
    confidence_level: float
    method: str
    estimate: dict
    distribution: np.ndarray
    delta_distribution: object
    ci: dict
    pvalue: object
    pvalue_two_sided: object
    p_abs_threshold: object = None
    p_rel_threshold: object = None
    n_seeds: dict = field(default_factory=dict)
    n_examples: int = 0
    n_runs: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def to_frame(self):
        rows = []
        for i, q in enumerate(["base", "expt"][: self.distribution.shape[1]]):
            d = self.distribution[:, i]
            rows.append(dict(quantity=q, estimate=self.estimate[q], bootstrap_mean=d.mean(),
                             low=self.ci[q][0], high=self.ci[q][1], p_value=np.nan))
        if self.delta_distribution is not None:
            rows.append(dict(quantity="delta", estimate=self.estimate["delta"],
                             bootstrap_mean=self.delta_distribution.mean(),
                             low=self.ci["delta"][0], high=self.ci["delta"][1], p_value=self.pvalue))
        return pd.DataFrame(rows)


def _side(df, metric, seed_col, run_cols, examples, cluster_col):
    spec = get_metric(metric)
    rc = run_cols or [c for c in RUN_COLS if c in df.columns]
    runs = []
    for key, g in df.groupby(rc, sort=True, dropna=False):
        g = g.set_index("example_id").loc[examples]
        runs.append((g[seed_col].iloc[0], {c: g[c].to_numpy() for c in spec.columns}))
    seeds = sorted({s for s, _ in runs})
    by_seed = {s: [r for t, r in runs if t == s] for s in seeds}
    return seeds, by_seed


def _score(by_seed, seeds, idx, metric):
    spec = get_metric(metric)
    vals = []
    for s in seeds:
        vals.append(np.mean([spec.fn(*(r[c][idx] for c in spec.columns)) for r in by_seed[s]]))
    return float(np.mean(vals))


def multiboot(base, expt=None, *, design=None, metric="accuracy", seed_col="pretrain_seed",
              run_cols=None, cluster_col=None, sample_seeds=True, sample_examples=True,
              nboot=1000, confidence_level=0.95, method="percentile", rng=None, **kw):
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    examples = sorted(set(base.example_id) & (set(expt.example_id) if expt is not None else set(base.example_id)))
    n = len(examples)
    if cluster_col is not None:
        cl = base.drop_duplicates("example_id").set_index("example_id").loc[examples, cluster_col].to_numpy()
        clusters, inv = np.unique(cl, return_inverse=True)
        members = [np.flatnonzero(inv == k) for k in range(len(clusters))]
    sb, bb = _side(base, metric, seed_col, run_cols, examples, cluster_col)
    if expt is not None:
        se, be = _side(expt, metric, seed_col, run_cols, examples, cluster_col)
    full = np.arange(n)
    dist = []
    for _ in range(nboot):
        if sample_seeds:
            if design == "paired":
                common = sorted(set(sb) & set(se))
                d = list(rng.choice(common, size=len(common)))
                db, de = d, d
            else:
                db = list(rng.choice(sb, size=len(sb))) if design != "fixed_baseline" else sb
                de = list(rng.choice(se, size=len(se))) if expt is not None else None
        else:
            if design == "paired":
                common = sorted(set(sb) & set(se))
                db = de = common
            else:
                db, de = sb, (se if expt is not None else None)
        if sample_examples:
            if cluster_col is None:
                idx = rng.integers(0, n, n)
            else:
                ks = rng.integers(0, len(members), len(members))
                idx = np.concatenate([members[k] for k in ks])
        else:
            idx = full
        row = [_score(bb, db, idx, metric)]
        if expt is not None:
            row.append(_score(be, de, idx, metric))
        dist.append(row)
    dist = np.array(dist)
    if design == "paired":
        common = sorted(set(sb) & set(se))
        eb, ee = _score(bb, common, full, metric), _score(be, common, full, metric)
    else:
        eb = _score(bb, sb, full, metric)
        ee = _score(be, se, full, metric) if expt is not None else None
    a = (1 - confidence_level) / 2
    est = {"base": eb}
    ci = {"base": tuple(np.quantile(dist[:, 0], [a, 1 - a]))}
    delta = None
    p = p2 = None
    if expt is not None:
        est["expt"] = ee
        est["delta"] = ee - eb
        ci["expt"] = tuple(np.quantile(dist[:, 1], [a, 1 - a]))
        delta = dist[:, 1] - dist[:, 0]
        ci["delta"] = tuple(np.quantile(delta, [a, 1 - a]))
        p = max(np.mean(delta <= 0), 1 / nboot)
        p2 = min(1.0, 2 * max(min(np.mean(delta <= 0), np.mean(delta >= 0)), 1 / nboot))
    n_seeds = {"base": len(sb)}
    if expt is not None:
        n_seeds["expt"] = len(se)
    warns = []
    if sample_seeds and min(n_seeds.values()) < 5:
        warns.append(f"Only {min(n_seeds.values())} seeds: below the 5 seeds where coverage held.")
    return MultiBootstrapResult(design, metric, nboot, confidence_level, method, est, dist, delta,
                                ci, p, p2, n_seeds=n_seeds, n_examples=n,
                                n_runs={"base": sum(len(v) for v in bb.values())}, warnings=warns)


def install():
    """Put this stand-in at multiberts_stats.bootstrap if the real engine is absent."""
    try:
        from multiberts_stats.bootstrap import multiboot as _real  # noqa: F401
        return False
    except ImportError:
        mod = types.ModuleType("multiberts_stats.bootstrap")
        mod.multiboot = multiboot
        mod.MultiBootstrapResult = MultiBootstrapResult
        sys.modules["multiberts_stats.bootstrap"] = mod
        return True
