"""``multiberts-stats checkpoints``: list a selection of a catalog family (MultiBERTs by default,
or a PolyPythia family with ``--family``)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys

from multiberts_stats.checkpoints import (
    CHECKPOINT_ROOT_ENV,
    Checkpoint,
    CheckpointError,
    CheckpointNotFoundError,
    CheckpointSelectionError,
    catalog_family,
)
from multiberts_stats.checkpoints.resolve import locate

from ._common import HelpFormatter

__all__ = ["cli_checkpoints"]


def _where(ckpt: Checkpoint, checkpoint_root) -> str:
    try:
        res = locate(ckpt, checkpoint_root, None, True)
        return res.source
    except CheckpointNotFoundError:
        return "missing"
    except CheckpointError:
        return "broken"


def cli_checkpoints(argv: list[str]) -> int:
    """``multiberts-stats checkpoints``: list a selection of the MultiBERTs catalog.

    Examples
    --------
    >>> cli_checkpoints(["--seeds", "0", "--steps", "0,2000", "--format", "csv"])
    family,checkpoint,hub_id,seed,step,step_raw
    multiberts,google/multiberts-seed_0-step_0k,google/multiberts-seed_0-step_0k,0,0,0
    multiberts,google/multiberts-seed_0,google/multiberts-seed_0,0,2000,2000000
    0
    >>> cli_checkpoints(["--family", "polypythia-70m", "--seeds", "3", "--steps", "1000",
    ...                  "--format", "csv"])
    family,checkpoint,hub_id,revision,seed,step,step_raw
    polypythia-70m,EleutherAI/pythia-70m-seed3,EleutherAI/pythia-70m-seed3,step1000,3,1000,1000
    0
    """
    parser = argparse.ArgumentParser(
        formatter_class=HelpFormatter, prog="multiberts-stats checkpoints",
        description="List MultiBERTs checkpoints (170 hub ids: 25 seeds at 2000k steps; seeds "
                    "0-4 at 29 steps). Steps are in thousands.")
    parser.add_argument("--family", default="multiberts",
                        help="a catalog family: multiberts (default), polypythia-{14m,31m,70m,160m,"
                             "410m}, polypythia-160m-data-seed, polypythia-160m-weight-seed "
                             "(steps in optimiser steps; each checkpoint is a hub id at a revision)")
    parser.add_argument("--seeds", default=None, help='seeds, e.g. "0-4", "0,3,7" (default all)')
    parser.add_argument("--steps", default=None,
                        help='steps (thousands for multiberts, optimiser steps for the '
                             'PolyPythias), e.g. "0,200,2000" or a range "0-200" of '
                             'released steps (default all)')
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    parser.add_argument("--all-ids", action="store_true",
                        help="also list google/multiberts-seed_{0..4}-step_2000k, the aliases of "
                             "the final checkpoints of seeds 0-4")
    parser.add_argument("--lenient", action="store_true",
                        help="keep the (seed, step) pairs that exist instead of failing on the "
                             "others")
    parser.add_argument("--where", action="store_true",
                        help="add a column saying where each checkpoint resolves offline "
                             "(mirror, cache, missing)")
    parser.add_argument("--checkpoint-root", default=None,
                        help=f"local mirror root (default ${CHECKPOINT_ROOT_ENV})")
    args = parser.parse_args(argv)
    try:
        fam = catalog_family(args.family).select(seeds=args.seeds, steps=args.steps,
                                                 strict=not args.lenient, unique=not args.all_ids)
    except CheckpointSelectionError as exc:
        print(f"multiberts-stats checkpoints: {exc}", file=sys.stderr)
        return 2
    revisions = any(c.revision for c in fam)
    cols = ["family", "checkpoint", "hub_id", *(["revision"] if revisions else []), "seed", "step",
            "step_raw"]
    rows = []
    for c in fam:
        row = {k: c.to_dict()[k] for k in cols}
        if args.where:
            row["where"] = _where(c, args.checkpoint_root)
        rows.append(row)
    if args.where:
        cols = cols + ["where"]
    out = sys.stdout
    if args.format == "json":
        json.dump(rows, out, indent=1)
        out.write("\n")
    elif args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        out.write(buf.getvalue())
    else:
        shown = (["hub_id", *(["revision"] if revisions else []), "seed", "step", "step_raw"]
                 + (["where"] if args.where else []))
        widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in shown}
        out.write("  ".join(f"{k:<{widths[k]}}" for k in shown).rstrip() + "\n")
        for r in rows:
            out.write("  ".join(f"{r[k]!s:<{widths[k]}}" if k in ("hub_id", "revision", "where")
                                else f"{r[k]!s:>{widths[k]}}" for k in shown).rstrip() + "\n")
        unit = {"thousand steps": "thousands", "steps": "optimiser steps"}.get(fam.step_unit,
                                                                         fam.step_unit)
        out.write(f"{len(rows)} checkpoint(s); steps in {unit}\n")
    return 0
