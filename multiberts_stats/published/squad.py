"""SQuAD 2.0: the official answer normalisation, exact match and F1, the one per-question
scorer of a dataset (:class:`SquadScorer`), and the reader of the published predictions
(``index.tsv``, ``dev-v2.0.json``, one prediction JSON per run)."""

from __future__ import annotations

import collections
import json
import re
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from multiberts_stats.table import MatrixRuns

from .formats import (
    PublishedFormatError,
    check_unlisted,
    filter_index,
    parse_steps,
    read_index,
    repeat_str,
    require_dir,
    require_file,
    runs_tidy_columns,
)

__all__ = [
    "SquadRuns",
    "SquadScorer",
    "load_squad",
    "read_squad",
    "squad_exact_match",
    "squad_f1",
    "squad_normalize_answer",
    "squad_raw_scores",
]

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


class SquadScorer:
    """The official SQuAD 2.0 per-question scores of a dataset (``evaluate-v2.0.py``'s
    ``get_raw_scores``): exact match and F1, each the max over the question's gold answers.

    The gold side is normalised once per dataset; each prediction is normalised once and its
    token counts compared with the cached gold counts, with the official arithmetic (tested
    equal to :func:`squad_exact_match` / :func:`squad_f1` taken per gold answer).

    Parameters
    ----------
    dataset : list
        The ``data`` list of ``dev-v2.0.json``.

    Examples
    --------
    >>> data = [{"paragraphs": [{"qas": [{"id": "q1", "answers": [{"text": "Paris"}]},
    ...                                  {"id": "q2", "answers": []}]}]}]
    >>> exact, f1 = SquadScorer(data).score({"q1": "paris.", "q2": "Lyon"})
    >>> exact.tolist(), f1.tolist()
    ([1, 0], [1.0, 0.0])
    """

    def __init__(self, dataset):
        self.qids, self.golds = _squad_questions(dataset)
        self.gold_norm = [[squad_normalize_answer(g) for g in gold] for gold in self.golds]
        self.gold_toks = [[collections.Counter(_squad_tokens(g)) for g in gold] for gold in self.golds]
        self.gold_len = [[sum(c.values()) for c in cs] for cs in self.gold_toks]

    def score(self, predictions: dict, *, source: str = "the predictions"):
        """``(exact, f1)`` arrays in dataset order; ``source`` names the file in errors.

        Raises :class:`PublishedFormatError` when a question has no prediction (the official
        script skips it with a message; here nothing is silently dropped) or a prediction is
        not a string.
        """
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


def squad_raw_scores(dataset, predictions: dict, *, source: str = "the predictions") -> tuple[dict, dict]:
    """Exact match and F1 per question, max over the gold answers (official ``get_raw_scores``),
    as dicts: :class:`SquadScorer` for one prediction file.

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
    scorer = SquadScorer(dataset)
    exact, f1 = scorer.score(predictions, source=source)
    return ({q: int(e) for q, e in zip(scorer.qids, exact)},
            {q: float(f) for q, f in zip(scorer.qids, f1)})


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

    def to_runs(self) -> MatrixRuns:
        """The runs as a :class:`~multiberts_stats.table.MatrixRuns`, straight from the matrices:
        ``run_info`` (``pretrain_seed``, ``finetune_seed``, ``step``, ``release``, ``n_steps``,
        ``lr``, ``file``), ``labels`` = has an answer (1.0 / 0.0), ``run_columns``
        ``exact_match`` and ``f1``; question ids as ``example_ids``. The engine's ``exact_match``
        and ``squad_f1`` metrics read it directly.
        """
        idx = self.index.reset_index(drop=True)
        run_info = pd.DataFrame({"pretrain_seed": idx["pretrain_id"].to_numpy(np.int64),
                                 "finetune_seed": idx["ft_seed"].to_numpy(np.int64),
                                 "step": idx["step"].to_numpy(np.int64),
                                 **{c: idx[c].to_numpy() for c in ("release", "n_steps", "lr",
                                                                    "file")}})
        return MatrixRuns(run_info, None, self.has_answer.astype(np.float64),
                          np.asarray(self.question_ids, dtype=object),
                          run_columns={"exact_match": self.exact.astype(np.float64),
                                       "f1": self.f1})

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
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("squad",), n_seeds=2)
    >>> load_squad(root / "squad")
    SquadRuns(runs=15, questions=40, releases=['multiberts', 'public'], n_steps=['0', '2M'])
    """
    root = require_dir(root, "root")
    full = read_index(root)
    idx = filter_index(full, tasks=task, releases=releases, n_steps=n_steps).copy()
    if idx.empty:
        raise PublishedFormatError(
            f"The index file {str(root / 'index.tsv')!r} lists no run with task={task!r}, "
            f"releases={releases!r}, n_steps={n_steps!r}.")
    ds_path = require_file(root / dataset_file, "SQuAD dataset")
    try:
        with open(ds_path, encoding="utf-8") as fh:
            dataset = json.load(fh)["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise PublishedFormatError(f"The SQuAD dataset file {str(ds_path)!r} must be the official "
                                   f"JSON with a 'data' list: {exc}") from exc
    scorer = SquadScorer(dataset)
    qids, golds = scorer.qids, scorer.golds
    if strict:
        check_unlisted(root, full, idx, ".json")
    from multiberts_stats._progress import tqdm

    exact, f1, answers = [], [], []
    qset = set(qids)
    for f in tqdm(idx["file"], desc="scoring SQuAD predictions", disable=quiet, file=sys.stderr):
        path = require_file(root / f, "prediction")
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
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("squad",), n_seeds=2)
    >>> t = read_squad(root / "squad")
    >>> t.groupby("family")["exact_match"].mean().round(3).to_dict()  # doctest: +SKIP
    {'bert-base-uncased': 0.7, 'multiberts': 0.74}
    """
    runs = load_squad(root, releases=releases, n_steps=n_steps, strict=strict, quiet=quiet)
    n_runs, n_q = runs.exact.shape
    cols = runs_tidy_columns(runs.index, "v2.0", n_q, np.array(runs.question_ids, dtype=object))
    answered = np.array([[bool(squad_normalize_answer(a)) for a in row] for row in runs.answers])
    cols["label"] = np.tile(runs.has_answer.astype(np.float64), n_runs)
    cols["prediction"] = answered.reshape(-1).astype(np.float64)
    cols["score"] = runs.f1.reshape(-1)
    cols["cluster"] = cols["example_id"]
    cols["exact_match"] = runs.exact.reshape(-1).astype(np.float64)
    cols["f1"] = runs.f1.reshape(-1)
    cols["answer_text"] = [a for row in runs.answers for a in row]
    cols["release"] = repeat_str(runs.index["release"].to_numpy(), np.full(n_runs, n_q))
    cols["n_steps"] = repeat_str(runs.index["n_steps"].to_numpy(), np.full(n_runs, n_q))
    cols["lr"] = np.repeat(runs.index["lr"].to_numpy(float), n_q)
    cols["file"] = repeat_str(runs.index["file"].to_numpy(), np.full(n_runs, n_q))
    return pd.DataFrame(cols)
