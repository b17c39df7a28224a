"""Tiny GPT-NeoX (Pythia-shaped) checkpoint families for tests, built offline per revision.

* :func:`train_bpe_tokenizer` trains a small byte-level BPE tokenizer (the kind Pythia uses, with
  ``<|endoftext|>`` as beginning/end/unknown token and **no pad token**, as the real Pythia
  tokenizer) with the ``tokenizers`` library on any list of sentences.
* :func:`make_tiny_decoder_family` writes tiny ``GPTNeoXForCausalLM`` checkpoints for a few seeds
  and revisions in the PolyPythia mirror layout, ``ROOT/<org>/<name>@<revision>/`` with ``<name>``
  = ``pythia-{size}`` (seed 0) or ``pythia-{size}-seed{N}`` (``-data-seed{N}`` /
  ``-weight-seed{N}`` for the decoupled variants): pass ``checkpoint_root=ROOT`` and the real
  catalog (:func:`multiberts_stats.checkpoints.polypythia.polypythia`) resolves to them. Revision
  ``stepK`` is the model after ``K`` optimiser steps of a tiny causal-LM pretraining on the
  sentences (``step0`` = the initialisation), so checkpoints differ along training as real ones.
  The weight seed fixes the initialisation, the data seed the order of the batches: in the
  ``seeds`` variant both equal the seed; ``data-seed`` keeps the initialisation of seed 0 and
  varies the order; ``weight-seed`` the reverse.

Everything is deterministic per (variant, seed, revision) on a given machine (one torch thread)
and leaves the global torch RNG untouched. Folders are written atomically and reused when they
were made with the same settings. torch, transformers and tokenizers are imported inside.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from multiberts_stats.checkpoints import CheckpointError, Family
from multiberts_stats.checkpoints.polypythia import (
    POLYPYTHIA_DECOUPLED_SEEDS,
    POLYPYTHIA_SEEDS,
    polypythia,
    polypythia_hub_id,
    polypythia_revision,
)

__all__ = [
    "EOT_TOKEN",
    "PAD_TOKEN",
    "decoder_corpus",
    "make_tiny_decoder_family",
    "train_bpe_tokenizer",
]

EOT_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|padding|>"
_RECORD = "tiny_decoder.json"


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def decoder_corpus(shared_data, *, n_sst2: int = 3000) -> list[str]:
    """Sentences to train a tiny tokenizer / decoder on: SST-2 training sentences and BLiMP.

    ``shared_data`` is the data folder (``glue/SST-2/train.tsv``, ``blimp/*.jsonl``). The order
    is fixed (files sorted by name), so the corpus is the same on every machine.
    """
    root = Path(shared_data)
    out: list[str] = []
    sst = root / "glue" / "SST-2" / "train.tsv"
    if sst.is_file():
        lines = sst.read_text(encoding="utf-8").splitlines()[1:n_sst2 + 1]
        out += [ln.split("\t")[0].strip() for ln in lines if ln.strip()]
    for path in sorted((root / "blimp").glob("*.jsonl")):
        for ln in path.read_text(encoding="utf-8").splitlines():
            if ln.strip():
                row = json.loads(ln)
                out += [row["sentence_good"], row["sentence_bad"]]
    if not out:
        raise CheckpointError(f"The `shared_data` parameter of decoder_corpus must be a folder "
                              f"with glue/SST-2/train.tsv or blimp/*.jsonl. Got {str(root)!r}, "
                              "which has neither, instead.")
    return out


def train_bpe_tokenizer(sentences: Sequence[str], folder=None, *, vocab_size: int = 512,
                        pad_token: bool = False, model_max_length: int = 128):
    """Train a byte-level BPE tokenizer (GPT-NeoX style) on ``sentences``.

    Special tokens: ``<|endoftext|>`` (id 0: beginning, end and unknown token, as in Pythia) and
    ``<|padding|>`` (id 1, in the vocabulary as in Pythia, but *not* declared as the pad token
    unless ``pad_token=True``). Offsets are trimmed, so ``return_offsets_mapping`` gives word
    character spans (for word alignment). Training is deterministic for a given input.

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        Saved into ``folder`` (``tokenizer.json``, ``tokenizer_config.json``...) when given.

    Examples
    --------
    >>> tok = train_bpe_tokenizer(["a good film", "a bad film"] * 20, vocab_size=300)
    >>> tok.pad_token is None, tok.eos_token, tok.convert_tokens_to_ids("<|endoftext|>")
    (True, '<|endoftext|>', 0)
    """
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    sentences = [str(s) for s in sentences]
    if not sentences:
        raise CheckpointError("The `sentences` parameter of train_bpe_tokenizer must hold at "
                              "least one sentence. Got none.")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 260:
        raise CheckpointError("The `vocab_size` parameter of train_bpe_tokenizer must be an "
                              "integer >= 260 (256 bytes and the special tokens). Got "
                              f"{vocab_size!r} instead.")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOT_TOKEN, PAD_TOKEN],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)
    bpe.train_from_iterator(sentences, trainer=trainer)
    kwargs = {"bos_token": EOT_TOKEN, "eos_token": EOT_TOKEN, "unk_token": EOT_TOKEN,
                  "model_max_length": model_max_length,
                  "model_input_names": ["input_ids", "attention_mask"]}
    if pad_token:
        kwargs["pad_token"] = PAD_TOKEN
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, **kwargs)
    if folder is not None:
        from multiberts_stats.checkpoints import quiet_transformers

        with quiet_transformers():
            tok.save_pretrained(str(folder))
    return tok


def _atomic_folder(final: Path):
    from multiberts_stats.testing import _atomic_folder as atomic

    return atomic(final)


def make_tiny_decoder_family(root, sentences: Sequence[str], seeds: Sequence[int] = (0, 1, 2),
                             revisions: Sequence[str | int] = ("step0", "step8", "step32"), *,
                             size: str = "14m", variant: str = "seeds", org: str = "EleutherAI",
                             vocab_size: int = 512, hidden_size: int = 32, num_layers: int = 2,
                             num_heads: int = 2, intermediate_size: int = 64,
                             max_position_embeddings: int = 128, batch_size: int = 16,
                             max_length: int = 32, learning_rate: float = 3e-3,
                             pad_token: bool = False, overwrite: bool = False) -> Family:
    """Write tiny GPT-NeoX checkpoints per seed and revision in the PolyPythia mirror layout.

    Parameters
    ----------
    root : str or Path
        Mirror root; checkpoint folders go to ``root/<org>/<name>@<revision>/`` where ``<name>``
        follows the PolyPythia hub ids (``pythia-14m``, ``pythia-14m-seed3``,
        ``pythia-160m-data-seed2``...).
    sentences : sequence of str
        Tokenizer training text and pretraining corpus (e.g. :func:`decoder_corpus`).
    seeds : sequence of int
        PolyPythia seed indices (0-9; 0-3 for the decoupled variants).
    revisions : sequence of str or int
        Released PolyPythia revisions (``"step0"``, ``"step8"``, ``64``...); ``stepK`` is saved
        after ``K`` AdamW steps of causal-LM training (batches of ``batch_size`` sentences cut to
        ``max_length`` tokens).
    size, variant : str
        Which PolyPythia family the folders stand in for (see
        :func:`multiberts_stats.checkpoints.polypythia.polypythia`).
    org : str
        First folder level (``EleutherAI`` to mirror the real hub ids).
    vocab_size, hidden_size, num_layers, num_heads, intermediate_size, max_position_embeddings
        Tokenizer and model shape (rotary embeddings on a quarter of each head, parallel
        residual, untied output layer, as Pythia).
    pad_token : bool
        Declare ``<|padding|>`` as the tokenizer's pad token (Pythia does not).
    overwrite : bool
        Rebuild folders even when they exist with the same settings.

    Returns
    -------
    Family
        The catalog family selected to these seeds and revisions (hub ids with revisions);
        resolve it with ``checkpoint_root=root``.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.checkpoints import resolve_checkpoint
    >>> root = tempfile.mkdtemp()
    >>> fam = make_tiny_decoder_family(root, ["a good film .", "a bad film ."] * 30, seeds=[0, 1],
    ...                                revisions=["step0", "step4"], vocab_size=300)
    >>> [(c.hub_id, c.revision) for c in fam][:2]
    [('EleutherAI/pythia-14m', 'step0'), ('EleutherAI/pythia-14m', 'step4')]
    >>> resolve_checkpoint(fam[3], checkpoint_root=root).name
    'pythia-14m-seed1@step4'
    """
    caller = "make_tiny_decoder_family"
    allowed = POLYPYTHIA_SEEDS if variant == "seeds" else POLYPYTHIA_DECOUPLED_SEEDS
    if isinstance(seeds, int):
        seeds = [seeds]
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer))
                        or s not in allowed for s in seeds) or len(set(seeds)) != len(seeds):
        raise CheckpointError(f"The `seeds` parameter of {caller} must be distinct seed indices "
                              f"among {list(allowed)} for the {variant!r} variant. Got {seeds!r} "
                              "instead.")
    seeds = sorted(int(s) for s in seeds)
    if isinstance(revisions, (str, int)):
        revisions = [revisions]
    revs = sorted({polypythia_revision(r) for r in revisions}, key=lambda r: int(r[4:]))
    if not revs:
        raise CheckpointError(f"The `revisions` parameter of {caller} must name at least one "
                              "revision. Got none.")
    steps = [int(r[4:]) for r in revs]
    fam = polypythia(size, variant)  # validates size / variant
    sentences = [str(s) for s in sentences]
    if len(sentences) < 2:
        raise CheckpointError(f"The `sentences` parameter of {caller} must hold at least 2 "
                              f"sentences. Got {len(sentences)} instead.")
    if hidden_size % num_heads:
        raise CheckpointError(f"The `hidden_size` parameter of {caller} must be a multiple of "
                              f"`num_heads` ({num_heads}). Got {hidden_size} instead.")
    root = Path(root)
    settings = {"kind": "tiny-gpt-neox", "corpus": _sha(sentences), "vocab_size": vocab_size,
                    "hidden_size": hidden_size, "num_layers": num_layers, "num_heads": num_heads,
                    "intermediate_size": intermediate_size,
                    "max_position_embeddings": max_position_embeddings, "batch_size": batch_size,
                    "max_length": max_length, "learning_rate": learning_rate, "pad_token": pad_token,
                    "variant": variant, "size": size}

    def folder_of(seed, rev):
        return root / org / f"{polypythia_hub_id(size, seed, variant).split('/', 1)[1]}@{rev}"

    def done(seed, rev):
        try:
            rec = json.loads((folder_of(seed, rev) / _RECORD).read_text())
        except (OSError, ValueError):
            return False
        return rec.get("fingerprint") == _sha({**settings, "seed": seed, "revision": rev})

    todo = [s for s in seeds if overwrite or not all(done(s, r) for r in revs)]
    if todo:
        tok_dir = root / org / f".tokenizer-{_sha(settings)}"
        if not (tok_dir / "tokenizer.json").is_file():
            tok_dir.mkdir(parents=True, exist_ok=True)
            train_bpe_tokenizer(sentences, tok_dir, vocab_size=vocab_size, pad_token=pad_token,
                                model_max_length=max_position_embeddings)
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(tok_dir))
        corpus = [np.asarray(ids[:max_length], dtype=np.int64) for ids in
                  tok(sentences, add_special_tokens=False)["input_ids"] if len(ids) >= 2]
        for seed in todo:
            _train_one(seed, variant, corpus, tok, tok_dir, steps, revs, settings,
                       {r: folder_of(seed, r) for r in revs})
    return fam.select(seeds=seeds, steps=steps)


def _train_one(seed, variant, corpus, tok, tok_dir, steps, revs, settings, folders):
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    from multiberts_stats.testing import _threads, _torch_seed

    weight_seed = 0 if variant == "data-seed" else seed
    data_seed = 0 if variant == "weight-seed" else seed
    config = GPTNeoXConfig(
        vocab_size=len(tok), hidden_size=settings["hidden_size"],
        num_hidden_layers=settings["num_layers"], num_attention_heads=settings["num_heads"],
        intermediate_size=settings["intermediate_size"],
        max_position_embeddings=settings["max_position_embeddings"], rotary_pct=0.25,
        use_parallel_residual=True, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0,
        hidden_dropout=0.0, attention_dropout=0.0, architectures=["GPTNeoXForCausalLM"])
    with _threads(1), _torch_seed(1234 + weight_seed):
        model = GPTNeoXForCausalLM(config)
        opt = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"])
        rng = np.random.default_rng(1234 + data_seed)
        order, pos = rng.permutation(len(corpus)), 0
        bs = settings["batch_size"]
        losses: list[float] = []
        for step in range(max(steps) + 1):
            if step in steps:
                rev = revs[steps.index(step)]
                _save(model, tok_dir, folders[rev], {
                    "fingerprint": _sha({**settings, "seed": seed, "revision": rev}),
                    "seed": seed, "revision": rev, "step": step, "weight_seed": weight_seed,
                    "data_seed": data_seed, "train_loss": losses[-1] if losses else None,
                    **settings})
            if step == max(steps):
                break
            if pos + bs > len(order):
                order, pos = rng.permutation(len(corpus)), 0
            batch = [corpus[i] for i in order[pos:pos + bs]]
            pos += bs
            width = max(len(x) for x in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            att = torch.zeros((len(batch), width), dtype=torch.long)
            for r, x in enumerate(batch):
                ids[r, :len(x)] = torch.from_numpy(x)
                att[r, :len(x)] = 1
            labels = ids.masked_fill(att == 0, -100)
            model.train()
            loss = model(input_ids=ids, attention_mask=att, labels=labels).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))


def _save(model, tok_dir: Path, folder: Path, record: dict) -> None:
    from multiberts_stats.checkpoints import quiet_transformers

    with _atomic_folder(folder) as tmp:
        with quiet_transformers():
            model.save_pretrained(str(tmp))
        for f in tok_dir.iterdir():
            if f.is_file():
                shutil.copyfile(f, tmp / f.name)
        (tmp / _RECORD).write_text(json.dumps(record, indent=1))
