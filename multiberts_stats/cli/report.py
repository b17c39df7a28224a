"""``multiberts-stats report STORE -o DIR [--format md|html]``: a Markdown or HTML report with
PNG figures for every task and method of a store."""

from __future__ import annotations

import argparse
import sys

__all__ = ["cli_report"]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="multiberts-stats report",
        description="Write a Markdown (or HTML) report with PNG figures for every task and "
                    "method in a store: procedure estimates, per-seed forest plots, learning "
                    "curves when there are several steps, and instance-level agreement.")
    ap.add_argument("store")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--format", choices=["md", "html"], default="md")
    ap.add_argument("--nboot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--quiet", action="store_true")
    return ap


def cli_report(argv: list[str]) -> int:
    """``multiberts-stats report STORE -o DIR [--format md|html]``."""
    from multiberts_stats.analysis import write_report
    from multiberts_stats.analysis.selection import read_store_table

    args = _parser().parse_args(argv)
    try:
        table = read_store_table(args.store)
        path = write_report(table, args.out, fmt=args.format, nboot=args.nboot, rng=args.seed,
                            alpha=args.alpha, quiet=args.quiet, title=f"Store {args.store}")
    except (ValueError, TypeError, FileNotFoundError, KeyError) as e:
        print(f"multiberts-stats report: error: {e}", file=sys.stderr)
        return 2
    print(f"Report written to {path}")
    return 0
