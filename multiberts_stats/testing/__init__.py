"""Small real checkpoint families for tests, demos and quick experiments, built offline.

* :func:`make_tiny_family` writes tiny random ``BertForPreTraining`` checkpoints (a few layers,
  small hidden size, the real WordPiece vocabulary you pass in) in the hub layout, deterministic
  per seed, in about a tenth of a second each: every test can run the real loading code.
* :func:`pretrain_mini_family` pretrains small BERTs (about 1M parameters) with masked-LM from
  scratch on any list of sentences, one run per seed, saving checkpoints at chosen steps in the
  same layout. The seed controls the initialisation, dropout, data order and masking, so the
  family shows seed variance and learning dynamics the way MultiBERTs does, at small scale.
* :func:`masked_token_accuracy` scores a masked-LM on held-out sentences (same masked positions
  for every model given the same ``seed``, so models are compared on the same items).

Layout of a checkpoint folder (as on the hub): ``ROOT/<org>/<name>-seed_{s}-step_{k}k/`` (tiny)
or ``ROOT/<org>/<name>-seed_{s}-step_{k}/`` (mini; ``k`` counts optimiser steps) holding
``config.json``, ``model.safetensors``, ``vocab.txt``, ``tokenizer.json``,
``tokenizer_config.json`` and a JSON record of how it was made.

torch and transformers are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from multiberts_stats.checkpoints import Checkpoint, CheckpointError, Family

__all__ = ["make_tiny_family", "pretrain_mini_family", "masked_token_accuracy",
           "pretraining_log", "build_vocab", "encode_sentences", "pad_batch", "mask_batch"]

_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_TINY_RECORD = "tiny_checkpoint.json"
_MINI_RECORD = "mini_pretraining.json"
#: Position embeddings of mini models: room for token-level probes of long treebank sentences
#: (the runner reads up to 256 sub-tokens there), whatever length they were pretrained on.
_MINI_POSITIONS = 512


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _check_int_list(value, what: str, caller: str, minimum: int = 0) -> list[int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = [value]
    try:
        out = [int(v) for v in value]
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    except TypeError:
        ok, out = False, []
    if not ok or not out or any(v < minimum for v in out) or len(set(out)) != len(out):
        raise CheckpointError(f"The `{what}` parameter of {caller} must be a non-empty list of "
                              f"distinct integers >= {minimum}. Got {value!r} instead.")
    return sorted(out)


def _check_vocab_file(vocab_file, caller: str) -> Path:
    path = Path(vocab_file)
    if not path.is_file():
        raise CheckpointError(f"The `vocab_file` parameter of {caller} must be an existing "
                              f"WordPiece vocab.txt. Got {str(vocab_file)!r}, which does not "
                              "exist, instead.")
    return path


@contextlib.contextmanager
def _torch_seed(seed: int):
    """Seed torch's global RNG inside the block and restore its state afterwards."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def _threads(n: int | None):
    import torch

    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _save_tokenizer_files(tokenizer, vocab_path: Path, dest: Path) -> None:
    from multiberts_stats.checkpoints import quiet_transformers

    with quiet_transformers():
        tokenizer.save_pretrained(str(dest))
    shutil.copyfile(vocab_path, dest / "vocab.txt")


def _atomic_folder(final: Path):
    """Context: yields a temporary folder beside ``final`` that replaces it on success."""

    @contextlib.contextmanager
    def cm():
        final.parent.mkdir(parents=True, exist_ok=True)
        for stale in final.parent.glob(f".{final.name}.*"):  # left by a killed writer
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a checkpoint is not
        try:
            yield tmp
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    return cm()


def _fingerprint(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _record_matches(folder: Path, record_name: str, fingerprint: str) -> bool:
    try:
        record = json.loads((folder / record_name).read_text())
    except (OSError, ValueError):
        return False
    return (record.get("fingerprint") == fingerprint and (folder / "config.json").is_file()
            and (folder / "model.safetensors").is_file())


# --------------------------------------------------------------------------------------------
# tiny random families
# --------------------------------------------------------------------------------------------
def make_tiny_family(root, vocab_file, seeds: Sequence[int] = (0, 1, 2),
                     steps: Sequence[int] = (0, 2000), *, hidden_size: int = 32,
                     num_layers: int = 2, num_heads: int = 2, intermediate_size: int = 64,
                     max_position_embeddings: int = 128, org: str = "tiny",
                     name: str = "multiberts", family: str = "tiny",
                     step_unit: str = "thousand steps", overwrite: bool = False) -> Family:
    """Write a family of tiny random ``BertForPreTraining`` checkpoints in the hub layout.

    One folder per (seed, step): ``root/<org>/<name>-seed_{s}-step_{k}k/`` with
    ``config.json``, ``model.safetensors`` (masked-LM, NSP and pooler weights, as MultiBERTs),
    ``vocab.txt`` (a copy of ``vocab_file``), ``tokenizer.json``, ``tokenizer_config.json``
    (``model_max_length`` = ``max_position_embeddings``) and ``tiny_checkpoint.json``.

    The weights are **not trained**: step 0 is the initialisation drawn with ``torch`` seeded by
    the seed; step k > 0 adds Gaussian noise (std ``0.02 * k / max(steps)``, its own generator
    seeded by (seed, k)). Everything is deterministic per (seed, step) and the global torch RNG is
    left as it was. Folders already written with the same settings are reused (``overwrite=True``
    rewrites them); each is written to a temporary folder and renamed, so an interrupted call
    leaves no half-written checkpoint.

    With ``org="google"`` and ``name="multiberts"`` the folders are a mirror of the real hub ids
    (``root/google/multiberts-seed_0-step_0k``), resolvable through ``checkpoint_root=root``.

    Parameters
    ----------
    root : str or Path
        Folder to write into (created).
    vocab_file : str or Path
        A WordPiece ``vocab.txt`` (tests: the real bert-base-uncased vocabulary).
    seeds, steps : sequence of int
        Seeds and step labels (``step_unit``; ``step_raw`` = 1000 x step for thousands).
    hidden_size, num_layers, num_heads, intermediate_size, max_position_embeddings : int
        Model shape.
    org, name : str
        Folder naming. family : str — the family name.
    overwrite : bool
        Rewrite existing folders.

    Returns
    -------
    Family
        Local-folder checkpoints (``path`` set), ordered by seed then step.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import make_tiny_family
    >>> from multiberts_stats.checkpoints import load_masked_lm
    >>> vocab = "../shared/data/bert_vocab/vocab.txt"
    >>> fam = make_tiny_family(tempfile.mkdtemp(), vocab, seeds=[0, 1], steps=[0, 20])
    >>> len(fam), fam[1].seed, fam[1].step, fam[1].path.endswith("tiny/multiberts-seed_0-step_20k")
    (4, 0, 20, True)
    >>> model, tok = load_masked_lm(fam[0])
    >>> model.config.hidden_size
    32
    """
    caller = "make_tiny_family"
    seeds = _check_int_list(seeds, "seeds", caller)
    steps = _check_int_list(steps, "steps", caller)
    vocab_path = _check_vocab_file(vocab_file, caller)
    for what, v in [("hidden_size", hidden_size), ("num_layers", num_layers),
                    ("num_heads", num_heads), ("intermediate_size", intermediate_size),
                    ("max_position_embeddings", max_position_embeddings)]:
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise CheckpointError(f"The `{what}` parameter of {caller} must be a positive "
                                  f"integer. Got {v!r} instead.")
    if hidden_size % num_heads:
        raise CheckpointError(f"The `hidden_size` parameter of {caller} must be a multiple of "
                              f"`num_heads` ({num_heads}). Got {hidden_size} instead.")
    root = Path(root)
    vocab_lines = vocab_path.read_text(encoding="utf-8").splitlines()
    settings = dict(kind="tiny", vocab_sha=hashlib.sha256(vocab_path.read_bytes()).hexdigest(),
                    hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads,
                    intermediate_size=intermediate_size,
                    max_position_embeddings=max_position_embeddings, max_step=max(steps))
    raw_factor = 1000 if step_unit == "thousand steps" else 1

    members: list[Checkpoint] = []
    todo: list[tuple[int, int, Path, str]] = []
    for seed in seeds:
        for step in steps:
            folder = root / org / f"{name}-seed_{seed}-step_{step}k"
            fp = _fingerprint({**settings, "seed": seed, "step": step})
            members.append(Checkpoint(family, None, str(folder.resolve()), seed, step,
                                      step * raw_factor))
            if overwrite or not _record_matches(folder, _TINY_RECORD, fp):
                todo.append((seed, step, folder, fp))
    if todo:
        import torch
        from transformers import BertConfig, BertForPreTraining, BertTokenizer

        config = BertConfig(vocab_size=len(vocab_lines), hidden_size=hidden_size,
                            num_hidden_layers=num_layers, num_attention_heads=num_heads,
                            intermediate_size=intermediate_size,
                            max_position_embeddings=max_position_embeddings,
                            architectures=["BertForPreTraining"])
        tokenizer = BertTokenizer(str(vocab_path), do_lower_case=True,
                                  model_max_length=max_position_embeddings)
        for seed, step, folder, fp in todo:
            with _torch_seed(seed):
                model = BertForPreTraining(config)
            if step > 0:
                gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
                scale = 0.02 * step / max(steps)
                with torch.no_grad():
                    for p in model.parameters():
                        p.add_(torch.randn(p.shape, generator=gen) * scale)
            with _atomic_folder(folder) as tmp:
                _save_model(model, tmp)
                _save_tokenizer_files(tokenizer, vocab_path, tmp)
                (tmp / _TINY_RECORD).write_text(json.dumps(
                    {"fingerprint": fp, "seed": seed, "step": step, **settings}, indent=1))
    return Family(family, members, step_unit=step_unit,
                  description=f"tiny random BERTs ({num_layers} layers, hidden {hidden_size})")


def _save_model(model, folder: Path) -> None:
    from multiberts_stats.checkpoints import quiet_transformers

    with quiet_transformers():
        model.save_pretrained(str(folder))


# --------------------------------------------------------------------------------------------
# mini pretraining
# --------------------------------------------------------------------------------------------
def build_vocab(sentences: Iterable[str], vocab_file, vocab_size: int) -> list[str]:
    """A WordPiece vocabulary of at most ``vocab_size`` entries drawn from ``vocab_file``.

    The sentences are tokenised with the full vocabulary; the kept entries are the five special
    tokens, every single-character piece that occurs (so rare words split into characters rather
    than becoming ``[UNK]``), then the most frequent pieces (ties broken alphabetically). Because
    WordPiece matches greedily, a word whose pieces are all kept tokenises exactly as with the
    full vocabulary. Deterministic: it depends on the sentences only, never on a seed.

    Examples
    --------
    >>> vocab = build_vocab(["a good film", "a bad film"], "../shared/data/bert_vocab/vocab.txt", 50)
    >>> vocab[:5], "film" in vocab
    (['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'], True)
    """
    from transformers import BertTokenizer

    full = BertTokenizer(str(vocab_file), do_lower_case=True)
    counts: Counter = Counter()
    sentences = list(sentences)
    for start in range(0, len(sentences), 4096):
        enc = full(sentences[start:start + 4096], add_special_tokens=False)["input_ids"]
        for ids in enc:
            counts.update(ids)
    id_to_tok = {i: t for t, i in full.get_vocab().items()}
    pieces = {id_to_tok[i]: c for i, c in counts.items() if id_to_tok[i] not in _SPECIALS}
    chars = sorted(p for p in pieces if len(p.removeprefix("##")) == 1)
    if vocab_size < len(_SPECIALS) + len(chars) + 1:
        raise CheckpointError(
            f"The `vocab_size` parameter must leave room for the {len(_SPECIALS)} special tokens "
            f"and the {len(chars)} single characters of the sentences. Got {vocab_size} instead.")
    rest = sorted((p for p in pieces if p not in set(chars)), key=lambda p: (-pieces[p], p))
    return _SPECIALS + chars + rest[:vocab_size - len(_SPECIALS) - len(chars)]


def encode_sentences(tokenizer, sentences: Sequence[str], max_length: int) -> list[np.ndarray]:
    out = []
    for start in range(0, len(sentences), 4096):
        enc = tokenizer(list(sentences[start:start + 4096]), truncation=True,
                        max_length=max_length)["input_ids"]
        out.extend(np.asarray(ids, dtype=np.int64) for ids in enc)
    return out


def pad_batch(batch: Sequence[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(x) for x in batch)
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    attn = np.zeros((len(batch), width), dtype=np.int64)
    for i, x in enumerate(batch):
        ids[i, :len(x)] = x
        attn[i, :len(x)] = 1
    return ids, attn


def mask_batch(ids: np.ndarray, attn: np.ndarray, rng: np.random.Generator, *, mask_prob: float,
                special_ids: np.ndarray, mask_id: int, vocab_size: int, n_special: int,
                replace: bool = True):
    """BERT masking: choose ``mask_prob`` of the ordinary tokens (at least one per sentence);
    of those 80% -> [MASK], 10% random token, 10% kept (``replace=False``: all -> [MASK]).
    Returns (input ids, row index, column index, target ids)."""
    candidates = (attn == 1) & ~np.isin(ids, special_ids)
    draw = rng.random(ids.shape)
    chosen = candidates & (draw < mask_prob)
    # at least one masked token in every sentence that has a candidate
    none = candidates.any(1) & ~chosen.any(1)
    if none.any():
        score = np.where(candidates, draw, np.inf)
        rows = np.flatnonzero(none)
        chosen[rows, score[rows].argmin(1)] = True
    rows, cols = np.nonzero(chosen)
    targets = ids[rows, cols].copy()
    inputs = ids.copy()
    if replace:
        kind = rng.random(len(rows))
        to_mask = kind < 0.8
        to_rand = (kind >= 0.8) & (kind < 0.9)
        inputs[rows[to_mask], cols[to_mask]] = mask_id
        inputs[rows[to_rand], cols[to_rand]] = rng.integers(n_special, vocab_size,
                                                            int(to_rand.sum()))
    else:
        inputs[rows, cols] = mask_id
    return inputs, rows, cols, targets


def _mlm_parts(model):
    """(body, head) for masked-position-only scoring when the model exposes them, else None."""
    body = getattr(model, "bert", None)
    cls = getattr(model, "cls", None)
    head = getattr(cls, "predictions", None) if cls is not None else None
    if body is not None and head is not None:
        return body, head
    return None


def masked_token_accuracy(model, tokenizer, sentences: Sequence[str], *, mask_prob: float = 0.15,
                          seed: int = 0, batch_size: int = 128, max_length: int = 64) -> float:
    """Share of masked tokens a masked-LM predicts exactly (top-1), on the given sentences.

    Every chosen position is replaced by ``[MASK]``; ``[UNK]`` and special tokens are never
    targets; each sentence gets at least one masked token. The positions depend on ``seed`` and
    the tokenisation only, so models with the same tokenizer are scored on the same items.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.checkpoints import load_masked_lm
    >>> fam = make_tiny_family(tempfile.mkdtemp(), "../shared/data/bert_vocab/vocab.txt", seeds=[0], steps=[0])
    >>> model, tok = load_masked_lm(fam[0])
    >>> 0.0 <= masked_token_accuracy(model, tok, ["a fine film .", "dull and long ."]) <= 1.0
    True
    """
    import torch

    if not sentences:
        raise CheckpointError("The `sentences` parameter of masked_token_accuracy must hold at "
                              "least one sentence. Got none.")
    enc = encode_sentences(tokenizer, list(sentences), max_length)
    special = np.asarray(sorted(set(tokenizer.all_special_ids)), dtype=np.int64)
    rng = np.random.default_rng(seed)
    parts = _mlm_parts(model)
    was_training = model.training
    model.eval()
    correct = total = 0
    device = next(model.parameters()).device
    try:
        with torch.inference_mode():
            for start in range(0, len(enc), batch_size):
                ids, attn = pad_batch(enc[start:start + batch_size], tokenizer.pad_token_id)
                inputs, rows, cols, targets = mask_batch(
                    ids, attn, rng, mask_prob=mask_prob, special_ids=special,
                    mask_id=tokenizer.mask_token_id, vocab_size=len(tokenizer), n_special=0,
                    replace=False)
                if len(rows) == 0:
                    continue
                x = torch.from_numpy(inputs).to(device)
                a = torch.from_numpy(attn).to(device)
                r, c = torch.from_numpy(rows).to(device), torch.from_numpy(cols).to(device)
                if parts is not None:
                    hidden = parts[0](input_ids=x, attention_mask=a).last_hidden_state
                    logits = parts[1](hidden[r, c])
                else:
                    logits = model(input_ids=x, attention_mask=a).logits[r, c]
                pred = logits.argmax(-1).cpu().numpy()
                correct += int((pred == targets).sum())
                total += len(targets)
    finally:
        model.train(was_training)
    return correct / total if total else float("nan")


def pretrain_mini_family(root, sentences: Sequence[str], vocab_file,
                         seeds: Sequence[int] = (0, 1, 2, 3, 4),
                         steps: Sequence[int] = (0, 100, 300, 1000), *,
                         vocab_size: int | None = 4096, hidden_size: int = 128,
                         num_layers: int = 2, num_heads: int = 4, intermediate_size: int = 256,
                         max_length: int = 32, batch_size: int = 64,
                         learning_rate: float = 2e-3, warmup_fraction: float = 0.06,
                         weight_decay: float = 0.01, mask_prob: float = 0.15,
                         dropout: float = 0.1, eval_sentences: Sequence[str] | None = None,
                         org: str = "mini", name: str = "mini-bert", family: str = "mini",
                         num_threads: int | None = 1, n_jobs: int | None = 1,
                         overwrite: bool = False,
                         quiet: bool = False) -> Family:
    """Pretrain a family of small BERTs with masked-LM from scratch, one run per seed.

    Each run trains ``BertForPreTraining`` (masked-LM loss only; the NSP head stays at its
    initialisation) for ``max(steps)`` AdamW steps with linear warm-up and linear decay, and saves
    a checkpoint after each step in ``steps`` (0 = the initialisation) to
    ``root/<org>/<name>-seed_{s}-step_{k}/`` with ``config.json``, ``model.safetensors``,
    ``vocab.txt``, tokenizer files and ``mini_pretraining.json`` (settings, training loss,
    wall time and, with ``eval_sentences``, held-out masked-token accuracy). The family's steps
    count optimiser steps (``step_unit="steps"``, ``step == step_raw``).

    The seed controls the initialisation, the dropout masks, the order of the sentences (a fresh
    permutation each epoch) and the masking; the vocabulary and everything else is shared by all
    seeds. A seed's checkpoints do not depend on the other seeds or on the caller's random state
    (the global torch RNG is restored afterwards).

    Speed: the loss is computed on the masked positions only (their hidden states are gathered
    before the output layer), and by default the output layer is restricted to a vocabulary of
    ``vocab_size`` WordPiece entries built from the sentences (:func:`build_vocab`; written into
    each checkpoint, so loading stays real). ``vocab_size=None`` keeps the full ``vocab_file``.
    See ``benchmarks/mini_pretraining.py`` for the measured effect.

    Resumable: a seed whose checkpoints all exist with the same settings is skipped; a seed cut
    short is retrained from scratch (deterministic on a given machine and thread count).
    Checkpoint folders are written atomically.

    Parameters
    ----------
    root : str or Path
        Output folder.
    sentences : sequence of str
        Training sentences.
    vocab_file : str or Path
        WordPiece vocabulary to start from (e.g. the bert-base-uncased ``vocab.txt``).
    seeds : sequence of int
        Pretraining seeds, one run each.
    steps : sequence of int
        Optimiser steps at which to save (``0`` saves the initialisation).
    vocab_size : int or None
        Size of the restricted vocabulary; None for the whole ``vocab_file``.
    hidden_size, num_layers, num_heads, intermediate_size : int
        Model shape (defaults: about 1M parameters with a 4,096-entry vocabulary).
    max_length : int
        Sentences are truncated to this many tokens (special tokens included).
    batch_size, learning_rate, warmup_fraction, weight_decay, mask_prob, dropout
        Training settings.
    eval_sentences : sequence of str, optional
        Held-out sentences scored (:func:`masked_token_accuracy`, ``seed=0``) at every
        checkpoint; results in ``mini_pretraining.json`` and :func:`pretraining_log`.
    org, name, family : str
        Folder naming and family name.
    num_threads : int or None
        torch threads while training (restored afterwards). Default 1: the matrices of a
        small model are too small to gain from more threads, and several threads on a busy
        machine spin-wait (measured 14x slower backward passes under load). None keeps
        torch's setting.
    n_jobs : int or None
        Seeds trained in parallel worker processes (spawned; each with ``num_threads``
        threads). 1 (default) trains in this process; None or -1 uses one worker per core.
        The progress bar then advances per finished seed.
    overwrite : bool
        Retrain even when matching checkpoints exist.
    quiet : bool
        No progress bar (otherwise tqdm on stderr).

    Returns
    -------
    Family
        Local-folder checkpoints ordered by seed then step.

    Examples
    --------
    >>> import tempfile
    >>> sentences = ["a good film", "a bad film", "the plot is thin", "great acting"] * 8
    >>> fam = pretrain_mini_family(tempfile.mkdtemp(), sentences,
    ...     "../shared/data/bert_vocab/vocab.txt", seeds=[0, 1], steps=[0, 5], batch_size=8,
    ...     vocab_size=64, hidden_size=32, intermediate_size=64, quiet=True)
    >>> [(c.seed, c.step) for c in fam]
    [(0, 0), (0, 5), (1, 0), (1, 5)]
    """
    caller = "pretrain_mini_family"
    seeds = _check_int_list(seeds, "seeds", caller)
    steps = _check_int_list(steps, "steps", caller)
    vocab_path = _check_vocab_file(vocab_file, caller)
    if isinstance(sentences, str) or not isinstance(sentences, Iterable):
        raise CheckpointError(f"The `sentences` parameter of {caller} must be a sequence of "
                              f"strings. Got {type(sentences).__name__} instead.")
    sentences = [str(s) for s in sentences]
    if len(sentences) < 2:
        raise CheckpointError(f"The `sentences` parameter of {caller} must hold at least 2 "
                              f"sentences. Got {len(sentences)} instead.")
    for what, v in [("hidden_size", hidden_size), ("num_layers", num_layers),
                    ("num_heads", num_heads), ("intermediate_size", intermediate_size),
                    ("max_length", max_length), ("batch_size", batch_size)]:
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise CheckpointError(f"The `{what}` parameter of {caller} must be a positive "
                                  f"integer. Got {v!r} instead.")
    if max_length < 3:
        raise CheckpointError(f"The `max_length` parameter of {caller} must be at least 3. "
                              f"Got {max_length} instead.")
    if hidden_size % num_heads:
        raise CheckpointError(f"The `hidden_size` parameter of {caller} must be a multiple of "
                              f"`num_heads` ({num_heads}). Got {hidden_size} instead.")
    if not 0 < mask_prob < 1:
        raise CheckpointError(f"The `mask_prob` parameter of {caller} must be in (0, 1). "
                              f"Got {mask_prob!r} instead.")
    if vocab_size is not None and (not isinstance(vocab_size, (int, np.integer)) or vocab_size < 8):
        raise CheckpointError(f"The `vocab_size` parameter of {caller} must be None or an "
                              f"integer >= 8. Got {vocab_size!r} instead.")

    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0
                               or n_jobs < -1):
        raise CheckpointError(f"The `n_jobs` parameter of {caller} must be a positive integer, "
                              f"-1 or None. Got {n_jobs!r} instead.")

    from transformers import BertConfig, BertTokenizer

    root = Path(root)
    corpus_sha = hashlib.sha256("\n".join(sentences).encode()).hexdigest()
    eval_sha = None if eval_sentences is None else hashlib.sha256(
        "\n".join(map(str, eval_sentences)).encode()).hexdigest()
    settings = dict(kind="mini", corpus_sha=corpus_sha, eval_sha=eval_sha,
                    vocab_sha=hashlib.sha256(vocab_path.read_bytes()).hexdigest(),
                    vocab_size=vocab_size, hidden_size=hidden_size, num_layers=num_layers,
                    num_heads=num_heads, intermediate_size=intermediate_size,
                    max_length=max_length, batch_size=batch_size, learning_rate=learning_rate,
                    warmup_fraction=warmup_fraction, weight_decay=weight_decay,
                    mask_prob=mask_prob, dropout=dropout, total_steps=max(steps),
                    max_positions=max(_MINI_POSITIONS, max_length))

    def folder_of(seed, step):
        return root / org / f"{name}-seed_{seed}-step_{step}"

    members = [Checkpoint(family, None, str(folder_of(s, k).resolve()), s, k, k)
               for s in seeds for k in steps]
    todo = [s for s in seeds if overwrite or not all(
        _record_matches(folder_of(s, k), _MINI_RECORD, _fingerprint({**settings, "seed": s,
                                                                     "step": k}))
        for k in steps)]
    result = Family(family, members, step_unit="steps",
                    description=f"mini BERTs pretrained with masked-LM ({num_layers} layers, "
                                f"hidden {hidden_size}) on {len(sentences)} sentences")
    if not todo:
        return result

    # vocabulary (shared by all seeds) and tokenised corpus
    root.mkdir(parents=True, exist_ok=True)
    vocab_dir = root / org / f".{name}-vocab-{_fingerprint(settings)}"
    vocab_dir.mkdir(parents=True, exist_ok=True)
    vocab_out = vocab_dir / "vocab.txt"
    if vocab_size is None:
        shutil.copyfile(vocab_path, vocab_out)
    else:
        vocab_out.write_text("\n".join(build_vocab(sentences, vocab_path, int(vocab_size)))
                             + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(vocab_out), do_lower_case=True, model_max_length=max_length)
    n_vocab = len(tokenizer)
    corpus = encode_sentences(tokenizer, sentences, max_length)
    special = np.asarray(sorted(set(tokenizer.all_special_ids)), dtype=np.int64)
    # random replacements are drawn from the ids after the special tokens (and, in the full
    # BERT vocabulary, after the [unusedN] entries between them)
    specials_count = int(special.max()) + 1
    config = BertConfig(vocab_size=n_vocab, hidden_size=hidden_size,
                        num_hidden_layers=num_layers, num_attention_heads=num_heads,
                        intermediate_size=intermediate_size,
                        max_position_embeddings=max(_MINI_POSITIONS, max_length),
                        hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout,
                        pad_token_id=tokenizer.pad_token_id,
                        architectures=["BertForPreTraining"])
    job = dict(config=config.to_dict(), vocab_out=str(vocab_out), corpus=corpus,
               special=special, specials_count=specials_count, steps=steps,
               settings=settings, batch_size=batch_size, learning_rate=learning_rate,
               warmup_fraction=warmup_fraction, weight_decay=weight_decay,
               mask_prob=mask_prob, max_length=max_length,
               eval_sentences=None if eval_sentences is None else list(map(str, eval_sentences)),
               folders={(s, k): str(folder_of(s, k)) for s in todo for k in steps},
               num_threads=num_threads)

    from multiberts_stats._progress import tqdm

    total = max(steps)
    bar = tqdm(total=len(todo) * total, disable=quiet, file=sys.stderr, unit="step",
               desc="pretraining", dynamic_ncols=True)
    try:
        if n_jobs == 1 or len(todo) == 1:
            for seed in todo:
                _train_seed(job, seed, bar)
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            workers = min(len(todo), os.cpu_count() or 1) if n_jobs in (None, -1) else min(
                n_jobs, len(todo))
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
                futures = {pool.submit(_train_seed, job, seed, None): seed for seed in todo}
                for fut in as_completed(futures):
                    fut.result()
                    bar.update(total)
                    bar.set_postfix(done_seed=futures[fut])
    finally:
        bar.close()
    return result


def _train_seed(job: dict, seed: int, bar) -> None:
    """Pretrain one seed and save its checkpoints (runs in-process or in a worker process)."""
    import torch
    from transformers import BertConfig, BertForPreTraining, BertTokenizer

    config = BertConfig.from_dict(job["config"])
    tokenizer = BertTokenizer(job["vocab_out"], do_lower_case=True,
                              model_max_length=job["max_length"])
    corpus, steps, settings = job["corpus"], job["steps"], job["settings"]
    batch_size, learning_rate = job["batch_size"], job["learning_rate"]
    total = max(steps)
    warmup = max(1, int(round(job["warmup_fraction"] * total))) if total else 1
    n_vocab = len(tokenizer)

    def lr_at(step):  # step counts from 1
        if step <= warmup:
            return learning_rate * step / warmup
        return learning_rate * max(0.0, (total - step) / max(1, total - warmup))

    # torch's global RNG is seeded inside (initialisation and dropout) and restored afterwards;
    # numpy draws (data order, masking) come from a Generator seeded by the seed.
    with _threads(job["num_threads"]), _torch_seed(seed):
        model = BertForPreTraining(config)
        n_params = sum(p.numel() for p in model.parameters())
        rng = np.random.default_rng(seed)
        decay, no_decay = [], []
        for pname, p in model.named_parameters():
            (no_decay if p.dim() < 2 or "LayerNorm" in pname else decay).append(p)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": job["weight_decay"]},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=learning_rate, betas=(0.9, 0.98), eps=1e-6)
        order = rng.permutation(len(corpus))
        pos = 0
        losses: list[float] = []
        started = time.perf_counter()
        body, head = model.bert, model.cls.predictions
        model.train()
        for step in range(0, total + 1):
            if step in steps:
                _save_mini(model, tokenizer, Path(job["vocab_out"]),
                           Path(job["folders"][(seed, step)]), settings, seed, step, losses,
                           time.perf_counter() - started, n_params, job["eval_sentences"],
                           job["max_length"])
                model.train()
            if step == total:
                break
            if pos + batch_size > len(order):
                order = np.concatenate([order[pos:], rng.permutation(len(corpus))])
                pos = 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
            ids, attn = pad_batch([corpus[i] for i in idx], tokenizer.pad_token_id)
            inputs, rows, cols, targets = mask_batch(
                ids, attn, rng, mask_prob=job["mask_prob"], special_ids=job["special"],
                mask_id=tokenizer.mask_token_id, vocab_size=n_vocab,
                n_special=job["specials_count"])
            for group in opt.param_groups:
                group["lr"] = lr_at(step + 1)
            hidden = body(input_ids=torch.from_numpy(inputs),
                          attention_mask=torch.from_numpy(attn)).last_hidden_state
            logits = head(hidden[torch.from_numpy(rows), torch.from_numpy(cols)])
            loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(targets))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.detach()))
            if bar is not None:
                bar.update(1)
                if step % 25 == 0:
                    bar.set_postfix(seed=seed, loss=f"{np.mean(losses[-50:]):.3f}")


def _save_mini(model, tokenizer, vocab_path: Path, folder: Path, settings: dict, seed: int,
               step: int, losses: list[float], seconds: float, n_params: int,
               eval_sentences, max_length: int) -> None:
    record = {"fingerprint": _fingerprint({**settings, "seed": seed, "step": step}),
              "seed": seed, "step": step, "n_params": n_params,
              "train_loss": float(np.mean(losses[-50:])) if losses else None,
              "seconds": round(seconds, 3), "settings": settings}
    if eval_sentences is not None:
        record["heldout_masked_accuracy"] = masked_token_accuracy(
            model, tokenizer, list(eval_sentences), seed=0, max_length=max_length)
    with _atomic_folder(folder) as tmp:
        _save_model(model, tmp)
        _save_tokenizer_files(tokenizer, vocab_path, tmp)
        (tmp / _MINI_RECORD).write_text(json.dumps(record, indent=1))


def pretraining_log(family: Family):
    """Training records of a mini family: one row per checkpoint.

    Columns: ``seed``, ``step``, ``train_loss`` (mean of the last 50 steps), ``seconds`` (wall
    time of the run so far), ``n_params`` and ``heldout_masked_accuracy`` (NaN without
    ``eval_sentences``).
    """
    import pandas as pd

    rows = []
    for c in family:
        path = Path(c.path) / _MINI_RECORD if c.path else None
        if path is None or not path.is_file():
            raise CheckpointError(f"Checkpoint {c.name} has no {_MINI_RECORD}; pretraining_log "
                                  "reads families made by pretrain_mini_family.")
        rec = json.loads(path.read_text())
        rows.append({"seed": c.seed, "step": c.step, "train_loss": rec.get("train_loss"),
                     "seconds": rec.get("seconds"), "n_params": rec.get("n_params"),
                     "heldout_masked_accuracy": rec.get("heldout_masked_accuracy", math.nan)})
    frame = pd.DataFrame(rows)
    frame["train_loss"] = frame["train_loss"].astype("float64")
    frame["heldout_masked_accuracy"] = frame["heldout_masked_accuracy"].astype("float64")
    return frame


# The example-release writer (fake files in the published MultiBERTs formats) lives beside the
# family builders; it needs numpy and pandas only.
from multiberts_stats.testing.release import write_example_release  # noqa: E402

__all__ += ["write_example_release"]

# Tiny GPT-NeoX (PolyPythia-shaped) families per revision, and their BPE tokenizer.
from multiberts_stats.testing.decoders import (  # noqa: E402
    decoder_corpus,
    make_tiny_decoder_family,
    train_bpe_tokenizer,
)

__all__ += ["make_tiny_decoder_family", "train_bpe_tokenizer", "decoder_corpus"]
