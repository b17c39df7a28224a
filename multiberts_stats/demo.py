"""The main job: a checkpoint family -> the runner -> the store -> the Multi-Bootstrap -> a report.

``multiberts-stats demo`` runs the whole path offline on a fresh machine:

1. **family**: pretrain a mini BERT family (:func:`multiberts_stats.testing.pretrain_mini_family`)
   with masked-LM on SST-2 training sentences, several pretraining seeds, checkpoints saved at
   several steps — a miniature MultiBERTs;
2. **runner**: probe every layer of every checkpoint on SST-2 (logistic regression on frozen
   features) and score Winogender zero-shot with the masked-LM head, into a Parquet store;
3. **statistics**: the artifact-vs-procedure comparisons (last step vs first step, paired over
   seeds; the best layer vs the embeddings), learning curves, agreement between seeds;
4. **report**: ``report.md`` with PNG figures; its path is printed at the end.

Data: the real public files of ``../shared/data`` beside the repository (or
``$MULTIBERTS_SHARED_DATA``). Without them the demo generates a small sentiment data set and a
vocabulary in its output folder and skips Winogender. With ``--family multiberts`` (and a
reachable hub) the same command runs the real analysis on the MultiBERTs checkpoints.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

__all__ = ["PRESETS", "TASKS", "find_shared_data", "generated_sentiment", "run_demo"]

SHARED_ENV = "MULTIBERTS_SHARED_DATA"

#: Settings of the default run and of ``--quick`` (tests). Measured on 2 shared cores (one
#: seed, POS probe accuracy of the embeddings at the last step, same compute): batch 32 x 800
#: steps 0.596 against batch 64 x 400 steps 0.567; learning rate 2e-3 0.596 against 1e-3
#: 0.577 and 5e-3 0.581; a 1,024-entry vocabulary no better than 4,096 and slower (longer
#: sequences); one layer 25% cheaper but 0.584. Part-of-speech probing learns within a few
#: hundred masked-LM steps where the SST-2 sentiment probe does not move at this scale (0.54
#: at step 0 and at step 500), so SST-2 is probed at the first and last steps only. The POS
#: probe trains on 500 sentences (~6,300 words) of its half of the treebank with C = 1 (what
#: cross-validation chose on 13 of 15 checkpoints): 2.9x faster than every sentence with the
#: runner's default grid, for 0.007 less accuracy. Seeds pretrain two at a time.
PRESETS = {
    "default": dict(seeds=(0, 1, 2, 3, 4), steps=(0, 100, 500), n_sentences=20000,
                    hidden_size=64, num_layers=2, intermediate_size=128, num_heads=2,
                    vocab_size=4096, batch_size=32, max_length=64, learning_rate=2e-3,
                    pos_probe=dict(max_train=500, max_eval=None, C=[1.0], folds=2),
                    sst2_probe=dict(max_train=1000, max_eval=None, C=[0.01, 0.1], folds=2),
                    nboot=1000, winogender=True),
    "quick": dict(seeds=(0, 1, 2), steps=(0, 30, 200), n_sentences=6400, hidden_size=64,
                  num_layers=2, intermediate_size=128, num_heads=2, vocab_size=4096,
                  batch_size=32, max_length=64, learning_rate=2e-3,
                  pos_probe=dict(max_train=300, max_eval=300, C=[0.1, 1.0], folds=2),
                  sst2_probe=dict(max_train=300, max_eval=200, C=[0.1, 1.0], folds=2),
                  nboot=500, winogender=True),
}
TASKS = ("pos", "sst2", "winogender")


def find_shared_data(start: Path | None = None) -> Path | None:
    """The shared data folder: ``start`` if given, else ``$MULTIBERTS_SHARED_DATA`` when set (and
    then only it), else ``../shared/data`` beside the repository (or beside the current folder);
    None when absent.

    Examples
    --------
    >>> p = find_shared_data()
    >>> p is None or (p / "bert_vocab" / "vocab.txt").exists()
    True
    """
    from multiberts_stats.tasks.base import data_env_value

    env = data_env_value()  # $MULTIBERTS_STATS_DATA, or its older name $MULTIBERTS_SHARED_DATA
    if start is not None:
        cands = [Path(start)]
    elif env:  # an explicit choice: only that folder
        cands = [Path(env)]
    else:
        repo = Path(__file__).resolve().parents[1]
        cands = [repo.parent / "shared" / "data", Path.cwd().parent / "shared" / "data",
                 Path.cwd() / "shared" / "data"]
    for c in cands:
        if (c / "bert_vocab" / "vocab.txt").is_file() and (c / "glue" / "SST-2").is_dir():
            return c.resolve()
    return None


_POS = ["good", "great", "wonderful", "moving", "funny", "charming", "brilliant", "delightful",
        "fresh", "beautiful", "smart", "touching"]
_NEG = ["bad", "dull", "boring", "awful", "tedious", "clumsy", "lifeless", "weak", "flat",
        "predictable", "messy", "tiresome"]
_NOUNS = ["film", "movie", "story", "plot", "cast", "script", "ending", "soundtrack", "director",
          "performance", "dialogue", "picture"]
_OPEN = ["the", "this", "a", "that", "its"]
_ADV = ["very", "really", "rather", "quite", "truly", "often", "so", "surprisingly"]
_TAIL = ["from start to finish", "in every scene", "for most of its length", "at times",
         "throughout", "overall", "on the whole", ""]


def generated_sentiment(n: int, seed: int = 0) -> list[tuple[str, int]]:
    """Small generated sentiment sentences (fallback when no data folder is present).

    Labels: 1 = positive. Some sentences negate the adjective ("is not good" -> 0), so a
    bag of words does not solve it completely.

    Examples
    --------
    >>> generated_sentiment(2, seed=0)[0][1] in (0, 1)
    True
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pos = bool(rng.integers(2))
        neg = rng.random() < 0.2
        adj = rng.choice(_POS if pos else _NEG)
        words = [rng.choice(_OPEN), rng.choice(_NOUNS), "is", *(["not"] if neg else []),
                 rng.choice(_ADV), adj, rng.choice(_TAIL)]
        out.append((" ".join(w for w in words if w), int(pos != neg)))
    return out


def _fallback_data(folder: Path, n: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    train = generated_sentiment(n, seed=0)
    dev = generated_sentiment(max(200, n // 5), seed=1)
    for name, rows in (("train.tsv", train), ("dev.tsv", dev)):
        with open(folder / name, "w", encoding="utf-8") as f:
            f.write("sentence\tlabel\n")
            f.writelines(f"{s}\t{y}\n" for s, y in rows)
    words = sorted({w for s, _ in train + dev for w in s.split()})
    specials = ["[PAD]"] + [f"[unused{i}]" for i in range(10)] + ["[UNK]", "[CLS]", "[SEP]",
                                                                 "[MASK]"]
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(specials + words + list("abcdefghijklmnopqrstuvwxyz")) + "\n")
    return {"sentences": [s for s, _ in train], "vocab": vocab,
            "train": folder / "train.tsv", "dev": folder / "dev.tsv"}


def _read_sst2_sentences(shared: Path, n: int, seed: int = 0) -> list[str]:
    import numpy as np
    import pandas as pd

    df = pd.read_csv(shared / "glue" / "SST-2" / "train.tsv", sep="\t", quoting=3)
    s = df["sentence"].astype(str)
    s = s[s.str.split().str.len() >= 4]  # whole sentences rather than phrase fragments
    idx = np.random.default_rng(seed).permutation(len(s))[:n]
    return s.iloc[np.sort(idx)].tolist()


def _log(msg: str, quiet: bool):
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _workers(workers) -> int:
    if workers is None:
        return max(1, min(2, os.cpu_count() or 1))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError("The `workers` parameter of run_demo must be a positive integer. "
                         f"Got {workers!r} instead.")
    return workers


def run_demo(out="multiberts_demo", *, quick=False, family="mini", seeds=None, steps=None,
             tasks=None, nboot=None, quiet=False, data_dir=None, threads=None,
             workers=None) -> Path:
    """Run the whole path and return the path of the report.

    Parameters
    ----------
    out : str or Path
        Output folder: ``family/`` (checkpoints), ``store/`` (predictions), ``report/``.
    quick : bool
        A small variant (about a minute; used by the tests).
    family : {"mini", "multiberts"}
        ``"mini"``: pretrain a mini family offline; ``"multiberts"``: the real checkpoints from
        the hub (needs network access, hours on CPU for the full set).
    seeds, steps : sequence of int, optional
        Pretraining seeds and steps (MultiBERTs steps are in thousands: 0-2000).
    tasks : sequence of str, optional
        Among ``pos`` (part-of-speech token probes, UD English-EWT), ``sst2`` (sentence probes)
        and ``winogender`` (zero-shot masked-LM); default all three.
    nboot : int, optional
        Bootstrap replicates (default 1000; 500 with ``quick``).
    quiet : bool
        No progress output.
    data_dir : str or Path, optional
        The data folder (default: :func:`find_shared_data`).
    threads : int, optional
        torch threads per process (default for the mini family: 1 — its tiny models run
        fastest on one thread per core).
    workers : int, optional
        Processes that pretrain seeds and run probe jobs side by side (default: the number of
        cores, at most 2).

    Returns
    -------
    Path
        The report (``out/report/report.md``).
    """
    t0 = time.perf_counter()
    cfg = dict(PRESETS["quick" if quick else "default"])
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if family not in ("mini", "multiberts"):
        raise ValueError("The `family` parameter of run_demo must be 'mini' or 'multiberts'. "
                         f"Got {family!r} instead.")
    workers = _workers(workers)
    # progress bars are for terminals: redirected, stderr gets the [demo] lines only
    bars = not quiet and bool(getattr(sys.stderr, "isatty", lambda: False)())
    explicit_tasks = tasks is not None
    tasks = list(tasks) if tasks else list(TASKS)
    bad = [t for t in tasks if t not in TASKS]
    if bad:
        raise ValueError(f"The `tasks` parameter of the demo must be among {list(TASKS)}. "
                         f"Got {bad} instead.")
    shared = Path(data_dir).resolve() if data_dir else find_shared_data()
    nboot = int(nboot or cfg["nboot"])
    probe_tasks, zs_tasks, skipped = [], [], []
    if shared is not None:
        _log(f"[demo] data: {shared}", quiet)
        vocab = shared / "bert_vocab" / "vocab.txt"
        if "pos" in tasks:
            if (shared / "ud_english_ewt" / "en_ewt-ud-dev.conllu").is_file():
                # the treebank's dev split only: the probe trains on a fixed half of its
                # sentences and is scored on the other half
                probe_tasks.append(({"name": "pos", "data_dir": str(shared),
                                     "train_split": "validation"}, cfg["pos_probe"]))
            elif explicit_tasks:
                raise FileNotFoundError(f"The demo's pos task needs {shared}/ud_english_ewt/"
                                        "en_ewt-ud-dev.conllu, which is missing.")
            else:
                skipped.append("pos (no ud_english_ewt folder)")
        if "sst2" in tasks:
            probe_tasks.append(({"name": "sst2", "data_dir": str(shared)}, cfg["sst2_probe"]))
        if "winogender" in tasks and cfg["winogender"]:
            zs_tasks.append({"name": "winogender", "data_dir": str(shared), "eval_split": "test"})
        sentences = (_read_sst2_sentences(shared, cfg["n_sentences"]) if family == "mini"
                     else [])
    else:
        _log("[demo] no shared data folder found (set $MULTIBERTS_SHARED_DATA); generating a "
             "small sentiment data set and skipping part of speech and Winogender", quiet)
        fb = _fallback_data(out / "data", cfg["n_sentences"])
        vocab, sentences = fb["vocab"], fb["sentences"]
        probe_tasks.append(({"name": "sentiment", "files": {"train": str(fb["train"]),
                                                           "validation": str(fb["dev"])},
                             "text": ["sentence"], "label": "label"}, cfg["sst2_probe"]))
    for what in skipped:
        _log(f"[demo] skipping {what}", quiet)
    if not probe_tasks and not zs_tasks:
        raise ValueError(f"The demo has no task to run: asked for {tasks}, data folder "
                         f"{shared}.")

    # 1. the family ------------------------------------------------------------------------
    if family == "mini":
        from multiberts_stats.testing import pretrain_mini_family

        seeds = tuple(seeds) if seeds else cfg["seeds"]
        steps = tuple(steps) if steps else cfg["steps"]
        _log(f"[demo] 1/4 pretraining a mini BERT family: {len(seeds)} seeds x steps {list(steps)}"
             f" on {len(sentences)} sentences ({workers} in parallel)", quiet)
        t = time.perf_counter()
        fam = pretrain_mini_family(out / "family", sentences, vocab, seeds=seeds, steps=steps,
                                   vocab_size=cfg["vocab_size"], hidden_size=cfg["hidden_size"],
                                   num_layers=cfg["num_layers"], num_heads=cfg["num_heads"],
                                   intermediate_size=cfg["intermediate_size"],
                                   max_length=cfg["max_length"], batch_size=cfg["batch_size"],
                                   learning_rate=cfg["learning_rate"],
                                   num_threads=threads or 1, n_jobs=workers, quiet=not bars)
        _log(f"[demo]     done in {time.perf_counter() - t:.0f} s", quiet)
        # explicit list: the steps of a mini family are optimiser steps, not thousands
        checkpoints = [{"path": str(c.path), "family": "mini", "seed": int(c.seed),
                        "step": int(c.step)} for c in fam]
    else:
        seeds = list(seeds) if seeds else [0, 1, 2, 3, 4]
        steps = list(steps) if steps else [0, 2000]
        checkpoints = {"family": "multiberts", "seeds": seeds, "steps": steps}
        _log(f"[demo] 1/4 MultiBERTs checkpoints: seeds {seeds}, steps {steps} (from the hub)",
             quiet)

    # 2. the runner ------------------------------------------------------------------------
    from multiberts_stats.runner import run_experiment

    store = out / "store"
    exps = []
    for task, settings in probe_tasks:
        ckpts = checkpoints
        if task["name"] != "pos" and isinstance(checkpoints, list) and len(steps) > 2:
            ckpts = [c for c in checkpoints if c["step"] in (min(steps), max(steps))]
        probe = {"layers": "all", "pooling": "mean", "seeds": [0],
                 **{k: v for k, v in settings.items() if v is not None}}
        if family == "mini":  # the mini models were pretrained on sentences of this length
            probe["max_length"] = cfg["max_length"]
        exps.append({"name": f"demo-probe-{task['name']}", "store": str(store),
                     "checkpoints": ckpts, "tasks": [task], "methods": {"probe": probe}})
    if zs_tasks:
        # zero-shot at the last step: the bias of the procedure and of each artifact
        # (masked-LM pseudo-likelihood scoring is the costliest part of the demo)
        zs_ckpts = ([c for c in checkpoints if c["step"] == max(steps)]
                    if isinstance(checkpoints, list) else dict(checkpoints, steps=[max(steps)]))
        exps.append({"name": "demo-zeroshot", "store": str(store), "checkpoints": zs_ckpts,
                     "tasks": zs_tasks,
                     "methods": {"zeroshot": {"batch_size": 64}}})
    for e in exps:
        _log(f"[demo] 2/4 runner: {e['name']} ({', '.join(t['name'] for t in e['tasks'])})",
             quiet)
        t = time.perf_counter()
        n_jobs = len(e["checkpoints"]) if isinstance(e["checkpoints"], list) else 0
        pool = workers > 1 and n_jobs > workers and "zeroshot" not in e["methods"]
        summary = run_experiment(e, quiet=not bars, executor="processes" if pool else "inprocess",
                                 workers=workers if pool else None,
                                 threads=threads or (1 if family == "mini" else None))
        failed = getattr(summary, "failed", 0)
        if failed:
            errs = getattr(summary, "errors", {})
            first = next(iter(errs.values()), "") if isinstance(errs, dict) else errs
            raise RuntimeError(f"The demo's {e['name']} experiment had {failed} failed jobs; "
                               f"first error: {str(first)[:500]}")
        _log(f"[demo]     done in {time.perf_counter() - t:.0f} s", quiet)

    # 3 + 4. statistics and the report ------------------------------------------------------
    from multiberts_stats.analysis import write_report
    from multiberts_stats.store import read_predictions

    _log(f"[demo] 3/4 Multi-Bootstrap analyses (nboot={nboot})", quiet)
    table = read_predictions(store)
    t = time.perf_counter()
    what = ("a mini BERT family pretrained here" if family == "mini"
            else "the MultiBERTs checkpoints")
    path = write_report(table, out / "report", nboot=nboot, rng=0, quiet=not bars,
                        title=f"multiberts-stats demo: {what}",
                        intro=_intro(family, seeds, steps, shared))
    _log(f"[demo] 4/4 report written in {time.perf_counter() - t:.0f} s; total "
         f"{time.perf_counter() - t0:.0f} s", quiet)
    return path


def _intro(family, seeds, steps, shared) -> str:
    """The report's first lines: which data, then which models."""
    if shared:
        data = (f"**Data**: the public files in `{shared}` — masked-LM pretraining on SST-2 "
                "training sentences (no labels); probes for part of speech (UD English-EWT, "
                "trained on half of its sentences, scored on the other half) and SST-2 "
                "sentiment (train → dev); Winogender scored zero-shot.")
    else:
        data = ("**Data**: no data folder was found, so everything below uses a *generated* "
                "sentiment data set (template sentences such as \"the film is very good\", "
                "written into the output folder) for both pretraining and the probe; part of "
                "speech and Winogender were skipped. Set `$MULTIBERTS_STATS_DATA` for the real "
                "data.")
    if family == "mini":
        fam = (f"**Models**: a miniature MultiBERTs — {len(seeds)} BERTs pretrained from scratch, "
               f"identical but for the pretraining seed ({list(seeds)}), checkpoints at "
               f"optimiser steps {list(steps)} (step 0 is the random initialisation). They are "
               "tiny and briefly trained, so scores are low in absolute terms; compare them "
               "with the baselines beside them. `multiberts-stats demo --family multiberts` "
               "runs the same analysis on the real checkpoints (hub access needed).")
    else:
        fam = (f"**Models**: the MultiBERTs checkpoints (Sellam et al., 2022): seeds "
               f"{list(seeds)}, steps {list(steps)} (thousands).")
    return data + "\n\n" + fam + "\n"
