"""Plan an experiment: how many pretraining seeds, fine-tuning runs and examples a finding needs.

1. Fit the crossed variance components of a pilot (:func:`fit_components`: seed, example,
   seed x example, run within seed, residual; for a comparison those of the difference), with
   generalised confidence intervals — or state them (:class:`Components`), or state a crossed
   probit model of binary outcomes (:class:`ProbitModel`).
2. :func:`plan_experiment`: for a target effect, alpha and power, the predicted power and
   interval width of every design of a grid (seeds x runs x examples) — by simulating whole
   experiments from the model and analysing each exactly as the Multi-Bootstrap test does
   (vectorised: all experiments of a design in a few matrix products), with the analytic normal
   approximation beside it — and the cheapest design that reaches the target.
   :func:`plan_width`: the same for the width of one procedure's (or a difference's) interval.
3. :meth:`ExperimentPlan.plot`: power (or width) against seeds for a few example counts.

The model, the validation in simulation and the speed are in docs/statistics.md ("Planning an
experiment"). Numpy is the only import at import time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from multiberts_stats.errors import InputError, describe

from .models import (
    COMPONENT_NAMES,
    PLAN_DESIGNS,
    Components,
    ProbitModel,
    fit_components,
)
from .check import measure_power, simulate_pilot
from .models import check_number as _num
from .models import resolve_model as _resolve_model
from .sim import analyse, draw_normals, means_from_normals, probit_means

__all__ = [
    "COMPONENT_NAMES",
    "DEFAULT_RUNS",
    "DEFAULT_SEEDS",
    "PLAN_DESIGNS",
    "TOO_SMALL_POWER_DROP",
    "TOO_SMALL_SHARE",
    "TOO_SMALL_SPAN",
    "TOO_SMALL_WIDTH_RATIO",
    "Components",
    "ExperimentPlan",
    "ProbitModel",
    "fit_components",
    "measure_power",
    "plan_experiment",
    "plan_width",
    "simulate_pilot",
]

#: default grid of seeds (per side) and runs per seed
DEFAULT_SEEDS = (3, 5, 10, 15, 20, 25, 30, 40, 50)
DEFAULT_RUNS = (1, 2, 5)
#: a too-small pilot's warning names the components whose interval spans more than this factor
#: (high / low; low = 0 counts as infinite) and could carry TOO_SMALL_SHARE of the variance
TOO_SMALL_SPAN = 100.0
TOO_SMALL_SHARE = 0.10
#: the pilot is "too small to plan from" when, over the 95% range of its components'
#: uncertainty, the recommended design's power can fall more than this below the target ...
TOO_SMALL_POWER_DROP = 0.2
#: ... or (width plans) its interval can be this many times wider than the target
TOO_SMALL_WIDTH_RATIO = 1.5
_METHODS = ("percentile", "corrected")
_CHUNK_CELLS = 4_000_000  # simulated (experiment, seed, example) cells held at once
_ALTERNATIVES = ("two-sided", "one-sided")


def _grid(values, name, func, minimum):
    vals = sorted({int(v) for v in values}) if values is not None else None
    if not vals or any(v < minimum for v in vals) or any(
            not isinstance(v, (int, np.integer)) or isinstance(v, bool) for v in values):
        raise InputError(f"The `{name}` parameter of {func} must be a non-empty list of integers "
                         f">= {minimum}. Got {describe(values)} instead.")
    return vals


@dataclass
class ExperimentPlan:
    """Designs with their predicted power (or interval width), and the recommended one.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per design: ``seeds`` (per side), ``runs`` (per seed), ``examples``,
        ``pretrain_seeds`` / ``finetune_runs`` (totals the cost counts), ``cost``, the analytic
        ``sd`` of the estimate, ``power_analytic`` and ``width_analytic``, and from the
        simulation ``power_sim`` (with ``power_sim_low`` / ``_high``, its 95% Clopper-Pearson
        interval), ``width_sim`` (mean interval width), ``reaches_target``.
    recommended : dict or None
        The chosen row (cheapest reaching the target), None when no design does. Its
        ``power`` / ``power_sim`` (or ``width``) are re-estimated on fresh simulations (the
        grid value, biased upwards by the choice, is kept as ``power_grid`` / ``width_grid``).
    target : dict
        What was asked (kind "power" or "width", effect, alpha, power, width, design, method).
    components : Components
        The model planned from.
    warnings : list of str
        Including whether the pilot is too small to plan from.
    pilot_too_small : bool
        Over the 95% range of the components' uncertainty (pilot fits only), the recommended
        design's power can fall more than :data:`TOO_SMALL_POWER_DROP` below the target (width
        plans: its width exceed :data:`TOO_SMALL_WIDTH_RATIO` times the target).
    power_range, width_range : tuple or None
        Analytic power (width) at the recommended design over that range (pilot fits only).
    """

    table: object
    recommended: dict | None
    target: dict
    components: Components
    settings: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    pilot_too_small: bool = False
    power_range: tuple | None = None
    width_range: tuple | None = None

    def to_frame(self):
        """The design table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict:
        """JSON-ready dict: target, recommended design, table rows, components, warnings."""
        def clean(v):
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (float, np.floating)):
                return None if not math.isfinite(float(v)) else float(v)
            if isinstance(v, (np.bool_,)):
                return bool(v)
            return v

        comp = self.components.to_frame()
        return clean({"target": self.target, "recommended": self.recommended,
                      "pilot_too_small": self.pilot_too_small, "power_range": self.power_range,
                      "width_range": self.width_range,
                      "warnings": list(self.warnings), "settings": self.settings,
                      "components": comp.to_dict("records"),
                      "designs": self.table.to_dict("records")})

    def summary(self) -> str:
        """A few lines for a terminal."""
        t = self.target
        if t["kind"] == "power":
            head = (f"Plan: {t['design']} design, {t['method']} test ({t['alternative']}, alpha "
                    f"{t['alpha']}), effect {t['effect_abs']:.4g}, target power {t['power']}.")
        else:
            head = (f"Plan: {t['design']} design, {t['method']} interval at "
                    f"{t['confidence_level']:.0%}, target width {t['width']:.4g}.")
        lines = [head]
        r = self.recommended
        if r is None:
            lines.append("No design of the grid reaches the target; see the table (extend the grid).")
        else:
            what = (f"power {r['power']:.3f}" if t["kind"] == "power" else
                    f"width {r['width']:.4g}")
            lines.append(f"Recommended: {r['seeds']} seeds x {r['runs']} runs x {r['examples']} "
                         f"examples ({what}; cost {r['cost']:.4g}).")
        if self.power_range is not None:
            lines.append(f"Over the uncertainty of the components, its analytic power ranges "
                         f"{self.power_range[0]:.2f}-{self.power_range[1]:.2f}.")
        if self.width_range is not None:
            lines.append(f"Over the uncertainty of the components, its analytic width ranges "
                         f"{self.width_range[0]:.3g}-{self.width_range[1]:.3g}.")
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None, *, runs=None, max_lines: int = 4):
        """Power (or width) against the number of seeds, one line per example count.

        Simulated values are solid with their 95% interval, the analytic approximation dashed,
        the target a horizontal line and the recommended design a star. ``runs`` picks the runs
        per seed shown (default: the recommended design's, else the largest).

        Examples
        --------
        >>> import matplotlib; matplotlib.use("Agg")
        >>> c = Components(seed=1e-4, example=2e-3, seed_example=1e-3, residual=0.25,
        ...                design="paired", base_mean=0.8)
        >>> p = plan_experiment(c, 0.02, seeds=[3, 5, 10], runs=[1], examples=[1000], n_sim=60)
        >>> ax = p.plot()
        >>> ax.get_xlabel()
        'pretraining seeds (per side)'
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.2))
        tab = self.table
        t = self.target
        if runs is None:
            runs = self.recommended["runs"] if self.recommended else int(tab["runs"].max())
        sub = tab[tab["runs"] == runs]
        ex = sorted(sub["examples"].unique())
        if len(ex) > max_lines:
            ex = [ex[round(i)] for i in np.linspace(0, len(ex) - 1, max_lines)]
        y = "power" if t["kind"] == "power" else "width"
        for i, J in enumerate(ex):
            d = sub[sub["examples"] == J].sort_values("seeds")
            color = f"C{i}"
            if f"{y}_sim" in d and d[f"{y}_sim"].notna().any():
                ax.plot(d["seeds"], d[f"{y}_sim"], "o-", color=color,
                        label=f"{J:,} examples (simulated)")
                if y == "power":
                    ax.fill_between(d["seeds"], d["power_sim_low"], d["power_sim_high"],
                                    color=color, alpha=0.15, lw=0)
            ax.plot(d["seeds"], d[f"{y}_analytic"], "--", color=color,
                    label=f"{J:,} examples (normal approximation)")
        goal = t["power"] if y == "power" else t["width"]
        ax.axhline(goal, color="k", lw=1, ls=":", label=f"target {y} {goal:g}")
        r = self.recommended
        if r is not None and r["runs"] == runs:
            ax.plot([r["seeds"]], [r[y]], "*", color="k", ms=14,
                    label=f"recommended: {r['seeds']} seeds x {r['runs']} runs x "
                          f"{r['examples']:,} examples")
        ax.set_xlabel("pretraining seeds (per side)")
        ax.set_ylabel("power" if y == "power" else f"{t['confidence_level']:.0%} interval width")
        if y == "power":
            ax.set_ylim(0, 1.02)
        label = self.components.pilot.get("label", "the score")
        if y == "power":
            title = (f"Power to detect {t['effect_abs']:.3g} in {label}\n{t['design']} design, "
                     f"{t['method']} test, alpha {t['alpha']:g}, {runs} run(s) per seed")
        else:
            title = (f"{t['confidence_level']:.0%} interval width of {label}\n{t['design']}, "
                     f"{t['method']} interval, {runs} run(s) per seed")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
        return ax


def _costs(cost_seed, cost_run, cost_examples, objective, func, warns):
    cs = {k: _num(v, k, func, lo=0, open_=False, allow_none=True) for k, v in
          (("cost_seed", cost_seed), ("cost_run", cost_run), ("cost_examples", cost_examples))}
    given = [k for k, v in cs.items() if v is not None]
    if objective is None:
        objective = "cost" if given else "size"
    if objective not in ("cost", "size"):
        raise InputError(f"The `objective` parameter of {func} must be 'cost' or 'size'. Got "
                         f"{describe(objective)} instead.")
    if objective == "cost" and not given:
        raise InputError(f"The `objective='cost'` of {func} needs at least one of `cost_seed`, "
                         "`cost_run`, `cost_examples` (per pretraining seed, per fine-tuning "
                         "run, per 1,000 examples). Got none.")
    if objective == "cost":
        missing = [k for k in cs if cs[k] is None]
        if missing:
            warns.append(f"Costs {missing} not given: counted as 0.")
    return {k: (v or 0.0) for k, v in cs.items()}, objective


def _design_table(comp, seeds, runs, examples, costs):
    import pandas as pd

    S, R, J = (a.ravel() for a in np.meshgrid(seeds, runs, examples, indexing="ij"))
    d = comp.design
    pre = S * (2 if d == "unpaired" else 1)
    ft = S * R * (1 if d == "single" else 2) if d != "fixed_baseline" else S * R + R
    cost = pre * costs["cost_seed"] + ft * costs["cost_run"] + J / 1000 * costs["cost_examples"]
    return pd.DataFrame({"seeds": S, "runs": R, "examples": J, "pretrain_seeds": pre,
                         "finetune_runs": ft, "cost": cost})


def _analytic(comp, tab, method, effect, alpha, alternative, level):
    from scipy.special import ndtr, ndtri, stdtr, stdtrit

    S, R, J = (tab[c].to_numpy(float) for c in ("seeds", "runs", "examples"))
    v = comp.variance(S, R, J)
    sd = np.sqrt(v)
    a = alpha / 2 if alternative == "two-sided" else alpha
    e = abs(effect) if effect is not None else 0.0
    if method == "percentile":
        sd_b = np.sqrt(comp.bootstrap_variance(S, R, J))
        crit = ndtri(1 - a) * sd_b
        power = ndtr((e - crit) / sd) + (ndtr((-e - crit) / sd) if alternative == "two-sided"
                                         else 0.0)
        width = 2 * ndtri(1 - (1 - level) / 2) * sd_b
    else:
        df = comp.corrected_df(S, R, J)
        tc = stdtrit(df, 1 - a)
        power = 1 - stdtr(df, tc - e / sd) + (stdtr(df, -tc - e / sd)
                                             if alternative == "two-sided" else 0.0)
        width = 2 * stdtrit(df, 1 - (1 - level) / 2) * sd
    return sd, power, width


def _simulate(comp, probit, tab, method, effect, alpha, alternative, level, n_sim, nboot, rng,
              quiet):
    from scipy.stats import binomtest

    out = {k: np.full(len(tab), np.nan) for k in
           ("power_sim", "power_sim_low", "power_sim_high", "width_sim")}
    direction = -1.0 if (effect or 0) < 0 else 1.0
    designs = [tuple(int(tab[c].iloc[i]) for c in ("seeds", "runs", "examples"))
               for i in range(len(tab))]
    rej = [[] for _ in designs]
    width = [[] for _ in designs]

    def run(i, sides):
        S, R, J = designs[i]
        one, two, w = analyse(sides, comp.design, method, nboot, level, direction, rng)
        p = two if alternative == "two-sided" else one
        r = p <= alpha
        if alternative == "two-sided" and comp.design != "single":
            # a two-sided rejection detects the effect when the estimate has its sign
            est = sides[-1].mean(axis=(1, 2), dtype=np.float64)
            if len(sides) > 1:
                est = est - sides[0].mean(axis=(1, 2), dtype=np.float64)
            r &= est * direction > 0
        rej[i].append(r)
        width[i].append(w)

    bar = None
    if not quiet:
        import sys

        if sys.stderr.isatty():
            from multiberts_stats._progress import tqdm

            bar = tqdm(total=len(designs) * n_sim, desc="plan", file=sys.stderr)
    if probit is not None:
        for i, (S, R, J) in enumerate(designs):
            chunk = max(1, _CHUNK_CELLS // (S * R * J))
            for a in range(0, n_sim, chunk):
                k = min(chunk, n_sim - a)
                run(i, probit_means(probit, comp.design, rng, k, S, R, J))
                if bar is not None:
                    bar.update(k)
    else:
        # common random numbers: one draw of normals per chunk of experiments, sliced per design
        Smax, Jmax = max(d[0] for d in designs), max(d[2] for d in designs)
        chunk = max(1, _CHUNK_CELLS // (Smax * Jmax))
        for a in range(0, n_sim, chunk):
            k = min(chunk, n_sim - a)
            Z = draw_normals(rng, k, Smax, Jmax, comp.design)
            for i, (S, R, J) in enumerate(designs):
                run(i, means_from_normals(Z, comp, S, R, J, effect or 0.0))
                if bar is not None:
                    bar.update(k)
    if bar is not None:
        bar.close()
    for i in range(len(designs)):
        r = np.concatenate(rej[i])
        k = int(r.sum())
        out["power_sim"][i] = k / n_sim
        ci = binomtest(k, n_sim).proportion_ci(0.95)
        out["power_sim_low"][i], out["power_sim_high"][i] = ci.low, ci.high
        out["width_sim"][i] = float(np.mean(np.concatenate(width[i])))
    return out


def _confirm(rec, comp, probit, method, effect, alpha, alternative, level, n_sim, nboot, gen,
             kind):
    """Re-estimate the recommended design on fresh simulations.

    The recommended design is the cheapest whose simulated power cleared the target, so its
    grid estimate is biased upwards by the selection (near the target, noise decides); the
    fresh estimate is not. The grid value is kept as ``power_grid`` / ``width_grid``.
    """
    import pandas as pd

    gen = np.random.default_rng(gen.integers(2 ** 63))  # a stream apart from the grid's
    row = pd.DataFrame([rec])[["seeds", "runs", "examples"]]
    sim = _simulate(comp, probit, row, method, effect, alpha, alternative, level, n_sim, nboot,
                    gen, True)
    if kind == "power":
        rec["power_grid"] = rec["power"]
        for k in ("power_sim", "power_sim_low", "power_sim_high"):
            rec[k] = float(sim[k][0])
        rec["power"] = rec["power_sim"]
    rec["width_grid"] = rec["width"]
    rec["width_sim"] = rec["width"] = float(sim["width_sim"][0])


def _common(func, model, design, alpha, level, method, alternative, n_sim, nboot, seeds, runs,
            examples):
    comp, probit = _resolve_model(model, design, func)
    alpha = _num(alpha, "alpha", func, lo=0, hi=1)
    level = _num(level, "confidence_level", func, lo=0, hi=1)
    if method not in _METHODS:
        raise InputError(f"The `method` parameter of {func} must be one of {list(_METHODS)}. Got "
                         f"{describe(method)} instead.")
    if alternative not in _ALTERNATIVES:
        raise InputError(f"The `alternative` parameter of {func} must be one of "
                         f"{list(_ALTERNATIVES)}. Got {describe(alternative)} instead.")
    n_sim = _num(n_sim, "n_sim", func, lo=9, open_=True, integer=True)
    nboot = _num(nboot, "nboot", func, lo=19, open_=True, integer=True)
    pilot = comp.pilot
    seeds = _grid(DEFAULT_SEEDS if seeds is None else seeds, "seeds", func, 2)
    runs = _grid(sorted(set(DEFAULT_RUNS) | ({pilot["n_runs"]} if "n_runs" in pilot else set()))
                 if runs is None else runs, "runs", func, 1)
    examples = _grid([pilot.get("n_examples", 1000)] if examples is None else examples,
                     "examples", func, 2)
    if comp.design == "fixed_baseline" and probit is not None:
        raise InputError(f"A ProbitModel cannot plan design 'fixed_baseline' in {func}.")
    return comp, probit, alpha, level, n_sim, nboot, seeds, runs, examples


def _choose(tab, col, ok, objective):
    cand = tab[ok]
    if cand.empty:
        return None
    keys = ["cost", "pretrain_seeds", "finetune_runs", "examples"] if objective == "cost" else \
        ["pretrain_seeds", "finetune_runs", "examples"]
    row = cand.sort_values(keys, kind="stable").iloc[0]
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.to_dict().items()}


def _uncertainty(plan: ExperimentPlan, comp, rec_row, method, effect, alpha, alternative, level):
    """The power (width) range over the components' uncertainty and the too-small rule."""
    from scipy.special import ndtr, ndtri, stdtrit

    t = plan.target
    if comp.draws is None:  # stated components: no uncertainty to propagate
        return
    row = rec_row
    if row is None:  # judge the best design of the grid
        best = plan.table.sort_values(t["kind"], ascending=t["kind"] == "width").iloc[0]
        row = best.to_dict()
    S, R, J = row["seeds"], row["runs"], row["examples"]
    v = comp.variance(S, R, J, values=comp.draws)
    vb = comp.bootstrap_variance(S, R, J, values=comp.draws) if method == "percentile" else v
    if t["kind"] == "power":
        a = alpha / 2 if alternative == "two-sided" else alpha
        pw = ndtr((abs(effect) - ndtri(1 - a) * np.sqrt(vb)) / np.sqrt(np.maximum(v, 1e-300)))
        plan.power_range = (float(np.quantile(pw, 0.025)), float(np.quantile(pw, 0.975)))
        small = plan.power_range[0] < t["power"] - TOO_SMALL_POWER_DROP
        what = (f"the power of the {'recommended' if rec_row else 'best'} design ({S} seeds x "
                f"{R} runs x {J} examples) ranges {plan.power_range[0]:.2f}-"
                f"{plan.power_range[1]:.2f} (target {t['power']})")
    else:
        q = ndtri(1 - (1 - level) / 2) if method == "percentile" else \
            stdtrit(comp.corrected_df(S, R, J), 1 - (1 - level) / 2)
        w = 2 * q * np.sqrt(vb)
        plan.width_range = (float(np.quantile(w, 0.025)), float(np.quantile(w, 0.975)))
        small = plan.width_range[1] > TOO_SMALL_WIDTH_RATIO * t["width"]
        what = (f"the interval width of the {'recommended' if rec_row else 'best'} design ({S} "
                f"seeds x {R} runs x {J} examples) ranges {plan.width_range[0]:.3g}-"
                f"{plan.width_range[1]:.3g} (target {t['width']:.3g})")
    if not small:
        return
    co = Components._coef(S, R, J)
    total = float(comp.variance(S, R, J))
    culprits = []
    for i, n in enumerate(COMPONENT_NAMES):
        if n not in comp.intervals:
            continue
        lo, hi = comp.intervals[n]
        span = hi / lo if lo > 0 else math.inf
        share = hi * float(co[i]) / (total + (hi - getattr(comp, n)) * float(co[i]))
        if span > TOO_SMALL_SPAN and share >= TOO_SMALL_SHARE and hi > 0:
            spans = "from 0" if lo == 0 else f"a factor {span:.0f}"
            culprits.append(f"{n} (interval {lo:.3g}-{hi:.3g}, {spans}; up to {share:.0%} of "
                            "the variance)")
    plan.pilot_too_small = True
    plan.warnings.append(
        f"The pilot is too small to plan from: over the 95% uncertainty of its variance "
        f"components, {what}"
        + (f"; mostly because of {'; '.join(culprits)}" if culprits else "")
        + ". Add pretraining seeds (or runs) to the pilot, or plan from stated components.")


def plan_experiment(model, effect=None, *, relative=False, design=None, alpha=0.05, power=0.8,
                    seeds=None, runs=None, examples=None, cost_seed=None, cost_run=None,
                    cost_examples=None, objective=None, method="percentile",
                    alternative="two-sided", confidence_level=0.95, n_sim=500, nboot=199,
                    n_confirm=2000, simulate=True, rng=0, quiet=True) -> ExperimentPlan:
    """Power of the Multi-Bootstrap test for a target effect over a grid of designs.

    Parameters
    ----------
    model : Components or ProbitModel
        Components fitted from a pilot (:func:`fit_components`) or stated; or a crossed probit
        model, whose binary outcomes are then simulated (its own ``effect`` is the target).
    effect : float
        The effect to detect (expt - base), on the scale of the score; with ``relative=True``
        a fraction of the base score (0.01 = 1% of it). Must not be 0. None with a ProbitModel.
    relative : bool
        ``effect`` relative to the components' ``base_mean`` (default False).
    design : str, optional
        Checked against the components' design (required with a ProbitModel).
    alpha : float
        Level of the test, in (0, 1) (default 0.05).
    power : float
        Target power, in (0, 1) (default 0.8).
    seeds, runs, examples : list of int, optional
        The grid (defaults: :data:`DEFAULT_SEEDS`; :data:`DEFAULT_RUNS` plus the pilot's runs;
        the pilot's number of examples, else 1000). ``seeds`` counts seeds per side.
    cost_seed, cost_run, cost_examples : float, optional
        Cost of one pretraining seed, one fine-tuning run and 1,000 examples (>= 0). A design
        costs ``pretrain_seeds * cost_seed + finetune_runs * cost_run + examples / 1000 *
        cost_examples``; a paired design pretrains S seeds (both conditions of a seed come from
        it; double ``cost_seed`` if each side is its own pretraining), an unpaired one 2 S, a
        fixed baseline S (the baseline exists) and fine-tunes its R baseline runs.
    objective : {"cost", "size"}, optional
        "cost" (default when a cost is given; needs one) picks the cheapest design reaching the
        target; "size" (default otherwise) the fewest pretraining seeds, then runs, then examples.
    method : {"percentile", "corrected"}
        The interval / test of ``multiboot`` planned for (default "percentile", as published).
    alternative : {"two-sided", "one-sided"}
        Two-sided p-value at ``alpha`` (default; a rejection counts when the estimate has the
        effect's sign), or one-sided in the effect's direction.
    confidence_level : float
        Level of the interval whose width is reported (default 0.95).
    n_sim : int
        Simulated experiments per design (default 500; the power's 95% interval is reported).
    nboot : int
        Bootstrap replicates per simulated experiment (default 199: with the engine's
        ``(1 + k) / (nboot + 1)`` p-values alpha (nboot + 1) is an integer at 5% and 1%, one-
        and two-sided, and it loses little power against 1,000 replicates; docs/statistics.md).
    n_confirm : int
        Fresh simulated experiments re-estimating the recommended design (default 2000; its
        grid estimate is biased up by the choice, and this one sets the reported power).
    simulate : bool
        False: the analytic approximation only (instant).
    rng : None, int or numpy Generator
        Randomness of the simulation (default 0).
    quiet : bool
        No progress bar (default True).

    Returns
    -------
    ExperimentPlan

    Examples
    --------
    >>> c = Components(seed=1e-4, example=2e-3, seed_example=1e-3, residual=0.25,
    ...                design="paired", base_mean=0.8)
    >>> p = plan_experiment(c, 0.02, seeds=[5, 10, 20], runs=[1, 2], n_sim=100, cost_seed=10,
    ...                     cost_run=1)
    >>> list(p.table.columns[:6])
    ['seeds', 'runs', 'examples', 'pretrain_seeds', 'finetune_runs', 'cost']
    >>> p.recommended["seeds"] in (5, 10, 20)
    True
    """
    func = "plan_experiment"
    warns: list[str] = []
    n_confirm = _num(n_confirm, "n_confirm", func, lo=9, integer=True)
    comp, probit, alpha, level, n_sim, nboot, seeds, runs, examples = _common(
        func, model, design, alpha, confidence_level, method, alternative, n_sim, nboot, seeds,
        runs, examples)
    power = _num(power, "power", func, lo=0, hi=1)
    if probit is not None:
        if effect is not None:
            raise InputError(f"The `effect` parameter of {func} must be None with a ProbitModel "
                             f"(its `effect` defines the difference). Got {describe(effect)}.")
        effect_abs = probit.delta()
        if comp.design == "single":
            raise InputError(f"A single-procedure ProbitModel has no effect to test in {func}; use "
                             "plan_width.")
        if effect_abs == 0:
            raise InputError(f"The ProbitModel passed to {func} must have a nonzero `effect`. Got "
                             f"effect={probit.effect}.")
    else:
        if comp.design == "single":
            raise InputError(f"Components of one procedure (design 'single') have no difference to "
                             f"test in {func}; fit a comparison, or use plan_width.")
        effect = _num(effect, "effect", func)
        if effect == 0:
            raise InputError(f"The `effect` parameter of {func} must be nonzero (the power to detect "
                             "an effect of 0 is alpha). Got 0 instead.")
        if relative:
            if not (math.isfinite(comp.base_mean) and comp.base_mean != 0):
                raise InputError(f"`relative=True` in {func} needs the components' `base_mean`. Got "
                                 f"{comp.base_mean}.")
            effect_abs = effect * comp.base_mean
        else:
            effect_abs = effect
    costs, objective = _costs(cost_seed, cost_run, cost_examples, objective, func, warns)
    warns += list(comp.notes)
    tab = _design_table(comp, seeds, runs, examples, costs)
    tab["sd"], tab["power_analytic"], tab["width_analytic"] = _analytic(
        comp, tab, method, effect_abs, alpha, alternative, level)
    if simulate:
        sim = _simulate(comp, probit, tab, method, effect_abs, alpha, alternative, level, n_sim,
                        nboot, np.random.default_rng(rng), quiet)
        for k, v in sim.items():
            tab[k] = v
        tab["power"] = tab["power_sim"]
        tab["width"] = tab["width_sim"]
    else:
        tab["power"] = tab["power_analytic"]
        tab["width"] = tab["width_analytic"]
    tab["reaches_target"] = tab["power"] >= power
    rec = _choose(tab, "power", tab["reaches_target"], objective)
    gen = np.random.default_rng(rng)
    if simulate and rec is not None:
        _confirm(rec, comp, probit, method, effect_abs, alpha, alternative, level, n_confirm,
                 nboot, gen, "power")
        if rec["power"] < power:
            warns.append(f"On fresh simulations the recommended design reaches power "
                         f"{rec['power']:.3f} [{rec['power_sim_low']:.3f}, "
                         f"{rec['power_sim_high']:.3f}], below the target {power} (it was chosen "
                         f"on {rec['power_grid']:.3f}): it sits at the edge; the next design up "
                         "is safer, or raise `n_sim`.")
    target = {"kind": "power", "effect": effect if probit is None else None,
                  "effect_abs": float(effect_abs), "relative": bool(relative), "alpha": alpha, "power": power,
                  "design": comp.design, "method": method, "alternative": alternative,
                  "confidence_level": level, "objective": objective, "costs": costs}
    settings = {"n_sim": n_sim, "nboot": nboot, "n_confirm": n_confirm, "simulate": bool(simulate),
                    "model": "probit" if probit is not None else "gaussian"}
    plan = ExperimentPlan(tab, rec, target, comp, settings, warns)
    if rec is None:
        best = tab.sort_values("power").iloc[-1]
        plan.warnings.append(f"No design of the grid reaches power {power}; the best is "
                             f"{int(best.seeds)} seeds x {int(best.runs)} runs x "
                             f"{int(best.examples)} examples (power {best.power:.3f}). Extend "
                             "`seeds`, `runs` or `examples`.")
    _uncertainty(plan, comp, rec, method, effect_abs, alpha, alternative, level)
    return plan


def plan_width(model, width, *, design=None, confidence_level=0.95, seeds=None, runs=None,
               examples=None, cost_seed=None, cost_run=None, cost_examples=None, objective=None,
               method="percentile", n_sim=300, nboot=199, n_confirm=1000, simulate=True, rng=0,
               quiet=True) -> ExperimentPlan:
    """Seeds (runs, examples) needed for an interval of a given width.

    For one procedure's score (components of design "single"), or a comparison's difference.
    The predicted width is the mean width of the ``confidence_level`` interval of ``method``
    over ``n_sim`` simulated experiments (and its analytic approximation); the recommended
    design is the cheapest (see :func:`plan_experiment` for costs, ``objective`` and the other
    parameters) whose predicted width is at most ``width``, re-estimated on ``n_confirm``
    fresh experiments.

    Examples
    --------
    >>> c = Components(seed=4e-4, example=0.05, seed_example=5e-3, run=4e-4, residual=0.12,
    ...                base_mean=0.75)
    >>> p = plan_width(c, 0.03, seeds=[5, 10, 25], runs=[1, 3], examples=[872], n_sim=50)
    >>> p.recommended is None or p.recommended["width"] <= 0.03
    True
    """
    func = "plan_width"
    warns: list[str] = []
    n_confirm = _num(n_confirm, "n_confirm", func, lo=9, integer=True)
    comp, probit, _, level, n_sim, nboot, seeds, runs, examples = _common(
        func, model, design, 0.05, confidence_level, method, "two-sided", n_sim, nboot, seeds,
        runs, examples)
    width = _num(width, "width", func, lo=0)
    costs, objective = _costs(cost_seed, cost_run, cost_examples, objective, func, warns)
    warns += list(comp.notes)
    tab = _design_table(comp, seeds, runs, examples, costs)
    tab["sd"], _, tab["width_analytic"] = _analytic(comp, tab, method, None, 0.05, "two-sided",
                                                    level)
    delta = 0.0 if probit is None else None
    if simulate:
        sim = _simulate(comp, probit, tab, method, delta, 0.05, "two-sided", level, n_sim, nboot,
                        np.random.default_rng(rng), quiet)
        tab["width_sim"] = sim["width_sim"]
        tab["width"] = tab["width_sim"]
    else:
        tab["width"] = tab["width_analytic"]
    tab["reaches_target"] = tab["width"] <= width
    rec = _choose(tab, "width", tab["reaches_target"], objective)
    if simulate and rec is not None:
        _confirm(rec, comp, probit, method, delta, 0.05, "two-sided", level, n_confirm, nboot,
                 np.random.default_rng(rng), "width")
    target = {"kind": "width", "width": width, "design": comp.design, "method": method,
                  "confidence_level": level, "objective": objective, "costs": costs, "alpha": None,
                  "power": None, "effect_abs": None}
    plan = ExperimentPlan(tab, rec, target, comp,
                          {"n_sim": n_sim, "nboot": nboot, "simulate": bool(simulate)}, warns)
    if rec is None:
        best = tab.sort_values("width").iloc[0]
        plan.warnings.append(f"No design of the grid reaches width {width:g}; the narrowest is "
                             f"{int(best.seeds)} seeds x {int(best.runs)} runs x "
                             f"{int(best.examples)} examples (width {best.width:.4g}).")
    _uncertainty(plan, comp, rec, method, None, 0.05, "two-sided", level)
    return plan
