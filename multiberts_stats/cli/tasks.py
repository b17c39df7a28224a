"""``multiberts-stats tasks``: list the registered tasks and where their data would come from."""

from __future__ import annotations

import argparse
import sys

from multiberts_stats.tasks import (
    DATA_ENV,
    KINDS,
    TaskError,
    describe_tasks,
    get_task,
    list_tasks,
)

from ._common import HelpFormatter

__all__ = ["cli_tasks"]


def cli_tasks(argv: list[str]) -> int:
    """``multiberts-stats tasks``: list the registered tasks and where their data would come from."""
    ap = argparse.ArgumentParser(formatter_class=HelpFormatter, prog="multiberts-stats tasks",
                                 description="List the registered tasks: kind, text fields, labels, "
                                             "metrics (first = primary), resampling unit, splits and "
                                             "where the data would be read from.")
    ap.add_argument("names", nargs="*", help="only these tasks")
    ap.add_argument("--data-dir", help=f"local data root (default ${DATA_ENV}, else the hub)")
    ap.add_argument("--kind", choices=KINDS, help="only tasks of this kind (default: every kind)")
    ap.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    ap.add_argument("--count", action="store_true",
                    help="also load each task's default split and print its number of examples")
    args = ap.parse_args(argv)
    try:
        names = [get_task(n).name for n in args.names] if args.names else list_tasks(args.kind)
    except TaskError as e:
        print(f"multiberts-stats tasks: {e}", file=sys.stderr)
        return 2
    df = describe_tasks(args.data_dir)
    df = df[df["name"].isin(names)].reset_index(drop=True)
    if args.count:
        counts = []
        for n in df["name"]:
            try:
                counts.append(str(len(get_task(n).load(data_dir=args.data_dir))))
            except Exception as e:  # noqa: BLE001 - shown, not hidden
                counts.append(f"error: {type(e).__name__}")
        df.insert(len(df.columns) - 1, "n", counts)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(df.to_json(orient="records", indent=1))
    else:
        print(df.to_string(index=False))
    return 0
