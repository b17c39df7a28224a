"""Read the published MultiBERTs prediction files and reproduce the paper's analyses.

The MultiBERTs authors (Sellam et al., 2022) released the per-example predictions behind the
paper's analyses in three formats. This package reads a downloaded copy of each into the tidy
predictions table of the package (``docs/ARCHITECTURE.md``) or straight into the engine's
matrix form (:class:`multiberts_stats.table.MatrixRuns`: ``CorefGroup.to_runs``,
``GlueRuns.to_runs``, ``SquadRuns.to_runs``), and reproduces each analysis of the paper with
one call. By job:

=========================  ==============================================================
module                     holds
=========================  ==============================================================
:mod:`~.coref`             Winogender coreference groups: reader, tidy table, bias scores
:mod:`~.glue`              GLUE fine-tuning predictions: reader, tidy table
:mod:`~.squad`             SQuAD 2.0: official normalisation, EM / F1, the one scorer, reader
:mod:`~.reproduce`         the one-call reproductions (:func:`reproduce_winogender`,
                           :func:`reproduce_steps`, :func:`reproduce_squad`, ...)
:mod:`~.formats`           the error class, file checks, ``index.tsv``, steps, checkpoint ids
=========================  ==============================================================

Small fake files in the published formats, for trying all of this offline, come from
:func:`multiberts_stats.testing.write_example_release`.

Formats (as published)
----------------------
Coreference (one folder per group: ``base``, ``base_extra_seeds``, ``cda_intervention-50k``,
``from_scratch``; ``occupations-stats.tsv`` of Winogender beside them or anywhere):

* ``run_info.tsv``: tab-separated, a leading index column, columns ``pretrain_seed``,
  ``finetune_seed``; rows in any order;
* ``label_info.tsv``: tab-separated, a leading index column, 720 rows, columns ``gender``
  (MASCULINE / FEMININE / UNKNOWN), ``pronoun_type``, ``answer``, ``occupation``,
  ``other_participant``, ``someone``, ``template_idx``;
* ``preds.tsv``: a whitespace-separated numeric matrix, runs x 720 (0 = occupation,
  1 = other participant); row *i* is the run of row *i* of ``run_info.tsv``, column *j* the
  example of row *j* of ``label_info.tsv``.

GLUE: ``index.tsv`` (columns ``file, task, pretrain_id, n_steps, lr, ft_seed, release``),
``{TASK}_dev_labels`` (one label per line; floats for STS-B) and one prediction file per run
at the path in ``file`` (tab-separated, examples x classes scores; the class is the argmax;
STS-B one float column).

SQuAD 2.0: ``index.tsv`` as above (task ``v2.0``), the official ``dev-v2.0.json`` and one
prediction JSON per run (question id -> answer text, ``""`` for no answer).

Resampling unit of the bias correlation
---------------------------------------
The published coreference notebook aggregates each run's 720 predictions to 60 per-occupation
bias scores first and then bootstraps over the 60 *occupations* (``preds`` = runs x 60 bias
scores, ``labels`` = the occupations' BLS share of women, ``score_fn`` = Pearson r of
``scipy.stats.linregress``). That is the default here (``unit="occupation"``), so the numbers
match the paper's. ``unit="sentence"`` resamples the 720 sentences instead (the per-occupation
bias is recomputed from the drawn sentences inside ``score_fn``; ``labels`` are example
indices), still through the reference-compatible path. The modern engine
(:func:`multiberts_stats.bootstrap.multiboot`) takes the tidy table of :func:`read_coref` with
``cluster_col="occupation"`` for a cluster bootstrap over occupations.

This package never imports torch or transformers; the ``published`` command is in
:mod:`multiberts_stats.cli`.
"""

from __future__ import annotations

import pandas as pd

from .coref import (
    COREF_FAMILIES,
    COREF_GROUPS,
    COREF_STEPS,
    LABEL_INFO_COLUMNS,
    CorefGroup,
    coref_bias_scores,
    load_coref_group,
    read_coref,
    read_occupations,
    winogender_label_info,
)
from .formats import (
    GLUE_TASK_NAMES,
    INDEX_COLUMNS,
    PublishedFileMissingError,
    PublishedFormatError,
    parse_steps,
    require_dir,
)
from .glue import GlueRuns, load_glue, read_glue
from .reproduce import (
    PublishedResult,
    best_lr_runs,
    reproduce_squad,
    reproduce_steps,
    reproduce_winogender,
    reproduce_winogender_clusters,
    to_matrix,
    winogender_sides,
)
from .squad import (
    SquadRuns,
    SquadScorer,
    load_squad,
    read_squad,
    squad_exact_match,
    squad_f1,
    squad_normalize_answer,
    squad_raw_scores,
)

__all__ = [
    "COREF_FAMILIES",
    "COREF_GROUPS",
    "COREF_STEPS",
    "GLUE_TASK_NAMES",
    "INDEX_COLUMNS",
    "LABEL_INFO_COLUMNS",
    "CorefGroup",
    "GlueRuns",
    "PublishedFileMissingError",
    "PublishedFormatError",
    "PublishedResult",
    "SquadRuns",
    "SquadScorer",
    "best_lr_runs",
    "coref_bias_scores",
    "load_coref_group",
    "load_glue",
    "load_squad",
    "parse_steps",
    "read_coref",
    "read_glue",
    "read_occupations",
    "read_published",
    "read_squad",
    "reproduce_squad",
    "reproduce_steps",
    "reproduce_winogender",
    "reproduce_winogender_clusters",
    "squad_exact_match",
    "squad_f1",
    "squad_normalize_answer",
    "squad_raw_scores",
    "to_matrix",
    "winogender_label_info",
    "winogender_sides",
]


def read_published(root, **kwargs) -> pd.DataFrame:
    """The tidy table of any published folder, its kind told from its files.

    ``index.tsv`` + ``dev-v2.0.json`` -> :func:`read_squad`; ``index.tsv`` -> :func:`read_glue`;
    group folders or ``preds.tsv`` -> :func:`read_coref`. Keyword arguments go to that reader.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("squad",), n_seeds=2)
    >>> read_published(root / "squad")["task"].unique().tolist()
    ['squad_v2']
    """
    root = require_dir(root, "root")
    if (root / "index.tsv").is_file():
        if (root / "dev-v2.0.json").is_file():
            return read_squad(root, **kwargs)
        return read_glue(root, **kwargs)
    if (root / "preds.tsv").is_file() or any((root / g).is_dir() for g in COREF_GROUPS):
        return read_coref(root, **kwargs)
    raise PublishedFormatError(
        f"The folder {str(root)!r} is none of the published layouts: no index.tsv (GLUE, SQuAD), "
        f"no preds.tsv and none of the coreference groups {list(COREF_GROUPS)}.")


def __getattr__(name):
    # The example-release writer moved to multiberts_stats.testing; this keeps the old name
    # ``multiberts_stats.published.write_example_release`` working (imported on first use).
    if name == "write_example_release":
        from multiberts_stats.testing.release import write_example_release

        return write_example_release
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
