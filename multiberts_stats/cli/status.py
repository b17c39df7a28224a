"""``multiberts-stats status STORE``: done / pending / running / failed jobs of a store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from multiberts_stats.errors import MultibertsStatsError
from multiberts_stats.store import Store

from ._common import HelpFormatter

__all__ = ["cli_status"]


def cli_status(argv: list[str]) -> int:
    """``multiberts-stats status STORE``: done / pending / running / failed jobs."""
    p = argparse.ArgumentParser(prog="multiberts-stats status", formatter_class=HelpFormatter,
                                description="What a store holds — per task and method its splits, "
                                            "steps, layers, pretraining and fine-tuning seeds and "
                                            "examples, and its columns (what `compare` filters "
                                            "select on) — and its done, pending, running and "
                                            "failed jobs.")
    p.add_argument("store", help="the store folder (or an experiment TOML file)")
    p.add_argument("--errors", type=int, default=20, help="show at most this many failures (default 20)")
    p.add_argument("--jobs-only", dest="holdings", action="store_false",
                   help="only the job counts, not what the store holds (tasks, steps, layers, seeds...)")
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
    if a.holdings:
        _print_holdings(path)
    print(f"  done     {len(st['done'])}")
    print(f"  pending  {len(st['pending'])}")
    print(f"  running  {len(st['running'])}")
    print(f"  failed   {len(st['failed'])}")
    for k in sorted(st["failed"])[: a.errors]:
        d = jobs.get(k, {})
        what = " ".join(str(d.get(x)) for x in ("method", "task", "checkpoint") if d.get(x) is not None)
        kind = st["kinds"].get(k, "input")
        print(f"    {k}  {what} [{kind}]: {st['errors'][k]}")
    return 0


def _values(series) -> str:
    """``0-4,7`` for integers (runs of consecutive values), a comma list otherwise; ``-`` if none."""
    vals = sorted(series.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
    if not vals:
        return "-"
    if all(isinstance(v, int) or (hasattr(v, "is_integer") and float(v).is_integer()) for v in vals):
        ints, out, start = [int(v) for v in vals], [], None
        for i, v in enumerate(ints):
            if start is None:
                start = v
            if i + 1 == len(ints) or ints[i + 1] != v + 1:
                out.append(str(start) if start == v else f"{start}-{v}")
                start = None
        return ",".join(out)
    shown = [str(v) for v in vals[:8]]
    return ",".join(shown) + (f",... ({len(vals)} values)" if len(vals) > 8 else "")


def _print_holdings(path: Path) -> None:
    """Per task x method: splits, steps, layers, seeds and examples; then the columns."""
    import pyarrow.parquet as pq

    from multiberts_stats.store import read_predictions
    from multiberts_stats.table import COLUMNS

    store = Store(path, create=False)
    names: list[str] = []
    for f in store.part_files():
        try:
            names += [n for n in pq.read_schema(f).names if n not in names]
        except Exception:  # noqa: BLE001 - a corrupt part: reading below names it
            continue
    if not names:
        print("  holds no prediction rows yet")
        return
    wanted = [c for c in ("family", "task", "split", "method", "step", "layer", "pretrain_seed",
                          "finetune_seed", "hparams", "example_id") if c in names]
    try:
        t = read_predictions(path, columns=wanted)
    except (MultibertsStatsError, OSError, ValueError) as e:
        print(f"  its rows cannot be read: {e}")
        return
    by = [c for c in ("task", "method") if c in t.columns]
    exps = sorted({str(d["experiment"]) for d in store.registered_jobs().values() if d.get("experiment")})
    if exps:
        print(f"  experiment{'s' if len(exps) > 1 else ''}: {', '.join(exps)}")
    print(f"  holds {len(t)} prediction rows:")
    rows = []
    for key, g in t.groupby(by, sort=True) if by else [((), t)]:
        key = key if isinstance(key, tuple) else (key,)
        r = dict(zip(by, map(str, key)))
        for c, head in (("family", "families"), ("split", "splits"), ("step", "steps"),
                        ("layer", "layers"), ("pretrain_seed", "pretrain_seeds"),
                        ("finetune_seed", "finetune_seeds")):
            if c in g.columns:
                r[head] = _values(g[c])
        if "hparams" in g.columns:
            r["hparams"] = str(g["hparams"].nunique())
        if "example_id" in g.columns:
            r["examples"] = str(g["example_id"].nunique())
        rows.append(r)
    heads = list(rows[0])
    width = {h: max(len(h), *(len(r.get(h, "")) for r in rows)) for h in heads}
    print("    " + "  ".join(f"{h:<{width[h]}}" for h in heads).rstrip())
    for r in rows:
        print("    " + "  ".join(f"{r.get(h, ''):<{width[h]}}" for h in heads).rstrip())
    extras = [n for n in names if n not in COLUMNS]
    print(f"  columns: {', '.join(n for n in names if n in COLUMNS)}")
    if extras:
        print(f"  task columns: {', '.join(extras)}")
    r0 = rows[0]
    filt = ",".join(f"{k}={r0[k]}" for k in ("task", "method") if k in r0)
    if r0.get("layers", "-") not in ("-", ""):
        filt += f",layer={r0['layers'].split(',')[-1].split('-')[-1]}"
    print(f"  filter rows for `compare` with column=value, e.g. --base '{filt}' (values: as listed above; "
          "'layer=3|4' lists alternatives)")
