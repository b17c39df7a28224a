"""``multiberts-stats published ...``: read the published MultiBERTs prediction files and
reproduce the paper's analyses (:mod:`multiberts_stats.published`)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

__all__ = ["cli_published"]


def _add_boot_args(p: argparse.ArgumentParser):
    p.add_argument("--nboot", type=int, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--alpha", type=float, default=None,
                   help="1 - confidence level of the intervals (default: 0.05, the paper's 95%%)")
    p.add_argument("--confidence-level", type=float, default=None,
                   help="deprecated alias: the confidence level, 1 - --alpha")
    p.add_argument("--seed", "--rng", dest="rng", type=int, default=42,
                   help="seed of the RandomState (default: %(default)s, the paper's; --rng is a "
                        "deprecated alias)")
    p.add_argument("--out", help="write the result table here (.csv, .tsv, .parquet or .json)")
    p.add_argument("--quiet", action="store_true", help="no report text or progress")


def _write_out(df, out: str | None):
    if not out:
        return
    path = Path(out)
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif path.suffix == ".json":
        df.to_json(path, orient="records", indent=1)
    else:
        df.to_csv(path, sep="\t" if path.suffix == ".tsv" else ",", index=False)


def cli_published(argv: list[str]) -> int:
    """``multiberts-stats published ...``: read the published files, reproduce the analyses.

    Sub-commands: ``winogender ROOT``, ``steps ROOT``, ``squad ROOT``,
    ``read {coref,glue,squad} ROOT --out FILE``, ``example-release DIR``.
    """
    parser = argparse.ArgumentParser(
        prog="multiberts-stats published",
        description="Reproduce the MultiBERTs paper analyses from the published prediction files.")
    sub = parser.add_subparsers(dest="cmd", required=True)

    w = sub.add_parser("winogender", help="Winogender accuracy and bias correlation (section 4)")
    w.add_argument("root", help="the coref folder (base/, cda_intervention-50k/, ...)")
    w.add_argument("--comparison", default="intervention",
                   choices=["from_scratch", "intervention", "seed0_vs_seed1"])
    w.add_argument("--metrics", default="accuracy,bias_r",
                   help="comma-separated: accuracy, bias_r, bias_slope")
    w.add_argument("--ablation", default=None, choices=["seeds_only", "examples_only"])
    w.add_argument("--unit", default="occupation", choices=["occupation", "sentence"])
    w.add_argument("--occupations", default=None,
                   help="occupations-stats.tsv (default: looked for in ROOT and its parent)")
    w.add_argument("--direction", choices=["auto", "decrease", "increase"], default="auto",
                   help="direction of the one-sided test (the p-value is the share of "
                        "replicates on the other side): 'decrease' expects the intervention to "
                        "lower the metric, 'increase' to raise it (default: %(default)s = "
                        "decrease for the bias metrics, increase for accuracy, as the paper)")
    w.add_argument("--seeds", default="0,1", help="the two seeds of seed0_vs_seed1")
    _add_boot_args(w)

    s = sub.add_parser("steps", help="GLUE 2M vs 1M pretraining steps, best learning rate (E.1)")
    s.add_argument("root", help="the GLUE folder (index.tsv, {TASK}_dev_labels, files)")
    s.add_argument("--task", default="MNLI")
    s.add_argument("--base-steps", default="1M")
    s.add_argument("--expt-steps", default="2M")
    s.add_argument("--no-select-lr", action="store_true", help="average over all learning rates")
    _add_boot_args(s)

    q = sub.add_parser("squad", help="SQuAD 2.0 EM and F1, original BERT vs MultiBERTs (E.2)")
    q.add_argument("root", help="the SQuAD folder (index.tsv, dev-v2.0.json, files)")
    q.add_argument("--metrics", default="exact,f1")
    _add_boot_args(q)

    r = sub.add_parser("read", help="write the tidy predictions table of a published folder")
    r.add_argument("kind", choices=["auto", "coref", "glue", "squad"])
    r.add_argument("root")
    r.add_argument("--out", required=True, help=".parquet, .csv or .tsv")
    r.add_argument("--task", default=None, help="GLUE task (default all)")

    e = sub.add_parser("example-release", help="write small fake files in the published formats")
    e.add_argument("directory")
    e.add_argument("--kinds", default="coref,glue,squad")
    e.add_argument("--n-seeds", type=int, default=5)
    e.add_argument("--winogender-dir", default=None)

    args = parser.parse_args(argv)
    if getattr(args, "alpha", None) is not None and getattr(args, "confidence_level", None):
        print("multiberts-stats published: error: give --alpha or its deprecated alias "
              "--confidence-level, not both.", file=sys.stderr)
        return 2
    if hasattr(args, "alpha"):
        args.confidence_level = (1 - args.alpha if args.alpha is not None else
                                 args.confidence_level or 0.95)
    from multiberts_stats import published as P
    from multiberts_stats.testing.release import write_example_release

    try:
        if args.cmd == "winogender":
            seeds = tuple(int(x) for x in args.seeds.split(","))
            res = P.reproduce_winogender(args.root, args.comparison,
                                       metrics=[m.strip() for m in args.metrics.split(",")],
                                       ablation=args.ablation, unit=args.unit,
                                       occupations=args.occupations, seeds=seeds,
                                       nboot=args.nboot, confidence_level=args.confidence_level,
                                       rng=args.rng, quiet=args.quiet,
                                       expect_negative_effect={"auto": None, "decrease": True,
                                                               "increase": False}[args.direction])
        elif args.cmd == "steps":
            res = P.reproduce_steps(args.root, args.task, base_steps=args.base_steps,
                                  expt_steps=args.expt_steps, select_lr=not args.no_select_lr,
                                  nboot=args.nboot, confidence_level=args.confidence_level,
                                  rng=args.rng, quiet=args.quiet)
        elif args.cmd == "squad":
            res = P.reproduce_squad(args.root, metrics=[m.strip() for m in args.metrics.split(",")],
                                  nboot=args.nboot, confidence_level=args.confidence_level,
                                  rng=args.rng, quiet=args.quiet)
        elif args.cmd == "read":
            table = {"auto": lambda: P.read_published(args.root),
                     "coref": lambda: P.read_coref(args.root),
                     "glue": lambda: P.read_glue(args.root, args.task),
                     "squad": lambda: P.read_squad(args.root)}[args.kind]()
            _write_out(table, args.out)
            print(f"wrote {len(table)} rows to {args.out}")
            return 0
        else:
            root = write_example_release(args.directory,
                                         kinds=[k.strip() for k in args.kinds.split(",")],
                                         n_seeds=args.n_seeds, winogender_dir=args.winogender_dir)
            print(f"wrote an example release in {root}")
            return 0
    except (ValueError, FileNotFoundError) as exc:
        # name the command's flags, not the Python parameters behind them
        msg = re.sub(r"The `(\w+)` parameter of \w+",
                     lambda m: f"The `--{m.group(1).replace('_', '-')}` option", str(exc))
        print(f"multiberts-stats published: error: {msg}", file=sys.stderr)
        return 2
    if not args.quiet and res.report:
        print(res.report)
    print(res)
    _write_out(res.table, args.out)
    return 0
