"""``multiberts-stats plan``: how many seeds, runs and examples a finding needs.

Reads a pilot from a store (the tidy predictions table), fits the crossed variance components
of the comparison ``--expt`` minus ``--base`` (or of one procedure), and prints the designs with
their predicted power (or interval width) and the recommended one.
"""

from __future__ import annotations

import argparse
import json
import sys

from multiberts_stats.errors import InputError, MultibertsStatsError

PROG = "multiberts-stats plan"


def _ints(text: str, flag: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"The `{flag}` option must be a comma-separated list of integers. Got "
                         f"{text!r} instead.") from None
    if not out:
        raise InputError(f"The `{flag}` option must list at least one integer. Got {text!r}.")
    return out


def parse_filter(text: str, flag: str) -> dict:
    """``"step=0,layer=6"`` -> ``{"step": "0", "layer": "6"}``."""
    out = {}
    for part in (text or "").split(","):
        if "=" not in part or not part.split("=", 1)[0].strip():
            raise InputError(f"The `{flag}` option must look like 'column=value[,column=value...]'. "
                             f"Got {text!r} instead.")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def select(table, filt: dict, flag: str):
    """Rows of ``table`` matching every ``column=value`` of ``filt`` (values compared as text
    or as numbers for numeric columns); errors name what the store holds."""
    import pandas as pd

    mask = pd.Series(True, index=table.index)
    for col, val in filt.items():
        if col not in table.columns:
            raise InputError(f"The `{flag}` filter names column {col!r}, which the store does not "
                             f"have. Columns: {list(table.columns)}.")
        s = table[col]
        if val.lower() in ("none", "null", "nan"):
            m = s.isna()
        elif pd.api.types.is_numeric_dtype(s.dtype):
            try:
                m = s == float(val)
            except ValueError:
                raise InputError(f"The `{flag}` filter {col}={val}: column {col!r} is numeric, "
                                 f"{val!r} is not a number.") from None
        else:
            m = s.astype(str) == val
        mask &= m
        if not mask.any():
            raise InputError(f"The `{flag}` filter {col}={val} selects no rows. Values of {col!r}: "
                             f"{sorted(map(str, s.dropna().unique()))[:20]}.")
    return table[mask]


def build_parser() -> argparse.ArgumentParser:
    from multiberts_stats.planning import DEFAULT_RUNS, DEFAULT_SEEDS

    p = argparse.ArgumentParser(
        prog=PROG, description="Plan an experiment from a pilot in a store: predicted power (or "
        "interval width) of the Multi-Bootstrap test for seeds x runs x examples, and the "
        "cheapest design reaching the target.")
    p.add_argument("store", metavar="STORE", help="store folder (or Parquet file) holding the pilot")
    p.add_argument("--base", required=True, metavar="FILTER",
                   help="rows of the baseline (or of the one procedure), e.g. 'step=0,layer=6' "
                        "(required)")
    p.add_argument("--expt", metavar="FILTER", default=None,
                   help="rows of the experiment side (default: none, i.e. plan the interval "
                        "width of the --base procedure; then --width is required)")
    p.add_argument("--effect", type=float, default=None,
                   help="effect to detect, expt - base, on the metric's scale (default: none; "
                        "required with --expt unless --width is given)")
    p.add_argument("--relative", action="store_true",
                   help="--effect is a fraction of the base score (default: off, absolute)")
    p.add_argument("--width", type=float, default=None,
                   help="plan for an interval of this width instead of a power (default: none)")
    p.add_argument("--design", choices=["paired", "unpaired", "fixed_baseline"], default="paired",
                   help="comparison design (default: paired)")
    p.add_argument("--metric", choices=["accuracy", "error", "mean"], default="accuracy",
                   help="per-example score (default: accuracy)")
    p.add_argument("--score-col", default="score",
                   help="column read by --metric mean (default: score)")
    p.add_argument("--seed-col", default="pretrain_seed",
                   help="pretraining-seed column (default: pretrain_seed)")
    p.add_argument("--alpha", type=float, default=0.05, help="test level (default: 0.05)")
    p.add_argument("--power", type=float, default=0.8, help="target power (default: 0.8)")
    p.add_argument("--alternative", choices=["two-sided", "one-sided"], default="two-sided",
                   help="test (default: two-sided)")
    p.add_argument("--confidence-level", type=float, default=0.95,
                   help="level of the interval whose width is reported (default: 0.95)")
    p.add_argument("--method", choices=["percentile", "corrected"], default="percentile",
                   help="Multi-Bootstrap interval/test planned for (default: percentile)")
    p.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)),
                   help="seeds per side to consider (default: %(default)s)")
    p.add_argument("--runs", default=None,
                   help="runs per seed to consider (default: "
                        f"{','.join(map(str, DEFAULT_RUNS))} and the pilot's)")
    p.add_argument("--examples", default=None,
                   help="example counts to consider (default: the pilot's)")
    p.add_argument("--cost-seed", type=float, default=None,
                   help="cost of one pretraining seed (default: none)")
    p.add_argument("--cost-run", type=float, default=None,
                   help="cost of one fine-tuning run (default: none)")
    p.add_argument("--cost-examples", type=float, default=None,
                   help="cost of 1,000 examples (default: none)")
    p.add_argument("--objective", choices=["cost", "size"], default=None,
                   help="pick the cheapest design (cost; needs a cost) or the smallest (size) "
                        "(default: cost when a cost is given, else size)")
    p.add_argument("--n-sim", type=int, default=500,
                   help="simulated experiments per design (default: 500)")
    p.add_argument("--nboot", type=int, default=199,
                   help="bootstrap replicates per simulated experiment (default: %(default)s)")
    p.add_argument("--no-simulate", action="store_true",
                   help="analytic approximation only (default: off, simulate)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="write the power (or width) figure to this file (default: none)")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="output format (default: text)")
    return p


def _table_text(plan) -> str:
    cols = ["seeds", "runs", "examples", "cost"]
    cols += (["power_analytic", "power_sim", "width_sim"] if plan.target["kind"] == "power"
             else ["width_analytic", "width_sim"])
    cols = [c for c in cols if c in plan.table.columns] + ["reaches_target"]
    return plan.table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # --rng: the older name of --seed (one name per concept across commands), still accepted
    argv = ["--seed" if a == "--rng" else "--seed=" + a[6:] if a.startswith("--rng=") else a for a in argv]
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (MultibertsStatsError, ValueError, FileNotFoundError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from pathlib import Path

    from multiberts_stats.planning import fit_components, plan_experiment, plan_width
    from multiberts_stats.store import read_predictions

    if not Path(args.store).exists():
        raise InputError(f"The STORE argument must be an existing store folder. Got {args.store!r}.")
    table = read_predictions(args.store)
    if table is None or len(table) == 0:
        raise InputError(f"The store {args.store!r} holds no prediction rows.")
    base = select(table, parse_filter(args.base, "--base"), "--base")
    expt = select(table, parse_filter(args.expt, "--expt"), "--expt") if args.expt else None
    if expt is None and args.width is None:
        raise InputError("The `--width` option is required without `--expt` (one procedure: plan "
                         "the width of its interval). Got neither --expt nor --width.")
    if expt is not None and args.width is None and args.effect is None:
        raise InputError("The `--effect` option is required with `--expt` (or give --width). Got "
                         "none.")
    comp = fit_components(base, expt, design=None if expt is None else args.design,
                          metric=args.metric, score_col=args.score_col, seed_col=args.seed_col,
                          rng=args.seed)
    grid = dict(seeds=_ints(args.seeds, "--seeds"),
                runs=_ints(args.runs, "--runs") if args.runs else None,
                examples=_ints(args.examples, "--examples") if args.examples else None,
                cost_seed=args.cost_seed, cost_run=args.cost_run, cost_examples=args.cost_examples,
                objective=args.objective, method=args.method, n_sim=args.n_sim, nboot=args.nboot,
                simulate=not args.no_simulate, rng=args.seed,
                confidence_level=args.confidence_level, quiet=args.format == "json")
    if args.width is not None:
        plan = plan_width(comp, args.width, **grid)
    else:
        plan = plan_experiment(comp, args.effect, relative=args.relative, alpha=args.alpha,
                               power=args.power, alternative=args.alternative, **grid)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = plan.plot()
        ax.figure.tight_layout()
        ax.figure.savefig(args.plot, dpi=120)
        plt.close(ax.figure)
    if args.format == "json":
        print(json.dumps(plan.to_dict(), indent=2))
    else:
        print(plan.summary())
        print()
        print("Variance components of the pilot:")
        print(plan.components.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        print()
        print(_table_text(plan))
    return 0
