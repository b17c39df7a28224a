"""Minimal-pair tasks (BLiMP-style), scored zero-shot by masked or causal language models.

A minimal pair is two sentences that differ minimally: the *expected* one (grammatical, or the one
a hypothesis says the model prefers) and the *other*. A model prefers the sentence it gives the
higher log-likelihood:

* a **causal LM** (GPT-NeoX / Pythia, GPT-2, ...) by the sum of the log-probabilities of the
  sentence's tokens, each given the ones before it (:func:`causal_log_likelihood`; the
  tokenizer's beginning-of-text token, else its end-of-text token, is put in front so the first
  token is scored too);
* a **masked LM** (BERT, MultiBERTs) by its pseudo-log-likelihood: every token masked in turn
  (:func:`multiberts_stats.tasks.winogender.pseudo_log_likelihood`, batched).

Per pair, the stored ``prediction`` is 1 when the expected sentence scores strictly higher (0
otherwise, ties included), ``score`` is the margin ``logp(expected) - logp(other)``, ``label`` is
always 1, so the task's metric ``accuracy`` is the share of pairs preferring the expected
sentence. The resampling unit is the pair, or a group column (a BLiMP paradigm, a CrowS-Pairs bias
type) given as ``unit``.

A task from a file, without code (CSV / TSV / JSONL; columns named freely)::

    from multiberts_stats.tasks.minimal_pairs import minimal_pair_task
    task = minimal_pair_task("agreement", "pairs.csv", expected="good", other="bad",
                             groups=["phenomenon"], unit="phenomenon")

Scoring functions import torch inside; this module does not import it at import time.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from multiberts_stats.errors import DataWarning, InputError

from .base import Task, TaskError
from .readers import read_table, task_file

__all__ = [
    "MINIMAL_PAIR_LABELS",
    "SCORINGS",
    "MinimalPairTask",
    "ScoringMismatchError",
    "causal_log_likelihood",
    "causal_log_likelihood_loop",
    "minimal_pair_task",
    "model_scoring",
    "score_minimal_pairs",
    "score_sentences",
]

logger = logging.getLogger(__name__)

#: ``"auto"`` (from the model: causal LM or masked LM), ``"causal"``, ``"pll"``
SCORINGS = ("auto", "causal", "pll")
#: label space of a minimal-pair task: label 1 = the expected sentence is the preferred one
MINIMAL_PAIR_LABELS = ["other", "expected"]


class ScoringMismatchError(InputError):
    """A model asked for a scoring rule it cannot give (a decoder for pseudo-log-likelihood, an
    encoder for causal scoring)."""


# ---------------------------------------------------------------------------------- models
def _is_causal_model(model) -> bool | None:
    """True for a causal LM, False for a masked LM, None when the class says neither."""
    name = type(model).__name__
    cfg = getattr(model, "config", None)
    if name.endswith(("ForCausalLM", "LMHeadModel")):
        # BERT-style classes with a causal head are causal only when configured as decoders
        return bool(getattr(cfg, "is_decoder", True)) if name.startswith(("Bert", "Roberta")) else True
    if name.endswith(("ForMaskedLM", "ForPreTraining")):
        return False
    return None


def model_scoring(model, scoring: str = "auto", *, who: str = "minimal-pair scoring") -> str:
    """The scoring rule for ``model``: ``"causal"`` or ``"pll"`` (checked against ``scoring``).

    Raises
    ------
    ScoringMismatchError
        A causal LM asked for ``"pll"`` (it has no masked-LM head), a masked LM asked for
        ``"causal"``, or a model with no LM head at all.
    """
    if scoring not in SCORINGS:
        raise InputError(f"The `scoring` parameter of {who} must be one of {list(SCORINGS)}. "
                         f"Got {scoring!r} instead.")
    causal = _is_causal_model(model)
    name = type(model).__name__
    if causal is None:
        raise ScoringMismatchError(
            f"{who} needs a language model with its LM head (a masked LM for pseudo-log-"
            f"likelihood, a causal LM for summed log-probabilities). Got {name}, which has "
            "neither: load the checkpoint with load_masked_lm or load_causal_lm.")
    if scoring == "pll" and causal:
        raise ScoringMismatchError(
            f"{who} was asked for pseudo-log-likelihood (scoring='pll'), which needs a masked-LM "
            f"head. Got the decoder {name}, a causal LM without one: use scoring='causal' (or "
            "'auto').")
    if scoring == "causal" and not causal:
        raise ScoringMismatchError(
            f"{who} was asked for causal scoring (scoring='causal'), which needs a left-to-right "
            f"language model. Got the encoder {name}, a masked LM: use scoring='pll' (or "
            "'auto').")
    return "causal" if causal else "pll"


def _prefix_id(tokenizer, prefix) -> int | None:
    if prefix is None or prefix is False:
        return None
    if isinstance(prefix, (int, np.integer)) and not isinstance(prefix, bool):
        return int(prefix)
    if prefix != "auto":
        raise InputError("The `prefix` parameter of causal_log_likelihood must be 'auto', None or "
                         f"a token id. Got {prefix!r} instead.")
    for attr in ("bos_token_id", "eos_token_id"):
        tid = getattr(tokenizer, attr, None)
        if tid is not None:
            return int(tid)
    return None


def _causal_ids(tokenizer, sentences, prefix, max_length):
    pid = _prefix_id(tokenizer, prefix)
    enc = tokenizer(list(sentences), add_special_tokens=False)["input_ids"]
    if pid is None:
        warnings.warn("The tokenizer has no beginning- or end-of-text token to put before each "
                      "sentence, so the first token of every sentence is not scored (its "
                      "log-probability needs a context).", DataWarning, stacklevel=3)
    ids = [([pid] if pid is not None else []) + list(e) for e in enc]
    cut = [i for i, x in enumerate(ids) if len(x) > max_length]
    if cut:
        warnings.warn(f"{len(cut)} of {len(ids)} sentences are longer than the model's "
                      f"{max_length} positions; only their first {max_length} tokens are scored, "
                      f"e.g. {sentences[cut[0]]!r}.", DataWarning, stacklevel=3)
        for i in cut:
            ids[i] = ids[i][:max_length]
    empty = [i for i, x in enumerate(ids) if len(x) < 2]
    return ids, empty


def _causal_max_length(model, tokenizer, max_length):
    if max_length is not None:
        if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < 2:
            raise InputError("The `max_length` parameter of causal_log_likelihood must be an "
                             f"integer >= 2. Got {max_length!r} instead.")
        return int(max_length)
    cands = []
    mpe = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if isinstance(mpe, int) and mpe > 0:
        cands.append(mpe)
    tm = getattr(tokenizer, "model_max_length", None)
    if isinstance(tm, int) and 0 < tm <= 1_000_000:
        cands.append(tm)
    return min(cands) if cands else 2048


def _wide(logits):
    """Half-precision logits in float32 (float32 and float64 are kept)."""
    import torch

    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def causal_log_likelihood(model, tokenizer, sentences, *, batch_size: int = 32,
                          max_length: int | None = None, prefix="auto", device=None,
                          progress: bool = False, amp: str | None = None) -> np.ndarray:
    """Sum of the token log-probabilities of each sentence under a causal LM, batched.

    Each sentence is tokenised without special tokens and, by default (``prefix="auto"``),
    preceded by the tokenizer's beginning-of-text token (else its end-of-text token: Pythia's
    ``<|endoftext|>``), so every token of the sentence gets ``log p(token | previous)``; the
    prefix itself is not scored. Distinct sentences are sorted by length and run in batches
    padded on the right to the batch's longest one (the padding is masked out and never scored;
    any id serves, so a tokenizer without a pad token works), under ``torch.inference_mode``.
    Log-probabilities are taken in float32 at least. The result equals scoring each sentence alone
    (:func:`causal_log_likelihood_loop`) up to float rounding.

    Parameters
    ----------
    model : a ``transformers`` causal LM (``GPTNeoXForCausalLM``, ``GPT2LMHeadModel``...)
    tokenizer : its tokenizer
    sentences : sequence of str
    batch_size : int
        Sentences per forward pass.
    max_length : int, optional
        Longest input in tokens (default: the model's positions); longer sentences are cut to
        their first tokens, with a warning.
    prefix : "auto", None or int
        Token id put before each sentence; None scores from the second token on.
    device : optional
        Default: the model's.
    amp : {None, "bf16", "fp16"}
        Run the model under ``torch.autocast`` (meant for GPUs); log-probabilities are still
        taken in float32.

    Returns
    -------
    ndarray (n_sentences,)

    Examples
    --------
    >>> causal_log_likelihood(model, tokenizer, ["The cat sleeps.", "The cat sleep."])  # doctest: +SKIP
    array([-31.2, -33.9])
    """
    import contextlib

    import torch
    from multiberts_stats._progress import tqdm

    model_scoring(model, "causal", who="causal_log_likelihood")
    if amp not in (None, "bf16", "fp16"):
        raise InputError("The `amp` parameter of causal_log_likelihood must be None, 'bf16' or "
                         f"'fp16'. Got {amp!r} instead.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError("The `batch_size` parameter of causal_log_likelihood must be a positive "
                         f"integer. Got {batch_size!r} instead.")
    sentences = [str(s) for s in sentences]
    if not sentences:
        return np.zeros(0)
    uniq = list(dict.fromkeys(sentences))
    L = _causal_max_length(model, tokenizer, max_length)
    ids, empty = _causal_ids(tokenizer, uniq, prefix, L)
    scores = np.zeros(len(uniq))
    if device is None:
        device = next(model.parameters()).device
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = _prefix_id(tokenizer, "auto") or 0
    order = sorted((i for i in range(len(uniq)) if i not in set(empty)), key=lambda i: -len(ids[i]))
    cast = (torch.autocast(torch.device(device).type,
                           dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
            if amp else contextlib.nullcontext())
    was_training = model.training
    model.eval()
    bar = tqdm(total=len(order), desc="causal log-likelihood", disable=not progress, leave=False)
    try:
        with torch.inference_mode(), cast:
            for b0 in range(0, len(order), int(batch_size)):
                chunk = order[b0:b0 + int(batch_size)]
                width = max(len(ids[i]) for i in chunk)
                inp = torch.full((len(chunk), width), int(pad), dtype=torch.long)
                att = torch.zeros((len(chunk), width), dtype=torch.long)
                for r, i in enumerate(chunk):
                    inp[r, :len(ids[i])] = torch.tensor(ids[i], dtype=torch.long)
                    att[r, :len(ids[i])] = 1
                inp, att = inp.to(device), att.to(device)
                logits = _wide(model(input_ids=inp, attention_mask=att).logits[:, :-1])
                target = inp[:, 1:]
                lp = logits.gather(-1, target.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, -1)
                valid = att[:, 1:].bool()
                lp = torch.where(valid, lp, torch.zeros((), dtype=lp.dtype, device=lp.device))
                scores[chunk] = lp.double().sum(1).cpu().numpy()
                bar.update(len(chunk))
    finally:
        bar.close()
        if was_training:
            model.train()
    index = {s: i for i, s in enumerate(uniq)}
    return np.array([scores[index[s]] for s in sentences])


def causal_log_likelihood_loop(model, tokenizer, sentences, *, prefix="auto",
                               max_length: int | None = None, device=None) -> np.ndarray:
    """The plain reference for :func:`causal_log_likelihood`: one sentence at a time, no padding.

    Each sentence (with the same prefix and truncation) goes through the model alone; its score
    is the sum over positions of ``log_softmax(logits)[next token]``. Slow; for tests and the
    speed benchmark.
    """
    import torch

    model_scoring(model, "causal", who="causal_log_likelihood_loop")
    sentences = [str(s) for s in sentences]
    L = _causal_max_length(model, tokenizer, max_length)
    if device is None:
        device = next(model.parameters()).device
    out = np.zeros(len(sentences))
    model.eval()
    with torch.inference_mode():
        for k, s in enumerate(sentences):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)
                (seq,), _ = _causal_ids(tokenizer, [s], prefix, L)
            if len(seq) < 2:
                continue
            x = torch.tensor([seq], dtype=torch.long, device=device)
            logp = torch.log_softmax(_wide(model(input_ids=x).logits[0]), dim=-1)
            out[k] = sum(float(logp[j, seq[j + 1]]) for j in range(len(seq) - 1))
    return out


def score_sentences(model, tokenizer, sentences, *, scoring: str = "auto", batch_size: int = 32,
                    device=None, progress: bool = False, amp=None,
                    max_length: int | None = None) -> np.ndarray:
    """Log-likelihood of each sentence: summed log-probabilities (causal LM) or
    pseudo-log-likelihood (masked LM), chosen by :func:`model_scoring`."""
    rule = model_scoring(model, scoring)
    if rule == "causal":
        return causal_log_likelihood(model, tokenizer, sentences, batch_size=batch_size,
                                     device=device, progress=progress, max_length=max_length,
                                     amp=amp)
    from .winogender import pseudo_log_likelihood

    if getattr(tokenizer, "mask_token_id", None) is None:
        raise ScoringMismatchError(
            "Pseudo-log-likelihood masks each token in turn, so the tokenizer needs a mask "
            f"token. Got {type(tokenizer).__name__} without one.")
    return pseudo_log_likelihood(model, tokenizer, sentences, batch_size=batch_size,
                                 device=device, progress=progress, amp=amp,
                                 max_length=max_length)


def score_minimal_pairs(model, tokenizer, examples, *, expected: str = "sentence_good",
                        other: str = "sentence_bad", scoring: str = "auto",
                        batch_size: int = 32, device=None, progress: bool = False, amp=None,
                        max_length: int | None = None) -> pd.DataFrame:
    """Score minimal pairs: which sentence of each pair the model prefers, and by how much.

    Both sentences of every pair are scored in one batched call (:func:`score_sentences`).

    Returns
    -------
    DataFrame
        ``example_id`` (when ``examples`` has it), ``prediction`` (1: the expected sentence scores
        strictly higher), ``score`` (``logp_expected - logp_other``), ``logp_expected``,
        ``logp_other``, in the order of ``examples``.
    """
    ex = pd.DataFrame(examples)
    missing = [c for c in (expected, other) if c not in ex.columns]
    if missing:
        raise TaskError(f"The `examples` of score_minimal_pairs lack the sentence column(s) "
                        f"{missing}; the columns found are {list(ex.columns)}.")
    a = ex[expected].astype(str).tolist()
    b = ex[other].astype(str).tolist()
    s = score_sentences(model, tokenizer, a + b, scoring=scoring, batch_size=batch_size,
                        device=device, progress=progress, amp=amp, max_length=max_length)
    la, lb = s[:len(a)], s[len(a):]
    out = pd.DataFrame({"prediction": (la > lb).astype(np.int64), "score": la - lb,
                        "logp_expected": la, "logp_other": lb})
    if "example_id" in ex.columns:
        out.insert(0, "example_id", ex["example_id"].astype(str).to_numpy())
    return out


# ---------------------------------------------------------------------------------- tasks
@dataclass
class MinimalPairTask(Task):
    """A task of minimal pairs read from one file per split (see the module docstring).

    Loaded rows: ``example_id``, the two sentence columns, ``label`` (always 1), ``cluster``
    (the ``unit`` column, else the pair), then the ``group_columns`` and the other columns.
    """

    paths: dict = field(default_factory=dict)
    expected_column: str = "sentence_good"
    other_column: str = "sentence_bad"
    id_column: str | None = None
    group_columns: tuple = ()
    scoring: str = "auto"
    format: str | None = None
    encoding: str = "utf-8"

    #: scored by causal LMs too (summed log-probabilities), not only by masked LMs
    causal_scoring = True

    def __post_init__(self):
        self.text_fields = (self.expected_column, self.other_column)
        if self.label_space is None:
            self.label_space = list(MINIMAL_PAIR_LABELS)
        if isinstance(self.group_columns, str):
            self.group_columns = (self.group_columns,)
        self.group_columns = tuple(self.group_columns)
        if self.scoring not in SCORINGS:
            raise TaskError(f"The `scoring` of task {self.name!r} must be one of "
                            f"{list(SCORINGS)}. Got {self.scoring!r} instead.")
        if self.expected_column == self.other_column:
            raise TaskError(f"The `expected` and `other` sentence columns of task {self.name!r} "
                            f"must differ. Got {self.expected_column!r} for both.")
        super().__post_init__()
        self.extra_columns = tuple(dict.fromkeys((*self.group_columns, *self.extra_columns)))

    def data_source(self, data_dir=None) -> str:
        return ", ".join(f"{s}: {self._path(s, data_dir)}" for s in self.paths) or "no files"

    def _path(self, split, data_dir=None) -> Path:
        return task_file(self.paths[split], data_dir if data_dir is not None else self.data_dir)

    def _load(self, split, data_dir):
        if split not in self.paths:
            raise TaskError(f"Task {self.name!r} has no file for split {split!r}; its files are "
                            f"{self.paths}.")
        path = self._path(split, data_dir)
        raw = read_table(path, self.format, encoding=self.encoding)
        return self._pairs_frame(raw, str(path))

    def _pairs_frame(self, raw: pd.DataFrame, where: str) -> pd.DataFrame:
        """Check a raw table of pairs and give the loaded frame (before ``_finish``)."""
        cols = [c for c in raw.columns if c != "_line"]
        if len(raw) == 0:
            raise TaskError(f"Task {self.name!r}: the file {where} has a header but no pairs.")
        needed = [self.expected_column, self.other_column, *self.group_columns]
        if self.id_column:
            needed.append(self.id_column)
        if self.cluster_column and self.cluster_column not in needed:
            needed.append(self.cluster_column)
        missing = [c for c in needed if c not in raw.columns]
        if missing:
            roles = {self.expected_column: "expected sentence", self.other_column: "other sentence"}
            named = ", ".join(f"{c!r} ({roles.get(c, 'group' if c in self.group_columns else 'id/unit')})"
                              for c in missing)
            raise TaskError(f"Task {self.name!r}: the minimal-pair file {where} lacks the "
                            f"column(s) {named}; a minimal-pair task needs its two sentence "
                            f"columns. The columns found are {cols}.")
        lines = raw["_line"] if "_line" in raw.columns else pd.Series(np.arange(len(raw)) + 1)
        df = pd.DataFrame(index=raw.index)
        if self.id_column:
            df["example_id"] = raw[self.id_column].astype(str).to_numpy()
        else:
            df["example_id"] = [f"{self.name}-{i:06d}" for i in range(len(raw))]
        for c in (self.expected_column, self.other_column):
            vals = raw[c]
            bad = vals.isna() | (vals.astype(str).str.strip() == "")
            if bad.any():
                raise TaskError(f"Task {self.name!r}: the sentence column {c!r} of {where} is "
                                f"empty on line(s) {lines[bad].tolist()[:5]}; every pair needs "
                                "two sentences.")
            df[c] = vals.astype(str).to_numpy()
        same = (df[self.expected_column].str.strip() == df[self.other_column].str.strip())
        if same.any():
            warnings.warn(
                f"Task {self.name!r}: {int(same.sum())} pair(s) of {where} have identical "
                f"sentences in {self.expected_column!r} and {self.other_column!r} (line(s) "
                f"{lines[same].tolist()[:5]}): such a pair carries no information (both "
                "sentences score the same, so it never counts as preferring the expected one).",
                DataWarning, stacklevel=4)
        df["label"] = 1
        for c in cols:
            if c not in df.columns:
                df[c] = raw[c].to_numpy()
        df["_line"] = lines.to_numpy()
        df.attrs["source"] = where
        return df.reset_index(drop=True)

    def zeroshot_scorer(self):
        """:meth:`score`: the runner's zero-shot scorer for this task."""
        return self.score

    # the zero-shot scorer the runner calls
    def score(self, model, tokenizer, examples, *, batch_size: int = 32, device=None,
              quiet: bool = True, amp=None, max_length: int | None = None,
              scoring: str | None = None) -> pd.DataFrame:
        """Score every pair of ``examples`` (rows of :meth:`load`) with ``model``."""
        return score_minimal_pairs(model, tokenizer, examples, expected=self.expected_column,
                                   other=self.other_column, scoring=scoring or self.scoring,
                                   batch_size=batch_size, device=device, progress=not quiet,
                                   amp=amp, max_length=max_length)


def minimal_pair_task(name: str, path, *, expected: str = "sentence_good",
                      other: str = "sentence_bad", groups=(), unit: str = "example",
                      id_column: str | None = None, split: str = "test",
                      scoring: str = "auto", format: str | None = None, data_dir=None,
                      description: str = "", encoding: str = "utf-8") -> MinimalPairTask:
    """A minimal-pair task from one CSV / TSV / JSONL file.

    Parameters
    ----------
    name : str
        Task name (the ``task`` column).
    path : str or Path, or dict split -> path
        The file (relative paths are relative to ``data_dir`` when given).
    expected, other : str
        The column of the expected sentence and of the other one.
    groups : str or list of str
        Group columns kept for breakdowns (phenomenon, bias type...).
    unit : str
        Resampling unit: ``"example"`` (the pair) or a column (typically one of ``groups``).
    id_column : str, optional
        Column of pair ids (default: ``<name>-<row number>``).
    split : str
        Split name of a single file (default ``"test"``; ``validation`` is an alias).
    scoring : {"auto", "causal", "pll"}
        ``"auto"`` chooses from the model (summed log-probabilities for a causal LM,
        pseudo-log-likelihood for a masked LM).
    encoding : str
        Text encoding of the file (default UTF-8; e.g. ``"latin-1"``).

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "pairs.csv"), "w").write(
    ...     "good,bad,phenomenon\\nThe cat sleeps.,The cat sleep.,agreement\\n"
    ...     "She saw him.,She seen him.,participle\\n")
    >>> t = minimal_pair_task("mp", os.path.join(d, "pairs.csv"), expected="good", other="bad",
    ...                       groups="phenomenon", unit="phenomenon")
    >>> t.load()[["example_id", "good", "label", "cluster"]].values.tolist()
    [['mp-000000', 'The cat sleeps.', 1, 'agreement'], ['mp-000001', 'She saw him.', 1, 'participle']]
    """
    if isinstance(groups, str):
        groups = (groups,)
    groups = tuple(groups)
    if unit != "example" and unit not in groups:
        groups = (*groups, unit)  # the clusters are kept in the predictions table
    paths = dict(path) if isinstance(path, dict) else {split: path}
    splits = tuple(paths)
    aliases = {} if "validation" in splits or len(splits) != 1 else {"validation": splits[0]}
    return MinimalPairTask(
        name=name, kind="minimal_pairs", metrics=("accuracy",), unit=unit, splits=splits,
        default_split=splits[0], description=description or f"minimal pairs from {path}",
        data_dir=data_dir, split_aliases=aliases, paths=paths, expected_column=expected,
        other_column=other, id_column=id_column, group_columns=groups, scoring=scoring,
        format=format, encoding=encoding)


#: the keys of a minimal-pair task config (TOML ``[[tasks]]`` with ``kind = "minimal_pairs"``)
CONFIG_KEYS = {"name", "kind", "path", "file", "paths", "split", "text_fields", "expected", "other",
               "groups", "cluster_column", "unit", "id_column", "scoring", "format", "data_dir",
               "description", "label_space", "metric", "metrics", "encoding"}


def minimal_pairs_from_config(config: dict) -> MinimalPairTask:
    """A minimal-pair task from a config mapping (a runner TOML ``[[tasks]]`` table).

    Keys: ``name``; ``path`` / ``file`` (with ``split``) or ``paths`` (split -> file); the two
    sentence columns as ``expected`` and ``other``, or ``text_fields = [expected, other]`` (the
    TOML ``text``); ``groups`` (breakdown columns); ``cluster_column`` (the TOML ``cluster``) or
    ``unit``: the resampling unit; ``id_column`` (the TOML ``id``); ``scoring``; ``format``;
    ``data_dir``; ``description``. The metric is the share of pairs preferring the expected
    sentence (``accuracy``). Unknown keys are an error.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "p.jsonl"), "w").write('{"good": "A cat.", "bad": "A cats."}\\n')
    >>> t = minimal_pairs_from_config({"name": "mp", "kind": "minimal_pairs",
    ...     "paths": {"test": os.path.join(d, "p.jsonl")}, "text_fields": ["good", "bad"]})
    >>> t.text_fields, t.kind, t.level
    (('good', 'bad'), 'minimal_pairs', 'zeroshot')
    """
    if not isinstance(config, dict):
        raise TaskError("The `config` of a minimal-pair task must be a dict. Got "
                        f"{type(config).__name__} instead.")
    c = dict(config)
    name = c.get("name", "?")
    bad = sorted(set(c) - CONFIG_KEYS)
    if bad:
        raise TaskError(f"Unknown key(s) {bad} in the minimal-pair task config {name!r}; expected "
                        f"some of {sorted(CONFIG_KEYS)}.")
    if "name" not in c:
        raise TaskError(f"A task config needs a `name`. Got the keys {sorted(config)}.")
    tf = c.pop("text_fields", None)
    expected, other = c.pop("expected", None), c.pop("other", None)
    if tf is not None and (expected is None and other is None) and list(tf) != ["sentence"]:
        if isinstance(tf, str) or len(tf) != 2:
            raise TaskError(f"The `text_fields` of the minimal-pair task {name!r} must name two "
                            f"columns, the expected sentence then the other one. Got {tf!r} "
                            "instead.")
        expected, other = tf
    if expected is None or other is None:
        raise TaskError(f"The minimal-pair task {name!r} needs its two sentence columns: "
                        "`expected` and `other` (or text_fields = [expected, other]). Got "
                        f"expected={expected!r}, other={other!r}.")
    for key in ("metric", "metrics"):
        m = c.pop(key, None)
        if m is not None and list(np.atleast_1d(m)) != ["accuracy"]:
            raise TaskError(f"The `{key}` of the minimal-pair task {name!r} must be 'accuracy' "
                            "(the share of pairs preferring the expected sentence). Got "
                            f"{m!r} instead.")
    space = c.pop("label_space", None)
    if space is not None and list(space) != MINIMAL_PAIR_LABELS:
        raise TaskError(f"The `label_space` of the minimal-pair task {name!r} is fixed to "
                        f"{MINIMAL_PAIR_LABELS}. Got {space!r} instead.")
    kind = c.pop("kind", "minimal_pairs")
    if kind != "minimal_pairs":
        raise TaskError(f"minimal_pairs_from_config builds tasks of kind 'minimal_pairs'. Got "
                        f"{kind!r} instead.")
    if "paths" in c:
        path = c.pop("paths")
    else:
        path = c.pop("path", None) or c.pop("file", None)
        c.pop("file", None)
        if path is None:
            raise TaskError(f"The minimal-pair task {name!r} needs `path` or `paths`.")
    unit = c.pop("unit", None) or c.pop("cluster_column", None) or "example"
    c.pop("cluster_column", None)
    return minimal_pair_task(c.pop("name"), path, expected=str(expected), other=str(other),
                             groups=c.pop("groups", ()), unit=unit, **c)
