"""Check a plan with the real test, and simulate pilots (:mod:`multiberts_stats.planning`).

:func:`measure_power` runs whole simulated experiments through
:func:`multiberts_stats.bootstrap.multiboot` itself, one call per experiment (the validation of
the planner's fast simulation); :func:`simulate_pilot` draws a pilot as tidy tables.
"""

from __future__ import annotations

import math

import numpy as np

from .models import check_number as _num
from .models import resolve_model as _resolve_model

__all__ = ["measure_power", "simulate_pilot"]


def _gaussian_runs(comp, rng, S, R, J, delta):
    """One experiment of the Gaussian crossed model at run level: (base, expt) (S_k, R, J)."""
    def n(shape, var):
        return rng.normal(0, math.sqrt(var), shape) if var > 0 else np.zeros(shape)

    def side(var_scale, with_ex):
        y = (n((S, 1, 1), comp.seed * var_scale) + n((S, 1, J), comp.seed_example * var_scale)
             + n((S, R, 1), comp.run * var_scale) + n((S, R, J), comp.residual * var_scale))
        return y + (n((1, 1, J), comp.example) + delta if with_ex else 0.0)

    if comp.design == "single":
        return side(1.0, True), None
    if comp.design == "paired":
        base = n((S, R, J), 0.01) + 0.5  # any base cancels in the paired difference
        return base, base + side(1.0, True)
    if comp.design == "unpaired":
        return side(0.5, False), side(0.5, True)
    base = n((1, R, 1), comp.baseline_run) + n((1, R, J), comp.baseline_residual)
    return base, side(1.0, True)


def measure_power(model, n_seeds: int, n_runs: int, n_examples: int, *, effect=None,
                  design=None, method="percentile", alpha=0.05, alternative="two-sided",
                  confidence_level=0.95, n_experiments=300, nboot=1000, rng=0) -> dict:
    """Power measured by running whole simulated experiments through ``multiboot`` itself.

    Each experiment draws run-level data from the model (binary outcomes for a ProbitModel,
    Gaussian for Components, with mean difference ``effect``), builds one ``MatrixRuns`` per
    side and calls :func:`multiberts_stats.bootstrap.multiboot`. Use it to check a plan's
    recommended design with the real test (slower than the planner: one call per experiment).

    Returns
    -------
    dict
        ``power`` (share of experiments detecting the effect: p <= alpha, and for two-sided
        tests an estimate of the effect's sign), ``low``/``high`` (95% Clopper-Pearson),
        ``rejections``, ``n_experiments``, ``mean_width`` and the settings.

    Examples
    --------
    >>> from multiberts_stats.planning import Components
    >>> c = Components(seed=1e-4, example=2e-3, residual=0.25, design="paired")
    >>> r = measure_power(c, 5, 1, 300, effect=0.03, n_experiments=20, nboot=100)
    >>> 0 <= r["power"] <= 1 and r["n_experiments"] == 20
    True
    """
    import warnings

    import pandas as pd
    from scipy.stats import binomtest

    from multiberts_stats.bootstrap import MatrixRuns, multiboot

    func = "measure_power"
    comp, probit = _resolve_model(model, design, func)
    if probit is None:
        effect = _num(effect, "effect", func)
    delta = probit.delta() if probit is not None else effect
    rng = np.random.default_rng(rng)
    S, R, J = n_seeds, n_runs, n_examples
    neg = delta < 0
    hits, widths = 0, []
    for _ in range(int(n_experiments)):
        if probit is not None:
            base, expt = probit.simulate_runs(rng, S, R, J, comp.design)
            kw = {"metric": "accuracy"}
        else:
            base, expt = _gaussian_runs(comp, rng, S, R, J, delta)
            kw = {"metric": "mean"}
        sides = []
        for y in (base, expt):
            s_k = y.shape[0]
            ri = pd.DataFrame({"pretrain_seed": np.repeat(np.arange(s_k), y.shape[1]),
                               "finetune_seed": np.tile(np.arange(y.shape[1]), s_k)})
            m = y.reshape(-1, J)
            if probit is not None:
                sides.append(MatrixRuns(ri, preds=m.astype(np.int8), labels=np.ones(J, np.int8)))
            else:
                sides.append(MatrixRuns(ri, preds=m, run_columns={"score": m}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few-seeds warnings: known here
            res = multiboot(sides[0], sides[1], design=comp.design, nboot=nboot, method=method,
                            confidence_level=confidence_level, expect_negative_effect=neg,
                            rng=rng, quiet=True, **kw)
        est = res.estimate["delta"]
        if alternative == "two-sided":
            hit = res.pvalue_two_sided <= alpha and (est < 0 if neg else est > 0)
        else:
            hit = res.pvalue <= alpha
        hits += bool(hit)
        lo, hi = res.ci["delta"]
        widths.append(hi - lo)
    ci = binomtest(hits, int(n_experiments)).proportion_ci(0.95)
    return {"power": hits / n_experiments, "low": ci.low, "high": ci.high, "rejections": hits,
                "n_experiments": int(n_experiments), "mean_width": float(np.mean(widths)),
                "n_seeds": S, "n_runs": R, "n_examples": J, "method": method, "nboot": nboot, "alpha": alpha,
                "alternative": alternative, "design": comp.design, "effect": float(delta)}


def simulate_pilot(model, n_seeds: int, n_runs: int, n_examples: int, *, design=None,
                   effect: float = 0.0, rng=None):
    """A simulated pilot as tidy tables ``(base, expt)`` (``expt`` None for one procedure).

    Binary outcomes (``label`` 1, ``prediction`` the 0/1 outcome) for a ProbitModel; Gaussian
    scores in ``score`` (and ``prediction`` / ``label`` as for binary, from the score's sign)
    for Components, with mean difference ``effect``. Use it to try the planner, or to check
    that a fit recovers what a model states.

    Examples
    --------
    >>> from multiberts_stats.planning import Components
    >>> c = Components(seed=1e-3, example=0.02, residual=0.1)
    >>> base, expt = simulate_pilot(c, 3, 2, 50, rng=0)
    >>> len(base), expt is None
    (300, True)
    """
    import pandas as pd

    comp, probit = _resolve_model(model, design, "simulate_pilot")
    rng = np.random.default_rng(rng)
    if probit is not None:
        return probit.simulate_tables(rng, n_seeds, n_runs, n_examples, comp.design)
    mean = effect if comp.design != "single" else (0.0 if math.isnan(comp.base_mean)
                                                   else comp.base_mean)
    out = []
    for Y in _gaussian_runs(comp, rng, n_seeds, n_runs, n_examples, mean):
        if Y is None:
            out.append(None)
            continue
        S, R, J = Y.shape
        s, r, j = np.meshgrid(np.arange(S), np.arange(R), np.arange(J), indexing="ij")
        out.append(pd.DataFrame({"pretrain_seed": s.ravel(), "finetune_seed": r.ravel(),
                                 "example_id": j.ravel(), "score": Y.ravel(), "label": 1.0,
                                 "prediction": (Y.ravel() > 0).astype(float)}))
    return tuple(out)
