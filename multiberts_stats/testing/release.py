"""A small fake-but-format-exact copy of the published MultiBERTs prediction files.

:func:`write_example_release` writes the three published layouts (coreference, GLUE, SQuAD
2.0) with simulated numbers, so every reader and reproduction of
:mod:`multiberts_stats.published` can be tried, tested and demonstrated offline. numpy and
pandas only (no torch).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from multiberts_stats.errors import DataFileError, InputError
from multiberts_stats.published.coref import read_occupations, winogender_label_info

__all__ = ["write_example_release"]


def _default_winogender_dir() -> Path | None:
    env = os.environ.get("MULTIBERTS_SHARED_DATA")
    cands = [Path(env) / "winogender"] if env else []
    here = Path(__file__).resolve().parents[2]
    cands += [here.parent / "shared" / "data" / "winogender", here / "shared" / "data" / "winogender"]
    for c in cands:
        if (c / "templates.tsv").is_file() and (c / "occupations-stats.tsv").is_file():
            return c
    return None


def _write_run_info(path: Path, run_info: pd.DataFrame):
    run_info.to_csv(path, sep="\t", index=True)


def write_example_release(directory, *, kinds=("coref", "glue", "squad"), n_seeds: int = 5,
                          n_finetune: int = 5, winogender_dir=None, n_glue_examples: int = 60,
                          n_squad_questions: int = 40, seed: int = 0) -> Path:
    """Write a small fake-but-format-exact copy of the published MultiBERTs prediction files.

    The numbers are simulated (no model ran); the layout and formats are the published ones,
    so every reader and reproduce call of this module can be tried on them:

    * ``coref/{base,base_extra_seeds,cda_intervention-50k,from_scratch}/`` with ``run_info.tsv``
      (leading index column, rows shuffled), ``label_info.tsv`` (720 rows built from the real
      Winogender templates), ``preds.tsv`` (whitespace-separated); ``coref/occupations-stats.tsv``
      (copied from Winogender). The CDA groups are simulated with less gender bias.
    * ``glue/index.tsv``, ``glue/MNLI_dev_labels``, ``glue/STS-B_dev_labels``,
      ``glue/{MNLI,STS-B}/release=...,ft_seed=K.tsv``: seeds ``0..n_seeds-1`` at 1M and 2M steps,
      learning rates 2e-5 .. 5e-5, and the original BERT (``release=public``, ``n_steps=0``).
    * ``squad/index.tsv``, ``squad/dev-v2.0.json`` (synthetic articles, a third unanswerable),
      ``squad/v2.0/release=...,ft_seed=K.json``.

    Parameters
    ----------
    directory : path
        Created if needed; the release goes inside.
    kinds : sequence of {"coref", "glue", "squad"}
    n_seeds, n_finetune : int
        Pretraining seeds and fine-tuning runs per seed (``base_extra_seeds`` gets 5x the
        fine-tuning runs for seeds 0..min(n_seeds, 5)-1).
    winogender_dir : path, optional
        Folder with Winogender's ``templates.tsv``, ``all_sentences.tsv`` and
        ``occupations-stats.tsv`` (default: ``../shared/data/winogender`` or
        ``$MULTIBERTS_SHARED_DATA/winogender``); needed for ``coref``.
    seed : int
        Seed of the simulation.

    Returns
    -------
    Path : ``directory``.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), n_seeds=2)
    >>> sorted(p.name for p in root.iterdir())
    ['coref', 'glue', 'squad']
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    if not isinstance(n_seeds, (int, np.integer)) or n_seeds < 2:
        raise InputError(f"The `n_seeds` parameter of write_example_release must be an integer "
                         f">= 2. Got {n_seeds!r} instead.")
    gen = np.random.default_rng(seed)
    if "coref" in kinds:
        wd = Path(winogender_dir) if winogender_dir is not None else _default_winogender_dir()
        if wd is None:
            raise DataFileError("write_example_release needs Winogender's templates.tsv and "
                                    "occupations-stats.tsv: pass `winogender_dir=`.")
        _write_coref(root / "coref", wd, n_seeds, n_finetune, gen)
    if "glue" in kinds:
        _write_glue(root / "glue", n_seeds, n_finetune, n_glue_examples, gen)
    if "squad" in kinds:
        _write_squad(root / "squad", n_seeds, n_finetune, n_squad_questions, gen)
    return root


def _write_coref(out: Path, wd: Path, n_seeds, n_ft, gen):
    out.mkdir(parents=True, exist_ok=True)
    label_info = winogender_label_info(wd)
    occ_text = (wd / "occupations-stats.tsv").read_text(encoding="utf-8")
    (out / "occupations-stats.tsv").write_text(occ_text, encoding="utf-8")
    occ = read_occupations(out / "occupations-stats.tsv")
    pf = occ.reindex(label_info["occupation"]).to_numpy() / 100.0
    g = label_info["gender"].map({"FEMININE": 1.0, "MASCULINE": -1.0, "UNKNOWN": 0.0}).to_numpy()
    to_occ = np.where(label_info["answer"].to_numpy() == 0, 1.0, -1.0)
    ex_effect = gen.normal(0, 0.8, len(label_info))
    seed_effects = {}

    def simulate(group, seeds, n_runs_per_seed, bias_strength, offset):
        rows, preds = [], []
        for s in seeds:
            key = (offset, s)
            if key not in seed_effects:
                seed_effects[key] = gen.normal(0, 0.25, 2)
            sb, sbias = seed_effects[key]
            for f in range(n_runs_per_seed):
                logit = (0.9 * to_occ + ex_effect * 0.5 + sb
                         + (bias_strength + sbias) * 3.0 * g * (pf - 0.5) + gen.normal(0, 0.3))
                p_occ = 1 / (1 + np.exp(-logit))
                preds.append((gen.random(len(label_info)) >= p_occ).astype(int))  # 0 = occupation
                rows.append({"pretrain_seed": s, "finetune_seed": f})
        run_info = pd.DataFrame(rows)
        order = gen.permutation(len(run_info))  # non-numeric row order; preds rows follow
        run_info = run_info.iloc[order]
        preds = np.stack(preds)[order]
        run_info.index = gen.permutation(np.arange(1000, 1000 + len(run_info)))
        d = out / group
        d.mkdir(exist_ok=True)
        _write_run_info(d / "run_info.tsv", run_info)
        label_info.to_csv(d / "label_info.tsv", sep="\t", index=True)
        np.savetxt(d / "preds.tsv", preds, fmt="%d", delimiter=" ")

    seeds = list(range(n_seeds))
    simulate("base", seeds, n_ft, 1.0, 0)
    simulate("base_extra_seeds", seeds[: min(5, n_seeds)], 5 * n_ft, 1.0, 0)
    simulate("cda_intervention-50k", seeds, n_ft, 0.55, 0)
    simulate("from_scratch", seeds, n_ft, 0.15, 1)


def _glue_file(task, release, pid, n_steps, lr, ft, ext):
    return f"{task}/release={release},pretrain_id={pid},n_steps={n_steps},lr={lr:g},ft_seed={ft}.{ext}"


def _write_glue(out: Path, n_seeds, n_ft, n_ex, gen):
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    lrs = (2e-05, 3e-05, 4e-05, 5e-05)
    tasks = {"MNLI": 3, "STS-B": 1}
    labels = {"MNLI": gen.integers(0, 3, n_ex), "STS-B": np.round(gen.uniform(0, 5, n_ex), 3)}
    np.savetxt(out / "MNLI_dev_labels", labels["MNLI"], fmt="%d")
    np.savetxt(out / "STS-B_dev_labels", labels["STS-B"], fmt="%.3f")
    configs = [("multiberts", s, st) for st in ("1M", "2M") for s in range(n_seeds)]
    configs.append(("public", 0, "0"))
    difficulty = gen.normal(0, 1, n_ex)
    for task, n_cls in tasks.items():
        (out / task).mkdir(exist_ok=True)
        for release, pid, st in configs:
            skill = {"1M": 0.9, "2M": 1.2, "0": 1.0}[st] + gen.normal(0, 0.1)
            for lr in lrs:
                lr_eff = -abs(lr - 3e-05) * 1e4
                for ft in range(n_ft):
                    f = _glue_file(task, release, pid, st, lr, ft, "tsv")
                    y = labels[task]
                    if task == "STS-B":
                        m = (y + gen.normal(0, 1.2 - 0.3 * skill, n_ex)).reshape(-1, 1)
                        np.savetxt(out / f, m, fmt="%.5f", delimiter="\t")
                    else:
                        logits = gen.normal(0, 1, (n_ex, n_cls))
                        logits[np.arange(n_ex), y] += 1.5 * skill + lr_eff + 0.8 * difficulty
                        np.savetxt(out / f, logits, fmt="%.5f", delimiter="\t")
                    rows.append({"file": f, "task": task, "pretrain_id": pid, "n_steps": st,
                                 "lr": lr, "ft_seed": ft, "release": release})
    pd.DataFrame(rows).to_csv(out / "index.tsv", sep="\t", index=False)


_WORDS = ('river', 'castle', 'norman', 'empire', 'physics', 'protein', 'orbit', 'harvest', 'melody',
          'cipher', 'granite', 'lantern', 'summit', 'voyage', 'archive', 'falcon', 'meadow', 'quartz',
          'ember', 'tundra')


def _write_squad(out: Path, n_seeds, n_ft, n_q, gen):
    (out / "v2.0").mkdir(parents=True, exist_ok=True)
    qas, golds = [], {}
    for i in range(n_q):
        qid = f"{i:024x}"
        if i % 3 == 2:
            qas.append({"id": qid, "question": f"What is {_WORDS[i % 20]}?", "answers": [],
                        "is_impossible": True})
            golds[qid] = []
        else:
            ans = " ".join(gen.choice(_WORDS, size=1 + i % 3))
            alt = "the " + ans
            qas.append({"id": qid, "question": f"Which {_WORDS[i % 20]}?",
                        "answers": [{"text": ans, "answer_start": 0},
                                    {"text": alt, "answer_start": 0}], "is_impossible": False})
            golds[qid] = [ans, alt]
    dataset = {"version": "v2.0", "data": [
        {"title": "Synthetic_A", "paragraphs": [{"context": " ".join(_WORDS), "qas": qas[: n_q // 2]}]},
        {"title": "Synthetic_B", "paragraphs": [{"context": " ".join(_WORDS), "qas": qas[n_q // 2:]}]},
    ]}
    with open(out / "dev-v2.0.json", "w", encoding="utf-8") as fh:
        json.dump(dataset, fh)
    rows = []
    configs = [("multiberts", s, "2M") for s in range(n_seeds)] + [("public", 0, "0")]
    for release, pid, st in configs:
        skill = (0.75 if release == "multiberts" else 0.7) + gen.normal(0, 0.02)
        for ft in range(n_ft):
            preds = {}
            for q in qas:
                gold = golds[q["id"]]
                r = gen.random()
                if r < skill:
                    preds[q["id"]] = (gen.choice(gold).upper() + "." if gold else "")
                elif r < skill + 0.1 and gold:
                    preds[q["id"]] = gold[0].split()[0] + " " + str(gen.choice(_WORDS))
                else:
                    preds[q["id"]] = str(gen.choice(_WORDS)) if gold or gen.random() < 0.5 else ""
            f = _glue_file("v2.0", release, pid, st, 5e-05, ft, "json")
            with open(out / f, "w", encoding="utf-8") as fh:
                json.dump(preds, fh)
            rows.append({"file": f, "task": "v2.0", "pretrain_id": pid, "n_steps": st,
                         "lr": 5e-05, "ft_seed": ft, "release": release})
    pd.DataFrame(rows).to_csv(out / "index.tsv", sep="\t", index=False)
