"""``multiberts-stats demo``: the offline main job (:func:`multiberts_stats.demo.run_demo`)."""

from __future__ import annotations

import argparse
import sys

from multiberts_stats.demo import run_demo

__all__ = ["cli_demo"]


def cli_demo(argv: list[str]) -> int:
    """``multiberts-stats demo [--out DIR] [--quick] [--family multiberts --seeds ... --tasks ...]``."""
    ap = argparse.ArgumentParser(
        prog="multiberts-stats demo",
        description="The offline end-to-end job: pretrain a mini BERT family (or use the "
                    "MultiBERTs with --family multiberts), probe every layer for part of speech "
                    "and SST-2 sentiment and score Winogender zero-shot into a Parquet store, run the Multi-Bootstrap "
                    "artifact-vs-procedure analyses and write a report with figures.")
    ap.add_argument("--out", default="multiberts_demo", help="output folder (default: %(default)s)")
    ap.add_argument("--quick", action="store_true",
                    help="a small variant: 3 seeds, steps 0,30,200, fewer probe sentences "
                         "(about a minute; default: off)")
    ap.add_argument("--family", choices=["mini", "multiberts"], default="mini",
                    help="pretrain a mini family here, or use the MultiBERTs from the hub "
                         "(default: %(default)s)")
    ap.add_argument("--seeds", help="pretraining seeds, e.g. '0-4' or '0,1,2' (default: 0-4)")
    ap.add_argument("--steps", help="checkpoint steps, e.g. '0,100,500' (default: 0,100,500 for "
                                    "the mini family; MultiBERTs: thousands, 0,2000)")
    ap.add_argument("--tasks", help="comma-separated, among pos,sst2,winogender (default: all "
                                    "three)")
    ap.add_argument("--nboot", type=int, help="bootstrap replicates (default: 1000; 500 with "
                                              "--quick)")
    ap.add_argument("--data-dir", help="data folder (default: $MULTIBERTS_STATS_DATA, else ../shared/data)")
    ap.add_argument("--threads", type=int, help="torch threads per process (default: 1 for the "
                                                "mini family)")
    ap.add_argument("--workers", type=int, help="processes side by side (default: cores, at most 2)")
    ap.add_argument("--quiet", action="store_true", help="no progress output (default: off)")
    args = ap.parse_args(argv)

    def ints(text, name):
        if text is None:
            return None
        out = []
        try:
            for part in text.split(","):
                if "-" in part:
                    a, b = part.split("-")
                    out += list(range(int(a), int(b) + 1))
                else:
                    out.append(int(part))
        except ValueError:
            raise ValueError(f"The `--{name}` option must be integers like '0-4' or '0,1,2'. "
                             f"Got {text!r} instead.") from None
        return out

    try:
        path = run_demo(args.out, quick=args.quick, family=args.family,
                        seeds=ints(args.seeds, "seeds"), steps=ints(args.steps, "steps"),
                        tasks=args.tasks.split(",") if args.tasks else None, nboot=args.nboot,
                        quiet=args.quiet, data_dir=args.data_dir, threads=args.threads,
                        workers=args.workers)
    except (ValueError, RuntimeError, FileNotFoundError, ImportError) as e:
        print(f"multiberts-stats demo: error: {e}", file=sys.stderr)
        return 2
    print(f"Report: {path}")
    return 0
