"""Token-level probing: universal part of speech from CoNLL-U, and word/sub-token alignment.

Data: ``<root>/ud_english_ewt/en_ewt-ud-{train,dev,test}.conllu`` (``<root>`` = ``data_dir`` or
``$MULTIBERTS_STATS_DATA``; ``data_dir`` may be the treebank folder itself), or downloaded from
UniversalDependencies/UD_English-EWT when online.

One row per sentence: ``example_id`` (the ``sent_id``), ``text``, ``words`` (list of str),
``upos`` (list of UPOS names), ``label`` (list of class ids into :data:`UPOS`), ``n_words``,
``cluster`` (= ``example_id``: sentences, not tokens, are the resampling unit, since the tokens of
one sentence are not independent). :func:`explode_tokens` gives one row per word.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .base import (
    Task,
    TaskError,
    data_roots,
    fetch_published_file,
    first_existing,
    hub_allowed,
)
from .readers import read_conllu

__all__ = ["UPOS", "PosTask", "POS", "align_words_to_subtokens", "explode_tokens", "load_conllu_task"]

UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
        "PUNCT", "SCONJ", "SYM", "VERB", "X"]
SPLIT_FILES = {"train": "en_ewt-ud-train.conllu", "validation": "en_ewt-ud-dev.conllu",
               "test": "en_ewt-ud-test.conllu"}
REMOTE = "https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/master/"


def load_conllu_task(path, name="pos") -> pd.DataFrame:
    """Sentences of a CoNLL-U file as a frame (see the module docstring). Unknown UPOS: error."""
    sents = read_conllu(path)
    if not sents:
        raise TaskError(f"The file {path} holds no sentences.")
    idx = {t: i for i, t in enumerate(UPOS)}
    labels = []
    for s in sents:
        bad = [t for t in s["upos"] if t not in idx]
        if bad:
            raise TaskError(f"{path}: sentence {s['sent_id']!r} (line {s['line']}): UPOS tag(s) {bad} "
                            f"outside the label space {UPOS}.")
        labels.append([idx[t] for t in s["upos"]])
    df = pd.DataFrame({
        "example_id": [s["sent_id"] for s in sents],
        "text": [s["text"] or " ".join(s["words"]) for s in sents],
        "words": [s["words"] for s in sents],
        "upos": [s["upos"] for s in sents],
        "label": labels,
        "n_words": [len(s["words"]) for s in sents],
        "_line": [s["line"] for s in sents],
    })
    df.attrs["source"] = str(path)
    return df


@dataclass
class PosTask(Task):
    """Universal POS tagging from a CoNLL-U treebank (English-EWT by default)."""

    folder: str = "ud_english_ewt"
    files: dict | None = None
    remote: str = REMOTE

    def _file(self, split):
        return (self.files or SPLIT_FILES)[split]

    def data_source(self, data_dir=None) -> str:
        roots = data_roots(data_dir if data_dir is not None else self.data_dir)
        p, _ = first_existing(roots, [f"{self.folder}/{self._file(self.default_split)}",
                                       self._file(self.default_split)])
        if p is not None:
            return str(p.parent)
        return f"download {self.remote}" if hub_allowed() else "offline: set $MULTIBERTS_STATS_DATA or data_dir"

    def _load(self, split, data_dir):
        roots = data_roots(data_dir)
        fname = self._file(split)
        path, looked = first_existing(roots, [f"{self.folder}/{fname}", fname])
        if path is None:
            path = self._download(fname, looked)
        return load_conllu_task(path, self.name)

    def evaluate(self, table, metrics=None, prediction_col: str = "prediction") -> dict:
        """Token-level metrics. ``table`` is either one row per word (:func:`explode_tokens` plus a
        ``prediction`` column) or one row per sentence whose ``label`` and ``prediction`` are lists
        of tag ids (they are flattened; lengths must agree)."""
        df = pd.DataFrame(table)
        first = df[prediction_col].iloc[0] if prediction_col in df.columns and len(df) else None
        if isinstance(first, (list, tuple, np.ndarray)):
            labels, preds = [], []
            for sid, lab, pred in zip(df.get("example_id", range(len(df))), df["label"], df[prediction_col]):
                if len(lab) != len(pred):
                    raise TaskError(f"Sentence {sid!r}: {len(lab)} gold tags but {len(pred)} predictions.")
                labels.extend(int(x) for x in lab)
                preds.extend(int(x) for x in pred)
            df = pd.DataFrame({"label": labels, "prediction": preds})
            prediction_col = "prediction"
        return super().evaluate(df, metrics, prediction_col)

    def _download(self, fname, looked) -> Path:
        return fetch_published_file(self.remote + fname, self.folder, fname, looked,
                                    what=f"task {self.name!r}", folder_hint=f"{self.folder}/{fname}",
                                    timeout=60)


POS = PosTask(name="pos", kind="token_classification", text_fields=("words",), label_space=UPOS,
              metrics=("accuracy", "macro_f1"), unit="example",
              splits=("train", "validation", "test"), default_split="validation",
              aliases=("upos", "ud_pos", "pos_ewt", "en_ewt_pos"),
              description="Universal POS tags, UD English-EWT (token probe; 17 tags)")


def explode_tokens(df: pd.DataFrame) -> pd.DataFrame:
    """One row per word of a POS frame: ``example_id`` = ``<sent_id>:<word index>``,
    ``sentence_id``, ``word_index``, ``word``, ``label`` (UPOS id), ``cluster`` = the sentence.

    Metrics on this frame (with a ``prediction`` column) are token-level; resample by
    ``cluster`` (``cluster_col="cluster"``) to keep a sentence's tokens together.
    """
    rows = {"example_id": [], "sentence_id": [], "word_index": [], "word": [], "label": [], "cluster": []}
    for sid, words, labels in zip(df["example_id"], df["words"], df["label"]):
        for i, (w, lab) in enumerate(zip(words, labels)):
            rows["example_id"].append(f"{sid}:{i}")
            rows["sentence_id"].append(sid)
            rows["word_index"].append(i)
            rows["word"].append(w)
            rows["label"].append(int(lab))
            rows["cluster"].append(sid)
    return pd.DataFrame(rows)


def _aligns_by_offsets(tokenizer) -> bool:
    """Fast tokenizers whose pre-tokenizer marks word starts inside the token (byte-level BPE as
    GPT-2 / GPT-NeoX, SentencePiece's metaspace) tokenize a word differently alone and in running
    text, so words are aligned through character offsets of the joined sentence instead."""
    import json

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    try:
        pre = json.dumps(json.loads(backend.to_str()).get("pre_tokenizer"))
    except Exception:  # noqa: BLE001 - an unusual backend: keep the word-ids path
        return False
    return "ByteLevel" in pre or "Metaspace" in pre


def _align_by_offsets(words, tokenizer, max_length):
    """Map words to sub-token positions through the fast tokenizer's character offsets.

    The words are joined with single spaces and tokenised as running text (so a byte-level BPE
    sees each word with its leading space, as in pretraining); each token goes to the word whose
    character span holds the token's first character (offsets trimmed of the space).
    """
    import bisect

    words = [str(w) for w in words]
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    text = " ".join(words)
    enc = tokenizer(text, add_special_tokens=True, truncation=True, max_length=max_length,
                    return_offsets_mapping=True)
    positions = [[] for _ in words]
    for k, (a, b) in enumerate(enc["offset_mapping"]):
        if b <= a:
            continue  # a special token
        while a < b and text[a] == " ":
            a += 1
        w = bisect.bisect_right(starts, a) - 1
        if 0 <= w < len(words) and a < starts[w] + len(words[w]):
            positions[w].append(k)
    return list(enc["input_ids"]), positions


def align_words_to_subtokens(words, tokenizer, strategy: str = "first", max_length: int | None = None,
                             text_pair=None):
    """Tokenize a pre-split sentence and map each word to its sub-token position(s).

    Parameters
    ----------
    words : list of str
        The words of one sentence (e.g. ``PosTask`` ``words``).
    tokenizer : a transformers tokenizer (slow or fast; WordPiece, BPE, ...)
        A fast byte-level BPE (GPT-NeoX / Pythia) or metaspace tokenizer is given the words
        joined by spaces as running text, and tokens go to words by their character offsets.
    strategy : {"first", "mean"}
        ``"first"``: each word gets ``[index of its first sub-token]``; ``"mean"``: the indices of
        all its sub-tokens (average the hidden states over them).
    max_length : int, optional
        Total length including special tokens (default ``tokenizer.model_max_length`` when it is
        sensible, else 512). Words that fall past the truncation point get ``[]``.

    Returns
    -------
    input_ids : list of int
        ``[CLS] sub-tokens... [SEP]`` (with the tokenizer's special tokens).
    word_positions : list of list of int
        One entry per word, positions into ``input_ids``; ``[]`` for a word that was truncated
        away or that the tokenizer turns into nothing (e.g. a lone control character).

    Examples
    --------
    >>> from transformers import BertTokenizer
    >>> tok = BertTokenizer(vocab_file)  # the real BERT vocab; pass the path positionally
    >>> ids, pos = align_words_to_subtokens(["Don't", "panic", "antidisestablishmentarianism"], tok, "mean")
    >>> tok.convert_ids_to_tokens(ids)[:6], pos[:2], len(pos[2])
    (['[CLS]', 'don', "'", 't', 'panic', 'anti'], [[1, 2, 3], [4]], 8)
    >>> align_words_to_subtokens(["Don't", "panic"], tok, "first")[1]
    [[1], [4]]
    """
    if strategy not in ("first", "mean"):
        raise ValueError(f"The `strategy` parameter of align_words_to_subtokens must be 'first' or "
                         f"'mean'. Got {strategy!r} instead.")
    if isinstance(words, str):
        raise TypeError("The `words` parameter of align_words_to_subtokens must be a list of words, "
                        "not a string (split it first).")
    words = [str(w) for w in words]
    if max_length is None:
        m = getattr(tokenizer, "model_max_length", 512) or 512
        max_length = m if m <= 100_000 else 512
    if max_length < 3:
        raise ValueError(f"The `max_length` parameter must be at least 3. Got {max_length}.")
    positions = [[] for _ in words]
    if not words:
        return list(tokenizer("", add_special_tokens=True)["input_ids"]), []
    if getattr(tokenizer, "is_fast", False) and _aligns_by_offsets(tokenizer):
        input_ids, positions = _align_by_offsets(words, tokenizer, max_length)
    elif getattr(tokenizer, "is_fast", False):
        # the tokenizer's own word boundaries (WordPiece)
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        input_ids = list(enc["input_ids"])
        for k, wi in enumerate(enc.word_ids()):
            if wi is not None:
                positions[wi].append(k)
    else:
        pieces = [tokenizer.tokenize(w) for w in words]
        piece_ids = [tokenizer.convert_tokens_to_ids(p) for p in pieces]
        budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
        flat, owner = [], []
        for wi, ids in enumerate(piece_ids):
            for t in ids:
                flat.append(t)
                owner.append(wi)
        flat, owner = flat[:budget], owner[:budget]
        build = getattr(tokenizer, "build_inputs_with_special_tokens", None)
        input_ids = (build(flat) if build is not None
                     else [tokenizer.cls_token_id, *flat, tokenizer.sep_token_id])
        offset = 0  # where `flat` starts inside input_ids (after [CLS] / <s>)
        if flat:
            for off in range(len(input_ids) - len(flat) + 1):
                if input_ids[off:off + len(flat)] == flat:
                    offset = off
                    break
        for k, wi in enumerate(owner):
            positions[wi].append(offset + k)
    if strategy == "first":
        positions = [p[:1] for p in positions]
    return input_ids, positions
