"""``multiberts-stats compare STORE --base FILTER [--expt FILTER] ...``: the
artifact-vs-procedure comparison of two selections of a store (or of one alone)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

__all__ = ["cli_compare"]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="multiberts-stats compare",
        description="Artifact-vs-procedure comparison of two selections of a store (or one "
                    "selection alone). Filters select rows by column values, e.g. "
                    "'step=2000,task=sst2' or 'checkpoint=google/multiberts-seed_0'; "
                    "'layer=3|4' lists alternatives.")
    ap.add_argument("store", help="the store folder (as written by `multiberts-stats run`)")
    ap.add_argument("--base", required=True, help="filter selecting the baseline rows (required)")
    ap.add_argument("--expt", help="filter selecting the experiment rows (default: none, the "
                                   "base selection alone is one procedure)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--paired", dest="design", action="store_const", const="paired",
                   help="the same pretraining seeds on both sides, one seed draw shared by both "
                        "(the default design when --expt is given)")
    g.add_argument("--unpaired", dest="design", action="store_const", const="unpaired",
                   help="independent seeds on each side, one seed draw per side")
    g.add_argument("--fixed-baseline", dest="design", action="store_const",
                   const="fixed_baseline",
                   help="--base is one artifact (a single seed, not resampled) against the "
                        "--expt procedure")
    ap.add_argument("--metric", help="metric name (default: the task's primary metric)")
    ap.add_argument("--nboot", type=int, default=1000,
                    help="bootstrap replicates (default: %(default)s)")
    ap.add_argument("--seed", "--rng", dest="seed", type=int, default=0,
                    help="random seed of the bootstrap draws (default: %(default)s; --rng is "
                         "a deprecated alias)")
    ap.add_argument("--alpha", type=float, default=0.05,
                    help="1 - confidence level of the intervals and level of the tests "
                         "(default: %(default)s)")
    ap.add_argument("--seed-col", default="pretrain_seed",
                    help="column of the pretraining seed (default: %(default)s)")
    ap.add_argument("--cluster-col", default=None,
                    help="column of the resampling cluster (default: the task's, e.g. "
                         "sentences for part of speech, occupations for Winogender)")
    ap.add_argument("--format", choices=["text", "json", "markdown"], default="text",
                    help="output format (default: %(default)s)")
    ap.add_argument("--plot", help="also write the forest plot to this PNG file (default: no "
                                   "plot)")
    return ap


def cli_compare(argv: list[str]) -> int:
    """``multiberts-stats compare STORE --base FILTER --expt FILTER ...``."""
    from multiberts_stats.analysis import artifact_vs_procedure
    from multiberts_stats.analysis.selection import (
        check_metric_columns,
        parse_filter,
        read_store_table,
        select,
        task_cluster,
        task_metric,
    )

    args = _parser().parse_args(argv)
    try:
        table = read_store_table(args.store)
        base = select(table, parse_filter(args.base, "--base"), "--base")
        expt = None
        if args.expt:
            expt = select(table, parse_filter(args.expt, "--expt"), "--expt")
        tasks = sorted(map(str, base["task"].unique())) if "task" in base.columns else []
        metric = args.metric or task_metric(tasks[0] if tasks else "", base)
        check_metric_columns(metric, base, "--base")
        if expt is not None:
            check_metric_columns(metric, expt, "--expt")
        cluster = args.cluster_col
        if cluster is None:
            cluster = task_cluster(tasks[0] if tasks else "", base, metric)
        design = (args.design or "paired") if expt is not None else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # printed below from the report
            rep = artifact_vs_procedure(base, expt, design=design, metric=metric,
                                        seed_col=args.seed_col, cluster_col=cluster,
                                        nboot=args.nboot, rng=args.seed, alpha=args.alpha,
                                        labels={"base": args.base, **({"expt": args.expt}
                                                                      if args.expt else {})})
    except (ValueError, TypeError, FileNotFoundError, KeyError) as e:
        print(f"multiberts-stats compare: error: {e}", file=sys.stderr)
        return 2
    for w in rep.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(rep.to_dict(), indent=2, default=str))
    elif args.format == "markdown":
        print(rep.to_markdown())
    else:
        print(rep.summary())
        print()
        print(rep.artifacts.to_string(index=False))
    if args.plot:
        from multiberts_stats.plotting import forest_figsize, new_axes

        ax = rep.plot(ax=new_axes(forest_figsize(len(rep.artifacts))))
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
    return 0
