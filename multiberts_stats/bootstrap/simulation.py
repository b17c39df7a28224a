"""Coverage simulations for the Multi-Bootstrap (used by the tests and benchmarks/coverage_study.py).

Two crossed two-level models with ``n_seeds`` pretraining seeds, ``n_runs`` runs (fine-tuning
seeds) per pretraining seed and ``n_examples`` examples drawn from a population:

``"continuous"``
    score[s, r, j] = mu + a_s + b_j + e_srj with a ~ N(0, sd_seed^2), b ~ N(0, sd_example^2),
    e ~ N(0, sd_noise^2). The experiment side adds a seed-level and an example-level random
    effect of the intervention (mean ``delta``, default 0) and its own noise. Estimand: mu
    (base) and delta (paired difference).
``"binary"``
    correct[s, r, j] ~ Bernoulli(Phi(z0 + a_s + b_j)), one independent draw per run (per-run
    noise dominates, as for accuracy of fine-tuned classifiers); both sides follow the same
    model (a true null, delta = 0). Estimand: E Phi(z0 + a + b) = Phi(z0 / sqrt(1 + sd_seed^2 +
    sd_example^2)).

Each simulated experiment is analysed exactly as :func:`~multiberts_stats.bootstrap.multiboot`
does with a paired design and both axes resampled (one seed draw shared by both sides, one
example draw shared by both sides; percentile intervals; one-sided p-value floored at
1/nboot; and the ``method="corrected"`` variance-component interval), vectorised: the run
averages per (seed, example) are all a mean-type metric needs, and a batch of replicates is
one matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import counts_from_draws, matmul, seed_weights

__all__ = ["SimModel", "CONTINUOUS", "BINARY", "coverage_study"]


@dataclass(frozen=True)
class SimModel:
    kind: str = "continuous"
    mu: float = 0.8           # continuous: grand mean; binary: z0 on the probit scale
    sd_seed: float = 0.01
    sd_example: float = 0.09
    sd_noise: float = 0.3
    sd_seed_effect: float = 0.005    # intervention x seed (continuous)
    sd_example_effect: float = 0.03  # intervention x example (continuous)
    delta: float = 0.0

    def truth(self) -> tuple[float, float]:
        if self.kind == "continuous":
            return self.mu, self.delta
        from scipy.special import ndtr

        return float(ndtr(self.mu / np.sqrt(1 + self.sd_seed ** 2 + self.sd_example ** 2))), 0.0

    def simulate(self, rng, n_seeds: int, n_examples: int, n_runs: int, paired: bool = True):
        """Run-averaged (n_seeds, n_examples) score matrices of base and experiment.

        ``paired=False``: the experiment's seeds are different pretraining runs (their own seed
        effects), the examples are shared.
        """
        a = rng.normal(0, self.sd_seed, (n_seeds, 1))
        a_e = a if paired else rng.normal(0, self.sd_seed, (n_seeds, 1))
        b = rng.normal(0, self.sd_example, (1, n_examples))
        shape = (n_seeds, n_examples)
        if self.kind == "continuous":
            sd = self.sd_noise / np.sqrt(n_runs)  # mean of n_runs independent noises
            base = self.mu + a + b + rng.normal(0, sd, shape)
            expt = (self.mu + self.delta + a_e + b
                    + rng.normal(0, self.sd_seed_effect, (n_seeds, 1))
                    + rng.normal(0, self.sd_example_effect, (1, n_examples))
                    + rng.normal(0, sd, shape))
            return base, expt
        from scipy.special import ndtr

        base = (rng.random((n_runs,) + shape) < ndtr(self.mu + a + b)).mean(axis=0)
        expt = (rng.random((n_runs,) + shape) < ndtr(self.mu + a_e + b)).mean(axis=0)
        return base, expt


CONTINUOUS = SimModel()
#: accuracy near 0.8, tiny seed effect, large example difficulty spread, Bernoulli run noise
BINARY = SimModel(kind="binary", mu=1.0, sd_seed=0.05, sd_example=1.0)


def coverage_study(model: SimModel = CONTINUOUS, n_seeds: int = 25, n_examples: int = 2000,
                   n_runs: int = 5, n_experiments: int = 500, nboot: int = 400,
                   confidence_level: float = 0.95, alpha: float = 0.05, rng=0,
                   design: str = "paired") -> dict:
    """Simulate ``n_experiments`` experiments and report how the intervals behave.

    ``design`` is ``"paired"`` (one seed draw shared by both sides) or ``"unpaired"`` (the
    experiment's seeds are other pretraining runs, drawn separately; examples shared).

    Returns a dict with ``coverage`` (percentile interval) and ``coverage_corrected``
    (``method="corrected"``) for ``base`` and ``delta``, ``reject`` (share of one-sided
    bootstrap p-values <= ``alpha``; the null is true when ``model.delta == 0``),
    ``reject_corrected``, ``width_ratio`` (mean corrected / percentile width for delta), the
    counts behind each share and the settings.
    """
    from scipy.special import stdtr, stdtrit

    from .variance import variance_components

    rng = np.random.default_rng(rng)
    truth_base, truth_delta = model.truth()
    q = [(1 - confidence_level) / 2, 1 - (1 - confidence_level) / 2]
    hits = {"base": 0, "delta": 0}
    hits_c = {"base": 0, "delta": 0}
    rejects = rejects_c = 0
    widths, widths_c = [], []
    S, J = n_seeds, n_examples
    for _ in range(n_experiments):
        yb, ye = model.simulate(rng, S, J, n_runs, paired=design == "paired")
        est_b, est_e = yb.mean(), ye.mean()
        est = {"base": est_b, "delta": est_e - est_b}
        # bootstrap: one seed draw and one example draw shared by both sides
        V = counts_from_draws(rng.integers(0, J, (nboot, J)), J, np.float32)
        W = seed_weights(rng.integers(0, S, (nboot, S)), S)
        We = W if design == "paired" else seed_weights(rng.integers(0, S, (nboot, S)), S)
        P = matmul(V, np.hstack([yb.T, ye.T]).astype(np.float32)).astype(float) / J  # (nboot, 2S)
        tb = (W * P[:, :S]).sum(axis=1)
        te = (We * P[:, S:]).sum(axis=1)
        dist = {"base": tb, "delta": te - tb}
        truth = {"base": truth_base, "delta": truth_delta}
        comps = variance_components({"base": yb - est_b, "expt": ye - est_e},
                                    {"base": True, "expt": True}, design)
        for k in ("base", "delta"):
            lo, hi = np.quantile(dist[k], q)
            hits[k] += lo <= truth[k] <= hi
            half = stdtrit(comps[k]["df"], q[1]) * np.sqrt(comps[k]["variance"])
            hits_c[k] += est[k] - half <= truth[k] <= est[k] + half
            if k == "delta":
                widths.append(hi - lo)
                widths_c.append(2 * half)
        p = max(np.mean(dist["delta"] <= 0), 1 / nboot)
        rejects += p <= alpha
        z = est["delta"] / np.sqrt(comps["delta"]["variance"])
        rejects_c += stdtr(comps["delta"]["df"], -z) <= alpha
    n = n_experiments
    return {
        "coverage": {k: v / n for k, v in hits.items()},
        "coverage_corrected": {k: v / n for k, v in hits_c.items()},
        "hits": dict(hits), "hits_corrected": dict(hits_c),
        "reject": rejects / n, "rejects": rejects,
        "reject_corrected": rejects_c / n, "rejects_corrected": rejects_c,
        "width_ratio": float(np.mean(widths_c) / np.mean(widths)),
        "n_experiments": n, "n_seeds": S, "n_examples": J, "n_runs": n_runs, "nboot": nboot,
        "model": model, "design": design,
    }
