"""The Multi-Bootstrap: resample pretraining seeds and examples jointly.

* :func:`multibootstrap` and :func:`report_ci` — drop-in, draw-for-draw compatible with the
  published MultiBERTs library, vectorised.
* :func:`multiboot` — the modern API: tidy predictions table or matrix form, paired / unpaired /
  fixed-baseline designs, cluster resampling, percentile / basic / BCa / corrected intervals,
  returning a :class:`MultiBootstrapResult`.

Importing this package never imports torch, transformers, pandas, scipy or scikit-learn.
"""

from .reference import multibootstrap, report_ci

__all__ = ["multibootstrap", "report_ci", "multiboot", "MultiBootstrapResult", "MatrixRuns"]


def __getattr__(name):  # the modern API, until it lands in its own modules
    if name in ("multiboot", "MatrixRuns"):
        from . import modern

        return getattr(modern, name)
    if name == "MultiBootstrapResult":
        from . import results

        return results.MultiBootstrapResult
    raise AttributeError(name)
