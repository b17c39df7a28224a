"""The last step of :func:`multiberts_stats.bootstrap.multiboot`: replicates -> intervals,
p-values and the :class:`~multiberts_stats.bootstrap.results.MultiBootstrapResult`."""

from __future__ import annotations

import numpy as np

from ..errors import UndefinedMetricWarning
from .results import MultiBootstrapResult, acceleration, basic_ci, bca_ci, percentile_ci
from .variance import corrected_components, jackknife

__all__ = ["summarise"]


def _clean(x: np.ndarray) -> np.ndarray:
    return x[~np.isnan(x)]


def summarise(req, plan, dist: np.ndarray) -> MultiBootstrapResult:
    """Point estimates, intervals (``req.method``), p-values and the result object.

    ``req`` is the validated request, ``plan`` the resampling plan (sides, units, seeds,
    notes) and ``dist`` the ``(nboot, n_sides)`` replicates from the engine.
    """
    sides, units, c = plan.sides, plan.units, req.c
    nboot, method = req.nboot, req.method
    has_expt = "expt" in sides
    Ms = {k: s.M for k, s in sides.items()}

    # point estimates on the full data
    full_seed_scores = {k: (s.full_run_scores() @ Ms[k])[0] for k, s in sides.items()}
    estimate = {k: float(np.mean(v)) for k, v in full_seed_scores.items()}
    if has_expt:
        estimate["delta"] = estimate["expt"] - estimate["base"]

    quantities = {"base": dist[:, 0]}
    if has_expt:
        quantities["expt"] = dist[:, 1]
        quantities["delta"] = dist[:, 1] - dist[:, 0]
    if np.isnan(dist).any():
        plan.notes.append((UndefinedMetricWarning,
                           f"{int(np.isnan(dist).any(axis=1).sum())} of {nboot} replicates are "
                           f"NaN (metric {req.metric_name!r} undefined on those draws); they are "
                           "ignored in intervals and p-values."))

    details = {"sample_seeds": req.sample_seeds, "sample_examples": req.sample_examples,
               "path": "vectorised" if req.vm is not None else "general",
               "cluster_col": req.cluster_col, "abs_threshold": req.abs_threshold,
               "rel_threshold": req.rel_threshold,
               "expect_negative_effect": req.expect_negative_effect,
               "seeds": {k: list(v) for k, v in plan.seeds.items()}, "seed_col": req.seed_cols,
               "resampled_seeds": plan.resampled, "batch": plan.batch}

    ci, pvalue, p_two, comps = {}, None, None, None
    if method in ("percentile", "basic"):
        for q, x in quantities.items():
            ci[q] = percentile_ci(_clean(x), c) if method == "percentile" else \
                basic_ci(_clean(x), estimate[q], c)
    elif method == "bca":
        jack = jackknife(sides, Ms, units, plan.resampled, req.design, req.sample_seeds,
                         req.sample_examples, req.metric_name)
        details["acceleration"] = {}
        for q, x in quantities.items():
            a = acceleration(jack[q])
            details["acceleration"][q] = a
            ci[q] = bca_ci(_clean(x), estimate[q], a, c)
    else:  # corrected
        comps = corrected_components(sides, units, plan.resampled, req.design, req.sample_seeds,
                                     req.sample_examples, req.metric_name, estimate)
        details["variance_components"] = comps
        from scipy.special import stdtrit

        for q in quantities:
            v, df = comps[q]["variance"], comps[q]["df"]
            half = stdtrit(df, 1 - (1 - c) / 2) * np.sqrt(v)
            ci[q] = (estimate[q] - half, estimate[q] + half)

    p_abs = p_rel = None
    if has_expt:
        d = _clean(quantities["delta"])
        le, ge = np.mean(d <= 0), np.mean(d >= 0)
        if method == "corrected":
            from scipy.special import stdtr

            v, df = comps["delta"]["variance"], comps["delta"]["df"]
            z = estimate["delta"] / np.sqrt(v) if v > 0 else np.inf * np.sign(estimate["delta"])
            pvalue = float(stdtr(df, z) if req.expect_negative_effect else stdtr(df, -z))
            p_two = float(min(1.0, 2 * stdtr(df, -abs(z))))
        else:
            pvalue = float(ge if req.expect_negative_effect else le)
            pvalue = max(pvalue, 1.0 / len(d))
            p_two = float(max(min(1.0, 2 * min(le, ge)), 1.0 / len(d)))
        if req.abs_threshold is not None:
            t = req.abs_threshold
            p_abs = float(np.mean(d <= -t) if req.expect_negative_effect else np.mean(d >= t))
        if req.rel_threshold is not None:
            bb = quantities["base"][~np.isnan(quantities["delta"])]
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = d / bb
            t = req.rel_threshold
            p_rel = float(np.mean(rel <= -t) if req.expect_negative_effect else np.mean(rel >= t))

    return MultiBootstrapResult(
        design=req.design, metric=req.metric_name, nboot=nboot, confidence_level=c,
        method=method, estimate=estimate, distribution=dist,
        delta_distribution=quantities.get("delta"), ci=ci, pvalue=pvalue, pvalue_two_sided=p_two,
        p_abs_threshold=p_abs, p_rel_threshold=p_rel,
        n_seeds={k: len(plan.seeds[k]) for k in sides}, n_examples=plan.n_examples,
        n_runs={k: s.n_runs for k, s in sides.items()},
        warnings=list(dict.fromkeys(msg for _, msg in plan.notes)),
        bootstrap_mean={q: float(np.nanmean(x)) for q, x in quantities.items()},
        bootstrap_std={q: float(np.nanstd(x, ddof=1)) if nboot > 1 else 0.0
                       for q, x in quantities.items()},
        n_units=units.n_units, details=details)
