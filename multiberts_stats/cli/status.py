"""``multiberts-stats status STORE``: done / pending / running / failed jobs of a store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from multiberts_stats.errors import MultibertsStatsError
from multiberts_stats.store import Store

__all__ = ["cli_status"]


def cli_status(argv: list[str]) -> int:
    """``multiberts-stats status STORE``: done / pending / running / failed jobs."""
    p = argparse.ArgumentParser(prog="multiberts-stats status",
                                description="Show done, pending, running and failed jobs of a store.")
    p.add_argument("store", help="the store folder (or an experiment TOML file)")
    p.add_argument("--errors", type=int, default=20, help="show at most this many failures")
    a = p.parse_args(argv)
    path = Path(a.store)
    try:
        if path.suffix == ".toml" and path.is_file():
            from multiberts_stats.runner import load_experiment

            path = Path(load_experiment(path).store)
        if not path.is_dir():
            print(f"multiberts-stats status: the store folder {str(path)!r} does not exist.",
                  file=sys.stderr)
            return 2
        store = Store(path, create=False)
        if not store.is_store:
            print(f"multiberts-stats status: {str(path)!r} is not a store (no _store.json, job lists "
                  "or part files); give the store folder of an experiment (its `store` key).",
                  file=sys.stderr)
            return 2
        st = store.status()
    except MultibertsStatsError as e:
        print(f"multiberts-stats status: {e}", file=sys.stderr)
        return 2
    jobs = st["jobs"]
    print(f"store {path}")
    print(f"  done     {len(st['done'])}")
    print(f"  pending  {len(st['pending'])}")
    print(f"  running  {len(st['running'])}")
    print(f"  failed   {len(st['failed'])}")
    for k in sorted(st["failed"])[: a.errors]:
        d = jobs.get(k, {})
        what = " ".join(str(d.get(x)) for x in ("method", "task", "checkpoint") if d.get(x) is not None)
        kind = st["kinds"].get(k, "input")
        print(f"    {k}  {what} [{kind}]: {st['errors'][k]}")
    _print_contents(path)
    return 0


def _print_contents(path: Path) -> None:
    """What the store's rows hold: the values a `compare` / `report` filter can name."""
    import pyarrow.dataset as ds

    parts = sorted(path.glob("*.parquet"))
    if not parts:
        print("  contents: no rows yet")
        return
    data = ds.dataset([str(p) for p in parts], format="parquet")
    cols = data.schema.names
    want = [c for c in ("task", "method", "step", "layer", "pretrain_seed") if c in cols]
    frame = data.to_table(columns=want).to_pandas()
    print(f"  contents: {len(frame)} rows")
    for c, label in (("task", "tasks"), ("method", "methods"), ("step", "steps"),
                     ("layer", "layers"), ("pretrain_seed", "seeds")):
        if c in frame.columns:
            vals = [int(v) if isinstance(v, float) and v.is_integer() else v
                    for v in sorted(frame[c].dropna().unique().tolist())]
            shown = ", ".join(map(str, vals[:30])) + (" ..." if len(vals) > 30 else "")
            print(f"    {label:<8} {shown or '(none)'}")
    print(f"    columns  {', '.join(cols)}")
