"""Checkpoint families: the MultiBERTs catalog, any other family, resolution and loading.

A :class:`Checkpoint` names one trained artifact (a hub id with an optional revision, or a local
folder) and labels it with its pretraining ``seed`` and ``step``. A :class:`Family` is an ordered
collection of checkpoints with a name, selectable by seeds and steps. :func:`multiberts` returns
the built-in MultiBERTs family (170 checkpoints); :func:`custom_family` names any other
(``bert-base-uncased`` as a fixed baseline, your own pretraining runs, ...).

Resolution (:func:`resolve_checkpoint`) looks, in this order, in

1. the checkpoint's own ``path`` when it is a local-folder checkpoint;
2. a local mirror root: ``checkpoint_root=`` or the environment variable
   ``MULTIBERTS_CHECKPOINT_ROOT`` (several roots separated by ``os.pathsep``), holding one folder
   per hub id in the hub's own naming, e.g. ``ROOT/google/multiberts-seed_1-step_900k/``
   (``ROOT/google/multiberts-seed_1-step_900k@REVISION/`` is preferred when a revision is pinned);
3. the Hugging Face cache (``cache_dir=``, else ``HF_HUB_CACHE``, else the default cache);
4. the hub, when it is reachable and not switched off (``HF_HUB_OFFLINE=1`` or
   ``local_files_only=True``), downloading into the cache (resumable; the revision is pinned
   when given and the commit that was fetched is recorded in the load report).

When none has it, :class:`CheckpointNotFoundError` names the hub id and every place looked.

Loading (:func:`load_encoder`, :func:`load_masked_lm`, :func:`load_classifier`) returns
``(model, tokenizer)``, never silently re-initialises a weight (the one exception is the fresh,
seeded classification head that :func:`load_classifier` is asked for, which is reported), and
turns a folder with missing or corrupt weights, or a config that does not match its weights, into
a :class:`CheckpointLoadError` naming the folder and what is wrong. Each loaded model carries a
:class:`LoadReport` in its ``load_report`` attribute.

This module does not import torch or transformers at import time (the loaders import them), so
``multiberts-stats checkpoints`` lists the catalog in a fraction of a second.

Examples
--------
>>> from multiberts_stats.checkpoints import multiberts
>>> family = multiberts()
>>> len(family)
170
>>> [c.hub_id for c in family.select(seeds="0-1", steps=2000)]
['google/multiberts-seed_0', 'google/multiberts-seed_1']
>>> family.select(seeds=3, steps="0-40").to_frame()[["hub_id", "step"]].values.tolist()
... # doctest: +NORMALIZE_WHITESPACE
[['google/multiberts-seed_3-step_0k', 0], ['google/multiberts-seed_3-step_20k', 20],
 ['google/multiberts-seed_3-step_40k', 40]]
"""

from __future__ import annotations

from .catalog import (
                      MULTIBERTS_FINAL_STEP,
                      MULTIBERTS_INTERMEDIATE_SEEDS,
                      MULTIBERTS_SEEDS,
                      MULTIBERTS_STEPS,
                      Checkpoint,
                      CheckpointError,
                      CheckpointLoadError,
                      CheckpointNotFoundError,
                      CheckpointSelectionError,
                      Family,
                      catalog_family,
                      custom_family,
                      expand_selector,
                      multiberts,
                      multiberts_hub_id,
                      parse_selector,
)
from .load import (
                      LoadReport,
                      load_causal_lm,
                      load_classifier,
                      load_encoder,
                      load_masked_lm,
                      load_tokenizer,
                      quiet_transformers,
)
from .decoders import checkpoint_is_causal, is_causal_config
from .polypythia import polypythia, polypythias
from .resolve import CHECKPOINT_ROOT_ENV, hub_offline, resolve_checkpoint

__all__ = [
                      "CHECKPOINT_ROOT_ENV",
                      "MULTIBERTS_FINAL_STEP",
                      "MULTIBERTS_INTERMEDIATE_SEEDS",
                      "MULTIBERTS_SEEDS",
                      "MULTIBERTS_STEPS",
                      "Checkpoint",
                      "CheckpointError",
                      "CheckpointLoadError",
                      "CheckpointNotFoundError",
                      "CheckpointSelectionError",
                      "Family",
                      "catalog_family",
                      "checkpoint_is_causal",
                      "is_causal_config",
                      "LoadReport",
                      "custom_family",
                      "expand_selector",
                      "hub_offline",
                      "load_causal_lm",
                      "load_classifier",
                      "load_encoder",
                      "load_masked_lm",
                      "load_tokenizer",
                      "multiberts",
                      "multiberts_hub_id",
                      "parse_selector",
                      "polypythia",
                      "polypythias",
                      "quiet_transformers",
                      "resolve_checkpoint",
]
