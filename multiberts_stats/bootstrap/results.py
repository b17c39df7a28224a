"""The result of :func:`multiberts_stats.bootstrap.multiboot` and the interval methods."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MultiBootstrapResult", "acceleration", "basic_ci", "bca_ci", "bca_pvalues", "bca_z0",
           "mc_pvalues", "percentile_ci"]


def percentile_ci(dist: np.ndarray, c: float) -> tuple[float, float]:
    lo, hi = np.quantile(dist, [(1 - c) / 2, 1 - (1 - c) / 2])
    return float(lo), float(hi)


def basic_ci(dist: np.ndarray, est: float, c: float) -> tuple[float, float]:
    """Basic (reverse percentile) interval: (2 est - q_hi, 2 est - q_lo)."""
    lo, hi = percentile_ci(dist, c)
    return float(2 * est - hi), float(2 * est - lo)


def acceleration(jack: np.ndarray) -> float:
    """BCa acceleration from jackknife (leave-one-unit-out) estimates."""
    d = np.mean(jack) - jack
    den = 6.0 * np.sum(d * d) ** 1.5
    return float(np.sum(d ** 3) / den) if den > 0 else 0.0


def bca_z0(dist: np.ndarray, est: float) -> float:
    """BCa bias correction: Phi^-1 of the share of replicates below the estimate (ties half)."""
    from scipy.special import ndtri

    n = len(dist)
    prop = np.mean(dist < est) + 0.5 * np.mean(dist == est)
    prop = min(max(prop, 0.5 / n), 1 - 0.5 / n)
    return float(ndtri(prop))


def bca_ci(dist: np.ndarray, est: float, a: float, c: float) -> tuple[float, float]:
    """Bias-corrected and accelerated interval (Efron 1987)."""
    from scipy.special import ndtr, ndtri

    z0 = bca_z0(dist, est)
    out = []
    for alpha in ((1 - c) / 2, 1 - (1 - c) / 2):
        za = ndtri(alpha)
        adj = ndtr(z0 + (z0 + za) / (1 - a * (z0 + za)))
        out.append(float(np.quantile(dist, adj)))
    return out[0], out[1]


def mc_pvalues(k_le: int, k_ge: int, n: int) -> tuple[float, float, float]:
    """Monte-Carlo p-values from replicate counts on each side of the null.

    ``k_le`` replicates fall at or below the null, ``k_ge`` at or above, out of ``n``. Returns
    ``(p_greater, p_less, p_two_sided)``: ``(1 + k_le) / (n + 1)`` (H1: delta > 0),
    ``(1 + k_ge) / (n + 1)`` (H1: delta < 0) and ``min(1, 2 (1 + min(k_le, k_ge)) / (n + 1))``.
    The one-sided floor is ``1 / (n + 1)``, the two-sided one ``2 / (n + 1)``; the two-sided
    p-value moves in steps of ``2 / (n + 1)``.
    """
    pg = (1.0 + k_le) / (n + 1.0)
    pl = (1.0 + k_ge) / (n + 1.0)
    return pg, pl, min(1.0, 2.0 * (1.0 + min(k_le, k_ge)) / (n + 1.0))


def bca_pvalues(dist: np.ndarray, est: float, a: float) -> tuple[float, float, float]:
    """p-values that agree with the BCa interval: the level at which an endpoint reaches 0.

    The BCa lower endpoint at level alpha is the ``Phi(z0 + (z0 + z_alpha) / (1 - a (z0 +
    z_alpha)))`` quantile of the replicates. Setting that quantile to 0, i.e. the level to the
    Monte-Carlo share F0 = (1 + #{delta* <= 0}) / (n + 1), and solving gives
    ``w = Phi^-1(F0) - z0``, ``z_alpha = w / (1 + a w) - z0`` and ``p_greater = Phi(z_alpha)``
    (likewise from the upper side for ``p_less``); with ``a = z0 = 0`` these are the percentile
    p-values. Returns ``(p_greater, p_less, p_two_sided)``, floored at ``1 / (n + 1)`` and
    ``2 / (n + 1)``.
    """
    from scipy.special import ndtr, ndtri

    n = len(dist)
    z0 = bca_z0(dist, est)

    def level(share):
        w = float(ndtri(share)) - z0
        den = 1.0 + a * w
        if den <= 0:  # beyond the range the BCa map reaches: the extreme level
            return 0.0 if w < 0 else 1.0
        return float(ndtr(w / den - z0))

    f_lo = (1.0 + np.sum(dist <= 0)) / (n + 1.0)
    f_hi = 1.0 - (1.0 + np.sum(dist >= 0)) / (n + 1.0)
    pg = max(level(f_lo), 1.0 / (n + 1))
    pl = max(1.0 - level(f_hi), 1.0 / (n + 1))
    return pg, pl, min(1.0, max(2.0 * min(pg, pl), 2.0 / (n + 1)))


@dataclass
class MultiBootstrapResult:
    """Everything a Multi-Bootstrap computed; the whole distribution is kept.

    Attributes
    ----------
    design : str
        ``"single"``, ``"paired"``, ``"unpaired"`` or ``"fixed_baseline"``.
    metric : str
        Metric name (or the callable's ``__name__``).
    nboot, confidence_level, method
        As requested.
    estimate : dict
        Point estimates on the full data: ``base`` (and ``expt``, ``delta`` = expt - base).
    distribution : ndarray, shape (nboot, 2) or (nboot, 1)
        Bootstrap replicates, columns base, expt.
    delta_distribution : ndarray (nboot,) or None
        expt - base per replicate.
    ci : dict
        quantity -> (low, high).
    pvalue : float or None
        One-sided p-value for delta (H0: delta <= 0; delta >= 0 with
        ``expect_negative_effect``), computed so that it agrees with the interval ``method``
        (see ``pvalue_method``): percentile, ``(1 + #{delta* <= 0}) / (n + 1)`` over the ``n``
        defined replicates (floor ``1 / (n + 1)``); basic, the same with the replicates
        reflected about the estimate (``#{delta* >= 2 estimate}``); bca, the inverted BCa
        interval; corrected, the t approximation of the corrected interval.
    pvalue_two_sided : float or None
        Two-sided p-value from the same method: ``min(1, 2 (1 + min(k_le, k_ge)) / (n + 1))``
        for the bootstrap counts (floor ``2 / (n + 1)``, steps of ``2 / (n + 1)``). The
        ``confidence_level`` interval excludes 0 when this is below ``1 - confidence_level``
        (up to the grid of the replicates).
    pvalue_method : str
        How the p-values were computed and which interval they agree with.
    p_abs_threshold, p_rel_threshold : float or None
        P(delta >= abs_threshold), P(delta / base >= rel_threshold) (negated direction with
        ``expect_negative_effect``).
    n_seeds, n_runs : dict side -> int
    n_examples : int
    warnings : list of str
    bootstrap_mean, bootstrap_std : dict quantity -> float
    n_units : int
        Resampling units (examples, or clusters when ``cluster_col`` is set).
    notes : list of str
        What the call did that a reader should know but that needs no action (e.g. a
        ``method="corrected"`` request answered with the percentile interval because only one
        axis was resampled).
    details : dict
        Everything else: sample switches, cluster column, thresholds, seeds used, jackknife
        acceleration (BCa), variance components (``method="corrected"``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from multiberts_stats.bootstrap import MatrixRuns, multiboot
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 2, 200)
    >>> info = pd.DataFrame({"pretrain_seed": np.repeat(np.arange(25), 2)})
    >>> def side(p):
    ...     return MatrixRuns(info, np.where(rng.random((50, 200)) < p, labels, 1 - labels), labels)
    >>> res = multiboot(side(0.70), side(0.75), design="paired", nboot=500, rng=1)
    >>> res.distribution.shape, res.delta_distribution.shape
    ((500, 2), (500,))
    >>> list(res.to_frame()["quantity"])
    ['base', 'expt', 'delta']
    >>> res.ci["delta"][0] > 0 and res.pvalue < 0.05
    True
    >>> print(res.summary())  # doctest: +ELLIPSIS
    Multi-Bootstrap (paired) of accuracy: 500 replicates resampling seeds and examples; ...
    """

    design: str
    metric: str
    nboot: int
    confidence_level: float
    method: str
    estimate: dict
    distribution: np.ndarray
    delta_distribution: np.ndarray | None
    ci: dict
    pvalue: float | None
    pvalue_two_sided: float | None
    p_abs_threshold: float | None
    p_rel_threshold: float | None
    n_seeds: dict
    n_examples: int
    n_runs: dict
    warnings: list = field(default_factory=list)
    bootstrap_mean: dict = field(default_factory=dict)
    bootstrap_std: dict = field(default_factory=dict)
    n_units: int = 0
    details: dict = field(default_factory=dict)
    pvalue_method: str = ""
    notes: list = field(default_factory=list)

    @property
    def quantities(self) -> list[str]:
        return list(self.estimate)

    def samples(self, quantity: str = "delta") -> np.ndarray:
        """Bootstrap replicates of one quantity (``base``, ``expt`` or ``delta``)."""
        if quantity == "delta":
            if self.delta_distribution is None:
                raise ValueError("This result has a single side; there is no delta.")
            return self.delta_distribution
        col = {"base": 0, "expt": 1}.get(quantity)
        if col is None or col >= self.distribution.shape[1]:
            raise ValueError(f"Unknown quantity {quantity!r}; this result has {self.quantities}.")
        return self.distribution[:, col]

    def to_frame(self):
        """Tidy table: one row per quantity (base / expt / delta).

        Columns: quantity, estimate, bootstrap_mean, bootstrap_std, low, high, p_value,
        p_value_two_sided, p_abs_threshold, p_rel_threshold, confidence_level, method, metric,
        design, n_seeds, n_runs, n_examples, nboot.
        """
        import pandas as pd

        rows = []
        for q in self.quantities:
            is_delta = q == "delta"
            rows.append({
                "quantity": q,
                "estimate": self.estimate[q],
                "bootstrap_mean": self.bootstrap_mean.get(q, np.nan),
                "bootstrap_std": self.bootstrap_std.get(q, np.nan),
                "low": self.ci[q][0],
                "high": self.ci[q][1],
                "p_value": self.pvalue if is_delta else np.nan,
                "p_value_two_sided": self.pvalue_two_sided if is_delta else np.nan,
                "p_abs_threshold": (self.p_abs_threshold if is_delta and self.p_abs_threshold
                                    is not None else np.nan),
                "p_rel_threshold": (self.p_rel_threshold if is_delta and self.p_rel_threshold
                                    is not None else np.nan),
                "confidence_level": self.confidence_level,
                "method": self.method,
                "p_value_method": self.pvalue_method if is_delta else "",
                "metric": self.metric,
                "design": self.design,
                "n_seeds": self.n_seeds.get(q, np.nan) if not is_delta else
                min(self.n_seeds.values()),
                "n_runs": self.n_runs.get(q, np.nan) if not is_delta else sum(self.n_runs.values()),
                "n_examples": self.n_examples,
                "nboot": self.nboot,
            })
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A readable multi-line report."""
        d = self.details
        axes = []
        if d.get("sample_seeds", True):
            axes.append("seeds")
        if d.get("sample_examples", True):
            axes.append(f"clusters ({d['cluster_col']})" if d.get("cluster_col") else "examples")
        lines = [
            f"Multi-Bootstrap ({self.design}) of {self.metric}: {self.nboot} replicates resampling "
            f"{' and '.join(axes) if axes else 'nothing'}; {self.confidence_level:.0%} "
            f"{self.method} intervals",
        ]
        for side in self.n_seeds:
            lines.append(f"  {side}: {self.n_seeds[side]} seed(s), {self.n_runs[side]} run(s)")
        lines.append(f"  examples: {self.n_examples}" + (
            f" in {self.n_units} clusters" if d.get("cluster_col") else ""))
        names = {"base": "base ", "expt": "expt ", "delta": "delta"}
        for q in self.quantities:
            lo, hi = self.ci[q]
            lines.append(f"  {names[q]} = {self.estimate[q]:.4g}  [{lo:.4g}, {hi:.4g}]  "
                         f"(bootstrap mean {self.bootstrap_mean[q]:.4g}, sd {self.bootstrap_std[q]:.3g})")
        if self.pvalue is not None:
            side = ">= 0" if d.get("expect_negative_effect") else "<= 0"
            lines.append(f"  p-value (one-sided, H0: delta {side}) = {self.pvalue:.3g}; "
                         f"two-sided = {self.pvalue_two_sided:.3g}")
        if self.p_abs_threshold is not None:
            op = "<=" if d.get("expect_negative_effect") else ">="
            t = d["abs_threshold"]
            lines.append(f"  P(delta {op} {-t if op == '<=' else t:.3g}) = {self.p_abs_threshold:.3f}")
        if self.p_rel_threshold is not None:
            op = "<=" if d.get("expect_negative_effect") else ">="
            t = d["rel_threshold"]
            lines.append(f"  P(delta/base {op} {-t if op == '<=' else t:.3g}) = {self.p_rel_threshold:.3f}")
        if self.pvalue_method:
            lines.append(f"  p-values: {self.pvalue_method}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        parts = []
        for q in self.quantities:
            lo, hi = self.ci[q]
            parts.append(f"{q}={self.estimate[q]:.4g} [{lo:.4g}, {hi:.4g}]")
        p = f", p={self.pvalue:.3g}" if self.pvalue is not None else ""
        seeds = ", ".join(f"{k}={v}" for k, v in self.n_seeds.items())
        w = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        return (f"MultiBootstrapResult({self.design}, {self.metric}, nboot={self.nboot}, "
                f"{self.method} {self.confidence_level:.0%}: {'; '.join(parts)}{p}; "
                f"seeds {seeds}; examples={self.n_examples}{w})")

    __str__ = summary
