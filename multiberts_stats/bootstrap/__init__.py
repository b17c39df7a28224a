"""The Multi-Bootstrap: resample pretraining seeds and examples jointly.

* :func:`multibootstrap` and :func:`report_ci` — drop-in, draw-for-draw compatible with the
  published MultiBERTs library, vectorised.
* :func:`multiboot` — the modern API: tidy predictions table or matrix form (:class:`MatrixRuns`),
  single / paired / unpaired / fixed-baseline designs, cluster resampling, percentile / basic /
  BCa / corrected intervals, returning a :class:`MultiBootstrapResult`.

Modules: ``modern`` (multiboot: validate -> parse -> plan), ``engine`` (sides, draws, the
resampling loop), ``summary`` (intervals, p-values), ``variance`` (BCa jackknife, the corrected
interval's variance components), ``results``, ``reference``, ``checks`` (argument checks and the
error classes), ``simulation`` (coverage studies). The tidy -> matrix conversion is
:mod:`multiberts_stats.table`; the metrics are :mod:`multiberts_stats.metrics`.

Importing this package imports numpy only (never torch, transformers, pandas, scipy or
scikit-learn); those are imported when a function needs them.
"""

from .checks import BootstrapInputError, BootstrapTypeError
from .modern import COVERAGE_MIN_CLUSTERS, COVERAGE_MIN_SEEDS, MatrixRuns, multiboot
from .reference import multibootstrap, report_ci
from .results import MultiBootstrapResult

__all__ = ["multibootstrap", "report_ci", "multiboot", "MultiBootstrapResult", "MatrixRuns",
           "BootstrapInputError", "BootstrapTypeError", "COVERAGE_MIN_SEEDS", "COVERAGE_MIN_CLUSTERS"]
