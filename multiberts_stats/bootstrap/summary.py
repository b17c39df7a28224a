"""The last step of :func:`multiberts_stats.bootstrap.multiboot`: replicates -> intervals,
p-values and the :class:`~multiberts_stats.bootstrap.results.MultiBootstrapResult`."""

from __future__ import annotations

import numpy as np

from ..errors import UndefinedMetricWarning
from .checks import BootstrapInputError
from .results import (MultiBootstrapResult, acceleration, basic_ci, bca_ci, bca_pvalues,
                      mc_pvalues, percentile_ci)
from .variance import corrected_components, jackknife

__all__ = ["summarise"]


def _clean(x: np.ndarray) -> np.ndarray:
    return x[~np.isnan(x)]


def _undefined_text(req) -> str:
    """When the metric is undefined: the registry's statement, or a note about the callable."""
    spec = req.match.metric if req.match is not None else None
    if spec is not None and (req.fn is None or req.fn is spec.fn):
        return f"The metric is undefined when: {spec.undefined}."
    return "The metric callable returned NaN."


def _check_defined(req, plan, dist: np.ndarray, estimate: dict) -> None:
    """An undefined metric is an error naming the metric, the side and how many replicates
    were undefined; some undefined replicates are dropped with an UndefinedMetricWarning."""
    nboot = req.nboot
    for col, k in enumerate(plan.sides):
        bad = int(np.isnan(dist[:, col]).sum())
        if bad == nboot or np.isnan(estimate[k]):
            raise BootstrapInputError(
                f"The metric {req.metric_name!r} is undefined on the {k} side of multiboot: "
                f"{bad} of {nboot} replicates are NaN"
                + (" and so is the estimate on the full data" if np.isnan(estimate[k]) else "")
                + f". {_undefined_text(req)} Check the `{k}` data (e.g. a model that always "
                "predicts the same class) or choose another metric.")
    rows = np.isnan(dist).any(axis=1)
    if rows.any():
        per = ", ".join(f"{int(np.isnan(dist[:, c]).sum())} on the {k} side"
                        for c, k in enumerate(plan.sides) if np.isnan(dist[:, c]).any())
        plan.notes.append((UndefinedMetricWarning,
                           f"{int(rows.sum())} of {nboot} replicates are NaN (metric "
                           f"{req.metric_name!r} undefined on those draws: {per}); they are "
                           f"dropped from intervals and p-values, which use the remaining "
                           f"{int(nboot - rows.sum())}."))


def summarise(req, plan, dist: np.ndarray) -> MultiBootstrapResult:
    """Point estimates, intervals (``req.method``), p-values and the result object.

    ``req`` is the validated request, ``plan`` the resampling plan (sides, units, seeds,
    notes) and ``dist`` the ``(nboot, n_sides)`` replicates from the engine.
    """
    sides, units, c = plan.sides, plan.units, req.c
    nboot, method = req.nboot, req.method
    has_expt = "expt" in sides
    # point estimates on the full data
    full_seed_scores = {k: s.seed_means(s.full_run_scores())[0] for k, s in sides.items()}
    estimate = {k: float(np.mean(v)) for k, v in full_seed_scores.items()}
    if has_expt:
        estimate["delta"] = estimate["expt"] - estimate["base"]

    quantities = {"base": dist[:, 0]}
    if has_expt:
        quantities["expt"] = dist[:, 1]
        quantities["delta"] = dist[:, 1] - dist[:, 0]
    _check_defined(req, plan, dist, estimate)

    details = {"sample_seeds": req.sample_seeds, "sample_examples": req.sample_examples,
               "path": "vectorised" if req.vm is not None else "general",
               "cluster_col": req.cluster_col, "abs_threshold": req.abs_threshold,
               "rel_threshold": req.rel_threshold,
               "expect_negative_effect": req.expect_negative_effect,
               "seeds": {k: list(v) for k, v in plan.seeds.items()}, "seed_col": req.seed_cols,
               "resampled_seeds": plan.resampled, "batch": plan.batch,
               "method_requested": req.method_requested, "n_comparisons": req.n_comparisons,
               "pos_label": req.pos_label, "average_over": list(req.average_over)}

    ci, pvalue, p_two, comps = {}, None, None, None
    if method in ("percentile", "basic"):
        for q, x in quantities.items():
            ci[q] = percentile_ci(_clean(x), c) if method == "percentile" else \
                basic_ci(_clean(x), estimate[q], c)
    elif method == "bca":
        jack = jackknife(sides, units, plan.resampled, req.design, req.sample_seeds,
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
    p_method = ""
    if has_expt:
        d = _clean(quantities["delta"])
        neg = req.expect_negative_effect
        n = len(d)
        if method == "corrected":
            from scipy.special import stdtr

            v, df = comps["delta"]["variance"], comps["delta"]["df"]
            z = estimate["delta"] / np.sqrt(v) if v > 0 else np.inf * np.sign(estimate["delta"])
            pvalue = float(stdtr(df, z) if neg else stdtr(df, -z))
            p_two = float(min(1.0, 2 * stdtr(df, -abs(z))))
            p_method = ("corrected: t approximation with the corrected variance and "
                        "Satterthwaite df (agrees with the corrected interval)")
        elif method == "bca":
            pg, pl, p_two = bca_pvalues(d, estimate["delta"], details["acceleration"]["delta"])
            pvalue = pl if neg else pg
            p_method = ("bca: the inverted BCa interval (the level at which an endpoint reaches "
                        f"0), floors 1/(n+1) and 2/(n+1) over n = {n} defined replicates")
        else:
            if method == "basic":  # reflect about the estimate, as the basic interval does
                two = 2 * estimate["delta"]
                k_le, k_ge = int(np.sum(d >= two)), int(np.sum(d <= two))
                rule = "#{delta* >= 2 estimate}"
            else:
                k_le, k_ge = int(np.sum(d <= 0)), int(np.sum(d >= 0))
                rule = "#{delta* <= 0}"
            pg, pl, p_two = mc_pvalues(k_le, k_ge, n)
            pvalue = pl if neg else pg
            p_method = (f"{method}: one-sided (1 + {rule}) / (n + 1), two-sided min(1, 2 (1 + "
                        f"min count) / (n + 1)) over n = {n} defined replicates (agrees with "
                        f"the {method} interval)")
        if req.abs_threshold is not None:
            t = req.abs_threshold
            p_abs = float(np.mean(d <= -t) if neg else np.mean(d >= t))
        if req.rel_threshold is not None:
            bb = quantities["base"][~np.isnan(quantities["delta"])]
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = d / bb
            t = req.rel_threshold
            p_rel = float(np.mean(rel <= -t) if neg else np.mean(rel >= t))

    return MultiBootstrapResult(
        design=req.design, metric=req.metric_name, nboot=nboot, confidence_level=c,
        method=method, estimate=estimate, distribution=dist,
        delta_distribution=quantities.get("delta"), ci=ci, pvalue=pvalue, pvalue_two_sided=p_two,
        p_abs_threshold=p_abs, p_rel_threshold=p_rel,
        n_seeds={k: len(plan.seeds[k]) for k in sides}, n_examples=plan.n_examples,
        n_runs={k: s.n_runs for k, s in sides.items()},
        warnings=list(dict.fromkeys(msg for _, msg in plan.warning_notes)),
        bootstrap_mean={q: float(np.nanmean(x)) for q, x in quantities.items()},
        bootstrap_std={q: float(np.nanstd(x, ddof=1)) if nboot > 1 else 0.0
                       for q, x in quantities.items()},
        n_units=units.n_units, details=details, pvalue_method=p_method,
        notes=list(plan.result_notes))


