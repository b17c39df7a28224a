"""``multiberts-stats report STORE -o DIR [--format md|html]``: a Markdown or HTML report with
PNG figures for every task and method of a store."""

from __future__ import annotations

import argparse

from ._common import add_confidence_level, add_nboot, add_seed, confidence_level, fail, flag_error, parser

__all__ = ["cli_report"]

PROG = "multiberts-stats report"
FLAGS = {"nboot": "--nboot", "rng": "--seed", "alpha": "--confidence-level",
         "confidence_level": "--confidence-level", "out": "--out", "fmt": "--format"}


def _parser() -> argparse.ArgumentParser:
    ap = parser(PROG,
                "Write a Markdown (or HTML) report with PNG figures for every task and "
                "method in a store: procedure estimates, per-seed forest plots, learning "
                "curves when there are several steps, and instance-level agreement.")
    ap.add_argument("store", help="the store folder (as written by `multiberts-stats run`)")
    ap.add_argument("-o", "--out", required=True, help="output folder (required)")
    ap.add_argument("--format", choices=["md", "html"], default="md", help="report.md or report.html")
    add_nboot(ap)
    add_seed(ap)
    add_confidence_level(ap)
    ap.add_argument("--title", default=None,
                    help="the report's title (default: the experiment names recorded in the store)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def cli_report(argv: list[str]) -> int:
    """``multiberts-stats report STORE -o DIR [--format md|html]``."""
    from multiberts_stats.analysis import write_report
    from multiberts_stats.analysis.selection import read_store_table

    args = _parser().parse_args(argv)
    level = confidence_level(args, PROG)
    try:
        table = read_store_table(args.store)
        path = write_report(table, args.out, fmt=args.format, nboot=args.nboot, rng=args.seed,
                            alpha=1.0 - level, quiet=args.quiet,
                            title=args.title or _experiment_title(args.store))
    except (ValueError, TypeError, FileNotFoundError, KeyError) as e:
        return fail(PROG, flag_error(e, FLAGS))
    print(f"Report written to {path}")
    return 0


def _experiment_title(store) -> str:
    """The report's title: the experiment(s) the store's jobs belong to, e.g. "Multi-Bootstrap
    report: demo-probe-pos, demo-zeroshot" (the folder's name when none is recorded)."""
    from pathlib import Path

    from multiberts_stats.store import Store

    try:
        jobs = Store(store, create=False).registered_jobs()
    except (OSError, ValueError):
        jobs = {}
    names = sorted({str(d["experiment"]) for d in jobs.values() if d.get("experiment")})
    return "Multi-Bootstrap report: " + (", ".join(names) if names else Path(store).resolve().name)
