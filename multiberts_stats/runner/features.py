"""Frozen-layer features: one forward pass gives every layer's representation.

Sentences are tokenised once, sorted by length and cut into batches padded only to the longest
sentence of the batch (dynamic padding), run under ``torch.inference_mode`` (optionally with
bf16 / fp16 autocast), pooled per layer ([CLS] or attention-masked mean, or the first sub-token
of each word for token-level tasks) and put back in the input order.  Works with any
``transformers`` encoder that returns hidden states (BERT, MiniLM, ...), and with its tokenizer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["extract_features", "extract_word_features", "cached_features", "cache_key",
           "length_sorted_batches", "POOLINGS", "DTYPES"]

POOLINGS = ("cls", "mean", "last")
DTYPES = ("float32", "bfloat16", "float16")


def _check_dtype(dtype, who="extract_features"):
    if dtype is None:
        return "float32"
    name = str(dtype).replace("torch.", "")
    if name not in DTYPES:
        raise ValueError(f"The `dtype` parameter of {who} must be one of {DTYPES}. Got {dtype!r} instead.")
    return name


def _autocast(device: str, dtype: str):
    import torch

    if dtype == "float32":
        return contextlib.nullcontext()
    dev = "cuda" if str(device).startswith("cuda") else "cpu"
    return torch.autocast(dev, dtype=getattr(torch, dtype))


def _encoder(model):
    """The bare encoder of a model with a head (no need to run an LM head for features)."""
    base = getattr(model, "base_model", None)
    return base if base is not None else model


def length_sorted_batches(lengths: np.ndarray, batch_size: int, max_tokens: int | None):
    """Indices sorted by length (longest first), cut into batches."""
    order = np.argsort(-lengths, kind="stable")
    batch: list[int] = []
    width = 0
    for i in order:
        w = max(width, int(lengths[i]))
        if batch and (len(batch) >= batch_size or (max_tokens and w * (len(batch) + 1) > max_tokens)):
            yield batch
            batch, w = [], int(lengths[i])
        batch.append(int(i))
        width = w
    if batch:
        yield batch


def _pad(seqs: list[list[int]], pad_id: int):
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.as_tensor(s, dtype=torch.long)
        mask[r, : len(s)] = 1
    return ids, mask


def _forward(enc, ids, mask, types, device):
    kwargs = {"input_ids": ids.to(device), "attention_mask": mask.to(device),
              "output_hidden_states": True, "return_dict": True}
    if types is not None:
        kwargs["token_type_ids"] = types.to(device)
    out = enc(**kwargs)
    return out.hidden_states


def extract_features(model, tokenizer, texts: Sequence[str], text_pair: Sequence[str] | None = None, *,
                     pooling: str = "cls", layers: Sequence[int] | None = None, batch_size: int = 32,
                     max_length: int = 128, max_tokens: int | None = None, device: str | None = None,
                     dtype: str | None = "float32", quiet: bool = True, desc: str = "features") -> np.ndarray:
    """Sentence features of every layer in one pass.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        An encoder (or a model with a head; its ``base_model`` is used).
    tokenizer : transformers tokenizer
    texts, text_pair : sequences of str
        The sentences (and second sentences for pair tasks).
    pooling : {"cls", "mean", "last"}
        The [CLS] vector (encoders), the mean over the real (non-padding) tokens, or the last
        real token (decoders: the only position that has seen the whole sentence).
    layers : sequence of int, optional
        Layers to keep (0 = embeddings); all by default.
    batch_size, max_tokens : int
        Sentences per batch, and optionally a cap on padded tokens per batch.
    max_length : int
        Truncation length in sub-tokens.
    device : str, optional
        Defaults to the model's device.
    dtype : {"float32", "bfloat16", "float16"}
        Autocast precision of the forward pass (features are returned as float32).
    quiet : bool
        No progress bar.

    Returns
    -------
    numpy.ndarray of shape (n_layers, n_texts, hidden_size), float32, in the input order.

    Examples
    --------
    >>> from transformers import BertConfig, BertModel, BertTokenizer
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "vocab.txt").write_text(
    ...     "\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]))
    >>> tok = BertTokenizer(str(d / "vocab.txt"))
    >>> m = BertModel(BertConfig(vocab_size=7, hidden_size=8, num_hidden_layers=2,
    ...     num_attention_heads=2, intermediate_size=16)).eval()
    >>> extract_features(m, tok, ["a b", "b", "a a a"], pooling="mean").shape
    (3, 3, 8)
    """
    import torch

    if pooling not in POOLINGS:
        raise ValueError(f"The `pooling` parameter of extract_features must be one of {POOLINGS}. "
                         f"Got {pooling!r} instead.")
    dtype = _check_dtype(dtype)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"The `batch_size` parameter of extract_features must be a positive integer. "
                         f"Got {batch_size!r} instead.")
    texts = [str(t) for t in texts]
    if text_pair is not None:
        text_pair = [str(t) for t in text_pair]
        if len(text_pair) != len(texts):
            raise ValueError(f"The `text_pair` parameter of extract_features must have as many "
                             f"entries as `texts` ({len(texts)}). Got {len(text_pair)} instead.")
    enc = _encoder(model)
    if device is None:
        device = str(next(enc.parameters()).device)
    n_layers = int(enc.config.num_hidden_layers) + 1
    keep = list(range(n_layers)) if layers is None else [int(x) for x in layers]
    bad = [x for x in keep if not 0 <= x < n_layers]
    if bad:
        raise ValueError(f"The `layers` parameter of extract_features must hold layer indices in "
                         f"0..{n_layers - 1}. Got {bad} instead.")
    if pooling == "cls":
        from multiberts_stats.checkpoints import is_causal_config

        if is_causal_config(enc.config):
            raise ValueError(f"The `pooling` parameter of extract_features is 'cls', but "
                             f"{type(model).__name__} is a decoder: its first token sees only "
                             "itself. Use 'mean' or 'last' (the last token has seen the "
                             "whole sentence).")
    hidden = int(enc.config.hidden_size)
    out = np.zeros((len(keep), len(texts), hidden), dtype=np.float32)
    if not texts:
        return out
    encd = tokenizer(texts, text_pair, truncation=True, max_length=max_length, padding=False,
                     return_attention_mask=False)
    ids = encd["input_ids"]
    types = encd.get("token_type_ids")
    lengths = np.array([len(s) for s in ids])
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was_training = enc.training
    enc.eval()
    from multiberts_stats._progress import tqdm

    bar = tqdm(total=len(texts), desc=desc, disable=quiet, leave=False, unit="sent")
    try:
        with torch.inference_mode(), _autocast(device, dtype):
            for b in length_sorted_batches(lengths, int(batch_size), max_tokens):
                tid, mask = _pad([ids[i] for i in b], pad_id)
                tt = _pad([types[i] for i in b], 0)[0] if types is not None else None
                hs = _forward(enc, tid, mask, tt, device)
                m = mask.to(hs[0].device).unsqueeze(-1).float()
                denom = m.sum(1).clamp(min=1.0)
                last = mask.sum(1).to(hs[0].device) - 1  # right padding: the last real token
                rows = torch.arange(len(b), device=hs[0].device)
                for j, layer in enumerate(keep):
                    h = hs[layer].float()
                    if pooling == "cls":
                        v = h[:, 0]
                    elif pooling == "last":
                        v = h[rows, last]
                    else:
                        v = (h * m).sum(1) / denom
                    out[j, b] = v.cpu().numpy()
                bar.update(len(b))
    finally:
        bar.close()
        if was_training:
            enc.train()
    return out


def extract_word_features(model, tokenizer, sentences: Sequence[Sequence[str]], *, layers=None,
                          batch_size: int = 32, max_length: int = 256, device: str | None = None,
                          dtype: str | None = "float32", quiet: bool = True, aggregate: str = "first",
                          desc: str = "word features") -> tuple[np.ndarray, np.ndarray]:
    """Word features of every layer for pre-tokenised sentences (token-level probing).

    Each word is represented by its first sub-token (``aggregate="first"``) or the mean of its
    sub-tokens (``"mean"``).  Words cut off by ``max_length`` get NaN features.

    Returns
    -------
    features : ndarray (n_layers, n_words_total, hidden), float32 — words in sentence order
    sentence_index : ndarray (n_words_total,), int — the sentence of each word
    """
    import torch

    if aggregate not in ("first", "mean"):
        raise ValueError(f"The `aggregate` parameter of extract_word_features must be 'first' or "
                         f"'mean'. Got {aggregate!r} instead.")
    dtype = _check_dtype(dtype, "extract_word_features")
    sentences = [list(map(str, s)) for s in sentences]
    enc = _encoder(model)
    if device is None:
        device = str(next(enc.parameters()).device)
    n_layers = int(enc.config.num_hidden_layers) + 1
    keep = list(range(n_layers)) if layers is None else [int(x) for x in layers]
    hidden = int(enc.config.hidden_size)
    offsets = np.cumsum([0] + [len(s) for s in sentences])
    out = np.full((len(keep), int(offsets[-1]), hidden), np.nan, dtype=np.float32)
    sent_index = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
    if not sentences:
        return out, sent_index
    from multiberts_stats.tasks.pos import align_words_to_subtokens

    aligned = [align_words_to_subtokens(ws, tokenizer, aggregate, max_length=max_length)
               for ws in sentences]
    ids = [a[0] for a in aligned]
    positions = [a[1] for a in aligned]
    lengths = np.array([len(s) for s in ids])
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    from multiberts_stats._progress import tqdm

    bar = tqdm(total=len(sentences), desc=desc, disable=quiet, leave=False, unit="sent")
    enc.eval()
    try:
        with torch.inference_mode(), _autocast(device, dtype):
            for b in length_sorted_batches(lengths, int(batch_size), None):
                tid, mask = _pad([ids[i] for i in b], pad_id)
                hs = _forward(enc, tid, mask, None, device)
                stack = torch.stack([hs[layer].float() for layer in keep]).cpu().numpy()
                for r, i in enumerate(b):
                    for w, pos in enumerate(positions[i]):
                        if pos:
                            out[:, offsets[i] + w] = stack[:, r, pos].mean(1)
                bar.update(len(b))
    finally:
        bar.close()
    return out, sent_index


# ---------------------------------------------------------------------------- cache
def cache_key(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def cached_features(cache_dir, key: str, compute):
    """Load the array cached under ``key`` or compute it with ``compute()`` and save it atomically."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{key}.npy"
    if path.exists():
        try:
            return np.load(path, allow_pickle=False), True
        except (OSError, ValueError):
            pass  # unreadable (should not happen with atomic writes): recompute
    arr = compute()
    from multiberts_stats.store import atomic_write

    atomic_write(path, lambda f: np.save(f, arr, allow_pickle=False))
    return arr, False
