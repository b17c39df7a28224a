"""Read the published MultiBERTs prediction files and reproduce the paper's analyses.

The MultiBERTs authors (Sellam et al., 2022) released the per-example predictions behind the
paper's analyses in three formats. This module reads a downloaded copy of each into the tidy
predictions table of the package (``docs/ARCHITECTURE.md``) and into the matrix form of the
reference implementation (``run_info`` frame with ``seed`` / ``intervention``, ``preds``
runs x examples, ``labels``), and reproduces each analysis of the paper with one call:

===============================  =====================================================
call                             analysis (paper section)
===============================  =====================================================
:func:`reproduce_winogender`     Winogender accuracy and bias correlation: base vs CDA
                                 intervention (paired), CDA intervention vs CDA from
                                 scratch (unpaired), seed 0 vs seed 1, ablations (s. 4,
                                 app. D)
:func:`reproduce_winogender_     the same comparisons through the modern engine
clusters`                        (``multiboot``), occupations as resampling clusters
:func:`reproduce_steps`          MNLI (or any GLUE task) 2M vs 1M pretraining steps,
                                 best learning rate per (release, steps) (app. E.1)
:func:`reproduce_squad`          SQuAD 2.0 exact match and F1, original BERT vs
                                 MultiBERTs (app. E.2)
===============================  =====================================================

Every reproduce call draws through the reference-compatible
:func:`multiberts_stats.bootstrap.multibootstrap` with the inputs the published notebooks
built (same run order, same example order, same labels, same score function), so with the same
``rng`` the numbers equal what the published library computes on the same files. Defaults are
the paper's: ``nboot=1000``, 95% intervals, ``rng=42``.

Formats (as published)
----------------------
Coreference (one folder per group: ``base``, ``base_extra_seeds``, ``cda_intervention-50k``,
``from_scratch``; ``occupations-stats.tsv`` of Winogender beside them or anywhere):

* ``run_info.tsv``: tab-separated, a leading index column, columns ``pretrain_seed``,
  ``finetune_seed``; rows in any order;
* ``label_info.tsv``: tab-separated, a leading index column, 720 rows, columns ``gender``
  (MASCULINE / FEMININE / UNKNOWN), ``pronoun_type``, ``answer``, ``occupation``,
  ``other_participant``, ``someone``, ``template_idx``;
* ``preds.tsv``: a whitespace-separated numeric matrix, runs x 720 (0 = occupation,
  1 = other participant); row *i* is the run of row *i* of ``run_info.tsv``, column *j* the
  example of row *j* of ``label_info.tsv``.

GLUE: ``index.tsv`` (columns ``file, task, pretrain_id, n_steps, lr, ft_seed, release``),
``{TASK}_dev_labels`` (one label per line; floats for STS-B) and one prediction file per run
at the path in ``file`` (tab-separated, examples x classes scores; the class is the argmax;
STS-B one float column).

SQuAD 2.0: ``index.tsv`` as above (task ``v2.0``), the official ``dev-v2.0.json`` and one
prediction JSON per run (question id -> answer text, ``""`` for no answer).

Resampling unit of the bias correlation
---------------------------------------
The published coreference notebook aggregates each run's 720 predictions to 60 per-occupation
bias scores first and then bootstraps over the 60 *occupations* (``preds`` = runs x 60 bias
scores, ``labels`` = the occupations' BLS share of women, ``score_fn`` = Pearson r of
``scipy.stats.linregress``). That is the default here (``unit="occupation"``), so the numbers
match the paper's. ``unit="sentence"`` resamples the 720 sentences instead (the per-occupation
bias is recomputed from the drawn sentences inside ``score_fn``; ``labels`` are example
indices), still through the reference-compatible path. The modern engine
(:func:`multiberts_stats.bootstrap.multiboot`) takes the tidy table of :func:`read_coref` with
``cluster_col="occupation"`` for a cluster bootstrap over occupations.

This module never imports torch or transformers.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import re
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "PublishedFormatError",
    "CorefGroup",
    "GlueRuns",
    "SquadRuns",
    "MatrixForm",
    "PublishedResult",
    "COREF_GROUPS",
    "load_coref_group",
    "load_glue",
    "load_squad",
    "read_coref",
    "read_glue",
    "read_squad",
    "read_occupations",
    "read_published",
    "to_matrix",
    "coref_bias_scores",
    "squad_normalize_answer",
    "squad_exact_match",
    "squad_f1",
    "squad_raw_scores",
    "reproduce_winogender",
    "reproduce_winogender_clusters",
    "winogender_sides",
    "reproduce_steps",
    "reproduce_squad",
    "write_example_release",
    "cli_published",
]

COREF_GROUPS = ("base", "base_extra_seeds", "cda_intervention-50k", "from_scratch")
LABEL_INFO_COLUMNS = ("gender", "pronoun_type", "answer", "occupation", "other_participant",
                      "someone", "template_idx")
INDEX_COLUMNS = ("file", "task", "pretrain_id", "n_steps", "lr", "ft_seed", "release")

# published GLUE task name -> task name in the package registry (GLUE configuration names)
GLUE_TASK_NAMES = {
    "CoLA": "cola", "SST-2": "sst2", "MRPC": "mrpc", "QQP": "qqp", "STS-B": "stsb",
    "MNLI": "mnli", "MNLI-MM": "mnli_mismatched", "QNLI": "qnli", "RTE": "rte", "WNLI": "wnli",
    "v2.0": "squad_v2",
}
# published coreference group -> tidy `family`
COREF_FAMILIES = {
    "base": "multiberts",
    "base_extra_seeds": "multiberts-extra_finetune_seeds",
    "cda_intervention-50k": "multiberts-cda_intervention-50k",
    "from_scratch": "multiberts-cda_from_scratch",
}
# pretraining steps (thousands) of each coreference group: the CDA intervention continues each
# 2M-step checkpoint for 50k steps; from_scratch is taken to follow the 2M-step MultiBERTs recipe
# (the published files do not record it)
COREF_STEPS = {"base": 2000, "base_extra_seeds": 2000, "cda_intervention-50k": 2050,
               "from_scratch": 2000}
_GENDER_WORD = {"MASCULINE": "male", "FEMININE": "female", "UNKNOWN": "neutral"}


class PublishedFormatError(ValueError):
    """A published prediction file is missing or does not follow the published format."""


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

def _require_file(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise PublishedFormatError(
            f"The {what} file {str(path)!r} does not exist. Got a path to nothing instead "
            "(download it from the MultiBERTs release, or pass the right folder).")
    return path


def _require_dir(path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise PublishedFormatError(f"The `{what}` folder {str(path)!r} does not exist.")
    return path


def _read_tsv(path: Path, what: str, columns: Sequence[str], index_col=0) -> pd.DataFrame:
    _require_file(path, what)
    try:
        df = pd.read_csv(path, sep="\t", index_col=index_col)
    except Exception as exc:  # pandas raises several parser errors
        raise PublishedFormatError(f"Could not parse the {what} file {str(path)!r} as "
                                   f"tab-separated values: {exc}") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise PublishedFormatError(
            f"The {what} file {str(path)!r} must have the columns {list(columns)}. "
            f"Missing {missing}; got {list(df.columns)} instead.")
    return df


def _int_column(df: pd.DataFrame, col: str, path: Path, what: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce")
    if values.isna().any() or not np.all(np.mod(values, 1) == 0):
        bad = df[col][values.isna() | (np.mod(values.fillna(0.5), 1) != 0)].head(3).tolist()
        raise PublishedFormatError(f"The `{col}` column of the {what} file {str(path)!r} must "
                                   f"hold integers. Got {bad} instead.")
    return values.to_numpy().astype(np.int64)


def _hparams(lr=None) -> str:
    return "{}" if lr is None else json.dumps({"lr": float(lr)}, sort_keys=True)


def parse_steps(value, release: str | None = None) -> int:
    """Pretraining steps of an ``n_steps`` entry, in **thousands** (``"2M"`` -> 2000).

    ``"1M"`` -> 1000, ``"200k"`` -> 200, a plain number is a raw step count (``"0"`` -> 0).
    The original BERT rows (``release == "public"``) carry ``n_steps = 0`` in the published
    index; original BERT was pretrained for 1M steps (Devlin et al., 2019), so those map to 1000
    (the raw value stays in the tidy table's ``n_steps`` column).

    Examples
    --------
    >>> parse_steps("2M"), parse_steps("1M"), parse_steps("200k"), parse_steps(0, "public")
    (2000, 1000, 200, 1000)
    """
    s = str(value).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmM]?)", s)
    if not m:
        raise PublishedFormatError(f"The `n_steps` entry must look like '2M', '1M', '200k' or a "
                                   f"number. Got {value!r} instead.")
    num, unit = float(m.group(1)), m.group(2).lower()
    thousands = num * 1000 if unit == "m" else num if unit == "k" else num / 1000
    if release == "public" and thousands == 0:
        return 1000
    return int(round(thousands))


def _checkpoint_id(release: str, seed: int, step: int) -> str:
    if release == "public":
        return "bert-base-uncased"
    if step == 2000:
        return f"google/multiberts-seed_{seed}"
    return f"google/multiberts-seed_{seed}-step_{step}k"


def _family(release: str) -> str:
    return "bert-base-uncased" if release == "public" else str(release)


def _null_int(n: int):
    """An all-null Int64 column of length n (the ``layer`` of non-probe runs)."""
    return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))


def _repeat_str(values: Sequence, counts_or_codes: np.ndarray, *, codes=False) -> pd.Series:
    """A string column built from few distinct values (fast for millions of rows)."""
    cats = pd.Index(pd.unique(np.asarray(values, dtype=object)))
    if codes:
        idx = counts_or_codes
    else:
        idx = np.repeat(cats.get_indexer(np.asarray(values, dtype=object)), counts_or_codes)
    return pd.Series(pd.Categorical.from_codes(idx, categories=cats)).astype(str)


# --------------------------------------------------------------------------------------------
# SQuAD 2.0 official metrics (evaluate-v2.0.py definitions)
# --------------------------------------------------------------------------------------------

_PUNCT_TABLE = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def squad_normalize_answer(s: str) -> str:
    """Normalise an answer as the official SQuAD 2.0 script does.

    Lower case, remove punctuation (``string.punctuation``), remove the articles *a*, *an*,
    *the* (whole words), collapse white space — in that order.

    Examples
    --------
    >>> squad_normalize_answer("The  Eiffel-Tower, in Paris!")
    'eiffeltower in paris'
    """
    s = s.lower().translate(_PUNCT_TABLE)  # same as dropping each char in string.punctuation
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _squad_tokens(s: str) -> list[str]:
    return squad_normalize_answer(s).split() if s else []


def squad_exact_match(gold: str, pred: str) -> int:
    """1 if the normalised answers are equal, else 0 (official ``compute_exact``).

    Examples
    --------
    >>> squad_exact_match("the Norman conquest", "Norman Conquest.")
    1
    """
    return int(squad_normalize_answer(gold) == squad_normalize_answer(pred))


def squad_f1(gold: str, pred: str) -> float:
    """Token-overlap F1 of the normalised answers (official ``compute_f1``).

    If either side has no tokens (no-answer), F1 is 1 when both have none and 0 otherwise.

    Examples
    --------
    >>> round(squad_f1("in the 10th century", "10th and 11th centuries"), 4)
    0.2857
    """
    gold_toks, pred_toks = _squad_tokens(gold), _squad_tokens(pred)
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return float(gold_toks == pred_toks)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_toks)
    recall = num_same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def _squad_questions(dataset) -> tuple[list[str], list[list[str]]]:
    """Question ids in file order and their gold answers (``['']`` for unanswerable)."""
    qids, golds = [], []
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold = [a["text"] for a in qa.get("answers", []) if squad_normalize_answer(a["text"])]
                qids.append(qa["id"])
                golds.append(gold if gold else [""])
    return qids, golds


def squad_raw_scores(dataset, predictions: dict, *, source: str = "the predictions") -> tuple[dict, dict]:
    """Exact match and F1 per question, max over the gold answers (official ``get_raw_scores``).

    Parameters
    ----------
    dataset : list
        The ``data`` list of ``dev-v2.0.json``.
    predictions : dict
        question id -> predicted answer text (``""`` = no answer).
    source : str
        Name of the prediction file, used in error messages.

    Returns
    -------
    (exact, f1) : two dicts question id -> score, in dataset order.

    Raises
    ------
    PublishedFormatError
        If a question of the dataset has no prediction (the official script skips it with a
        message; here it is an error, so that nothing is silently dropped).

    Examples
    --------
    >>> data = [{"paragraphs": [{"qas": [
    ...     {"id": "q1", "answers": [{"text": "Paris"}, {"text": "the city of Paris"}]},
    ...     {"id": "q2", "answers": []}]}]}]
    >>> squad_raw_scores(data, {"q1": "city of Paris", "q2": ""})
    ({'q1': 1, 'q2': 1}, {'q1': 1.0, 'q2': 1.0})
    """
    qids, golds = _squad_questions(dataset)
    missing = [q for q in qids if q not in predictions]
    if missing:
        raise PublishedFormatError(
            f"{source} has no prediction for {len(missing)} of the {len(qids)} questions of the "
            f"dataset (e.g. {missing[:3]}). Every question id needs an answer ('' for no answer).")
    exact, f1 = {}, {}
    for qid, gold in zip(qids, golds):
        pred = predictions[qid]
        if not isinstance(pred, str):
            raise PublishedFormatError(f"{source}: the prediction for question {qid!r} must be a "
                                       f"string. Got {type(pred).__name__} instead.")
        exact[qid] = max(squad_exact_match(g, pred) for g in gold)
        f1[qid] = max(squad_f1(g, pred) for g in gold)
    return exact, f1


class _SquadScorer:
    """The official per-question scores with the gold side normalised once per dataset.

    Same definitions as :func:`squad_raw_scores` (tested equal); each run then normalises each
    prediction once instead of once per gold answer, and reuses the gold token counts.
    """

    def __init__(self, dataset):
        self.qids, self.golds = _squad_questions(dataset)
        self.gold_norm = [[squad_normalize_answer(g) for g in gold] for gold in self.golds]
        self.gold_toks = [[collections.Counter(_squad_tokens(g)) for g in gold] for gold in self.golds]
        self.gold_len = [[sum(c.values()) for c in cs] for cs in self.gold_toks]

    def score(self, predictions: dict, *, source: str = "the predictions"):
        missing = [q for q in self.qids if q not in predictions]
        if missing:
            raise PublishedFormatError(
                f"{source} has no prediction for {len(missing)} of the {len(self.qids)} questions "
                f"of the dataset (e.g. {missing[:3]}). Every question id needs an answer ('' for "
                "no answer).")
        exact = np.empty(len(self.qids), dtype=np.int64)
        f1 = np.empty(len(self.qids), dtype=np.float64)
        for k, qid in enumerate(self.qids):
            pred = predictions[qid]
            if not isinstance(pred, str):
                raise PublishedFormatError(f"{source}: the prediction for question {qid!r} must be "
                                           f"a string. Got {type(pred).__name__} instead.")
            p_norm = squad_normalize_answer(pred)
            exact[k] = int(any(p_norm == g for g in self.gold_norm[k]))
            p_toks = p_norm.split() if pred else []
            p_count = collections.Counter(p_toks)
            best = 0.0
            for g_count, g_len in zip(self.gold_toks[k], self.gold_len[k]):
                if g_len == 0 or len(p_toks) == 0:
                    val = float(g_len == 0 and len(p_toks) == 0)
                else:
                    same = sum((g_count & p_count).values())
                    if same == 0:
                        val = 0.0
                    else:  # the official arithmetic, so the floats are the same
                        precision = 1.0 * same / len(p_toks)
                        recall = 1.0 * same / g_len
                        val = (2 * precision * recall) / (precision + recall)
                best = max(best, val)
            f1[k] = best
        return exact, f1


# --------------------------------------------------------------------------------------------
# Coreference / Winogender
# --------------------------------------------------------------------------------------------

@dataclass
class CorefGroup:
    """One published coreference group, as the files hold it.

    Attributes
    ----------
    name : str
        Folder name (``base``, ``cda_intervention-50k``, ...).
    path : Path
    run_info : DataFrame
        ``pretrain_seed``, ``finetune_seed`` (int64), one row per run in file order; the
        published index column is kept as the index.
    label_info : DataFrame
        720 rows in file order (``gender``, ``answer``, ``occupation``, ...).
    preds : ndarray, shape (n_runs, n_examples)
        Row *i* belongs to ``run_info.iloc[i]``.
    """

    name: str
    path: Path
    run_info: pd.DataFrame
    label_info: pd.DataFrame
    preds: np.ndarray

    @property
    def n_runs(self) -> int:
        return self.preds.shape[0]

    def __repr__(self) -> str:
        seeds = sorted(set(self.run_info["pretrain_seed"]))
        return (f"CorefGroup({self.name!r}, runs={self.n_runs}, examples={self.preds.shape[1]}, "
                f"pretrain_seeds={seeds})")


def load_coref_group(folder, name: str | None = None) -> CorefGroup:
    """Read one coreference group folder (``run_info.tsv``, ``label_info.tsv``, ``preds.tsv``).

    Rows of ``preds.tsv`` are aligned with rows of ``run_info.tsv`` by position in the files
    (the published convention); seeds come from the ``pretrain_seed`` / ``finetune_seed``
    columns, never from the row order.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=3)
    >>> load_coref_group(root / "coref" / "base")
    CorefGroup('base', runs=15, examples=720, pretrain_seeds=[0, 1, 2])
    """
    folder = _require_dir(folder, "coreference group")
    name = name or folder.name
    ri_path, li_path, pr_path = (folder / "run_info.tsv", folder / "label_info.tsv",
                                 folder / "preds.tsv")
    run_info = _read_tsv(ri_path, "run_info", ("pretrain_seed", "finetune_seed"))
    run_info = run_info.copy()
    for col in ("pretrain_seed", "finetune_seed"):
        run_info[col] = _int_column(run_info, col, ri_path, "run_info")
    label_info = _read_tsv(li_path, "label_info", LABEL_INFO_COLUMNS)
    _require_file(pr_path, "preds")
    try:
        preds = np.loadtxt(pr_path, ndmin=2)
    except ValueError as exc:
        raise PublishedFormatError(f"The preds file {str(pr_path)!r} must be a whitespace-"
                                   f"separated numeric matrix (runs x examples): {exc}") from exc
    if preds.shape[0] != len(run_info):
        raise PublishedFormatError(
            f"The preds file {str(pr_path)!r} has {preds.shape[0]} rows but the run_info file "
            f"{str(ri_path)!r} has {len(run_info)}: each row of preds.tsv must be the run of the "
            "same row of run_info.tsv.")
    if preds.shape[1] != len(label_info):
        raise PublishedFormatError(
            f"The preds file {str(pr_path)!r} has {preds.shape[1]} columns but the label_info "
            f"file {str(li_path)!r} has {len(label_info)} rows: each column of preds.tsv must be "
            "the example of the same row of label_info.tsv.")
    bad = ~np.isin(preds, (0, 1))
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise PublishedFormatError(f"The preds file {str(pr_path)!r} must hold 0 (occupation) or "
                                   f"1 (other participant). Got {preds[i, j]!r} at row {i}, "
                                   f"column {j} instead.")
    dup = run_info.duplicated(["pretrain_seed", "finetune_seed"])
    if dup.any():
        r = run_info[dup].iloc[0]
        raise PublishedFormatError(f"The run_info file {str(ri_path)!r} lists the run "
                                   f"(pretrain_seed={r.pretrain_seed}, finetune_seed="
                                   f"{r.finetune_seed}) more than once.")
    return CorefGroup(name, folder, run_info, label_info, preds)


def read_occupations(path) -> pd.Series:
    """``occupation -> bls_pct_female`` (percent) from Winogender's ``occupations-stats.tsv``.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=2)
    >>> read_occupations(root / "coref" / "occupations-stats.tsv")["nurse"]
    np.float64(89.58)
    """
    path = Path(path)
    df = _read_tsv(path, "occupations-stats", ("occupation", "bls_pct_female"), index_col=None)
    s = pd.to_numeric(df["bls_pct_female"], errors="coerce")
    if s.isna().any():
        raise PublishedFormatError(f"The `bls_pct_female` column of {str(path)!r} must be "
                                   f"numeric. Got {df['bls_pct_female'][s.isna()].head(3).tolist()}.")
    out = pd.Series(s.to_numpy(float), index=df["occupation"].astype(str), name="bls_pct_female")
    return out


def _coref_groups_arg(root: Path, groups) -> list[str]:
    if groups is None:
        found = [g for g in COREF_GROUPS if (root / g).is_dir()]
        if not found:
            raise PublishedFormatError(
                f"The coreference folder {str(root)!r} holds none of the published groups "
                f"{list(COREF_GROUPS)}.")
        return found
    if isinstance(groups, str):
        groups = [groups]
    return list(groups)


def _find_occupations(root: Path, occupations):
    if occupations is None:
        for cand in (root / "occupations-stats.tsv", root.parent / "occupations-stats.tsv"):
            if cand.is_file():
                return read_occupations(cand)
        return None
    if isinstance(occupations, pd.Series):
        return occupations
    return read_occupations(occupations)


def _winogender_example_ids(label_info: pd.DataFrame) -> np.ndarray:
    """Winogender sentence ids (``occupation.participant.answer.gender.txt``) when unique."""
    someone = label_info["someone"].astype(str).str.lower().isin(("true", "1"))
    participant = np.where(someone, "someone", label_info["other_participant"].astype(str))
    gender = label_info["gender"].astype(str).map(_GENDER_WORD).fillna(
        label_info["gender"].astype(str).str.lower())
    ids = (label_info["occupation"].astype(str) + "." + participant + "."
           + label_info["answer"].astype(str) + "." + gender + ".txt").to_numpy(dtype=object)
    if len(set(ids)) != len(ids):
        ids = np.array([f"row_{i}" for i in label_info.index], dtype=object)
    return ids


def _coref_tidy(group: CorefGroup, occ: pd.Series | None) -> pd.DataFrame:
    li = group.label_info
    n_runs, n_ex = group.preds.shape
    ri = group.run_info
    seeds = ri["pretrain_seed"].to_numpy()
    step = COREF_STEPS.get(group.name, 2000)
    if group.name in ("base", "base_extra_seeds"):
        ckpts = [f"google/multiberts-seed_{s}" for s in seeds]
    else:
        ckpts = [f"{group.name}/seed_{s}" for s in seeds]
    someone = li["someone"].astype(str).str.lower().isin(("true", "1")).to_numpy()
    participant = np.where(someone, "someone", li["other_participant"].astype(str).to_numpy())
    rep = lambda a: np.repeat(np.asarray(a), n_ex)  # noqa: E731  per-run value on every row
    til = lambda a: np.tile(np.asarray(a), n_runs)  # noqa: E731  per-example value on every run
    ids = _winogender_example_ids(li)
    df = pd.DataFrame({
        "family": _repeat_str([COREF_FAMILIES.get(group.name, group.name)], np.array([n_runs * n_ex])),
        "checkpoint": _repeat_str(ckpts, np.full(n_runs, n_ex)),
        "pretrain_seed": rep(seeds).astype(np.int64),
        "step": np.full(n_runs * n_ex, step, dtype=np.int64),
        "task": "winogender",
        "split": "test",
        "method": "finetune",
        "layer": _null_int(n_runs * n_ex),
        "finetune_seed": rep(ri["finetune_seed"].to_numpy()).astype(np.int64),
        "hparams": "{}",
        "example_id": til(ids).astype(str),
        "label": til(li["answer"].to_numpy()).astype(np.float64),
        "prediction": group.preds.reshape(-1).astype(np.float64),
        "score": np.nan,
        "cluster": til(li["occupation"].astype(str).to_numpy()),
        "group": group.name,
        "release": "multiberts",
        "gender": til(li["gender"].astype(str).to_numpy()),
        "occupation": til(li["occupation"].astype(str).to_numpy()),
        "participant": til(participant),
        "someone": til(someone),
        "pronoun_type": til(li["pronoun_type"].astype(str).to_numpy()),
        "template_idx": til(li["template_idx"].to_numpy()).astype(np.int64),
    })
    if occ is not None:
        missing = sorted(set(li["occupation"].astype(str)) - set(occ.index))
        if missing:
            raise PublishedFormatError(f"The occupations-stats file has no `bls_pct_female` for "
                                       f"the occupation(s) {missing[:5]} of {group.path}.")
        df["bls_pct_female"] = til(occ.reindex(li["occupation"].astype(str)).to_numpy())
    return df


def read_coref(root, groups=None, occupations=None) -> pd.DataFrame:
    """The tidy predictions table of the published Winogender coreference predictions.

    Parameters
    ----------
    root : path
        Folder holding the group folders (``base``, ``base_extra_seeds``,
        ``cda_intervention-50k``, ``from_scratch``), or one group folder itself.
    groups : str or list of str, optional
        Groups to read; default all present.
    occupations : path or Series, optional
        Winogender's ``occupations-stats.tsv`` (or ``occupation -> bls_pct_female``); looked
        for in ``root`` and its parent when not given. Adds ``bls_pct_female``.

    Returns
    -------
    DataFrame
        One row per (run, sentence): the columns of the tidy table (``family`` per group,
        ``checkpoint``, ``pretrain_seed``, ``step`` = 2000 (2050 for the CDA intervention:
        2M + 50k CDA steps; 2000 for from_scratch is an assumption, the files do not record
        it), ``task`` = ``winogender``, ``finetune_seed``, ``example_id`` = the
        Winogender sentence id, ``label`` = ``answer``, ``prediction`` (0 = occupation,
        1 = other participant), ``score`` = NaN (no per-example score is published),
        ``cluster`` = occupation) plus ``group``, ``release``, ``gender``, ``occupation``,
        ``participant``, ``someone``, ``pronoun_type``, ``template_idx`` and
        ``bls_pct_female`` (percent) when the occupations file is found.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=2)
    >>> t = read_coref(root / "coref", groups="base")
    >>> t.shape[0], sorted(t.pretrain_seed.unique().tolist()), t.example_id.iloc[0]
    (7200, [0, 1], 'technician.customer.1.neutral.txt')
    """
    root = _require_dir(root, "root")
    if (root / "preds.tsv").is_file() and groups is None:
        loaded = [load_coref_group(root)]
        occ = _find_occupations(root.parent, occupations)
    else:
        loaded = [load_coref_group(root / g, g) for g in _coref_groups_arg(root, groups)]
        occ = _find_occupations(root, occupations)
    return pd.concat([_coref_tidy(g, occ) for g in loaded], ignore_index=True)


def coref_bias_scores(preds: np.ndarray, label_info: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-run, per-occupation bias: share of FEMININE minus share of MASCULINE sentences
    resolved to the occupation (prediction 0), as the published notebook's ``get_bias_score``.

    Parameters
    ----------
    preds : ndarray, shape (n_runs, n_examples)
    label_info : DataFrame with ``gender`` and ``occupation`` (n_examples rows)

    Returns
    -------
    (occupations, bias) : sorted occupation names (n_occ,), bias (n_runs, n_occ)

    Examples
    --------
    >>> li = pd.DataFrame({"gender": ["FEMININE", "MASCULINE", "FEMININE", "MASCULINE"],
    ...                    "occupation": ["nurse", "nurse", "chef", "chef"]})
    >>> coref_bias_scores(np.array([[0, 1, 1, 0]]), li)
    (array(['chef', 'nurse'], dtype=object), array([[-1.,  1.]]))
    """
    preds = np.asarray(preds)
    occ = label_info["occupation"].astype(str).to_numpy(dtype=object)
    gender = label_info["gender"].astype(str).to_numpy()
    occs, inv = np.unique(occ, return_inverse=True)
    k = len(occs)
    resolved = (preds == 0).astype(float)

    def share(mask):
        onehot = np.zeros((len(occ), k))
        onehot[np.arange(len(occ))[mask], inv[mask]] = 1.0
        counts = onehot.sum(axis=0)
        if np.any(counts == 0):
            raise PublishedFormatError("Every occupation needs FEMININE and MASCULINE sentences. "
                                       f"Got none for {list(occs[counts == 0][:5])}.")
        return resolved @ (onehot / counts)

    return occs, share(gender == "FEMININE") - share(gender == "MASCULINE")


# --------------------------------------------------------------------------------------------
# GLUE
# --------------------------------------------------------------------------------------------

def _read_index(root: Path, task_filter=None) -> pd.DataFrame:
    path = root / "index.tsv"
    df = _read_tsv(path, "index", INDEX_COLUMNS, index_col=None)
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed")]
    df = df.drop(columns=unnamed)
    df["file"] = df["file"].astype(str)
    df["task"] = df["task"].astype(str)
    df["release"] = df["release"].astype(str)
    df["n_steps"] = df["n_steps"].astype(str)
    df["pretrain_id"] = _int_column(df, "pretrain_id", path, "index")
    df["ft_seed"] = _int_column(df, "ft_seed", path, "index")
    df["lr"] = pd.to_numeric(df["lr"], errors="raise")
    dup = df["file"].duplicated()
    if dup.any():
        raise PublishedFormatError(f"The index file {str(path)!r} lists the file "
                                   f"{df['file'][dup].iloc[0]!r} more than once.")
    return df


def _check_unlisted(root: Path, full_index: pd.DataFrame, selected: pd.DataFrame, suffix: str):
    """Prediction files on disk, beside the selected ones, that index.tsv does not list."""
    listed = {str((root / f).resolve()) for f in full_index["file"]}
    folders = {(root / f).parent for f in selected["file"]}
    for folder in sorted(folders):
        if not folder.is_dir():
            continue
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix == suffix and str(p.resolve()) not in listed:
                raise PublishedFormatError(
                    f"The prediction file {str(p)!r} is not listed in {str(root / 'index.tsv')!r}: "
                    "every prediction file needs a row (release, pretrain_id, n_steps, lr, "
                    "ft_seed) in the index. Remove the file or add its row.")


def _filter_index(df: pd.DataFrame, tasks=None, releases=None, n_steps=None) -> pd.DataFrame:
    def as_list(x):
        return None if x is None else ([x] if isinstance(x, str) else list(x))

    mask = np.ones(len(df), bool)
    for col, val in (("task", as_list(tasks)), ("release", as_list(releases)),
                     ("n_steps", as_list(n_steps))):
        if val is not None:
            mask &= df[col].isin([str(v) for v in val]).to_numpy()
    return df[mask]


@dataclass
class GlueRuns:
    """Published GLUE predictions of one task in matrix form.

    Attributes
    ----------
    task : str
        Published task name (``MNLI``, ``STS-B``, ...).
    index : DataFrame
        The index rows of the runs, in index-file order, plus ``step`` (thousands).
    labels : ndarray, shape (n_examples,)
        From ``{TASK}_dev_labels`` (int; float for STS-B).
    preds : ndarray, shape (n_runs, n_examples)
        Argmax class (int), or the value for STS-B (float).
    scores : list of ndarray, optional
        Per-run (n_examples, n_classes) published scores, when ``keep_scores=True``.
    """

    task: str
    root: Path
    index: pd.DataFrame
    labels: np.ndarray
    preds: np.ndarray
    scores: list | None = None

    def __repr__(self) -> str:
        return (f"GlueRuns({self.task!r}, runs={len(self.index)}, examples={len(self.labels)}, "
                f"releases={sorted(set(self.index['release']))}, "
                f"n_steps={sorted(set(self.index['n_steps']))})")


def _read_labels(root: Path, task: str) -> np.ndarray:
    path = _require_file(root / f"{task}_dev_labels", f"{task} labels")
    try:
        labels = np.loadtxt(path, ndmin=1)
    except ValueError as exc:
        raise PublishedFormatError(f"The labels file {str(path)!r} must hold one number per "
                                   f"line: {exc}") from exc
    return labels.astype(float) if task == "STS-B" else labels.astype(int)


def load_glue(root, task: str = "MNLI", *, releases=None, n_steps=None, keep_scores: bool = False,
              strict: bool = True, quiet: bool = True) -> GlueRuns:
    """Read the published GLUE predictions of one task.

    Parameters
    ----------
    root : path
        Folder with ``index.tsv``, ``{TASK}_dev_labels`` and the prediction files.
    task : str
        Published task name (``MNLI``, ``SST-2``, ``STS-B``, ...).
    releases, n_steps : str or list, optional
        Keep only these ``release`` (``multiberts``, ``public``) / ``n_steps`` (``1M``, ``2M``).
    keep_scores : bool
        Keep the per-class scores (memory: runs x examples x classes).
    strict : bool
        Raise when the task folders hold prediction files that ``index.tsv`` does not list.
    quiet : bool
        No progress bar.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("glue",), n_seeds=2)
    >>> load_glue(root / "glue", "MNLI", releases="multiberts")
    GlueRuns('MNLI', runs=80, examples=60, releases=['multiberts'], n_steps=['1M', '2M'])
    """
    root = _require_dir(root, "root")
    full = _read_index(root)
    idx = _filter_index(full, tasks=task, releases=releases, n_steps=n_steps).copy()
    if idx.empty:
        raise PublishedFormatError(
            f"The index file {str(root / 'index.tsv')!r} lists no run with task={task!r}, "
            f"releases={releases!r}, n_steps={n_steps!r}. Tasks present: "
            f"{sorted(set(full['task']))}.")
    labels = _read_labels(root, task)
    if strict:
        _check_unlisted(root, full, idx, ".tsv")
    from tqdm.auto import tqdm

    preds, scores = [], [] if keep_scores else None
    for f in tqdm(idx["file"], desc=f"reading {task} predictions", disable=quiet, file=sys.stderr):
        path = _require_file(root / f, "prediction")
        try:
            m = np.loadtxt(path, delimiter="\t", ndmin=2)
        except ValueError as exc:
            raise PublishedFormatError(f"The prediction file {str(path)!r} must be a tab-separated "
                                       f"numeric matrix (examples x classes): {exc}") from exc
        if m.shape[0] != len(labels):
            raise PublishedFormatError(
                f"The prediction file {str(path)!r} has {m.shape[0]} rows but the labels file "
                f"{str(root / f'{task}_dev_labels')!r} has {len(labels)}: one row per dev example.")
        if task == "STS-B":
            if m.shape[1] != 1:
                raise PublishedFormatError(f"The STS-B prediction file {str(path)!r} must have one "
                                           f"column. Got {m.shape[1]} instead.")
            preds.append(m[:, 0].astype(float))
        else:
            preds.append(np.argmax(m, axis=1).astype(int))
        if keep_scores:
            scores.append(m)
    idx["step"] = [parse_steps(s, r) for s, r in zip(idx["n_steps"], idx["release"])]
    return GlueRuns(task, root, idx, labels, np.stack(preds), scores)


def _runs_tidy(idx: pd.DataFrame, task: str, n_ex: int, example_ids: np.ndarray) -> dict:
    """The per-run columns of a tidy table (GLUE and SQuAD), repeated over examples."""
    n_runs = len(idx)
    counts = np.full(n_runs, n_ex)
    seeds = idx["pretrain_id"].to_numpy()
    steps = idx["step"].to_numpy()
    rel = idx["release"].to_numpy()
    return {
        "family": _repeat_str([_family(r) for r in rel], counts),
        "checkpoint": _repeat_str([_checkpoint_id(r, s, st) for r, s, st in zip(rel, seeds, steps)],
                                  counts),
        "pretrain_seed": np.repeat(seeds, n_ex).astype(np.int64),
        "step": np.repeat(steps, n_ex).astype(np.int64),
        "task": GLUE_TASK_NAMES.get(task, task.lower()),
        "split": "validation",
        "method": "finetune",
        "layer": _null_int(n_runs * n_ex),
        "finetune_seed": np.repeat(idx["ft_seed"].to_numpy(), n_ex).astype(np.int64),
        "hparams": _repeat_str([_hparams(lr) for lr in idx["lr"]], counts),
        "example_id": _repeat_str(example_ids, np.tile(np.arange(n_ex), n_runs), codes=True)
        if len(set(example_ids)) == len(example_ids) else np.tile(example_ids, n_runs),
    }


def _glue_tidy(runs: GlueRuns) -> pd.DataFrame:
    n_runs, n_ex = runs.preds.shape
    ex_ids = np.array([str(i) for i in range(n_ex)], dtype=object)
    cols = _runs_tidy(runs.index, runs.task, n_ex, ex_ids)
    cols["label"] = np.tile(runs.labels.astype(np.float64), n_runs)
    cols["prediction"] = runs.preds.reshape(-1).astype(np.float64)
    if runs.task == "STS-B":
        cols["score"] = cols["prediction"]
    elif runs.scores is not None and runs.scores[0].shape[1] == 2:
        cols["score"] = np.concatenate([s[:, 1] for s in runs.scores]).astype(np.float64)
    else:
        cols["score"] = np.nan
    cols["cluster"] = cols["example_id"]
    cols["release"] = _repeat_str(runs.index["release"].to_numpy(), np.full(n_runs, n_ex))
    cols["n_steps"] = _repeat_str(runs.index["n_steps"].to_numpy(), np.full(n_runs, n_ex))
    cols["lr"] = np.repeat(runs.index["lr"].to_numpy(float), n_ex)
    cols["published_task"] = runs.task
    cols["file"] = _repeat_str(runs.index["file"].to_numpy(), np.full(n_runs, n_ex))
    if runs.scores is not None and runs.task != "STS-B":
        for c in range(runs.scores[0].shape[1]):
            cols[f"score_{c}"] = np.concatenate([s[:, c] for s in runs.scores]).astype(np.float64)
    return pd.DataFrame(cols)


def read_glue(root, tasks=None, *, releases=None, n_steps=None, keep_scores: bool = True,
              strict: bool = True, quiet: bool = True) -> pd.DataFrame:
    """The tidy predictions table of the published GLUE predictions.

    Parameters
    ----------
    root : path
        Folder with ``index.tsv``, the ``{TASK}_dev_labels`` files and the prediction files.
    tasks : str or list, optional
        Published task names; default every task of the index.
    releases, n_steps : optional filters (``multiberts`` / ``public``; ``1M`` / ``2M``).
    keep_scores : bool
        Add the published per-class scores as ``score_0``, ``score_1``, ... (and ``score`` =
        class-1 score for binary tasks).

    Returns
    -------
    DataFrame
        One row per (run, dev example): ``family`` (``multiberts`` or ``bert-base-uncased``
        for the ``public`` release), ``checkpoint`` (hub id), ``pretrain_seed``
        (``pretrain_id``), ``step`` (thousands: 1M -> 1000, 2M -> 2000; original BERT 1000),
        ``task`` (GLUE configuration name, e.g. ``mnli``), ``finetune_seed`` (``ft_seed``),
        ``hparams`` (``{"lr": ...}``), ``example_id`` (row number in the dev labels file),
        ``label``, ``prediction`` (argmax class; the value for STS-B), ``score``, ``cluster``,
        plus ``release``, ``n_steps``, ``lr``, ``published_task``, ``file``.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("glue",), n_seeds=2)
    >>> t = read_glue(root / "glue", "MNLI", n_steps="2M")
    >>> t[["family", "checkpoint", "hparams"]].iloc[0].tolist(), int(t["step"].iloc[0])
    (['multiberts', 'google/multiberts-seed_0', '{"lr": 2e-05}'], 2000)
    """
    root = _require_dir(root, "root")
    if tasks is None:
        tasks = list(pd.unique(_filter_index(_read_index(root), releases=releases,
                                             n_steps=n_steps)["task"]))
    elif isinstance(tasks, str):
        tasks = [tasks]
    frames = [_glue_tidy(load_glue(root, t, releases=releases, n_steps=n_steps,
                                   keep_scores=keep_scores, strict=strict, quiet=quiet))
              for t in tasks]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# SQuAD 2.0
# --------------------------------------------------------------------------------------------

@dataclass
class SquadRuns:
    """Published SQuAD 2.0 predictions scored per question.

    Attributes
    ----------
    index : DataFrame
        The index rows of the runs (index-file order) plus ``step``.
    question_ids : list of str
        In ``dev-v2.0.json`` order.
    has_answer : ndarray of bool, shape (n_questions,)
    exact, f1 : ndarray, shape (n_runs, n_questions)
        Official per-question exact match (0/1) and F1 in [0, 1].
    answers : list of list of str
        The predicted answer texts, per run, in question order.
    """

    root: Path
    index: pd.DataFrame
    question_ids: list
    has_answer: np.ndarray
    exact: np.ndarray
    f1: np.ndarray
    answers: list = field(repr=False, default_factory=list)

    def __repr__(self) -> str:
        return (f"SquadRuns(runs={len(self.index)}, questions={len(self.question_ids)}, "
                f"releases={sorted(set(self.index['release']))}, "
                f"n_steps={sorted(set(self.index['n_steps']))})")


def load_squad(root, *, task: str = "v2.0", releases=None, n_steps=None, strict: bool = True,
               quiet: bool = True, dataset_file: str = "dev-v2.0.json") -> SquadRuns:
    """Read and score the published SQuAD 2.0 predictions (official EM / F1 per question).

    Parameters
    ----------
    root : path
        Folder with ``index.tsv``, ``dev-v2.0.json`` and the prediction JSON files.
    releases, n_steps : optional filters of the index rows.
    strict : bool
        Raise when the prediction folders hold JSON files the index does not list, or a
        prediction file answers question ids that are not in the dataset.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("squad",), n_seeds=2)
    >>> load_squad(root / "squad")
    SquadRuns(runs=15, questions=40, releases=['multiberts', 'public'], n_steps=['0', '2M'])
    """
    root = _require_dir(root, "root")
    full = _read_index(root)
    idx = _filter_index(full, tasks=task, releases=releases, n_steps=n_steps).copy()
    if idx.empty:
        raise PublishedFormatError(
            f"The index file {str(root / 'index.tsv')!r} lists no run with task={task!r}, "
            f"releases={releases!r}, n_steps={n_steps!r}.")
    ds_path = _require_file(root / dataset_file, "SQuAD dataset")
    try:
        with open(ds_path, encoding="utf-8") as fh:
            dataset = json.load(fh)["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise PublishedFormatError(f"The SQuAD dataset file {str(ds_path)!r} must be the official "
                                   f"JSON with a 'data' list: {exc}") from exc
    scorer = _SquadScorer(dataset)
    qids, golds = scorer.qids, scorer.golds
    if strict:
        _check_unlisted(root, full, idx, ".json")
    from tqdm.auto import tqdm

    exact, f1, answers = [], [], []
    qset = set(qids)
    for f in tqdm(idx["file"], desc="scoring SQuAD predictions", disable=quiet, file=sys.stderr):
        path = _require_file(root / f, "prediction")
        try:
            with open(path, encoding="utf-8") as fh:
                preds = json.load(fh)
        except json.JSONDecodeError as exc:
            raise PublishedFormatError(f"The prediction file {str(path)!r} is not valid JSON: "
                                       f"{exc}") from exc
        if not isinstance(preds, dict):
            raise PublishedFormatError(f"The prediction file {str(path)!r} must hold a JSON object "
                                       f"question id -> answer text. Got {type(preds).__name__}.")
        if strict:
            extra = [q for q in preds if q not in qset]
            if extra:
                raise PublishedFormatError(
                    f"The prediction file {str(path)!r} answers {len(extra)} question id(s) that "
                    f"are not in {str(ds_path)!r} (e.g. {extra[:3]}).")
        em, f = scorer.score(preds, source=f"The prediction file {str(path)!r}")
        exact.append(em)
        f1.append(f)
        answers.append([preds[q] for q in qids])
    idx["step"] = [parse_steps(s, r) for s, r in zip(idx["n_steps"], idx["release"])]
    has_answer = np.array([g != [""] for g in golds])
    return SquadRuns(root, idx, qids, has_answer, np.array(exact, dtype=np.int64),
                     np.array(f1, dtype=np.float64), answers)


def read_squad(root, *, releases=None, n_steps=None, strict: bool = True,
               quiet: bool = True) -> pd.DataFrame:
    """The tidy predictions table of the published SQuAD 2.0 predictions.

    Returns
    -------
    DataFrame
        One row per (run, question): the tidy columns (``task`` = ``squad_v2``,
        ``example_id`` = question id, ``label`` = 1.0 if the question has an answer else 0.0,
        ``prediction`` = 1.0 if the run answered (non-empty normalised text) else 0.0,
        ``score`` = F1) plus ``exact_match`` and ``f1`` (official, per question),
        ``answer_text`` (the predicted text), ``release``, ``n_steps``, ``lr``, ``file``.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("squad",), n_seeds=2)
    >>> t = read_squad(root / "squad")
    >>> t.groupby("family")["exact_match"].mean().round(3).to_dict()  # doctest: +SKIP
    {'bert-base-uncased': 0.7, 'multiberts': 0.74}
    """
    runs = load_squad(root, releases=releases, n_steps=n_steps, strict=strict, quiet=quiet)
    n_runs, n_q = runs.exact.shape
    cols = _runs_tidy(runs.index, "v2.0", n_q, np.array(runs.question_ids, dtype=object))
    answered = np.array([[bool(squad_normalize_answer(a)) for a in row] for row in runs.answers])
    cols["label"] = np.tile(runs.has_answer.astype(np.float64), n_runs)
    cols["prediction"] = answered.reshape(-1).astype(np.float64)
    cols["score"] = runs.f1.reshape(-1)
    cols["cluster"] = cols["example_id"]
    cols["exact_match"] = runs.exact.reshape(-1).astype(np.float64)
    cols["f1"] = runs.f1.reshape(-1)
    cols["answer_text"] = [a for row in runs.answers for a in row]
    cols["release"] = _repeat_str(runs.index["release"].to_numpy(), np.full(n_runs, n_q))
    cols["n_steps"] = _repeat_str(runs.index["n_steps"].to_numpy(), np.full(n_runs, n_q))
    cols["lr"] = np.repeat(runs.index["lr"].to_numpy(float), n_q)
    cols["file"] = _repeat_str(runs.index["file"].to_numpy(), np.full(n_runs, n_q))
    return pd.DataFrame(cols)


def read_published(root, **kwargs) -> pd.DataFrame:
    """The tidy table of any published folder, its kind told from its files.

    ``index.tsv`` + ``dev-v2.0.json`` -> :func:`read_squad`; ``index.tsv`` -> :func:`read_glue`;
    group folders or ``preds.tsv`` -> :func:`read_coref`. Keyword arguments go to that reader.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("squad",), n_seeds=2)
    >>> read_published(root / "squad")["task"].unique().tolist()
    ['squad_v2']
    """
    root = _require_dir(root, "root")
    if (root / "index.tsv").is_file():
        if (root / "dev-v2.0.json").is_file():
            return read_squad(root, **kwargs)
        return read_glue(root, **kwargs)
    if (root / "preds.tsv").is_file() or any((root / g).is_dir() for g in COREF_GROUPS):
        return read_coref(root, **kwargs)
    raise PublishedFormatError(
        f"The folder {str(root)!r} is none of the published layouts: no index.tsv (GLUE, SQuAD), "
        f"no preds.tsv and none of the coreference groups {list(COREF_GROUPS)}.")


# --------------------------------------------------------------------------------------------
# matrix form
# --------------------------------------------------------------------------------------------

@dataclass
class MatrixForm:
    """The inputs of the reference-compatible ``multibootstrap``.

    Attributes
    ----------
    run_info : DataFrame
        One row per run: ``seed``, ``intervention`` (bool) and the run columns.
    preds : ndarray, shape (n_runs, n_examples)
    labels : ndarray, shape (n_examples,)
    example_ids : ndarray, shape (n_examples,)
    """

    run_info: pd.DataFrame
    preds: np.ndarray
    labels: np.ndarray
    example_ids: np.ndarray

    def multibootstrap(self, score_fn, **kwargs):
        """``multiberts_stats.bootstrap.multibootstrap(run_info, preds, labels, score_fn, **kw)``."""
        from multiberts_stats.bootstrap import multibootstrap

        return multibootstrap(self.run_info, self.preds, self.labels, score_fn, **kwargs)

    def __repr__(self) -> str:
        ri = self.run_info
        return (f"MatrixForm(runs={len(ri)} (base {int((~ri['intervention']).sum())}, expt "
                f"{int(ri['intervention'].sum())}), examples={self.preds.shape[1]})")


_RUN_COLS = ("family", "checkpoint", "pretrain_seed", "step", "task", "split", "method", "layer",
             "finetune_seed", "hparams")


def to_matrix(table: pd.DataFrame, intervention=None, *, value: str = "prediction",
              seed_col: str = "pretrain_seed", label_col: str = "label",
              run_cols: Sequence[str] | None = None) -> MatrixForm:
    """Turn a tidy predictions table into the matrix form of the reference ``multibootstrap``.

    Runs keep the order of their first row in ``table`` and examples the order of their first
    appearance, so a table read from published files gives back the published order.

    Parameters
    ----------
    table : DataFrame
        Tidy table (every run must cover the same examples).
    intervention : str, bool Series / array over rows, callable or None
        Which runs are the experiment side: a column name of booleans, a boolean mask aligned
        with ``table``'s rows, a callable ``table -> mask``; ``None`` = all runs are base.
    value : str
        Column that fills ``preds`` (``prediction``, ``exact_match``, ``f1``, ``score``...).
    seed_col : str
        Column copied to ``run_info['seed']``.
    label_col : str
        Column that gives ``labels`` (must be constant across runs per example).
    run_cols : list of str, optional
        Columns identifying a run; default the tidy run columns present in ``table``.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=2)
    >>> t = read_coref(root / "coref", groups=["base", "cda_intervention-50k"])
    >>> to_matrix(t, t["group"] == "cda_intervention-50k")
    MatrixForm(runs=20 (base 10, expt 10), examples=720)
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("The `table` parameter of to_matrix must be a non-empty DataFrame. "
                         f"Got {type(table).__name__} instead.")
    for col in (value, seed_col, label_col, "example_id"):
        if col not in table.columns:
            raise ValueError(f"The `table` parameter of to_matrix needs a {col!r} column. "
                             f"Got {list(table.columns)} instead.")
    if intervention is None:
        mask = np.zeros(len(table), bool)
    elif isinstance(intervention, str):
        if intervention not in table.columns:
            raise ValueError(f"The `intervention` parameter of to_matrix names the column "
                             f"{intervention!r}, which the table lacks.")
        mask = table[intervention].to_numpy().astype(bool)
    elif callable(intervention):
        mask = np.asarray(intervention(table)).astype(bool)
    else:
        mask = np.asarray(intervention).astype(bool)
    if mask.shape != (len(table),):
        raise ValueError("The `intervention` mask of to_matrix must have one entry per row of the "
                         f"table ({len(table)}). Got shape {mask.shape} instead.")
    run_cols = list(run_cols) if run_cols is not None else [c for c in _RUN_COLS if c in table]
    run_codes = table.groupby(run_cols, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    n_groups = int(run_codes.max()) + 1
    run_uniques = np.arange(n_groups)
    ex_codes, ex_uniques = pd.factorize(table["example_id"].astype(str), sort=False)
    n_runs, n_ex = len(run_uniques), len(ex_uniques)
    counts = np.bincount(run_codes, minlength=n_runs)
    if np.any(counts != n_ex) or len(table) != n_runs * n_ex:
        bad = int(np.argmax(counts != n_ex))
        first_row = table.iloc[int(np.argmax(run_codes == bad))][run_cols].to_dict()
        raise ValueError(f"Every run of the table must cover the same {n_ex} examples exactly once. "
                         f"The run {first_row} has {counts[bad]} rows.")
    cell = run_codes.astype(np.int64) * n_ex + ex_codes
    if len(np.unique(cell)) != len(cell):
        raise ValueError("The table has a (run, example_id) pair more than once.")
    vals = table[value].to_numpy()
    preds = np.empty(n_runs * n_ex, dtype=vals.dtype if vals.dtype != object else float)
    preds[cell] = vals
    preds = preds.reshape(n_runs, n_ex)
    labels_all = np.empty(n_runs * n_ex, dtype=float)
    labels_all[cell] = table[label_col].to_numpy(dtype=float)
    labels_all = labels_all.reshape(n_runs, n_ex)
    if not np.all((labels_all == labels_all[0]) | (np.isnan(labels_all) & np.isnan(labels_all[0]))):
        raise ValueError(f"The {label_col!r} column differs between runs for the same example.")
    first = np.zeros(n_runs, dtype=np.int64)
    first[run_codes[::-1]] = np.arange(len(table))[::-1]
    run_info = table.iloc[first][run_cols].reset_index(drop=True)
    run_info["seed"] = table[seed_col].to_numpy()[first]
    imask = np.zeros(n_runs, bool)
    np.logical_or.at(imask, run_codes, mask)
    base_mask = np.zeros(n_runs, bool)
    np.logical_or.at(base_mask, run_codes, ~mask)
    if np.any(imask & base_mask):
        raise ValueError("The `intervention` mask of to_matrix must be constant within each run.")
    run_info["intervention"] = imask
    return MatrixForm(run_info, preds, labels_all[0], np.asarray(ex_uniques, dtype=object))


# --------------------------------------------------------------------------------------------
# reproduce calls
# --------------------------------------------------------------------------------------------

@dataclass
class PublishedResult:
    """What a reproduce call returns: a tidy table of the intervals and the raw draws.

    Attributes
    ----------
    analysis : str
    table : DataFrame
        One row per (metric, quantity) with quantity in ``base`` / ``expt`` / ``delta``:
        ``mean`` (bootstrap mean, as ``report_ci``), ``low``, ``high``, ``p`` (delta rows),
        ``estimate`` (point estimate on the full data), and the settings (``design``,
        ``nboot``, ``confidence_level``, ``sample_seeds``, ``sample_examples``, ...).
    stats : dict
        metric -> the ``report_ci`` dict.
    samples : dict
        metric -> ndarray (nboot, 2) of (base, expt) draws.
    report : str
        The text the reference functions printed.
    """

    analysis: str
    table: pd.DataFrame
    stats: dict
    samples: dict
    report: str = ""
    inputs: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        cols = [c for c in ("metric", "quantity", "estimate", "mean", "low", "high", "p")
                if c in self.table]
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            body = self.table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}")
        return f"PublishedResult({self.analysis})\n{body}"

    def summary(self) -> str:
        return repr(self)


def _identity(x):
    return x


def _run_reference(analysis: str, matrices: dict, *, paired: bool, sample_seeds: bool,
                   sample_examples: bool, nboot: int, confidence_level: float, rng,
                   expect_negative: dict, quiet: bool, settings: dict, point: dict,
                   labels_names: tuple[str, str], per_metric: dict | None = None) -> PublishedResult:
    """One multibootstrap + report_ci per metric, through the reference-compatible API."""
    try:
        from multiberts_stats.bootstrap import multibootstrap, report_ci
    except ImportError as exc:  # pragma: no cover - the engine ships with the package
        raise ImportError("The reproduce calls need multiberts_stats.bootstrap "
                          "(multibootstrap, report_ci).") from exc
    if not isinstance(nboot, (int, np.integer)) or isinstance(nboot, bool) or nboot < 1:
        raise ValueError(f"The `nboot` parameter of {analysis} must be a positive integer. "
                         f"Got {nboot!r} instead.")
    if not (isinstance(confidence_level, (float, int)) and 0 < confidence_level < 1):
        raise ValueError(f"The `confidence_level` parameter of {analysis} must be in (0, 1). "
                         f"Got {confidence_level!r} instead.")
    if isinstance(rng, bool) or not (isinstance(rng, (int, np.integer, np.random.RandomState))
                                     or rng is np.random):
        raise ValueError(f"The `rng` parameter of {analysis} must be an int, a "
                         f"np.random.RandomState or np.random. Got {rng!r} instead.")
    if isinstance(rng, np.integer):
        rng = int(rng)  # an int: every metric starts a fresh RandomState(rng), as the notebooks
    progress = _identity
    if not quiet:
        from tqdm.auto import tqdm

        progress = lambda it: tqdm(it, file=sys.stderr, leave=False)  # noqa: E731
    rows, stats, samples, report = [], {}, {}, io.StringIO()
    for metric, (run_info, preds, labels, score_fn) in matrices.items():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            print(f"Metric: {metric} ({labels_names[0]} -> {labels_names[1]})")
            draws = multibootstrap(run_info, preds, labels, score_fn, paired_seeds=paired,
                                   sample_seeds=sample_seeds, sample_examples=sample_examples,
                                   nboot=nboot, rng=rng, verbose=True,
                                   progress_indicator=progress)
            st = report_ci(draws, c=confidence_level,
                           expect_negative_effect=expect_negative.get(metric, False))
        text = buf.getvalue()
        report.write(text + "\n")
        if not quiet:
            sys.stdout.write(text + "\n")
        stats[metric] = st
        samples[metric] = np.asarray(draws, dtype=float).reshape(-1, 2)
        for q in ("base", "expt", "delta"):
            d = st[q]
            rows.append({"analysis": analysis, "metric": metric, "quantity": q,
                         "side": {"base": labels_names[0], "expt": labels_names[1],
                                  "delta": f"{labels_names[1]} - {labels_names[0]}"}[q],
                         "estimate": point[metric][q], "mean": float(d["mean"]),
                         "low": float(d["low"]), "high": float(d["high"]),
                         "p": float(d["p"]) if q == "delta" else np.nan,
                         "expect_negative_effect": bool(expect_negative.get(metric, False)),
                         **settings, **(per_metric or {}).get(metric, {})})
    return PublishedResult(analysis, pd.DataFrame(rows), stats, samples, report.getvalue(),
                           inputs={m: v[:3] for m, v in matrices.items()})


def _point_estimates(run_info: pd.DataFrame, preds, labels, score_fn, paired: bool) -> dict:
    """Full-data estimate: mean over seeds of the mean over a seed's runs (common seeds if paired)."""
    scores = np.array([score_fn(labels, p) for p in preds], dtype=float)
    df = pd.DataFrame({"seed": run_info["seed"].to_numpy(), "iv": run_info["intervention"].to_numpy(),
                       "s": scores})
    per_seed = df.groupby(["iv", "seed"])["s"].mean()
    base = per_seed.get(False, pd.Series(dtype=float))
    expt = per_seed.get(True, pd.Series(dtype=float))
    if paired:
        common = base.index.intersection(expt.index)
        base, expt = base.loc[common], expt.loc[common]
    b, e = float(base.mean()), float(expt.mean())
    return {"base": b, "expt": e, "delta": e - b}


def _accuracy_fn(y_true, y_pred):
    """The notebooks' accuracy; the reproduce calls pass ``metrics.accuracy`` (same value,
    and the engine recognises it and scores a batch of replicates with one matrix product)."""
    return np.mean(y_true == y_pred)


def _accuracy_score_fn():
    from multiberts_stats.metrics import accuracy

    return accuracy


def _linregress_moments(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    dx, dy = x - x.mean(), y - y.mean()
    return np.dot(dx, dx) / n, np.dot(dx, dy) / n, np.dot(dy, dy) / n


def _bias_r_fn(pf_bls, bias_scores):
    """``scipy.stats.linregress(pf_bls, bias_scores).rvalue`` (the notebook's score_fn), in numpy.

    Same formula as scipy (population moments, r = 0 when a side is constant, clipped to
    [-1, 1]) without its ~2 ms per call overhead; equal to it to ~1e-16 (tested).
    """
    ssxm, ssxym, ssym = _linregress_moments(pf_bls, bias_scores)
    den = np.sqrt(ssxm * ssym)
    if den == 0.0:
        return 0.0
    return float(min(1.0, max(-1.0, ssxym / den)))


def _bias_slope_fn(pf_bls, bias_scores):
    """``scipy.stats.linregress(pf_bls, bias_scores).slope``, in numpy (see :func:`_bias_r_fn`)."""
    ssxm, ssxym, _ = _linregress_moments(pf_bls, bias_scores)
    return float(ssxym / ssxm) if ssxm != 0 else float("nan")


class _SentenceBias:
    """score_fn for sentence-level resampling: labels are example indices into label_info."""

    def __init__(self, label_info: pd.DataFrame, pf: pd.Series, what: str):
        self.gender = label_info["gender"].astype(str).to_numpy()
        self.occ = label_info["occupation"].astype(str).to_numpy(dtype=object)
        self.pf = pf
        pf_sorted = pf.sort_index()
        self.pf_index = pf_sorted.index.to_numpy(dtype=object)
        self.pf_values = pf_sorted.to_numpy(dtype=float)
        self.what = what

    def __call__(self, idx, y_pred):
        """Bias r (or slope) on the drawn sentences (duplicates count as often as drawn).

        An occupation with no FEMININE or no MASCULINE sentence among the draws has no bias
        score in that replicate and is left out of its correlation.
        """
        idx = np.asarray(idx, dtype=int)
        occs, inv = np.unique(self.occ[idx], return_inverse=True)
        resolved = (np.asarray(y_pred) == 0).astype(float)
        gender = self.gender[idx]
        k = len(occs)
        shares = []
        for g in ("FEMININE", "MASCULINE"):
            m = gender == g
            n = np.bincount(inv[m], minlength=k)
            hits = np.bincount(inv[m], weights=resolved[m], minlength=k)
            shares.append((hits, n))
        ok = (shares[0][1] > 0) & (shares[1][1] > 0)
        bias = shares[0][0][ok] / shares[0][1][ok] - shares[1][0][ok] / shares[1][1][ok]
        x = self.pf_values[np.searchsorted(self.pf_index, occs[ok])]
        return _bias_r_fn(x, bias) if self.what == "bias_r" else _bias_slope_fn(x, bias)


_WINOGENDER_COMPARISONS = {
    "intervention": ("base", "cda_intervention-50k", True),
    "from_scratch": ("cda_intervention-50k", "from_scratch", False),
    "seed0_vs_seed1": ("base_extra_seeds", "base_extra_seeds", False),
}
_ABLATIONS = {None: (True, True), "none": (True, True), "seeds_only": (True, False),
              "examples_only": (False, True)}


def reproduce_winogender(root, comparison: str = "intervention", *, metrics=("accuracy", "bias_r"),
                         ablation: str | None = None, sample_seeds: bool | None = None,
                         sample_examples: bool | None = None, unit: str = "occupation",
                         occupations=None, seeds: tuple[int, int] = (0, 1),
                         nboot: int = 1000, confidence_level: float = 0.95, rng=42,
                         expect_negative_effect: bool | None = None,
                         quiet: bool = False) -> PublishedResult:
    """Reproduce the paper's Winogender analyses (section 4, appendix D) in one call.

    Parameters
    ----------
    root : path
        The coreference folder (group folders ``base``, ``cda_intervention-50k``, ...).
    comparison : {"intervention", "from_scratch", "seed0_vs_seed1"}
        ``intervention``: base (L) vs CDA intervention (L'), **paired** on the pretraining
        seeds. ``from_scratch``: CDA intervention (L) vs CDA from scratch (L'), **unpaired**.
        ``seed0_vs_seed1``: pretraining seed ``seeds[0]`` (L) vs ``seeds[1]`` (L') of
        ``base_extra_seeds`` (25 fine-tuning runs each); each side is one artifact, so only
        examples are resampled (fine-tuning runs are averaged inside the seed).
    metrics : sequence of {"accuracy", "bias_r", "bias_slope"}
        Accuracy against ``answer``; Pearson r (or slope) of the per-occupation bias against
        the occupation's BLS share of women.
    ablation : {None, "seeds_only", "examples_only"}
        Resample only seeds, or only examples (the paper's ablations); or set
        ``sample_seeds`` / ``sample_examples`` directly.
    unit : {"occupation", "sentence"}
        Resampling unit of the bias metrics: the 60 occupations (the paper) or the 720
        sentences. Accuracy always resamples sentences.
    occupations : path or Series, optional
        ``occupations-stats.tsv``; looked for in ``root`` and its parent when not given.
    nboot, confidence_level, rng
        The paper's defaults: 1000, 0.95, 42. ``rng`` is an int (each metric's call starts a
        fresh ``RandomState(rng)``, as the published notebook passed ``rng=42`` to each call), a
        ``RandomState`` (one stream shared, in order, by the metrics), or ``np.random``.
    expect_negative_effect : bool, optional
        Passed to ``report_ci``; default True for the bias metrics (CDA is expected to reduce
        bias), False for accuracy.
    quiet : bool
        Don't print the reference report or show progress.

    Returns
    -------
    PublishedResult

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=3)
    >>> res = reproduce_winogender(root / "coref", "intervention", nboot=50, quiet=True)
    >>> res.table[["metric", "quantity"]].values.tolist()[:3]
    [['accuracy', 'base'], ['accuracy', 'expt'], ['accuracy', 'delta']]
    """
    root = _require_dir(root, "root")
    if comparison not in _WINOGENDER_COMPARISONS:
        raise ValueError(f"The `comparison` parameter of reproduce_winogender must be one of "
                         f"{sorted(_WINOGENDER_COMPARISONS)}. Got {comparison!r} instead.")
    if ablation not in _ABLATIONS:
        raise ValueError(f"The `ablation` parameter of reproduce_winogender must be one of "
                         f"[None, 'seeds_only', 'examples_only']. Got {ablation!r} instead.")
    if unit not in ("occupation", "sentence"):
        raise ValueError(f"The `unit` parameter of reproduce_winogender must be 'occupation' or "
                         f"'sentence'. Got {unit!r} instead.")
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        if m not in ("accuracy", "bias_r", "bias_slope"):
            raise ValueError(f"The `metrics` parameter of reproduce_winogender takes 'accuracy', "
                             f"'bias_r', 'bias_slope'. Got {m!r} instead.")
    ss, se = _ABLATIONS[ablation]
    ss = ss if sample_seeds is None else bool(sample_seeds)
    se = se if sample_examples is None else bool(sample_examples)
    base_name, expt_name, paired = _WINOGENDER_COMPARISONS[comparison]
    g_base = load_coref_group(root / base_name, base_name)
    if comparison == "seed0_vs_seed1":
        s0, s1 = seeds
        present = set(g_base.run_info["pretrain_seed"])
        for s in (s0, s1):
            if s not in present:
                raise ValueError(f"The `seeds` parameter of reproduce_winogender names pretraining "
                                 f"seed {s}, which {g_base.path} does not hold (it has "
                                 f"{sorted(present)}).")
        keep = g_base.run_info["pretrain_seed"].isin([s0, s1]).to_numpy()
        run_info = g_base.run_info[keep].copy()
        preds = g_base.preds[keep]
        run_info["intervention"] = (run_info["pretrain_seed"] == s1).to_numpy()
        label_info = g_base.label_info
        labels_names = (f"seed {s0}", f"seed {s1}")
    else:
        g_expt = load_coref_group(root / expt_name, expt_name)
        for col in ("answer", "gender", "occupation"):
            if not np.array_equal(g_base.label_info[col].astype(str).to_numpy(),
                                  g_expt.label_info[col].astype(str).to_numpy()):
                raise PublishedFormatError(
                    f"The label_info files of {g_base.path} and {g_expt.path} differ in the "
                    f"{col!r} column: the columns of both preds.tsv files must be the same examples.")
        run_info = pd.concat([g_base.run_info.assign(intervention=False),
                              g_expt.run_info.assign(intervention=True)], ignore_index=True)
        preds = np.concatenate([g_base.preds, g_expt.preds], axis=0)
        label_info = g_base.label_info
        labels_names = (base_name, expt_name)
    run_info = run_info.reset_index(drop=True)
    run_info["seed"] = run_info["pretrain_seed"].to_numpy()
    run_info["intervention"] = run_info["intervention"].astype(bool)

    matrices = {}
    needs_bias = any(m != "accuracy" for m in metrics)
    pf = None
    if needs_bias:
        occ = _find_occupations(root, occupations)
        if occ is None:
            raise PublishedFormatError(
                f"The bias metrics need Winogender's occupations-stats.tsv: none in {str(root)!r} "
                "or its parent; pass `occupations=`.")
        occs, bias = coref_bias_scores(preds, label_info)
        missing = [o for o in occs if o not in occ.index]
        if missing:
            raise PublishedFormatError(f"The occupations-stats file has no `bls_pct_female` for "
                                       f"{missing[:5]}.")
        pf = (occ / 100.0)
    for m in metrics:
        if m == "accuracy":
            matrices[m] = (run_info, preds, label_info["answer"].to_numpy(), _accuracy_score_fn())
        elif unit == "occupation":
            fn = _bias_r_fn if m == "bias_r" else _bias_slope_fn
            matrices[m] = (run_info, bias, pf.reindex(occs).to_numpy(), fn)
        else:
            matrices[m] = (run_info, preds, np.arange(preds.shape[1]),
                           _SentenceBias(label_info, pf, m))
    point = {m: _point_estimates(*v, paired=paired) for m, v in matrices.items()}
    neg = {m: (m != "accuracy") if expect_negative_effect is None else bool(expect_negative_effect)
           for m in metrics}
    settings = {"comparison": comparison, "design": "paired" if paired else "unpaired",
                "sample_seeds": ss, "sample_examples": se, "nboot": int(nboot),
                "confidence_level": float(confidence_level),
                "n_seeds_base": int(run_info.loc[~run_info.intervention, "seed"].nunique()),
                "n_seeds_expt": int(run_info.loc[run_info.intervention, "seed"].nunique()),
                "n_runs_base": int((~run_info.intervention).sum()),
                "n_runs_expt": int(run_info.intervention.sum())}
    return _run_reference(f"winogender:{comparison}", matrices, paired=paired, sample_seeds=ss,
                          sample_examples=se, nboot=nboot, confidence_level=confidence_level,
                          rng=rng, expect_negative=neg, quiet=quiet, settings=settings,
                          point=point, labels_names=labels_names,
                          per_metric={m: {"unit": "sentence" if m == "accuracy" else unit}
                                      for m in metrics})


def winogender_sides(root, comparison: str = "intervention", *, occupations=None,
                     seeds: tuple[int, int] = (0, 1)) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The two sides of a Winogender comparison as tidy tables, and the design, for ``multiboot``.

    Returns ``(base_table, expt_table, design)`` with ``design`` in ``paired`` / ``unpaired``
    (see :func:`reproduce_winogender` for the comparisons). The tables carry ``gender``,
    ``occupation`` and ``bls_pct_female``, so the package metric ``winogender_bias_r`` and
    ``cluster_col="occupation"`` work on them.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=2)
    >>> b, e, design = winogender_sides(root / "coref", "from_scratch")
    >>> b["group"].iloc[0], e["group"].iloc[0], design
    ('cda_intervention-50k', 'from_scratch', 'unpaired')
    """
    root = _require_dir(root, "root")
    if comparison not in _WINOGENDER_COMPARISONS:
        raise ValueError(f"The `comparison` parameter of winogender_sides must be one of "
                         f"{sorted(_WINOGENDER_COMPARISONS)}. Got {comparison!r} instead.")
    base_name, expt_name, paired = _WINOGENDER_COMPARISONS[comparison]
    occ = _find_occupations(root, occupations)
    if comparison == "seed0_vs_seed1":
        t = _coref_tidy(load_coref_group(root / base_name, base_name), occ)
        for sd in seeds:
            if not (t["pretrain_seed"] == sd).any():
                raise ValueError(f"The `seeds` parameter of winogender_sides names pretraining seed "
                                 f"{sd}, which {root / base_name} does not hold.")
        base = t[t["pretrain_seed"] == seeds[0]].reset_index(drop=True)
        expt = t[t["pretrain_seed"] == seeds[1]].reset_index(drop=True)
    else:
        base = _coref_tidy(load_coref_group(root / base_name, base_name), occ)
        expt = _coref_tidy(load_coref_group(root / expt_name, expt_name), occ)
    return base, expt, "paired" if paired else "unpaired"


def reproduce_winogender_clusters(root, comparison: str = "intervention", *,
                                  metric: str = "winogender_bias_r",
                                  cluster_col: str | None = "occupation", occupations=None,
                                  seeds: tuple[int, int] = (0, 1), nboot: int = 1000,
                                  confidence_level: float = 0.95, rng=42, **kwargs):
    """A Winogender comparison through the modern engine, occupations as the resampling cluster.

    Calls :func:`multiberts_stats.bootstrap.multiboot` on the tidy tables of
    :func:`winogender_sides` with ``cluster_col="occupation"`` (whole occupations, with all
    their sentences, are drawn with replacement) and the package metric ``metric``. This is
    the modern alternative to the paper's reference call (:func:`reproduce_winogender`); the
    numbers differ from the paper's because the draws and the unit differ.
    Extra keyword arguments go to ``multiboot`` (``sample_seeds``, ``method``, ...).

    Returns
    -------
    MultiBootstrapResult
    """
    from multiberts_stats.bootstrap import multiboot

    base, expt, design = winogender_sides(root, comparison, occupations=occupations, seeds=seeds)
    if metric.startswith("winogender_bias") and "bls_pct_female" not in base:
        raise PublishedFormatError("The bias metrics need Winogender's occupations-stats.tsv: pass "
                                   "`occupations=`.")
    return multiboot(base, expt, design=design, metric=metric, cluster_col=cluster_col,
                     nboot=nboot, confidence_level=confidence_level, rng=rng, **kwargs)


def _glue_metric(task: str):
    """Name and score_fn of a GLUE task as the published notebook (accuracy; Pearson r for STS-B).

    The package metrics are passed (same values as sklearn's ``accuracy_score`` and
    ``scipy.stats.pearsonr``), so the engine takes its vectorised path.
    """
    from multiberts_stats import metrics

    if task == "STS-B":
        return "pearson", metrics.pearson
    return "accuracy", metrics.accuracy


def best_lr_runs(runs: GlueRuns) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Keep the runs of the best learning rate per (release, n_steps), as the paper did.

    The best learning rate of a (release, n_steps) group is the one with the highest mean
    per-run score over all its runs (every pretraining and fine-tuning seed); ties go to the
    smallest rate. Rows come out grouped by (release, n_steps) in sorted order, file order
    inside, as the published notebook's ``groupby(...).apply(...)``.

    Returns
    -------
    (index rows, preds, best_lr Series indexed by (release, n_steps))
    """
    _, fn = _glue_metric(runs.task)
    idx = runs.index.reset_index(drop=True).copy()
    idx["_row"] = np.arange(len(idx))
    idx["_score"] = [fn(runs.labels, p) for p in runs.preds]
    keep, best = [], {}
    for key, sub in idx.groupby(["release", "n_steps"], sort=True):
        lr = sub.groupby("lr")["_score"].mean().idxmax()
        best[key] = lr
        keep.append(sub[sub["lr"] == lr])
    sel = pd.concat(keep)
    best_s = pd.Series(best, name="lr")
    best_s.index.names = ["release", "n_steps"]
    return sel.drop(columns=["_score"]), runs.preds[sel["_row"].to_numpy()], best_s


def reproduce_steps(root, task: str = "MNLI", *, base_steps: str = "1M", expt_steps: str = "2M",
                    release: str = "multiberts", select_lr: bool = True,
                    sample_seeds: bool = True, sample_examples: bool = True, nboot: int = 1000,
                    confidence_level: float = 0.95, rng=42, strict: bool = True,
                    quiet: bool = False) -> PublishedResult:
    """Reproduce the paper's 2M vs 1M pretraining steps analysis (appendix E.1) in one call.

    Base (L) is MultiBERTs after ``base_steps``, expt (L') after ``expt_steps``; the best
    learning rate is chosen per (release, steps) by mean score (``select_lr``), and the design
    is **paired** on the pretraining seeds both sides share (seeds of one side only are left
    out, as the reference does).

    Parameters
    ----------
    root : path
        The GLUE folder (``index.tsv``, ``{TASK}_dev_labels``, prediction files).
    task : str
        Published task name; accuracy, or Pearson r for STS-B (as the paper's notebook).
    nboot, confidence_level, rng
        Defaults 1000, 0.95, 42 (the published notebook used the global ``np.random``; pass
        ``rng=np.random`` for that).

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("glue",), n_seeds=3)
    >>> res = reproduce_steps(root / "glue", "MNLI", nboot=50, quiet=True)
    >>> res.table.loc[2, ["metric", "quantity", "design"]].tolist()
    ['accuracy', 'delta', 'paired']
    """
    runs = load_glue(root, task, releases=release, n_steps=[base_steps, expt_steps],
                     strict=strict, quiet=quiet)
    present = set(runs.index["n_steps"])
    for s in (base_steps, expt_steps):
        if s not in present:
            raise PublishedFormatError(f"The index of {str(Path(root))!r} lists no {task} run of "
                                       f"release {release!r} with n_steps={s!r}.")
    if select_lr:
        sel, preds, best = best_lr_runs(runs)
    else:
        sel, preds, best = runs.index.reset_index(drop=True), runs.preds, None
    run_info = sel.reset_index(drop=True).copy()
    run_info["seed"] = run_info["pretrain_id"].to_numpy()
    run_info["intervention"] = (run_info["n_steps"] == expt_steps).to_numpy()
    metric, fn = _glue_metric(task)
    matrices = {metric: (run_info, preds, runs.labels, fn)}
    point = {metric: _point_estimates(run_info, preds, runs.labels, fn, paired=True)}
    common = set(run_info.loc[~run_info.intervention, "seed"]) & set(run_info.loc[run_info.intervention, "seed"])
    settings = {"task": task, "design": "paired", "sample_seeds": sample_seeds,
                "sample_examples": sample_examples, "nboot": int(nboot),
                "confidence_level": float(confidence_level),
                "n_seeds_base": len(common), "n_seeds_expt": len(common),
                "n_runs_base": int((~run_info.intervention).sum()),
                "n_runs_expt": int(run_info.intervention.sum()),
                "lr_base": float(best[(release, base_steps)]) if best is not None else np.nan,
                "lr_expt": float(best[(release, expt_steps)]) if best is not None else np.nan}
    return _run_reference(f"steps:{task}", matrices, paired=True, sample_seeds=sample_seeds,
                          sample_examples=sample_examples, nboot=nboot,
                          confidence_level=confidence_level, rng=rng, expect_negative={},
                          quiet=quiet, settings=settings, point=point,
                          labels_names=(f"{release} {base_steps}", f"{release} {expt_steps}"))


def reproduce_squad(root, *, metrics=("exact", "f1"), expt_steps: str = "2M",
                    sample_seeds: bool = True, sample_examples: bool = True, nboot: int = 1000,
                    confidence_level: float = 0.95, rng=42, strict: bool = True,
                    quiet: bool = False) -> PublishedResult:
    """Reproduce the paper's SQuAD 2.0 original BERT vs MultiBERTs analysis (appendix E.2).

    Base (L) is original BERT (``release == "public"``: one pretraining seed, its fine-tuning
    runs averaged), expt (L') the MultiBERTs after ``expt_steps``; **unpaired** seeds (the
    fixed-baseline design: the base side is one artifact), examples (questions) shared. The
    per-question official exact match and F1 are precomputed and averaged by the score
    function, with dummy labels, as the published notebook.

    Examples
    --------
    >>> import tempfile
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("squad",), n_seeds=3)
    >>> res = reproduce_squad(root / "squad", nboot=50, quiet=True)
    >>> sorted(res.stats)
    ['exact', 'f1']
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        if m not in ("exact", "f1"):
            raise ValueError(f"The `metrics` parameter of reproduce_squad takes 'exact' and 'f1'. "
                             f"Got {m!r} instead.")
    root = _require_dir(root, "root")
    full = _filter_index(_read_index(root), tasks="v2.0")
    keep_rel = full["release"].eq("public") | full["n_steps"].eq(expt_steps)
    sel = full[keep_rel]
    if not sel["release"].eq("public").any():
        raise PublishedFormatError(f"The index of {str(root)!r} lists no SQuAD run of the original "
                                   "BERT (release 'public').")
    if not (sel["release"].eq("multiberts") & sel["n_steps"].eq(expt_steps)).any():
        raise PublishedFormatError(f"The index of {str(root)!r} lists no MultiBERTs SQuAD run with "
                                   f"n_steps={expt_steps!r}.")
    runs = load_squad(root, strict=strict, quiet=quiet)
    mask = (runs.index["release"].eq("public") | runs.index["n_steps"].eq(expt_steps)).to_numpy()
    run_info = runs.index[mask].reset_index(drop=True).copy()
    run_info["seed"] = run_info["pretrain_id"].to_numpy()
    run_info["intervention"] = (run_info["release"] == "multiberts").to_numpy()
    dummy = np.zeros(runs.exact.shape[1])
    score_fn = _MeanOfPreds()
    mats = {"exact": runs.exact[mask], "f1": runs.f1[mask]}
    matrices = {m: (run_info, mats[m], dummy, score_fn) for m in metrics}
    point = {m: _point_estimates(*matrices[m], paired=False) for m in metrics}
    settings = {"design": "fixed_baseline (unpaired)", "sample_seeds": sample_seeds,
                "sample_examples": sample_examples, "nboot": int(nboot),
                "confidence_level": float(confidence_level),
                "n_seeds_base": int(run_info.loc[~run_info.intervention, "seed"].nunique()),
                "n_seeds_expt": int(run_info.loc[run_info.intervention, "seed"].nunique()),
                "n_runs_base": int((~run_info.intervention).sum()),
                "n_runs_expt": int(run_info.intervention.sum())}
    return _run_reference("squad_v2:bert_vs_multiberts", matrices, paired=False,
                          sample_seeds=sample_seeds, sample_examples=sample_examples, nboot=nboot,
                          confidence_level=confidence_level, rng=rng, expect_negative={},
                          quiet=quiet, settings=settings, point=point,
                          labels_names=("original BERT", f"MultiBERTs {expt_steps}"))


class _MeanOfPreds:
    """score_fn of the SQuAD notebook: ``lambda y_true, y_pred: np.mean(y_pred)``."""

    def __call__(self, y_true, y_pred):
        return np.mean(y_pred)


# --------------------------------------------------------------------------------------------
# example release (fake but format-exact files)
# --------------------------------------------------------------------------------------------

def _default_winogender_dir() -> Path | None:
    import os

    env = os.environ.get("MULTIBERTS_SHARED_DATA")
    cands = [Path(env) / "winogender"] if env else []
    here = Path(__file__).resolve().parents[1]
    cands += [here.parent / "shared" / "data" / "winogender", here / "shared" / "data" / "winogender"]
    for c in cands:
        if (c / "templates.tsv").is_file() and (c / "occupations-stats.tsv").is_file():
            return c
    return None


def winogender_label_info(winogender_dir) -> pd.DataFrame:
    """The 720-row ``label_info`` table in the published order, built from Winogender's files.

    For each of the 120 templates of ``templates.tsv`` (``template_idx`` = row), with the named
    participant then ``someone``, the pronoun genders UNKNOWN, MASCULINE, FEMININE; every
    sentence is checked against ``all_sentences.tsv``.
    """
    wd = Path(winogender_dir)
    templates = _read_tsv(wd / "templates.tsv", "Winogender templates",
                          ("occupation(0)", "other-participant(1)", "answer", "sentence"),
                          index_col=None)
    sent_path = wd / "all_sentences.tsv"
    sent_ids = set(_read_tsv(sent_path, "Winogender sentences", ("sentid",), index_col=None)["sentid"]) \
        if sent_path.is_file() else None
    rows = []
    for t, r in templates.iterrows():
        sentence = str(r["sentence"])
        ptype = ("NOM" if "$NOM_PRONOUN" in sentence else
                 "POSS" if "$POSS_PRONOUN" in sentence else "ACC")
        for someone in (False, True):
            for gender in ("UNKNOWN", "MASCULINE", "FEMININE"):
                part = "someone" if someone else r["other-participant(1)"]
                sid = f"{r['occupation(0)']}.{part}.{int(r['answer'])}.{_GENDER_WORD[gender]}.txt"
                if sent_ids is not None and sid not in sent_ids:
                    raise PublishedFormatError(f"Winogender sentence {sid!r} is not in {sent_path}.")
                rows.append({"gender": gender, "pronoun_type": ptype, "answer": int(r["answer"]),
                             "occupation": r["occupation(0)"],
                             "other_participant": r["other-participant(1)"],
                             "someone": someone, "template_idx": int(t)})
    return pd.DataFrame(rows)


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
        raise ValueError(f"The `n_seeds` parameter of write_example_release must be an integer "
                         f">= 2. Got {n_seeds!r} instead.")
    gen = np.random.default_rng(seed)
    if "coref" in kinds:
        wd = Path(winogender_dir) if winogender_dir is not None else _default_winogender_dir()
        if wd is None:
            raise FileNotFoundError("write_example_release needs Winogender's templates.tsv and "
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


_WORDS = ("river castle norman empire physics protein orbit harvest melody cipher granite "
          "lantern summit voyage archive falcon meadow quartz ember tundra").split()


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


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

def _add_boot_args(p: argparse.ArgumentParser):
    p.add_argument("--nboot", type=int, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--confidence-level", type=float, default=0.95, help="default 0.95")
    p.add_argument("--rng", type=int, default=42, help="seed of the RandomState (default 42)")
    p.add_argument("--out", help="write the result table here (.csv, .tsv, .parquet or .json)")
    p.add_argument("--quiet", action="store_true", help="no report text or progress")


def _write_out(df: pd.DataFrame, out: str | None):
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
    w.add_argument("--comparison", default="intervention", choices=sorted(_WINOGENDER_COMPARISONS))
    w.add_argument("--metrics", default="accuracy,bias_r",
                   help="comma-separated: accuracy, bias_r, bias_slope")
    w.add_argument("--ablation", default=None, choices=["seeds_only", "examples_only"])
    w.add_argument("--unit", default="occupation", choices=["occupation", "sentence"])
    w.add_argument("--occupations", default=None, help="occupations-stats.tsv")
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
    try:
        if args.cmd == "winogender":
            seeds = tuple(int(x) for x in args.seeds.split(","))
            res = reproduce_winogender(args.root, args.comparison,
                                       metrics=[m.strip() for m in args.metrics.split(",")],
                                       ablation=args.ablation, unit=args.unit,
                                       occupations=args.occupations, seeds=seeds,
                                       nboot=args.nboot, confidence_level=args.confidence_level,
                                       rng=args.rng, quiet=args.quiet)
        elif args.cmd == "steps":
            res = reproduce_steps(args.root, args.task, base_steps=args.base_steps,
                                  expt_steps=args.expt_steps, select_lr=not args.no_select_lr,
                                  nboot=args.nboot, confidence_level=args.confidence_level,
                                  rng=args.rng, quiet=args.quiet)
        elif args.cmd == "squad":
            res = reproduce_squad(args.root, metrics=[m.strip() for m in args.metrics.split(",")],
                                  nboot=args.nboot, confidence_level=args.confidence_level,
                                  rng=args.rng, quiet=args.quiet)
        elif args.cmd == "read":
            table = {"auto": lambda: read_published(args.root),
                     "coref": lambda: read_coref(args.root),
                     "glue": lambda: read_glue(args.root, args.task),
                     "squad": lambda: read_squad(args.root)}[args.kind]()
            _write_out(table, args.out)
            print(f"wrote {len(table)} rows to {args.out}")
            return 0
        else:
            root = write_example_release(args.directory,
                                         kinds=[k.strip() for k in args.kinds.split(",")],
                                         n_seeds=args.n_seeds, winogender_dir=args.winogender_dir)
            print(f"wrote an example release in {root}")
            return 0
    except (PublishedFormatError, ValueError, FileNotFoundError) as exc:
        print(f"multiberts-stats published: error: {exc}", file=sys.stderr)
        return 2
    print(res)
    _write_out(res.table, args.out)
    return 0
