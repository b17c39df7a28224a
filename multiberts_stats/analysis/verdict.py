"""The calibrated artifact-vs-procedure decision: categories, ``disagrees``, the flag.

A report makes three kinds of test, each at ``alpha``:

* the **procedure level**: does the joint seeds-and-examples interval exclude the null?
* the **artifact level**: one examples-only test per artifact, adjusted for multiplicity across
  the artifacts of the report (Holm by default; Benjamini-Hochberg; or none);
* **heterogeneity**: do the artifacts differ beyond example noise
  (:mod:`~multiberts_stats.analysis.heterogeneity`)?

The category comes from the procedure-level test and the heterogeneity test
(:func:`categorise`); the adjusted per-artifact tests name the artifacts behind it and decide
whether an artifact contradicts a procedure-level effect (:func:`decide`). The false-positive
rates and the power of the rule are measured in docs/statistics.md
(``benchmarks/verdict_calibration.py``).
"""

from __future__ import annotations


import numpy as np

from multiberts_stats.errors import InputError

from .heterogeneity import Heterogeneity

__all__ = ["CATEGORIES", "CORRECTIONS", "categorise", "decide", "check_correction",
           "flag_text", "pvalue_agreeing"]

#: allowed ``correction`` values of :func:`~multiberts_stats.analysis.artifact_vs_procedure`
CORRECTIONS = ("holm", "bh", None)

# ----------------------------------------------------------------------------------------------
# the calibrated decision

#: category key -> plain words
CATEGORIES = {
    "procedure_consistent": "procedure-level effect, consistent across artifacts",
    "procedure_heterogeneous": "procedure-level effect, artifacts heterogeneous",
    "artifact_only": "artifact-level only",
    "no_evidence": "no evidence either way",
    "procedure_untested": "procedure-level effect, heterogeneity undefined",
}


def categorise(procedure_verdict: str, het: Heterogeneity, alpha: float) -> str:
    """The category of a report from its two calibrated tests.

    ``procedure_verdict`` is the joint (seeds and examples) interval's verdict at level
    ``1 - alpha`` ("positive", "negative" or "none"); ``het`` the heterogeneity test, significant
    at ``alpha``. Each claim is one test at ``alpha``: "artifact-level only" is claimed under a
    global null at most as often as the heterogeneity test rejects (about ``alpha``), never
    from a count of per-artifact rejections.

    Examples
    --------
    >>> h = Heterogeneity(True, 40.0, (24.0, 476.0), 0.001, 0.05, (0.03, 0.08), 25, 500, 0.95)
    >>> categorise("none", h, 0.05), categorise("positive", h, 0.05)
    ('artifact_only', 'procedure_heterogeneous')
    """
    effect = procedure_verdict in ("positive", "negative")
    if not het.defined:
        return "procedure_untested" if effect else "no_evidence"
    if effect:
        return "procedure_heterogeneous" if het.significant(alpha) else "procedure_consistent"
    return "artifact_only" if het.significant(alpha) else "no_evidence"


def decide(procedure_verdict: str, het: Heterogeneity, alpha: float,
           adjusted_verdicts) -> tuple[str, bool]:
    """``(category, disagrees)``: the calibrated rule of the report.

    ``disagrees`` is True for "artifact-level only" (the artifacts differ beyond example noise
    while the procedure-level interval includes the null), and when the procedure shows an
    effect but some artifact is significant in the opposite direction after the multiplicity
    adjustment (``adjusted_verdicts``: per-artifact "positive" / "negative" / "none").

    Examples
    --------
    >>> h = Heterogeneity(True, 40.0, (24.0, 476.0), 0.2, 0.0, (0.0, 0.02), 25, 500, 0.95)
    >>> decide("none", h, 0.05, ["positive"] + ["none"] * 24)
    ('no_evidence', False)
    """
    cat = categorise(procedure_verdict, het, alpha)
    opposite = {"positive": "negative", "negative": "positive"}.get(procedure_verdict)
    disagrees = cat == "artifact_only" or (opposite is not None
                                           and opposite in set(adjusted_verdicts))
    return cat, bool(disagrees)


def check_correction(correction, func: str):
    """``correction`` or a clear :class:`~multiberts_stats.errors.InputError`.

    Examples
    --------
    >>> check_correction("bh", "f")
    'bh'
    >>> try:
    ...     check_correction("bonferoni", "f")
    ... except InputError as e:
    ...     print(str(e)[:60], "...", str(e)[-27:])
    The `correction` parameter of f must be one of 'holm', 'bh'  ... Got 'bonferoni' instead.
    """
    if correction is None or (isinstance(correction, str) and correction in CORRECTIONS):
        return correction
    raise InputError(f"The `correction` parameter of {func} must be one of 'holm', 'bh' or None "
                     "(the multiplicity adjustment across the artifacts of one report). "
                     f"Got {correction!r} instead.")


def pvalue_agreeing(res, null: float) -> float:
    """Two-sided p-value of ``null`` for the result's quantity, agreeing with its interval.

    For a difference against 0 it is the engine's ``pvalue_two_sided`` when the engine computed
    it for the interval ``method`` (its ``pvalue_method``; percentile shares for the percentile
    interval). Otherwise the same rules are applied to ``null``: percentile shares
    ``2 (1 + min(#{x* <= null}, #{x* >= null})) / (n + 1)``; basic, the same on the replicates
    reflected about the estimate; corrected, the t approximation of the corrected interval;
    BCa, the inverted BCa interval of the shifted replicates.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> r = NS(delta_distribution=None, distribution=np.array([[0.6], [0.7], [0.8], [0.4]]),
    ...        method="percentile", estimate={"base": 0.65}, details={})
    >>> pvalue_agreeing(r, 0.5)
    0.8
    """
    q = "delta" if getattr(res, "delta_distribution", None) is not None else "base"
    method = getattr(res, "method", "percentile")
    engine_agrees = bool(getattr(res, "pvalue_method", "")) or method == "percentile"
    if q == "delta" and null == 0 and engine_agrees and \
            getattr(res, "pvalue_two_sided", None) is not None:
        return float(res.pvalue_two_sided)  # the engine's own (one source for the rule)
    d = np.asarray(res.delta_distribution if q == "delta" else
                   np.asarray(res.distribution, float)[:, 0], float)
    d = d[~np.isnan(d)]
    n = len(d)
    est = float(res.estimate[q])
    if method == "corrected":
        from scipy.special import stdtr

        comp = res.details["variance_components"][q]
        v, df = comp["variance"], comp["df"]
        if v <= 0:
            return 0.0 if est != null else 1.0
        return float(min(1.0, 2 * stdtr(df, -abs(est - null) / np.sqrt(v))))
    if method == "bca":
        return _bca_two_sided(d - null, est - null, float(res.details["acceleration"][q]))
    x = 2 * est - d if method == "basic" else d
    k = min(int(np.sum(x <= null)), int(np.sum(x >= null)))
    return float(min(1.0, 2 * (1 + k) / (n + 1)))


def _bca_two_sided(d: np.ndarray, est: float, a: float) -> float:
    """Two-sided p of 0 by inverting the BCa interval: the level at which an endpoint is 0."""
    from scipy.special import ndtr, ndtri

    n = len(d)
    prop = np.mean(d < est) + 0.5 * np.mean(d == est)
    z0 = ndtri(min(max(prop, 0.5 / n), 1 - 0.5 / n))
    share = (np.sum(d < 0) + 0.5 * np.sum(d == 0) + 0.5) / (n + 1)  # where 0 sits in d
    zp = ndtri(share)
    w = (zp - z0) / (1 + a * (zp - z0))  # solve zp = z0 + w / (1 - a w) for w = z0 + z_alpha
    tail = float(ndtr(w - z0))
    return float(min(1.0, 2 * min(tail, 1 - tail)))


def _fmt(x) -> str:
    return "nan" if x is None or not np.isfinite(x) else f"{x:.3g}"


def flag_text(category: str, *, artifacts, procedure_verdict: str, het: Heterogeneity,
              quantity: str, null: float, design, correction, alpha: float) -> str:
    """The plain-words statement of the report's category (starts with it).

    ``artifacts`` is the report's per-artifact table with ``artifact``, ``estimate``,
    ``verdict`` and ``verdict_adjusted``.
    """
    n = len(artifacts)
    what = "effect" if quantity == "delta" else f"difference from {null:g}"
    unit = "artifact" if design != "unpaired" else "artifact pair"
    adj = "without adjustment" if correction is None else \
        {"holm": "after Holm adjustment", "bh": "after Benjamini-Hochberg adjustment"}[correction]
    names = {"positive": f"a significant positive {what}",
             "negative": f"a significant negative {what}", "none": f"no significant {what}"}
    sig = artifacts[artifacts["verdict_adjusted"] != "none"]
    if het.defined:
        h = (f"heterogeneity p = {_fmt(het.pvalue)}, between-{unit} sd tau = {_fmt(het.tau)} "
             f"[{_fmt(het.tau_ci[0])}, {_fmt(het.tau_ci[1])}]")
    else:
        h = f"heterogeneity undefined: {het.reason}"
    if len(sig):
        named = (f"{len(sig)} of {n} single-{unit} analyses are significant {adj} (e.g. "
                 + ", ".join(sig["artifact"].astype(str).head(5)) + ")")
    else:
        dev = (artifacts["estimate"] - artifacts["estimate"].mean()).abs()
        top = artifacts.loc[dev.sort_values(ascending=False).index[:2]]
        named = (f"no single {unit} is significant {adj} (largest departures: "
                 + ", ".join(f"{a} ({e:+.3g})" for a, e in zip(top["artifact"], top["estimate"]))
                 + ")")
    if category == "artifact_only":
        return (f"Artifact-level finding only: the procedure-level interval includes {null:g}, "
                f"so the {what} is not established for the procedure, but the {n} {unit}s "
                f"differ beyond example noise ({h}); {named}.")
    if category == "procedure_consistent":
        return (f"Consistent across artifacts: the procedure shows {names[procedure_verdict]} "
                f"and the {n} {unit}s do not differ beyond example noise ({h}); {named}.")
    if category == "procedure_heterogeneous":
        opposite = {"positive": "negative", "negative": "positive"}[procedure_verdict]
        against = artifacts[artifacts["verdict_adjusted"] == opposite]
        tail = ""
        if len(against):
            tail = (f" Single-{unit} analyses disagree with the procedure: "
                    f"{len(against)} of {n} show {names[opposite]} {adj} (e.g. "
                    + ", ".join(against["artifact"].astype(str).head(5)) + ").")
        return (f"Procedure-level effect, artifacts heterogeneous: the procedure shows "
                f"{names[procedure_verdict]}, and the {n} {unit}s differ in its size beyond "
                f"example noise ({h}); {named}." + tail)
    if category == "procedure_untested":
        return (f"Procedure-level effect; whether the artifacts differ cannot be tested "
                f"({h}): the procedure shows {names[procedure_verdict]}; {named}.")
    tail = ""
    if len(sig):
        tail = (" The adjusted single-artifact results are not claimed as an artifact-level "
                "finding: the artifacts do not differ significantly from one another.")
    return (f"No evidence either way: the procedure-level interval includes {null:g} and the "
            f"{n} {unit}s do not differ beyond example noise ({h}); {named}." + tail)
