"""Task registry and data loading: GLUE, Winogender (zero-shot), POS probing, user tasks.

A :class:`Task` says how to load its examples (stable string ``example_id``), which text fields
go in, its label space, its metrics (names from :data:`multiberts_stats.metrics.METRICS`, the
first primary) and its resampling unit (``"example"`` or a cluster column such as
``"occupation"``).

>>> from multiberts_stats.tasks import get_task, list_tasks
>>> task = get_task("sst2")
>>> task.metrics, task.label_space
(('accuracy',), ['negative', 'positive'])

Data come from ``data_dir=`` (or ``$MULTIBERTS_STATS_DATA``): a folder laid out like
``../shared/data`` (``glue/SST-2/dev.tsv``, ``winogender/all_sentences.tsv``,
``ud_english_ewt/en_ewt-ud-dev.conllu``); otherwise from the Hugging Face hub / the original
repositories when reachable; offline with no files, a clear error says where it looked.

Importing this package does not import torch, transformers or datasets; the scoring and
alignment functions import them when called.
"""

from __future__ import annotations

from .base import (
    CACHE_ENV,
    DATA_ENV,
    KINDS,
    DataNotFoundError,
    Task,
    TaskError,
    TaskLike,
    UnknownTaskError,
    cache_dir,
    describe_tasks,
    get_task,
    list_tasks,
    register_task,
)
from .blimp import BLIMP, BLIMP_TASKS, BlimpTask, blimp_task
from .crows import CROWS_PAIRS, CrowsPairsTask, score_crows_pairs
from .custom import FileTask, task_from_config, task_from_file
from .glue import GLUE_TASKS, GlueTask
from .minimal_pairs import (
    MinimalPairTask,
    causal_log_likelihood,
    minimal_pair_task,
    score_minimal_pairs,
)
from .pos import POS, UPOS, PosTask, align_words_to_subtokens, explode_tokens
from .readers import MalformedFileError, read_conllu, read_table, read_tsv
from .winogender import (
    WINOGENDER,
    WinogenderTask,
    pronoun_probabilities,
    pseudo_log_likelihood,
    rewrite_sentence,
    score_winogender,
)

__all__ = [
    "Task", "GlueTask", "WinogenderTask", "PosTask", "FileTask",
    "get_task", "list_tasks", "register_task", "describe_tasks", "task_from_file", "task_from_config",
    "score_winogender", "pseudo_log_likelihood", "pronoun_probabilities",
    "rewrite_sentence", "align_words_to_subtokens", "explode_tokens", "UPOS", "KINDS", "DATA_ENV",
    "CACHE_ENV", "TaskLike", "cache_dir",
    "TaskError", "UnknownTaskError", "DataNotFoundError", "MalformedFileError",
    "read_tsv", "read_conllu", "read_table",
    "MinimalPairTask", "BlimpTask", "CrowsPairsTask", "minimal_pair_task", "blimp_task",
    "score_minimal_pairs", "score_crows_pairs", "causal_log_likelihood",
]

for _t in [*GLUE_TASKS, WINOGENDER, POS, *BLIMP_TASKS, BLIMP, CROWS_PAIRS]:
    register_task(_t, overwrite=True)
del _t
