"""The Multi-Bootstrap: resample pretraining seeds and examples jointly.

* :func:`multibootstrap` and :func:`report_ci` — drop-in, draw-for-draw compatible with the
  published MultiBERTs library, vectorised.
* :func:`multiboot` — the modern API: tidy predictions table or matrix form (:class:`MatrixRuns`),
  single / paired / unpaired / fixed-baseline designs, cluster resampling, percentile / basic /
  BCa / corrected intervals, returning a :class:`MultiBootstrapResult`.

Importing this package imports numpy only (never torch, transformers, pandas, scipy or
scikit-learn); those are imported when a function needs them.
"""

from ._validation import BootstrapInputError, BootstrapTypeError
from .modern import COVERAGE_MIN_SEEDS, MatrixRuns, multiboot
from .reference import multibootstrap, report_ci
from .results import MultiBootstrapResult

__all__ = ["multibootstrap", "report_ci", "multiboot", "MultiBootstrapResult", "MatrixRuns",
           "BootstrapInputError", "BootstrapTypeError", "COVERAGE_MIN_SEEDS"]
