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
    model with the same a and b (a true null, delta = 0). Estimand: E Phi(z0 + a + b) =
    Phi(z0 / sqrt(1 + sd_seed^2 + sd_example^2)).
``"binary_indep"``
    As ``"binary"``, but each side adds its own independent seed component (sd
    ``sd_seed_effect``) and example component (sd ``sd_example_effect``) on the probit scale,
    so seed and example effects do not cancel in the paired difference (still a true null).

Each simulated experiment is analysed exactly as :func:`~multiberts_stats.bootstrap.multiboot`
does with a paired design and both axes resampled (one seed draw shared by both sides, one
example draw shared by both sides; percentile intervals; one-sided p-value (1 + k)/(nboot + 1)
as multiboot; and the ``method="corrected"`` variance-component interval), vectorised: the run
averages per (seed, example) are all a mean-type metric needs, and a batch of replicates is
one matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import counts_from_draws, matmul, seed_weights

__all__ = ["BINARY", "BINARY_INDEP", "CONTINUOUS", "ClusterModel", "SimModel", "cluster_coverage_study",
           "coverage_study", "fixed_baseline_study"]


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

        var = 1 + self.sd_seed ** 2 + self.sd_example ** 2
        if self.kind == "binary_indep":
            var += self.sd_seed_effect ** 2 + self.sd_example_effect ** 2
        return float(ndtr(self.mu / np.sqrt(var))), 0.0

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

        zb, ze = self.mu + a + b, self.mu + a_e + b
        if self.kind == "binary_indep":  # each side its own seed and example components too
            for_side = [rng.normal(0, self.sd_seed_effect, (n_seeds, 1))
                        + rng.normal(0, self.sd_example_effect, (1, n_examples)) for _ in range(2)]
            zb, ze = zb + for_side[0], ze + for_side[1]
        base = (rng.random((n_runs,) + shape) < ndtr(zb)).mean(axis=0)
        expt = (rng.random((n_runs,) + shape) < ndtr(ze)).mean(axis=0)
        return base, expt


CONTINUOUS = SimModel()
#: accuracy near 0.8, tiny seed effect, large example difficulty spread, Bernoulli run noise;
#: both sides share the seed and example effects exactly (they cancel in a paired difference)
BINARY = SimModel(kind="binary", mu=1.0, sd_seed=0.05, sd_example=1.0)
#: the same, plus independent side-specific seed (sd 0.05) and example (sd 0.5) components on
#: the probit scale: a true null in which the paired difference keeps main effects
BINARY_INDEP = SimModel(kind="binary_indep", mu=1.0, sd_seed=0.05, sd_example=1.0,
                        sd_seed_effect=0.05, sd_example_effect=0.5)


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
        p = (1 + np.sum(dist["delta"] <= 0)) / (nboot + 1)  # as multiboot
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


@dataclass(frozen=True)
class ClusterModel:
    """Crossed model with examples nested in clusters (e.g. Winogender occupations).

    score[s, r, j] = mu + a_s + c_k(j) + b_j + e_srj, a ~ N(0, sd_seed^2), c ~ N(0,
    sd_cluster^2), b ~ N(0, sd_example^2), e ~ N(0, sd_noise^2), ``per_cluster`` examples in
    each of the clusters. The experiment side (paired design) adds an intervention x cluster
    effect (sd ``sd_cluster_effect``) and an intervention x seed effect (sd
    ``sd_seed_effect``), both with mean 0: a true null for the difference.
    """

    mu: float = 0.7
    sd_seed: float = 0.01
    sd_cluster: float = 0.1
    sd_example: float = 0.1
    sd_noise: float = 0.3
    sd_cluster_effect: float = 0.05
    sd_seed_effect: float = 0.005
    per_cluster: int = 20

    def simulate(self, rng, n_seeds: int, n_clusters: int, n_runs: int):
        """(base, expt) score matrices (n_seeds * n_runs, n_examples) and the cluster of each
        example."""
        J = n_clusters * self.per_cluster
        cl = np.repeat(np.arange(n_clusters), self.per_cluster)
        a = np.repeat(rng.normal(0, self.sd_seed, n_seeds), n_runs)[:, None]
        c = rng.normal(0, self.sd_cluster, n_clusters)[cl][None, :]
        b = rng.normal(0, self.sd_example, J)[None, :]
        shape = (n_seeds * n_runs, J)
        base = self.mu + a + c + b + rng.normal(0, self.sd_noise, shape)
        ce = rng.normal(0, self.sd_cluster_effect, n_clusters)[cl][None, :]
        se = np.repeat(rng.normal(0, self.sd_seed_effect, n_seeds), n_runs)[:, None]
        expt = self.mu + a + c + b + ce + se + rng.normal(0, self.sd_noise, shape)
        return base, expt, cl


def cluster_coverage_study(model: ClusterModel = ClusterModel(), n_clusters: int = 10,
                           n_seeds: int = 25, n_runs: int = 2, n_experiments: int = 500,
                           nboot: int = 400, confidence_level: float = 0.95, rng=0) -> dict:
    """Coverage of the 95% percentile interval when clusters are the resampling unit.

    Every simulated experiment goes through the real :func:`multiboot` (``metric="mean"``,
    ``cluster_col``, seeds and clusters resampled): the procedure mean of one side, and the
    paired difference. Returns coverage shares and hit counts for ``base`` and ``delta`` and
    the one-sided rejection rate of the true null (``delta == 0``) at ``1 - confidence_level``
    two-sided.
    """
    import warnings

    import pandas as pd

    from ..errors import FewClustersWarning, FewSeedsWarning
    from ..table import MatrixRuns
    from .modern import multiboot

    rng = np.random.default_rng(rng)
    info = pd.DataFrame({"pretrain_seed": np.repeat(np.arange(n_seeds), n_runs),
                         "finetune_seed": np.tile(np.arange(n_runs), n_seeds)})
    hits = {"base": 0, "delta": 0}
    rejects = 0
    for _ in range(n_experiments):
        yb, ye, cl = model.simulate(rng, n_seeds, n_clusters, n_runs)
        sides = [MatrixRuns(info, None, None, None, {"cluster": cl}, {"score": y})
                 for y in (yb, ye)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            warnings.simplefilter("ignore", FewSeedsWarning)
            r = multiboot(sides[0], sides[1], design="paired", metric="mean",
                          cluster_col="cluster", nboot=nboot, confidence_level=confidence_level,
                          rng=rng, quiet=True)
        lo, hi = r.ci["base"]
        hits["base"] += lo <= model.mu <= hi
        lo, hi = r.ci["delta"]
        hits["delta"] += lo <= 0.0 <= hi
        rejects += r.pvalue_two_sided <= 1 - confidence_level
    n = n_experiments
    return {"coverage": {k: v / n for k, v in hits.items()}, "hits": hits,
            "reject": rejects / n, "rejects": rejects, "n_experiments": n,
            "n_clusters": n_clusters, "n_seeds": n_seeds, "nboot": nboot, "model": model}


def fixed_baseline_study(n_base_seeds: int = 5, n_seeds: int = 25, n_examples: int = 500,
                         n_runs: int = 2, sd_seed: float = 0.02, sd_example: float = 0.09,
                         sd_noise: float = 0.3, n_experiments: int = 300, nboot: int = 400,
                         rng=0) -> dict:
    """What a fixed baseline with several seeds costs: the basis of ``FixedBaselineWarning``.

    Two procedures with the same mean (a true null for the procedure-level difference): the
    baseline has ``n_base_seeds`` seeds, the experiment ``n_seeds``; score = 0.7 + a_s + b_j +
    e (seed effects independent between the procedures, examples shared). Each experiment is
    analysed with ``design="fixed_baseline"`` (the baseline's seeds averaged, never resampled)
    and ``design="unpaired"`` through the real :func:`multiboot`. Returns the share of 95%
    intervals of the difference covering 0 for each design.
    """
    import warnings

    import pandas as pd

    from ..table import MatrixRuns
    from .modern import multiboot

    rng = np.random.default_rng(rng)

    def side(S):
        a = np.repeat(rng.normal(0, sd_seed, S), n_runs)[:, None]
        return a, pd.DataFrame({"pretrain_seed": np.repeat(np.arange(S), n_runs),
                                "finetune_seed": np.tile(np.arange(n_runs), S)})

    hits = {"fixed_baseline": 0, "unpaired": 0}
    for _ in range(n_experiments):
        b = rng.normal(0, sd_example, (1, n_examples))
        (ab, ib), (ae, ie) = side(n_base_seeds), side(n_seeds)
        yb = 0.7 + ab + b + rng.normal(0, sd_noise, (len(ib), n_examples))
        ye = 0.7 + ae + b + rng.normal(0, sd_noise, (len(ie), n_examples))
        base = MatrixRuns(ib, None, run_columns={"score": yb})
        expt = MatrixRuns(ie, None, run_columns={"score": ye})
        for design in hits:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = multiboot(base, expt, design=design, metric="mean", nboot=nboot, rng=rng,
                              quiet=True)
            lo, hi = r.ci["delta"]
            hits[design] += lo <= 0.0 <= hi
    return {"coverage": {k: v / n_experiments for k, v in hits.items()}, "hits": hits,
            "n_experiments": n_experiments, "n_base_seeds": n_base_seeds, "n_seeds": n_seeds,
            "sd_seed": sd_seed, "sd_example": sd_example, "sd_noise": sd_noise,
            "n_examples": n_examples, "n_runs": n_runs, "nboot": nboot}
