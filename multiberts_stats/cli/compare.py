"""``multiberts-stats compare STORE --base FILTER [--expt FILTER] ...``: the
artifact-vs-procedure comparison of two selections of a store (or of one alone)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from ._common import add_confidence_level, add_nboot, add_seed, confidence_level, fail, flag_error, parser

__all__ = ["cli_compare"]

PROG = "multiberts-stats compare"
#: Python parameters of the analysis -> the flags that set them (for error messages)
FLAGS = {"average_over": "--average-over", "nboot": "--nboot", "confidence_level": "--confidence-level",
         "alpha": "--confidence-level", "rng": "--seed", "metric": "--metric", "design": "--paired/--unpaired/"
         "--fixed-baseline", "seed_col": "--seed-col", "cluster_col": "--cluster-col", "base": "--base",
         "expt": "--expt"}


def _parser() -> argparse.ArgumentParser:
    ap = parser(PROG,
                "Artifact-vs-procedure comparison of two selections of a store (or one "
                "selection alone). Filters select rows by column values, e.g. "
                "'step=2000,task=sst2' or 'checkpoint=google/multiberts-seed_0'; "
                "'layer=3|4' lists alternatives (`multiberts-stats status STORE` lists the "
                "columns and their values). Each side must be one condition (one task, method, "
                "step, layer...): name a column with --average-over to average it on purpose.")
    ap.add_argument("store", help="the store folder")
    ap.add_argument("--base", required=True, help="filter selecting the baseline rows (or the only side)")
    ap.add_argument("--expt", help="filter selecting the experiment rows (default: none, one procedure alone)")
    g = ap.add_argument_group(
        "design", "How the two sides' seeds are resampled. Default: --paired when the sides share "
                  "pretraining seeds, --unpaired when they share none (one side alone has no design).")
    d = g.add_mutually_exclusive_group()
    d.add_argument("--paired", dest="design", action="store_const", const="paired",
                   help="the same seeds on both sides (e.g. two steps or layers of one family); one "
                        "seed draw for both; seeds on one side only are dropped with a warning")
    d.add_argument("--unpaired", dest="design", action="store_const", const="unpaired",
                   help="independent seeds (e.g. two families); each side draws its own seeds")
    d.add_argument("--fixed-baseline", dest="design", action="store_const", const="fixed_baseline",
                   help="--base is one artifact (e.g. the original BERT) whose seed is never "
                        "resampled; examples are still shared with --expt")
    ap.add_argument("--metric", help="metric name (default: the task's metric)")
    ap.add_argument("--average-over", action="append", default=None, metavar="COL",
                    help="a condition column (e.g. layer) that may vary inside a side and is "
                         "averaged over on purpose; repeat or comma-separate for several "
                         "(default: none — a side that mixes conditions is an error)")
    add_nboot(ap)
    add_seed(ap)
    add_confidence_level(ap)
    ap.add_argument("--correction", choices=["holm", "bh", "none"], default="holm",
                    help="adjustment of the per-artifact p-values across the artifacts of the "
                         "report: holm (family-wise error), bh (false discovery rate) or none "
                         "(default: holm)")
    ap.add_argument("--method", choices=["percentile", "basic", "corrected"], default="percentile",
                    help="interval method of the procedure-level interval; corrected is calibrated "
                         "where per-run noise dominates (default: percentile, as published)")
    ap.add_argument("--seed-col", default="pretrain_seed",
                    help="the column naming a pretraining seed (default: pretrain_seed)")
    ap.add_argument("--cluster-col", default=None,
                    help="resample clusters of examples (default: the task's unit, e.g. Winogender "
                         "occupations; else single examples)")
    ap.add_argument("--format", choices=["text", "json", "markdown"], default="text",
                    help="output format (default: text)")
    ap.add_argument("--plot", metavar="PNG", help="also write the forest plot to this PNG file (default: no plot)")
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
    level = confidence_level(args, PROG)
    average_over = None
    if args.average_over:
        average_over = [c.strip() for v in args.average_over for c in v.split(",") if c.strip()]
    try:
        table = read_store_table(args.store)
        if average_over:
            unknown = [c for c in average_over if c not in table.columns]
            if unknown:
                return fail(PROG, f"--average-over names column(s) {unknown} that the store does not "
                                  f"have. Columns: {list(table.columns)}.")
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
        design = args.design if expt is not None else None
        extra = {"average_over": average_over} if average_over else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # printed below from the report
            rep = artifact_vs_procedure(base, expt, design=design, metric=metric,
                                        seed_col=args.seed_col, cluster_col=cluster,
                                        nboot=args.nboot, rng=args.seed, alpha=1.0 - level,
                                        correction=None if args.correction == "none" else args.correction,
                                        method=args.method,
                                        labels={"base": args.base, **({"expt": args.expt}
                                                                      if args.expt else {})},
                                        **extra)
    except (ValueError, TypeError, FileNotFoundError, KeyError) as e:
        return fail(PROG, flag_error(e, FLAGS))
    for w in dict.fromkeys(rep.warnings):  # on stderr too, so a redirected output still warns
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

        what = f"{args.expt} vs {args.base}" if args.expt else args.base
        title = f"{', '.join(tasks) or 'all tasks'}, {metric}: {what}"
        ax = rep.plot(ax=new_axes(forest_figsize(len(rep.artifacts))), title=title)
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
    return 0
