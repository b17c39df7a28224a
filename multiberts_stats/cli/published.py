"""``multiberts-stats published ...``: read the published MultiBERTs prediction files and
reproduce the paper's analyses (:mod:`multiberts_stats.published`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import HelpFormatter, add_nboot, add_seed, fail, flag_error

__all__ = ["cli_published"]


def _add_boot_args(p: argparse.ArgumentParser):
    add_nboot(p)
    p.add_argument("--confidence-level", type=float, default=0.95,
                   help="level of the intervals, in (0, 1) (default 0.95)")
    add_seed(p, default=42)   # --rng: its older name, still accepted
    p.add_argument("--out", help="write the result table here (.csv, .tsv, .parquet or .json; default: "
                                    "not written)")
    p.add_argument("--quiet", action="store_true", help="no report text or progress")


#: Python parameters of the reproductions -> the flags that set them (for error messages)
FLAGS = {"occupations": "--occupations", "rng": "--seed", "nboot": "--nboot",
         "confidence_level": "--confidence-level", "metrics": "--metrics", "comparison": "--comparison",
         "ablation": "--ablation", "unit": "--unit", "seeds": "--seeds", "task": "--task",
         "base_steps": "--base-steps", "expt_steps": "--expt-steps", "kinds": "--kinds",
         "n_seeds": "--n-seeds", "winogender_dir": "--winogender-dir",
         "expect_negative_effect": "--direction", "root": "ROOT"}
DIRECTIONS = {"recipe": None, "negative": True, "positive": False}


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
        prog="multiberts-stats published", formatter_class=HelpFormatter,
        description="Reproduce the MultiBERTs paper analyses from the published prediction files.")
    sub = parser.add_subparsers(dest="cmd", required=True)

    def add(name, **kw):
        return sub.add_parser(name, formatter_class=HelpFormatter, **kw)

    w = add("winogender", help="Winogender accuracy and bias correlation (section 4)")
    w.add_argument("root", help="the coref folder (base/, cda_intervention-50k/, ...)")
    w.add_argument("--comparison", default="intervention",
                   choices=["from_scratch", "intervention", "seed0_vs_seed1"],
                   help="intervention: base vs CDA intervention (paired); from_scratch: CDA "
                        "intervention vs CDA from scratch (unpaired); seed0_vs_seed1: two seeds of "
                        "base_extra_seeds (examples only)")
    w.add_argument("--metrics", default="accuracy,bias_r",
                   help="comma-separated: accuracy, bias_r, bias_slope")
    w.add_argument("--ablation", default=None, choices=["seeds_only", "examples_only"],
                   help="resample only seeds or only examples (default: both)")
    w.add_argument("--unit", default="occupation", choices=["occupation", "sentence"],
                   help="resampling unit of the bias metrics (accuracy always resamples sentences)")
    w.add_argument("--occupations", default=None,
                   help="occupations-stats.tsv (default: looked for in ROOT and its parent)")
    w.add_argument("--seeds", default="0,1", help="the two seeds of seed0_vs_seed1")
    w.add_argument("--direction", choices=list(DIRECTIONS), default="recipe",
                   help="direction of the one-sided p-value (H1): negative = the intervention lowers "
                        "the metric, positive = it raises it, for every metric; recipe = negative "
                        "for the bias metrics (CDA is expected to reduce bias), positive for accuracy")
    w.add_argument("--expect-negative-effect", dest="direction", action="store_const", const="negative",
                   help="the same as --direction negative")
    _add_boot_args(w)

    s = add("steps", help="GLUE 2M vs 1M pretraining steps, best learning rate (E.1)")
    s.add_argument("root", help="the GLUE folder (index.tsv, {TASK}_dev_labels, files)")
    s.add_argument("--task", default="MNLI", help="GLUE task")
    s.add_argument("--base-steps", default="1M", help="pretraining steps of the baseline checkpoints")
    s.add_argument("--expt-steps", default="2M", help="pretraining steps of the experiment checkpoints")
    s.add_argument("--no-select-lr", action="store_true", help="average over all learning rates")
    _add_boot_args(s)

    q = add("squad", help="SQuAD 2.0 EM and F1, original BERT vs MultiBERTs (E.2)")
    q.add_argument("root", help="the SQuAD folder (index.tsv, dev-v2.0.json, files)")
    q.add_argument("--metrics", default="exact,f1", help="comma-separated: exact, f1")
    _add_boot_args(q)

    r = add("read", help="write the tidy predictions table of a published folder")
    r.add_argument("kind", choices=["auto", "coref", "glue", "squad"], help="the kind of folder (auto: guess)")
    r.add_argument("root", help="the published folder")
    r.add_argument("--out", required=True, help=".parquet, .csv or .tsv")
    r.add_argument("--task", default=None, help="GLUE task (default all)")

    e = add("example-release", help="write small fake files in the published formats")
    e.add_argument("directory", help="where to write the files")
    e.add_argument("--kinds", default="coref,glue,squad", help="comma-separated: coref, glue, squad")
    e.add_argument("--n-seeds", type=int, default=5, help="pretraining seeds per group")
    e.add_argument("--winogender-dir", default=None,
                   help="the Winogender data folder to take sentences from (default: generated ones)")

    args = parser.parse_args(argv)
    from multiberts_stats import published as P
    from multiberts_stats.testing.release import write_example_release

    try:
        if args.cmd == "winogender":
            try:
                seeds = tuple(int(x) for x in args.seeds.split(","))
            except ValueError:
                return fail("multiberts-stats published winogender", "--seeds must be two integers "
                            f"separated by a comma, e.g. 0,1. Got {args.seeds!r} instead.")
            res = P.reproduce_winogender(args.root, args.comparison,
                                       metrics=[m.strip() for m in args.metrics.split(",")],
                                       ablation=args.ablation, unit=args.unit,
                                       occupations=args.occupations, seeds=seeds,
                                       nboot=args.nboot, confidence_level=args.confidence_level,
                                       rng=args.seed, quiet=args.quiet,
                                       expect_negative_effect=DIRECTIONS[args.direction])
        elif args.cmd == "steps":
            res = P.reproduce_steps(args.root, args.task, base_steps=args.base_steps,
                                  expt_steps=args.expt_steps, select_lr=not args.no_select_lr,
                                  nboot=args.nboot, confidence_level=args.confidence_level,
                                  rng=args.seed, quiet=args.quiet)
        elif args.cmd == "squad":
            res = P.reproduce_squad(args.root, metrics=[m.strip() for m in args.metrics.split(",")],
                                  nboot=args.nboot, confidence_level=args.confidence_level,
                                  rng=args.seed, quiet=args.quiet)
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
    except (ValueError, TypeError, FileNotFoundError, KeyError) as exc:
        return fail(f"multiberts-stats published {args.cmd}", flag_error(exc, FLAGS))
    if not args.quiet and res.report:
        print(res.report)
    print(res)
    _write_out(res.table, args.out)
    return 0
