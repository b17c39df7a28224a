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
    ap.add_argument("store", help="the store folder (as written by `multiberts-stats run`)")
    ap.add_argument("-o", "--out", required=True, help="output folder (required)")
    ap.add_argument("--format", choices=["md", "html"], default="md",
                    help="report.md or report.html (default: %(default)s)")
    ap.add_argument("--nboot", type=int, default=1000,
                    help="bootstrap replicates (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0,
                    help="random seed of the bootstrap draws (default: %(default)s)")
    ap.add_argument("--alpha", type=float, default=0.05,
                    help="1 - confidence level of the intervals and level of the tests "
                         "(default: %(default)s)")
    ap.add_argument("--title", default=None,
                    help="the report's title (default: the experiment names recorded in the "
                         "store)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar (default: off)")
    return ap


def _experiment_title(store) -> str:
    """The experiments recorded in a store (``_jobs/<name>.json``), e.g. "demo-probe-pos,
    demo-zeroshot"; the folder's name when none is recorded."""
    from pathlib import Path

    p = Path(store)
    names = sorted(f.stem for f in (p / "_jobs").glob("*.json")) if (p / "_jobs").is_dir() else []
    return "Multi-Bootstrap report: " + (", ".join(names) if names else p.resolve().name)


def cli_report(argv: list[str]) -> int:
    """``multiberts-stats report STORE -o DIR [--format md|html]``."""
    from multiberts_stats.analysis import write_report
    from multiberts_stats.analysis.selection import read_store_table

    args = _parser().parse_args(argv)
    try:
        table = read_store_table(args.store)
        path = write_report(table, args.out, fmt=args.format, nboot=args.nboot, rng=args.seed,
                            alpha=args.alpha,
                            quiet=args.quiet or not sys.stderr.isatty(),
                            title=args.title or _experiment_title(args.store))
    except (ValueError, TypeError, FileNotFoundError, KeyError) as e:
        print(f"multiberts-stats report: error: {e}", file=sys.stderr)
        return 2
    print(f"Report written to {path}")
    return 0
