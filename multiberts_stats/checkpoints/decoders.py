"""Decoders (causal LMs) beside encoders: which head a checkpoint has, and pad tokens.

Helpers of the checkpoint loaders (:mod:`multiberts_stats.checkpoints`): whether a config is a
causal (decoder-only) language model, the refusal of a head the checkpoint cannot give (a
decoder asked for the masked-LM head, an encoder asked for causal scoring), and the pad token a
decoder's tokenizer lacks (Pythia's declares none) for batched fine-tuning.

No torch import at import time.
"""

from __future__ import annotations

import logging

__all__ = ["architecture", "check_head", "ensure_pad_token", "is_causal_config"]

logger = logging.getLogger(__name__)

_CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
_MASKED_SUFFIXES = ("ForMaskedLM", "ForPreTraining")


def _get(cfg, key, default=None):
    if isinstance(cfg, dict):
        return cfg.get(key, default)
    return getattr(cfg, key, default)


def architecture(cfg) -> str:
    """``model_type`` and saved architecture of a config, in words (for messages)."""
    archs = _get(cfg, "architectures") or []
    return f"model_type {_get(cfg, 'model_type')!r}" + (f", {', '.join(archs)}" if archs else "")


def is_causal_config(cfg) -> bool:
    """Whether a config (dict from ``config.json`` or a ``PretrainedConfig``) is a causal LM.

    The saved ``architectures`` decide when they name an LM head (``*ForCausalLM`` /
    ``*LMHeadModel``: causal; ``*ForMaskedLM`` / ``*ForPreTraining``: not); otherwise a model type
    that ``transformers`` knows only as a causal LM (GPT-NeoX, GPT-2, Llama...) is causal, and a
    model type with both heads (BERT) is causal only when configured ``is_decoder``.

    Examples
    --------
    >>> is_causal_config({"model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"]})
    True
    >>> is_causal_config({"model_type": "bert", "architectures": ["BertForPreTraining"]})
    False
    >>> is_causal_config({"model_type": "gpt_neox"}), is_causal_config({"model_type": "bert"})
    (True, False)
    """
    archs = [str(a) for a in (_get(cfg, "architectures") or [])]
    if any(a.endswith(_MASKED_SUFFIXES) for a in archs):
        return False
    if any(a.endswith(_CAUSAL_SUFFIXES) for a in archs):
        return not archs[0].startswith(("Bert", "Roberta")) or bool(_get(cfg, "is_decoder"))
    mt = _get(cfg, "model_type")
    try:
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
            MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        )
    except ImportError:  # pragma: no cover - transformers is a runner dependency
        return bool(_get(cfg, "is_decoder"))
    if mt in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and mt not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return True
    return bool(_get(cfg, "is_decoder"))


def check_head(kind: str, cfg, name: str, folder) -> None:
    """Refuse a head the checkpoint cannot give, naming it, the rule and what it is.

    ``kind`` is the loader's: ``"masked_lm"`` needs an encoder with a masked-LM head,
    ``"causal_lm"`` a decoder. ``"encoder"`` and ``"classifier"`` work for both.
    """
    from multiberts_stats.checkpoints import CheckpointLoadError

    causal = is_causal_config(cfg)
    if kind == "masked_lm" and causal:
        raise CheckpointLoadError(
            f"Checkpoint {name} in folder {folder} cannot be loaded as masked_lm: a masked-LM "
            f"head (pseudo-log-likelihood scoring) needs an encoder such as BERT, and this "
            f"checkpoint is a decoder ({architecture(cfg)}), a causal LM without one. Load it "
            "with load_causal_lm; zero-shot tasks then score it by summed log-probabilities.")
    if kind == "causal_lm" and not causal:
        raise CheckpointLoadError(
            f"Checkpoint {name} in folder {folder} cannot be loaded as causal_lm: causal "
            f"scoring needs a left-to-right decoder, and this checkpoint is an encoder "
            f"({architecture(cfg)}). Load it with load_masked_lm; zero-shot tasks then score "
            "it by pseudo-log-likelihood.")


def ensure_pad_token(tokenizer, model=None, *, name: str = "the checkpoint") -> str | None:
    """Give a tokenizer without a pad token its end-of-text token as pad token (decoders).

    Batched fine-tuning pads sequences, and a decoder's sequence-classification head reads the
    last non-pad token, so it needs ``config.pad_token_id``. Pythia's tokenizer declares no pad
    token: its ``<|endoftext|>`` is used (the usual choice; padded positions are masked out).
    The model's ``config.pad_token_id`` is set to match.

    Returns
    -------
    str or None
        The token made the pad token, or None when the tokenizer had one.

    Raises
    ------
    CheckpointLoadError
        No pad token and no end-of-text token to pad with.
    """
    from multiberts_stats.checkpoints import CheckpointLoadError

    added = None
    if tokenizer.pad_token is None:
        eos = getattr(tokenizer, "eos_token", None)
        if eos is None:
            raise CheckpointLoadError(
                f"The tokenizer of {name} has no pad token, which batched fine-tuning needs "
                "(sequences are padded to a common length), and no end-of-text token to pad "
                "with. Got special tokens "
                f"{getattr(tokenizer, 'special_tokens_map', {})}. Give the tokenizer a pad token "
                "(tokenizer_config.json: pad_token).")
        tokenizer.pad_token = eos
        added = eos
        logger.info("%s: the tokenizer has no pad token; padding with %r", name, eos)
    if model is not None and getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return added


def checkpoint_is_causal(ckpt, *, checkpoint_root=None, cache_dir=None,
                         local_files_only=None) -> bool:
    """Whether a checkpoint (resolved as the loaders do) is a decoder, from its ``config.json``."""
    import json

    from .resolve import resolve_checkpoint

    folder = resolve_checkpoint(ckpt, checkpoint_root=checkpoint_root, cache_dir=cache_dir,
                                local_files_only=local_files_only)
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # the loader reports the unreadable config
    return is_causal_config(cfg)
