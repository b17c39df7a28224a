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
    ap.add_argument("store", help="the store folder")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--format", choices=["md", "html"], default="md", help="report format")
    add_nboot(ap)
    add_seed(ap)
    add_confidence_level(ap)
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
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
                            alpha=1.0 - level, quiet=args.quiet, title=_title(args.store))
    except (ValueError, TypeError, FileNotFoundError, KeyError) as e:
        return fail(PROG, flag_error(e, FLAGS))
    print(f"Report written to {path}")
    return 0


def _title(store) -> str:
    """The report's title: the experiment(s) the store's jobs belong to (else the folder's name)."""
    from pathlib import Path

    from multiberts_stats.store import Store

    try:
        jobs = Store(store, create=False).registered_jobs()
    except (OSError, ValueError):
        jobs = {}
    names = sorted({str(d["experiment"]) for d in jobs.values() if d.get("experiment")})
    if names:
        return ("Experiment " if len(names) == 1 else "Experiments ") + ", ".join(names)
    return f"Store {Path(store).resolve().name}"
