"""Interval machinery beyond the percentile: the BCa jackknife and the variance components of
``method="corrected"``.

* :func:`jackknife` — leave-one-unit-out (or leave-one-seed-out) estimates for the BCa
  acceleration, when a single axis is resampled.
* :func:`corrected_components` / :func:`variance_components` — the crossed seed x unit
  decomposition that removes the per-run noise joint resampling counts twice
  (docs/statistics.md).
"""

from __future__ import annotations

import numpy as np

from .checks import BootstrapInputError
from .engine import Side, Units

__all__ = ["LINEAR_METRICS", "corrected_components", "jackknife", "variance_components"]

_FN = "multiboot"

#: metrics that are means of per-example scores: ``method="corrected"`` applies to them
LINEAR_METRICS = frozenset({"accuracy", "error", "mean", "exact_match", "squad_f1"})


def _err(msg):
    return BootstrapInputError(msg)


# ----------------------------------------------------------------------------------------------
# BCa jackknife


def jackknife(sides, units, resampled, design, sample_seeds, sample_examples, metric_name):
    seeds_active = sample_seeds and any(resampled[k] and s.n_seeds > 1 for k, s in sides.items())
    examples_active = sample_examples and units.n_units > 1
    if seeds_active and examples_active:
        raise _err(f"The `method='bca'` of {_FN} needs a single resampled axis: its jackknife "
                   "acceleration is not defined when seeds and examples are resampled jointly. "
                   "Use method='percentile', 'basic' or 'corrected', or switch an axis off "
                   "(sample_seeds=False or sample_examples=False).")
    if not seeds_active and not examples_active:
        raise _err(f"The `method='bca'` of {_FN} needs a resampled axis. Got sample_seeds="
                   f"{sample_seeds}, sample_examples={sample_examples}.")
    jack = {}
    if examples_active:
        for k, side in sides.items():
            jack[k] = _jackknife_units(side, units)
    else:
        if design == "unpaired":
            raise _err(f"The `method='bca'` of {_FN} with only seeds resampled is not offered for the "
                       "unpaired design (two independent seed samples have no single jackknife). "
                       "Use method='percentile' or 'basic'.")
        for k, side in sides.items():
            ss = side.seed_means(side.full_run_scores())[0]
            if resampled[k]:
                tot = ss.sum()
                jack[k] = (tot - ss) / (len(ss) - 1)
            else:
                jack[k] = np.full(len(ss), ss.mean())
        n = max(len(v) for v in jack.values())
        jack = {k: np.broadcast_to(v, (n,)) if len(v) == 1 else v for k, v in jack.items()}
    if "expt" in jack:
        jack["delta"] = jack["expt"] - jack["base"]
    return jack


def _jackknife_units(side: Side, units: Units) -> np.ndarray:
    n_units = units.n_units
    if side.metric is not None:
        full = side.X.sum(axis=0)
        n_full = units.sizes.sum()
        out = np.empty(n_units)
        step = max(1, 4_000_000 // max(1, side.X.shape[1]))
        for a in range(0, n_units, step):
            T = full[None, :] - side.X[a:a + step]
            n = n_full - units.sizes[a:a + step]
            rs = side.metric.finish(T.reshape(T.shape[0], side.n_runs, side.k), n)
            out[a:a + step] = side.seed_means(rs).mean(axis=1)
        return out
    out = np.empty(n_units)
    allu = np.arange(n_units)
    for u in range(n_units):
        jj = units.expand(np.delete(allu, u))
        rs = side.run_scores(None, None, example_draws=[jj])
        out[u] = side.seed_means(rs).mean(axis=1)[0]
    return out


# ----------------------------------------------------------------------------------------------
# corrected interval from variance components


def _anova(Z: np.ndarray) -> dict:
    """Crossed seed x unit decomposition of a (S, J) matrix of linearised scores."""
    S, J = Z.shape
    m = Z.mean()
    a = Z.mean(axis=1) - m
    b = Z.mean(axis=0) - m
    g = Z - m - a[:, None] - b[None, :]
    seed = float(np.sum(a * a) / (S * (S - 1))) if S > 1 else 0.0
    col = float(np.sum(b * b) / (J * (J - 1))) if J > 1 else 0.0
    inter = float(np.sum(g * g) / (S * J * (S - 1) * (J - 1))) if S > 1 and J > 1 else 0.0
    return {"seed": seed, "example": col, "interaction": inter, "col_effects": b, "S": S, "J": J}


def _combine(seed_parts: list[tuple[float, int]], col: float, J: int, inter: float,
             inter_df: float | None = None) -> dict:
    """Variance = seed parts + unit part - residual part; Satterthwaite degrees of freedom.

    ``seed_parts`` are (component, df) pairs; the residual is what joint resampling counts
    twice. If the difference is not positive (possible in small samples), the largest positive
    component is used instead and ``clamped`` is set.
    """
    seed = sum(v for v, _ in seed_parts)
    raw = seed + col - inter
    terms = [(v, df) for v, df in seed_parts if df > 0] + [(col, J - 1)]
    if inter > 0:
        S_eff = min([df for _, df in seed_parts], default=1) + 1
        terms.append((inter, inter_df or max(1, (S_eff - 1) * (J - 1))))
    clamped = raw <= 0
    var = max([v for v, _ in terms if v > 0], default=0.0) if clamped else raw
    den = sum(v * v / df for v, df in terms if df > 0)
    df = var * var / den if den > 0 else float(J - 1)
    return {"variance": float(var), "df": float(max(df, 1.0)), "seed": float(seed),
            "example": float(col), "interaction_removed": float(inter), "clamped": bool(clamped)}


def corrected_components(sides, units, resampled, design, sample_seeds, sample_examples,
               metric_name, estimate):
    if metric_name not in LINEAR_METRICS:
        raise _err(f"The `method='corrected'` of {_FN} is offered for means of per-example scores "
                   f"({sorted(LINEAR_METRICS)}). Got metric {metric_name!r}; use 'percentile' or 'basic'.")
    if not (sample_seeds and sample_examples):
        raise _err(f"The `method='corrected'` of {_FN} corrects joint resampling of seeds and "
                   "examples; with an axis switched off nothing is counted twice, so use "
                   "'percentile' (or 'basic' / 'bca').")
    J = units.n_units
    N = units.sizes.sum()
    Z = {}
    for k, side in sides.items():
        Y = (side.X @ side.M).T  # (S, J): per-unit sums averaged over each seed's runs
        theta = Y.sum() / (side.n_seeds * N)
        # linearised ratio (clusters of unequal size); for examples this is Y - mean
        Z[k] = (Y - theta * units.sizes[None, :]) * (J / N)
    return variance_components(Z, resampled, design)


def variance_components(Z: dict, resampled: dict, design: str) -> dict:
    """Variance of the point estimates from a crossed seed x unit decomposition.

    ``Z[side]`` is a (n_seeds, n_units) matrix of (linearised) per-unit scores averaged over the
    runs of each seed. For a side whose seeds are resampled, the unbiased variance of the mean
    under the crossed random-effects model is ``(MS_seed + MS_unit - MS_residual) / (S J)``,
    i.e. the seed and unit components minus the residual (per-run noise and interaction) that
    joint resampling of seeds and units counts again in both main effects. A fixed-baseline side
    contributes only its unit component. Returns, per quantity, the variance, Satterthwaite
    degrees of freedom and the components.
    """
    J = next(iter(Z.values())).shape[1]
    an = {k: _anova(z) for k, z in Z.items()}
    out = {}
    for k in Z:
        if resampled[k]:
            out[k] = _combine([(an[k]["seed"], an[k]["S"] - 1)], an[k]["example"], J,
                              an[k]["interaction"])
        else:
            zb = Z[k].mean(axis=0, keepdims=True)
            out[k] = _combine([], _anova(zb)["example"], J, 0.0)
    if "expt" in Z:
        if design == "paired":
            d = _anova(Z["expt"] - Z["base"])
            out["delta"] = _combine([(d["seed"], d["S"] - 1)], d["example"], J, d["interaction"])
        else:
            parts, inter, cols = [], 0.0, {}
            for k in ("base", "expt"):
                if resampled[k]:
                    parts.append((an[k]["seed"], an[k]["S"] - 1))
                    inter += an[k]["interaction"]
                    cols[k] = an[k]["col_effects"]
                else:
                    zb = Z[k].mean(axis=0)
                    cols[k] = zb - zb.mean()
            db = cols["expt"] - cols["base"]
            col = float(np.sum(db * db) / (J * (J - 1)))
            out["delta"] = _combine(parts, col, J, inter)
    return out
