"""Artifact vs procedure: the analyses a researcher reads and shows.

Every function takes the tidy predictions table (one row per run and example, see
``docs/ARCHITECTURE.md``) and calls the Multi-Bootstrap engine
(:func:`multiberts_stats.bootstrap.multiboot`) on it. The package is split by job:

=====================================  ======================================================
module                                 holds
=====================================  ======================================================
:mod:`~.procedure`                     :func:`artifact_vs_procedure` (per-seed *artifact*
                                       intervals beside the joint *procedure* interval, a
                                       verdict and a plain-words flag) and
                                       :func:`variance_decomposition`
:mod:`~.dynamics`                      :func:`learning_curve` (bands per step, corrected
                                       step comparisons, first step within ``eps``)
:mod:`~.instances`                     :func:`agreement` between seeds (flips, Cohen's kappa)
:mod:`~.multiple_testing`              :func:`adjust_pvalues` (Holm, BH, Bonferroni, BY)
:mod:`~.randomness`                    :func:`compare_randomness` (between-seed variance of
                                       two one-factor families, e.g. data order vs init)
:mod:`~.report`                        :func:`write_report` (Markdown / HTML with figures)
:mod:`~.markdown`                      the Markdown writer and Markdown-to-HTML converter
:mod:`~.selection`                     row filters, a store's table, a task's metric/cluster
:mod:`~.sides`                         both sides parsed once, sliced per seed
:mod:`~.common`                        parameter checks, random streams, warning log
=====================================  ======================================================

numpy, pandas, scipy, scikit-learn and the bootstrap only: importing this package never
imports torch or transformers. The ``compare`` and ``report`` commands are in
:mod:`multiberts_stats.cli`.
"""

from .common import CONDITION_COLS, RUN_COLS
from .dynamics import LearningCurve, learning_curve
from .instances import Agreement, agreement, cohen_kappa
from .multiple_testing import adjust_pvalues
from .procedure import (
                        ArtifactProcedureReport,
                        VarianceDecomposition,
                        artifact_vs_procedure,
                        variance_decomposition,
)
from .randomness import RandomnessReport, compare_randomness
from .report import write_report
from .selection import (
                        parse_filter,
                        pronoun_preference_table,
                        read_store_table,
                        select,
                        task_cluster,
                        task_metric,
)

__all__ = [
                        "CONDITION_COLS",
                        "RUN_COLS",
                        "Agreement",
                        "ArtifactProcedureReport",
                        "LearningCurve",
                        "RandomnessReport",
                        "VarianceDecomposition",
                        "adjust_pvalues",
                        "agreement",
                        "artifact_vs_procedure",
                        "cohen_kappa",
                        "compare_randomness",
                        "learning_curve",
                        "parse_filter",
                        "pronoun_preference_table",
                        "read_store_table",
                        "select",
                        "task_cluster",
                        "task_metric",
                        "variance_decomposition",
                        "write_report",
]
